/**
 * Translation of Postgres failures (effect's `SqlError`) into the Store port's closed error set,
 * with one-line messages that never carry the connection string or the password.
 *
 * @internal
 */
import { PortError } from "@credsync/core"
import type { SqlError } from "effect/sql/SqlError"

type Reason = PortError.Reason

/**
 * SQLSTATEs raised by the store's own `save` function (see migrations.ts).
 *
 * @internal
 */
export const Refusal = {
  version: "CSV01",
  lease: "CSL01",
  key: "CSK01"
} as const

const stringField = (value: unknown, name: string): string | undefined => {
  if (typeof value !== "object" || value === null || !(name in value)) return undefined
  const field: unknown = Reflect.get(value, name)
  return typeof field === "string" ? field : undefined
}

/** The server's SQLSTATE of a failed statement, when the server answered. @internal */
export const sqlState = (error: SqlError): string | undefined => stringField(error.reason.cause, "code")

/** What the server (or the socket) said, without the driver's prefix. @internal */
export const detail = (error: SqlError): string =>
  stringField(error.reason.cause, "message") ?? error.reason.message ?? error.message

/**
 * Writes are ambiguous when the connection broke after the statement went out: Postgres may have
 * committed it. A connection that never opened, or a read, is simply transient.
 */
const reasonOf = (error: SqlError, write: boolean): Reason => {
  const code = sqlState(error)
  if (code === Refusal.version || code === Refusal.lease) return "Conflict"
  if (code === Refusal.key) return "InvalidInput"
  switch (error.reason._tag) {
    case "ConnectionError":
      return write && error.reason.operation !== "connect" ? "Ambiguous" : "Transient"
    case "AuthenticationError":
    case "AuthorizationError":
      return "Unauthorized"
    case "DeadlockError":
    case "SerializationError":
    case "LockTimeoutError":
    case "StatementTimeoutError":
      return "Transient"
  }
  if (code === undefined) return "Unknown"
  // 53: insufficient resources (too many connections, out of memory); 57: operator intervention
  // (server shutting down, query cancelled): the statement was rolled back, a retry may succeed
  if (code.startsWith("53") || code.startsWith("57")) return "Transient"
  // 22: data exception (a value Postgres cannot store, e.g. a NUL character in a key)
  if (code.startsWith("22")) return "InvalidInput"
  return "Unknown"
}

/**
 * Removes every secret from a message: a server or socket message could echo part of the
 * connection settings.
 *
 * @internal
 */
export type Scrub = (message: string) => string

/** @internal */
export const makeScrub = (secrets: ReadonlyArray<string>): Scrub => {
  const hidden = secrets.filter((s) => s.length >= 4)
  return (message) => hidden.reduce((m, secret) => m.replaceAll(secret, "***"), message)
}

/** @internal */
export const toPortError = (
  method: string,
  context: string,
  error: SqlError,
  scrub: Scrub,
  write: boolean
): PortError.PortError => {
  const reason = reasonOf(error, write)
  const code = sqlState(error)
  // the store's own refusals are complete sentences already
  const refusal = code?.startsWith("CS") === true
  const message = refusal
    ? detail(error)
    : `Postgres store (${context}): ${method} failed: ${detail(error)}${code === undefined ? "" : ` (SQLSTATE ${code})`}`
  return new PortError.PortError({
    reason,
    port: "Store",
    method,
    message: scrub(message.replaceAll(/\s+/g, " ")),
    ...(refusal ? {} : { cause: error })
  })
}

/** A failure the store detects itself (bad input, damaged row, newer schema). @internal */
export const storeError = (reason: Reason, method: string, message: string): PortError.PortError =>
  new PortError.PortError({ reason, port: "Store", method, message })
