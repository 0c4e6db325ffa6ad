/** One HTTP exchange on global fetch, with the failure classified by where it happened. */
import { Data, Effect } from "effect"

export interface Response {
  readonly status: number
  readonly headers: Headers
  /** Parsed JSON body, or undefined for an empty / non-JSON body. */
  readonly body: unknown
}

/**
 * - `BeforeSend`: the connection could not be made; the server cannot have seen the request.
 * - `AfterSend`: the request may have reached the server (socket closed, reset, body cut).
 * - `Timeout`: no answer in time; the request may have been applied.
 */
export class SendFailure extends Data.TaggedError("SendFailure")<{
  readonly stage: "BeforeSend" | "AfterSend" | "Timeout"
  readonly cause: unknown
}> {}

const CONNECT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"])

const codeOf = (e: unknown): string | undefined => {
  for (let cur: unknown = e, depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    if (typeof cur !== "object") return undefined
    if ("code" in cur && typeof cur.code === "string") return cur.code
    cur = "cause" in cur ? cur.cause : undefined
  }
  return undefined
}

const isTimeout = (e: unknown): boolean => typeof e === "object" && e !== null && "name" in e && e.name === "TimeoutError"

export const send = (request: {
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
  readonly body?: string | undefined
  readonly timeoutMs: number
}): Effect.Effect<Response, SendFailure> =>
  Effect.tryPromise({
    try: async (signal) => {
      const res = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        signal: AbortSignal.any([signal, AbortSignal.timeout(request.timeoutMs)])
      })
      const text = await res.text()
      let body: unknown
      if (text.length > 0) {
        try {
          body = JSON.parse(text)
        } catch {
          body = undefined
        }
      }
      return { status: res.status, headers: res.headers, body }
    },
    catch: (cause) =>
      new SendFailure({
        stage: isTimeout(cause) ? "Timeout" : CONNECT_CODES.has(codeOf(cause) ?? "") ? "BeforeSend" : "AfterSend",
        cause
      })
  })
