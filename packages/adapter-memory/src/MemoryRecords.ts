/**
 * A Map-based `Records` for tests and single-process demos: it honours the Records contract but
 * keeps nothing past the process. Values are stored as JSON text, so what a caller reads back is
 * exactly what a durable store would give it.
 *
 * @since 0.2.0
 */
import { PortError, Records } from "@credsync/core"
import { Effect, Layer, Option } from "effect"

const conflict = (method: string, message: string) => new PortError.PortError({ reason: "Conflict", port: "Store", method, message })

/**
 * Make an empty in-memory Records.
 *
 * @since 0.2.0
 */
export const make = (): Records.RecordsShape => {
  const rows = new Map<string, Map<string, { version: number; json: string }>>()
  const kindOf = (kind: string) => {
    let m = rows.get(kind)
    if (m === undefined) {
      m = new Map()
      rows.set(kind, m)
    }
    return m
  }
  const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))
  return Records.Records.of({
    get: (kind, key) =>
      Effect.sync(() => {
        const row = rows.get(kind)?.get(key)
        return row === undefined ? Option.none() : Option.some({ kind, key, version: row.version, value: JSON.parse(row.json) })
      }),
    put: (kind, key, value, expected) =>
      Effect.suspend(() => {
        const m = kindOf(kind)
        const current = m.get(key)?.version ?? 0
        if (current !== expected) return Effect.fail(conflict("put", `record ${kind}/${key} is at version ${current}, not ${expected}`))
        const json = JSON.stringify(value)
        if (json === undefined) {
          return Effect.fail(new PortError.PortError({ reason: "InvalidInput", port: "Store", method: "put", message: `record ${kind}/${key}: value is not JSON` }))
        }
        m.set(key, { version: current + 1, json })
        return Effect.succeed(current + 1)
      }),
    remove: (kind, key, expected) =>
      Effect.suspend(() => {
        const m = kindOf(kind)
        const current = m.get(key)?.version ?? 0
        if (current === 0 || current !== expected) {
          return Effect.fail(conflict("remove", `record ${kind}/${key} is at version ${current}, not ${expected}`))
        }
        m.delete(key)
        return Effect.void
      }),
    list: (kind, { after, prefix, limit }) =>
      Effect.sync(() =>
        [...(rows.get(kind) ?? new Map<string, { version: number; json: string }>())]
          .filter(([key]) => (after === undefined || byteOrder(key, after) > 0) && (prefix === undefined || key.startsWith(prefix)))
          .sort(([a], [b]) => byteOrder(a, b))
          .slice(0, Math.max(0, limit))
          .map(([key, row]) => ({ kind, key, version: row.version, value: JSON.parse(row.json) }))
      )
  })
}

/**
 * A layer with fresh in-memory records.
 *
 * @since 0.2.0
 */
export const layer = (): Layer.Layer<Records.Records> => Layer.sync(Records.Records, make)
