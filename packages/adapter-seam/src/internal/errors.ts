/**
 * Seam client failures → the core's closed `PortError` reasons. The vendor error is kept as
 * `cause`, except raw transport errors, whose request config carries the `Authorization` header:
 * those are replaced by a plain summary so that the API key can never reach a log.
 */
import { PortError } from "@credsync/core"
import { isSeamHttpApiError, isSeamHttpInvalidInputError, isSeamHttpUnauthorizedError } from "@seamapi/http/connect"

/**
 * How a call behaves when its outcome is unknown (network failure, 5xx):
 * - `read`: nothing changed, retry freely → `Transient`;
 * - `idempotent`: a repeat does no harm (delete, deactivate) → `Transient`;
 * - `create`: it may have taken effect → `Ambiguous` (the engine observes instead of retrying).
 */
export type CallMode = "read" | "idempotent" | "create"

export type Port = "CredentialManager" | "AccessControl"

const field = (o: unknown, key: string): unknown =>
  typeof o === "object" && o !== null && key in o ? Reflect.get(o, key) : undefined

/** Error codes that prove the request never reached the server. */
const notSent = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ERR_INVALID_URL", "EHOSTUNREACH", "ENETUNREACH"])

const codesOf = (e: unknown): ReadonlyArray<string> => {
  const out: Array<string> = []
  let cur: unknown = e
  for (let i = 0; i < 5 && cur !== undefined && cur !== null; i++) {
    const code = field(cur, "code")
    if (typeof code === "string") out.push(code)
    const errors = field(cur, "errors")
    if (Array.isArray(errors)) for (const x of errors) { const c = field(x, "code"); if (typeof c === "string") out.push(c) }
    cur = field(cur, "cause")
  }
  return out
}

/** A transport error summarised without its request config (which holds the key). */
const summary = (e: unknown): Error => {
  const message = field(e, "message")
  const s = new Error(typeof message === "string" ? message : "request failed")
  s.name = "SeamTransportError"
  const codes = codesOf(e)
  if (codes.length > 0) Object.defineProperty(s, "codes", { value: codes, enumerable: true })
  const status = field(field(e, "response"), "status")
  if (typeof status === "number") Object.defineProperty(s, "status", { value: status, enumerable: true })
  return s
}

/** Retry-After (seconds or an HTTP date) → milliseconds. */
export const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined || value.trim() === "") return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000)
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

export interface Context {
  readonly port: Port
  readonly method: string
  readonly mode: CallMode
  /** Retry-After seen on the response with this `seam-request-id`, in ms. */
  readonly retryAfterOf: (requestId: string) => number | undefined
}

const make = (ctx: Context, reason: PortError.Reason, message: string, cause: unknown, retryAfter?: number) =>
  new PortError.PortError({
    reason,
    port: ctx.port,
    method: ctx.method,
    message,
    cause,
    ...(retryAfter === undefined ? {} : { retryAfter })
  })

const byStatus = (ctx: Context, status: number, code: string, message: string, cause: unknown, retryAfter: number | undefined) => {
  const text = `Seam ${ctx.method}: ${status} ${code}: ${message}`
  if (status === 401 || status === 403) return make(ctx, "Unauthorized", text, cause)
  if (status === 404 || code.endsWith("_not_found")) return make(ctx, "NotFound", text, cause)
  if (status === 409) return make(ctx, "Conflict", text, cause)
  if (status === 429) return make(ctx, "RateLimited", text, cause, retryAfter)
  if (status >= 500) return make(ctx, ctx.mode === "create" && status !== 503 ? "Ambiguous" : "Transient", text, cause)
  if (status === 400 || status === 422) return make(ctx, "InvalidInput", text, cause)
  return make(ctx, "Unknown", text, cause)
}

/** Translate anything the official client throws. */
export const toPortError = (ctx: Context, e: unknown): PortError.PortError => {
  if (isSeamHttpUnauthorizedError(e)) return make(ctx, "Unauthorized", `Seam ${ctx.method}: unauthorized (check the API key)`, e)
  if (isSeamHttpInvalidInputError(e)) return make(ctx, "InvalidInput", `Seam ${ctx.method}: invalid input: ${e.message}`, e)
  if (isSeamHttpApiError(e)) return byStatus(ctx, e.statusCode, e.code, e.message, e, ctx.retryAfterOf(e.requestId))
  // a raw transport error: a non-JSON error body, or no response at all
  const response = field(e, "response")
  const status = field(response, "status")
  if (typeof status === "number") {
    const headers = field(response, "headers")
    const requestId = field(headers, "seam-request-id")
    const retry = typeof requestId === "string" ? ctx.retryAfterOf(requestId) : undefined
    return byStatus(ctx, status, "http_error", "the response is not a Seam error", summary(e), retry)
  }
  if (field(e, "isAxiosError") === true || field(e, "name") === "AxiosError") {
    const codes = codesOf(e)
    const sent = !codes.some((c) => notSent.has(c))
    const reason = sent && ctx.mode === "create" ? "Ambiguous" : "Transient"
    return make(ctx, reason, `Seam ${ctx.method}: no response (${codes.join(", ") || "network error"})`, summary(e))
  }
  const message = field(e, "message")
  return make(ctx, "Unknown", `Seam ${ctx.method}: ${typeof message === "string" ? message : "unexpected failure"}`, e instanceof Error ? e : undefined)
}
