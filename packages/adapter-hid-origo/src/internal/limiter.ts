/**
 * HID's request budget, spent by priority. HID counts requests per source over a window (MI: 300 per 5
 * minutes) and answers 403 beyond it; a sliding window of the requests sent is the exact picture of that
 * count (a token bucket refilled at 1/s could send 600 in one window).
 *
 * Each priority may fill only its share of the window: `low` (polling, catalogue reads) stops first,
 * `normal` (the engine's observations, resync) next, and `high` (issue, revoke, invite, ...) may use all
 * of it, so whatever the background traffic, the work that changes a phone's access always has requests
 * left. After HID itself answered 403, nobody sends until its retry time has passed.
 */
import { Clock, Effect, Ref } from "effect"

/** `high`: changes at HID (issue, revoke, invite, ...); `normal`: the engine's reads; `low`: polling, catalogue. */
export type Priority = "high" | "normal" | "low"

export interface Limiter {
  /** Takes a slot (waiting in wait mode). Returns 0, or in fail mode the ms until this priority has one. */
  readonly acquire: (priority: Priority) => Effect.Effect<number>
  /** Milliseconds until this priority could take a slot (0 when it can now). */
  readonly estimate: (priority: Priority) => Effect.Effect<number>
  /** HID refused a request (403): send nothing for `ms`. */
  readonly pause: (ms: number) => Effect.Effect<void>
  /** Requests counted in the current window. */
  readonly used: Effect.Effect<number>
}

export interface Shares {
  /** Fraction of the window `low` may fill. */
  readonly low: number
  /** Fraction of the window `normal` may fill. */
  readonly normal: number
}

export const defaultShares: Shares = { low: 0.7, normal: 0.9 }

interface State {
  readonly sent: ReadonlyArray<number>
  readonly pausedUntil: number
}

export const make = (limit: number, windowMs: number, mode: "wait" | "fail", shares: Shares = defaultShares): Effect.Effect<Limiter> =>
  Effect.gen(function* () {
    const capOf = (p: Priority): number =>
      p === "high" ? limit : Math.max(1, Math.min(limit, Math.floor(limit * (p === "low" ? Math.min(shares.low, shares.normal) : shares.normal))))
    const state = yield* Ref.make<State>({ sent: [], pausedUntil: 0 })
    /** 0 when `p` may send at `now`, else how long until it may. */
    const waitOf = (s: State, live: ReadonlyArray<number>, p: Priority, now: number): number => {
      if (s.pausedUntil > now) return s.pausedUntil - now
      const cap = capOf(p)
      if (live.length < cap) return 0
      // the request that must leave the window for this priority to fit
      return Math.max(1, live[live.length - cap]! + windowMs - now)
    }
    const take = (p: Priority, now: number) =>
      Ref.modify(state, (s): readonly [number, State] => {
        const live = s.sent.filter((t) => t > now - windowMs)
        const wait = waitOf(s, live, p, now)
        return wait === 0 ? [0, { ...s, sent: [...live, now] }] : [wait, { ...s, sent: live }]
      })
    const acquire = (p: Priority): Effect.Effect<number> =>
      Effect.gen(function* () {
        for (;;) {
          const now = yield* Clock.currentTimeMillis
          const wait = yield* take(p, now)
          if (wait === 0 || mode === "fail") return wait
          yield* Effect.sleep(wait)
        }
      })
    const estimate = (p: Priority) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const s = yield* Ref.get(state)
        return waitOf(
          s,
          s.sent.filter((t) => t > now - windowMs),
          p,
          now
        )
      })
    const pause = (ms: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.update(state, (s) => ({ ...s, pausedUntil: Math.max(s.pausedUntil, now + ms) })))
    const used = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      return (yield* Ref.get(state)).sent.filter((t) => t > now - windowMs).length
    })
    return { acquire, estimate, pause, used }
  })
