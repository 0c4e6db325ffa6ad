import { PortError } from "@credsync/core"
import { SeamHttp } from "@seamapi/http/connect"
import { Effect, Redacted } from "effect"
import { type CallMode, type Port, parseRetryAfter, toPortError } from "./errors.js"

export interface ClientOptions {
  readonly apiKey: Redacted.Redacted<string>
  readonly endpoint?: string | undefined
  readonly workspace?: string | undefined
  readonly timeoutMs?: number | undefined
  readonly retries?: number | undefined
}

export interface Client {
  readonly call: <A>(port: Port, method: string, mode: CallMode, f: (seam: SeamHttp) => Promise<A>) => Effect.Effect<A, PortError.PortError>
  readonly rememberOwner: (resourceId: string, userIdentityId: string) => void
  readonly ownerOf: (resourceId: string) => string | undefined
}

const boundedSet = <V>(max: number) => {
  const m = new Map<string, V>()
  return {
    set: (k: string, v: V) => {
      m.delete(k)
      m.set(k, v)
      if (m.size > max) {
        const first = m.keys().next()
        if (first.done !== true) m.delete(first.value)
      }
    },
    take: (k: string) => {
      const v = m.get(k)
      m.delete(k)
      return v
    },
    get: (k: string) => m.get(k)
  }
}

export const make = (options: ClientOptions): Client => {
  const retryAfter = boundedSet<number>(1_000)
  const owners = boundedSet<string>(50_000)
  let seam: SeamHttp | undefined
  let invalid: unknown
  try {
    const common = {
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      isUndocumentedApiEnabled: true,
      // the engine retries by its own policy (and honours Retry-After); the client must not re-send creates
      axiosRetryOptions: { retries: options.retries ?? 0 },
      axiosOptions: { timeout: options.timeoutMs ?? 30_000 }
    }
    const key = Redacted.value(options.apiKey)
    seam =
      options.workspace === undefined
        ? SeamHttp.fromApiKey(key, common)
        : SeamHttp.fromPersonalAccessToken(key, options.workspace, common)
    // Seam's error classes drop the response headers: note Retry-After by request id on the way in.
    const existing = seam.client.defaults.transformResponse
    const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]
    seam.client.defaults.transformResponse = [
      ...list,
      (data, headers, status) => {
        if (status === 429 || (status !== undefined && status >= 500)) {
          const id = headers["seam-request-id"]
          const ms = parseRetryAfter(typeof headers["retry-after"] === "string" ? headers["retry-after"] : undefined, Date.now())
          if (typeof id === "string" && ms !== undefined) retryAfter.set(id, ms)
        }
        return data
      }
    ]
  } catch (e) {
    // e.g. "Unknown or invalid apiKey format": keep only the message (it never contains the key)
    invalid = e
  }
  const call: Client["call"] = (port, method, mode, f) => {
    const ctx = { port, method, mode, retryAfterOf: (id: string) => retryAfter.take(id) }
    if (seam === undefined) {
      return Effect.fail(
        new PortError.PortError({
          reason: "Unauthorized",
          port,
          method,
          message: `Seam ${method}: the client could not be created: ${invalid instanceof Error ? invalid.message : "invalid options"}`
        })
      )
    }
    const client = seam
    return Effect.tryPromise({ try: () => f(client), catch: (e) => toPortError(ctx, e) })
  }
  return {
    call,
    rememberOwner: (resourceId, userIdentityId) => owners.set(resourceId, userIdentityId),
    ownerOf: (resourceId) => owners.get(resourceId)
  }
}
