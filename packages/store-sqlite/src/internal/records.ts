/**
 * The Records port over an open, held file, for one workspace (table `records`, keyed by
 * workspace, kind and key). Values are JSON text; a row is decoded on every read. Writes are
 * version-checked in one `BEGIN IMMEDIATE` transaction that also checks this open still holds
 * the file.
 *
 * @internal
 */
import { type PortError, Records } from "@credsync/core"
import type Database from "better-sqlite3"
import { Effect, Option, Result, Schema } from "effect"
import { Abort, toPortError } from "./errors.js"
import type { Held } from "./open.js"
import { RecordRow, RecordRows } from "./rows.js"
import { makeHolderCheck } from "./store.js"

const decodeRow = Schema.decodeUnknownResult(RecordRow)
const decodeRows = Schema.decodeUnknownResult(RecordRows)
const decodeVersion = Schema.decodeUnknownResult(Schema.Int)

/**
 * The least string above every string that starts with `prefix`, in code point order (which is
 * UTF-8 byte order, SQLite's BINARY order): the prefix with its last code point moved up by one.
 * Undefined when there is none (empty prefix, or only U+10FFFF). Lets `list` seek a key range
 * instead of scanning the kind.
 */
const upperBound = (prefix: string): string | undefined => {
  const points = Array.from(prefix, (c) => c.codePointAt(0) ?? 0)
  while (points.length > 0) {
    const last = points.pop() ?? 0
    if (last >= 0x10ffff) continue
    // skip the surrogate range: those code points have no UTF-8 encoding
    const next = last + 1 === 0xd800 ? 0xe000 : last + 1
    return String.fromCodePoint(...points, next)
  }
  return undefined
}

/** The Records port for one workspace of an open, held file. @internal */
export const makeRecords = (held: Held, workspace: string): Records.RecordsShape => {
  const { db } = held
  const ws = workspace
  const holder = makeHolderCheck(held)
  const stmt = {
    get: db.prepare("SELECT key, version, value FROM records WHERE workspace = ? AND kind = ? AND key = ?"),
    version: db.prepare("SELECT version FROM records WHERE workspace = ? AND kind = ? AND key = ?").pluck(),
    insert: db.prepare(
      "INSERT INTO records (workspace, kind, key, version, value) VALUES (?, ?, ?, 1, ?) ON CONFLICT (workspace, kind, key) DO NOTHING"
    ),
    update: db.prepare(
      "UPDATE records SET version = version + 1, value = ? WHERE workspace = ? AND kind = ? AND key = ? AND version = ?"
    ),
    remove: db.prepare("DELETE FROM records WHERE workspace = ? AND kind = ? AND key = ? AND version = ?")
  }
  // One statement per combination of bounds, so that each is a plain key range SQLite seeks
  // (an `(? IS NULL OR key > ?)` term would make it scan the whole kind).
  const listings = new Map<string, Database.Statement>()
  const listing = (after: boolean, from: boolean, to: boolean): Database.Statement => {
    const signature = `${after}|${from}|${to}`
    let statement = listings.get(signature)
    if (statement === undefined) {
      const bounds = [after ? " AND key > @after" : "", from ? " AND key >= @from" : "", to ? " AND key < @to" : ""].join("")
      statement = db.prepare(`SELECT key, version, value FROM records WHERE workspace = @ws AND kind = @kind${bounds} ORDER BY key LIMIT @limit`)
      listings.set(signature, statement)
    }
    return statement
  }

  const attempt = <A>(method: string, body: () => A): Effect.Effect<A, PortError.PortError> =>
    Effect.try({ try: body, catch: (error) => toPortError(method, error) })

  const current = (kind: string, key: string): number => {
    const decoded = decodeVersion(stmt.version.get(ws, kind, key) ?? 0)
    return Result.isSuccess(decoded) ? decoded.success : 0
  }

  const damaged = (kind: string, key: string, message: string) =>
    new Abort("Unknown", `the record ${kind}/${key} (table records) is damaged: ${message}`)

  const toRecord = (kind: string, row: typeof RecordRow.Type): Records.Record => ({
    kind,
    key: row.key,
    version: row.version,
    value: row.value
  })

  const putTx = db.transaction((kind: string, key: string, json: string, expected: number): number => {
    holder.ensure()
    const changes = expected === 0 ? stmt.insert.run(ws, kind, key, json).changes : stmt.update.run(json, ws, kind, key, expected).changes
    if (changes !== 1) {
      throw new Abort("Conflict", `record ${kind}/${key} is at version ${current(kind, key)}, not ${expected}; nothing was written`)
    }
    return expected + 1
  })

  const removeTx = db.transaction((kind: string, key: string, expected: number): void => {
    holder.ensure()
    if (stmt.remove.run(ws, kind, key, expected).changes !== 1) {
      throw new Abort("Conflict", `record ${kind}/${key} is at version ${current(kind, key)}, not ${expected}; nothing was removed`)
    }
  })

  const checkExpected = (kind: string, key: string, expected: number): void => {
    if (!Number.isSafeInteger(expected) || expected < 0) {
      throw new Abort("InvalidInput", `record ${kind}/${key}: expected version must be a non-negative integer, got ${expected}`)
    }
  }

  return Records.Records.of({
    get: (kind, key) =>
      attempt("get", () => {
        const row: unknown = stmt.get.get(ws, kind, key)
        if (row === undefined) return Option.none()
        const decoded = decodeRow(row)
        if (Result.isFailure(decoded)) throw damaged(kind, key, decoded.failure.message)
        return Option.some(toRecord(kind, decoded.success))
      }),
    put: (kind, key, value, expected) =>
      attempt("put", () => {
        checkExpected(kind, key, expected)
        const json: unknown = JSON.stringify(value)
        if (typeof json !== "string") throw new Abort("InvalidInput", `record ${kind}/${key}: the value is not JSON`)
        return putTx.immediate(kind, key, json, expected)
      }),
    remove: (kind, key, expected) =>
      attempt("remove", () => {
        checkExpected(kind, key, expected)
        removeTx.immediate(kind, key, expected)
      }),
    list: (kind, { after, prefix, limit }) =>
      attempt("list", () => {
        const n = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0
        if (n === 0) return []
        const from = prefix === undefined || prefix === "" ? undefined : prefix
        const to = from === undefined ? undefined : upperBound(from)
        const decoded = decodeRows(
          listing(after !== undefined, from !== undefined, to !== undefined).all({
            ws,
            kind,
            limit: n,
            ...(after === undefined ? {} : { after }),
            ...(from === undefined ? {} : { from }),
            ...(to === undefined ? {} : { to })
          })
        )
        if (Result.isFailure(decoded)) throw damaged(kind, "(listed)", decoded.failure.message)
        return decoded.success.map((row) => toRecord(kind, row))
      })
  })
}

