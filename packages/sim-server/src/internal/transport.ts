/**
 * One call of a route over fetch, every outcome mapped to a value or a `PortError`:
 * - an error envelope → the same reason, message and `retryAfter`;
 * - no connection (refused, unresolvable, connect timeout) → `Transient` (nothing was sent);
 * - a connection lost or timed out after sending → `Ambiguous` for a mutating route (it may have
 *   taken effect), `Transient` for a read. A write sent on a pooled keep-alive connection the server
 *   had just closed is also `Ambiguous`: the client cannot tell that it never arrived;
 * - a response that does not decode → `Ambiguous` for a mutating route, `Unknown` for a read.
 *
 * @internal
 */
import { PortError } from "@credsync/core"
import { Effect, Result, Schema } from "effect"
import { Envelope, pathOf, type RequestOf, type ResponseOf, type RouteName, routes } from "../Protocol.js"

/** Error codes that mean the request never left this process. */
const notSent: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT"
])

const codeOf = (u: unknown): string | undefined => {
  for (let e: unknown = u, depth = 0; typeof e === "object" && e !== null && depth < 5; depth++) {
    if ("code" in e && typeof e.code === "string") return e.code
    e = "cause" in e ? e.cause : undefined
  }
  return undefined
}

const decodeEnvelope = Schema.decodeUnknownResult(Envelope)

export interface TransportOptions {
  /** Abort a call after this many ms (default 30,000). */
  readonly timeoutMs?: number | undefined
}

export const call = <K extends RouteName>(
  baseUrl: string,
  name: K,
  request: RequestOf<K>,
  options: TransportOptions = {}
): Effect.Effect<ResponseOf<K>, PortError.PortError> => {
  const r = routes[name]
  const fail = (reason: PortError.Reason, message: string, cause?: unknown, retryAfter?: number) =>
    new PortError.PortError({
      reason,
      port: r.port,
      method: name,
      message,
      ...(cause === undefined ? {} : { cause }),
      ...(retryAfter === undefined ? {} : { retryAfter })
    })
  const afterSend = r.mutating ? "Ambiguous" : "Transient"
  return Effect.gen(function* () {
    const body = yield* Schema.encodeEffect(r.request)(request).pipe(
      Effect.mapError((e) => fail("InvalidInput", e.message))
    )
    const text = yield* Effect.tryPromise({
      try: async (signal) => {
        const res = await fetch(`${baseUrl}${pathOf(name)}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs ?? 30_000)])
        })
        return res.text()
      },
      catch: (e) => {
        const code = codeOf(e)
        if (code !== undefined && notSent.has(code)) return fail("Transient", `${name}: cannot connect to ${baseUrl} (${code})`, e)
        return fail(afterSend, `${name}: the connection to ${baseUrl} was lost after the request was sent (${code ?? String(e)})`, e)
      }
    })
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (e) {
      return yield* fail(r.mutating ? "Ambiguous" : "Unknown", `${name}: the response is not JSON`, e)
    }
    const envelope = decodeEnvelope(json)
    if (Result.isFailure(envelope)) {
      return yield* fail(r.mutating ? "Ambiguous" : "Unknown", `${name}: unexpected response: ${envelope.failure.message}`)
    }
    const e = envelope.success
    if (!e.ok) return yield* fail(e.error.reason, e.error.message, undefined, e.error.retryAfter)
    return yield* Schema.decodeUnknownEffect(r.response)(e.value).pipe(
      Effect.mapError((x) => fail(r.mutating ? "Ambiguous" : "Unknown", `${name}: unexpected response value: ${x.message}`))
    )
  })
}
