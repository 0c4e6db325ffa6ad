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

// two hex digits per byte, one per nibble: the planner names ids on its hot path, and
// `toString(16).padStart` with slices cost more than the hashing
const nibble = "0123456789abcdef"
const byte = Array.from({ length: 256 }, (_, i) => nibble[i >>> 4]! + nibble[i & 15]!)
const hex = (n: number) => byte[n >>> 24]! + byte[(n >>> 16) & 255]! + byte[(n >>> 8) & 255]! + byte[n & 255]!

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
  // digit becomes the version, lane c's first digit the variant
  const variant = nibble[((c >>> 28) & 0x3) | 0x8]!
  return `${hex(a)}-${byte[b >>> 24]!}${byte[(b >>> 16) & 255]!}-5${nibble[(b >>> 8) & 15]!}${byte[b & 255]!}-${variant}${nibble[(c >>> 24) & 15]!}${byte[(c >>> 16) & 255]!}-${byte[(c >>> 8) & 255]!}${byte[c & 255]!}${hex(d)}`
}
