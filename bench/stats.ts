/**
 * Ratios that hold up on a noisy machine: the two sides of a ratio are measured in rounds, next to
 * each other, and each round gives its own ratio. Load from elsewhere on the machine that comes and
 * goes then spoils a few rounds rather than the figure; the median says what is typical and the
 * spread (lowest and highest round) shows how noisy the run was.
 */
import { Effect } from "effect"

/** The median of a non-empty list and its lowest and highest value. */
export interface Summary {
  readonly median: number
  readonly lo: number
  readonly hi: number
  readonly rounds: number
}

/** Median (mean of the two middle values for an even count), lowest and highest of `values`. */
export const summarize = (values: ReadonlyArray<number>): Summary => {
  if (values.length === 0) throw new Error("summarize: no values")
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return { median, lo: sorted[0]!, hi: sorted[sorted.length - 1]!, rounds: sorted.length }
}

/** One round of a paired measurement. */
export interface Round {
  readonly a: number
  readonly b: number
}

/**
 * `rounds` rounds of measuring `a` and `b` next to each other, in the order a, b then b, a, then
 * a, b … so that load rising or falling during the run falls on both sides alike.
 */
export const interleaved = <E, R>(
  rounds: number,
  a: (round: number) => Effect.Effect<number, E, R>,
  b: (round: number) => Effect.Effect<number, E, R>
): Effect.Effect<ReadonlyArray<Round>, E, R> =>
  Effect.forEach(
    Array.from({ length: rounds }, (_, round) => round),
    (round) =>
      round % 2 === 0
        ? Effect.flatMap(a(round), (va) => Effect.map(b(round), (vb) => ({ a: va, b: vb })))
        : Effect.flatMap(b(round), (vb) => Effect.map(a(round), (va) => ({ a: va, b: vb })))
  )
