/** A sliding-window request limiter (HID counts requests per source over a window; 300 / 5 min for MI). */
import { Clock, Effect, Ref } from "effect"

export interface Limiter {
  /** Takes a slot (waiting in wait mode). Returns 0, or in fail mode the ms until a slot frees. */
  readonly acquire: Effect.Effect<number>
  /** Milliseconds until the oldest counted request leaves the window (0 when there is room). */
  readonly estimate: Effect.Effect<number>
}

export const make = (limit: number, windowMs: number, mode: "wait" | "fail"): Effect.Effect<Limiter> =>
  Effect.gen(function* () {
    const log = yield* Ref.make<ReadonlyArray<number>>([])
    const take = (now: number) =>
      Ref.modify(log, (entries): readonly [number, ReadonlyArray<number>] => {
        const live = entries.filter((t) => t > now - windowMs)
        if (live.length < limit) return [0, [...live, now]]
        return [Math.max(1, live[0]! + windowMs - now), live]
      })
    const acquire: Effect.Effect<number> = Effect.gen(function* () {
      for (;;) {
        const now = yield* Clock.currentTimeMillis
        const wait = yield* take(now)
        if (wait === 0 || mode === "fail") return wait
        yield* Effect.sleep(wait)
      }
    })
    const estimate = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const entries = (yield* Ref.get(log)).filter((t) => t > now - windowMs)
      return entries.length === 0 ? 0 : Math.max(0, entries[0]! + windowMs - now)
    })
    return { acquire, estimate }
  })
