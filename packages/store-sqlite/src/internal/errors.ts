/**
 * Translation of better-sqlite3 / SQLite failures into the Store port's closed error set.
 *
 * @internal
 */
import { PortError } from "@credsync/core"

type Reason = PortError.Reason

/**
 * Thrown inside a transaction body to abort it (better-sqlite3 rolls back on throw) with a known
 * port error reason; turned into a `PortError` by {@link toPortError}.
 *
 * @internal
 */
export class Abort extends Error {
  constructor(
    readonly reason: Reason,
    message: string
  ) {
    super(message)
  }
}

const codeOf = (e: unknown): string | undefined => {
  if (typeof e === "object" && e !== null && "code" in e && typeof e.code === "string") return e.code
  return undefined
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * SQLite result codes → reasons. Busy/locked: another connection holds the write lock past the busy
 * timeout; nothing was written, a retry may succeed. Corrupt/not-a-database: terminal, never
 * retried. Everything else is `Unknown` (terminal) with SQLite's message and code kept.
 *
 * @internal
 */
export const reasonOf = (e: unknown): Reason => {
  if (e instanceof Abort) return e.reason
  const code = codeOf(e)
  if (code === undefined) return "Unknown"
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return "Transient"
  return "Unknown"
}

/** @internal */
export const isCorruption = (e: unknown): boolean => {
  const code = codeOf(e)
  return code !== undefined && (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB")
}

/**
 * `filename` is given only when the store is opened (the host must know which file it gave); a
 * failing operation on an open store says what failed, not where the file lives.
 *
 * @internal
 */
export const toPortError = (method: string, e: unknown, filename?: string): PortError.PortError => {
  if (e instanceof PortError.PortError) return e
  if (e instanceof Abort) return new PortError.PortError({ reason: e.reason, port: "Store", method, message: e.message })
  const code = codeOf(e)
  const what = isCorruption(e)
    ? `the SQLite file${filename === undefined ? "" : ` ${filename}`} is corrupt or not a database`
    : `SQLite failed on ${filename ?? "the store"}`
  return new PortError.PortError({
    reason: reasonOf(e),
    port: "Store",
    method,
    message: `${what}: ${messageOf(e)}${code === undefined ? "" : ` (${code})`}`,
    cause: e
  })
}
