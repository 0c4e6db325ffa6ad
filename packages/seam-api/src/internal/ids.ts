import { createHash, randomUUID } from "node:crypto"

/** A fresh random UUID v4 (Seam ids are UUIDs; `@seamapi/types` checks that). */
export const newId = (): string => randomUUID()

/** A stable UUID-shaped id derived from a name (same name, same id), for seeded resources. */
export const stableId = (name: string): string => {
  const h = createHash("sha256").update(name).digest("hex")
  const variant = ((Number.parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** Seam timestamps are ISO 8601 strings. */
export const iso = (ms: number): string => new Date(ms).toISOString()
