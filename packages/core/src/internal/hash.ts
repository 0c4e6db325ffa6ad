// Deterministic, pure UUID-shaped ids from a key: four 32-bit FNV-1a lanes with distinct seeds, each
// finished with murmur3's fmix32. Same key, same id: a crashed engine that re-plans the same work
// names it the same way, so nothing is created twice. (Not cryptographic; keys are already unique.)
// Stored ids depend on every bit of this: any change must give the same id for every key.

const fmix32 = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

// char codes of the hex digits: the planner names ids on its hot path
const hexCode = Array.from("0123456789abcdef", (c) => c.charCodeAt(0))
const h = (n: number): number => hexCode[n & 15]!
const DASH = 45
const FIVE = 53

export const uuidOf = (key: string): string => {
  // the four lanes in one pass over the key
  let a = 0x811c9dc5
  let b = 0x050c5d1f
  let c = 0x1b873593
  let d = 0xcc9e2d51
  for (let i = 0; i < key.length; i++) {
    const k = key.charCodeAt(i)
    a = Math.imul(a ^ k, 0x01000193)
    b = Math.imul(b ^ k, 0x01000193)
    c = Math.imul(c ^ k, 0x01000193)
    d = Math.imul(d ^ k, 0x01000193)
  }
  a = fmix32(a)
  b = fmix32(b)
  c = fmix32(c)
  d = fmix32(d)
  // version 5 and RFC 4122 variant bits, so strict uuid validators accept it: lane b's fifth hex
  // digit becomes the version, lane c's first digit the variant. Built from char codes in one call:
  // a flat string, twice as fast as a template, which would also be a tree of ~12 cons strings
  // (~400 bytes) until something flattens it, and ids are kept for the life of their records.
  // biome-ignore format: one group of hex digits per line
  return String.fromCharCode(
    h(a >>> 28), h(a >>> 24), h(a >>> 20), h(a >>> 16), h(a >>> 12), h(a >>> 8), h(a >>> 4), h(a), DASH,
    h(b >>> 28), h(b >>> 24), h(b >>> 20), h(b >>> 16), DASH,
    FIVE, h(b >>> 8), h(b >>> 4), h(b), DASH,
    hexCode[((c >>> 28) & 0x3) | 0x8]!, h(c >>> 24), h(c >>> 20), h(c >>> 16), DASH,
    h(c >>> 12), h(c >>> 8), h(c >>> 4), h(c), h(d >>> 28), h(d >>> 24), h(d >>> 20), h(d >>> 16), h(d >>> 12), h(d >>> 8), h(d >>> 4), h(d)
  )
}
