// Deterministic, pure UUID-shaped ids from a key: four 32-bit FNV-1a lanes with distinct seeds, each
// finished with murmur3's fmix32. Same key, same id: a crashed engine that re-plans the same work
// names it the same way, so nothing is created twice. (Not cryptographic; keys are already unique.)
const lane = (s: string, seed: number): number => {
  let h = seed
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

const hex = (n: number) => n.toString(16).padStart(8, "0")

export const uuidOf = (key: string): string => {
  const a = hex(lane(key, 0x811c9dc5))
  const b = hex(lane(key, 0x050c5d1f))
  const c = hex(lane(key, 0x1b873593))
  const d = hex(lane(key, 0xcc9e2d51))
  // version 5 and RFC 4122 variant bits, so strict uuid validators accept it
  const variant = ((Number.parseInt(c[0]!, 16) & 0x3) | 0x8).toString(16)
  return `${a}-${b.slice(0, 4)}-5${b.slice(5, 8)}-${variant}${c.slice(1, 4)}-${c.slice(4, 8)}${d}`
}
