// Deterministic, pure UUID-shaped ids from a key (two 64-bit FNV-1a lanes). Same key, same id: a
// crashed engine that re-plans the same work names it the same way, so nothing is created twice.
const fnv = (s: string, seed: bigint): bigint => {
  let h = seed
  for (let i = 0; i < s.length; i++) {
    h ^= BigInt(s.charCodeAt(i))
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn
  }
  return h
}

export const uuidOf = (key: string): string => {
  const a = fnv(key, 0xcbf29ce484222325n).toString(16).padStart(16, "0")
  const b = fnv(key, 0x84222325cbf29ce4n).toString(16).padStart(16, "0")
  const hex = a + b
  // version 5 and RFC 4122 variant bits, so strict uuid validators accept it
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}
