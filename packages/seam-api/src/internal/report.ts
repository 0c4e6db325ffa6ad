import { Clock, Effect } from "effect"

/**
 * How a background loop reports failures: never silently, never a line per tick. The first failure
 * is logged, the same failure again at most once a minute (with how often it repeated), a different
 * one at once, and the first success after failures as `recovered`.
 *
 * @internal
 */
export interface Reporter {
  readonly failed: (message: string) => Effect.Effect<void>
  readonly ok: Effect.Effect<void>
}

const again = 60_000

export const make = (log: (line: string) => void, what: string): Reporter => {
  let last: string | undefined
  let lastAt = 0
  let repeats = 0
  return {
    failed: (message) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          const line = message.replace(/\s*\n\s*/g, "; ")
          if (line === last && now - lastAt < again) {
            repeats++
            return
          }
          log(`${what}: ${line}${line === last && repeats > 0 ? ` (${repeats} more times since the last report)` : ""}`)
          last = line
          lastAt = now
          repeats = 0
        })
      ),
    ok: Effect.sync(() => {
      if (last === undefined) return
      log(`${what}: recovered`)
      last = undefined
      repeats = 0
    })
  }
}
