/**
 * Seeded randomness for fault injection: the same seed gives the same run. Used by the simulator
 * and by the property tests' providers over HTTP (callback duplication and reordering).
 *
 * @since 0.1.0
 */

/** A seeded generator of numbers in [0, 1) whose position can be saved and resumed. */
export interface Generator {
  (): number
  /** Where the generator is: `random(g.position())` draws exactly what `g` would draw next. */
  readonly position: () => number
}

/** mulberry32: a tiny seeded generator of numbers in [0, 1). Not for secrets. */
export const random = (seed: number): Generator => {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return Object.assign(next, { position: () => a })
}

/** True with probability `p` (draws nothing when `p` is 0). */
export const roll = (rand: () => number, p: number): boolean => p > 0 && rand() < p

/**
 * Deliver `items` as an unreliable channel would: each one lost with probability `drop`, else
 * twice with probability `duplicate`, then each position swapped with a random one with
 * probability `reorder`.
 */
export const deliver = <A>(
  items: ReadonlyArray<A>,
  rand: () => number,
  odds: {
    readonly duplicate?: number | undefined
    readonly reorder?: number | undefined
    readonly drop?: number | undefined
  }
): Array<A> => {
  const out: Array<A> = []
  for (const item of items) {
    if (roll(rand, odds.drop ?? 0)) continue
    out.push(item)
    if (roll(rand, odds.duplicate ?? 0)) out.push(item)
  }
  for (let i = 0; i < out.length; i++) {
    if (!roll(rand, odds.reorder ?? 0)) continue
    const j = Math.floor(rand() * out.length)
    const a = out[i]!
    out[i] = out[j]!
    out[j] = a
  }
  return out
}
