/**
 * The HTTP server (node:http): bearer-key auth per workspace, JSON bodies (POST, or the query
 * string of a GET), Seam's `{..., ok: true}` responses and `{error: {...}}` failures, and fault
 * injection for clients' tests (answer chosen requests with 5xx/429 + Retry-After, before or after
 * the request took effect). HID Origo callbacks of a workspace backed by HID arrive on
 * `POST /hid/callbacks/:workspace_id` (authenticated by the callback header, not by an API key).
 * `GET /health`, `/ready` and `/metrics` are the operator endpoints of `Operations` (no API key);
 * `GET /openapi.json` is the routes' OpenAPI document (`OpenApi.make`, no API key, as Seam's is public).
 *
 * Requests run in the context `serve` runs in: provide `Observability.layer()` (of @credsync/core)
 * there, as `bin.ts` does, and the engines' logs, traces and metrics follow it.
 *
 * @since 0.1.0
 */
import { createHash, randomUUID } from "node:crypto"
import { createServer, type IncomingMessage, type Server as NodeServer, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import type { PortError } from "@credsync/core"
import { Cause, Data, Effect, Exit, Option, Redacted, Scope } from "effect"
import * as OpenApi from "./OpenApi.js"
import * as Operations from "./Operations.js"
import { type RequestContext, routes } from "./Routes.js"
import { internal, invalidInput, methodNotAllowed, payloadTooLarge, routeNotFound, SeamError, unauthorized } from "./SeamError.js"
import * as Workspace from "./Workspace.js"

/** A scripted failure: matching requests are answered with `status` instead of their result. */
export interface Fault {
  /** Route path (`/acs/credentials/create`) or pattern; default every route. */
  readonly path?: string | RegExp | undefined
  /** Only requests of this workspace; default any. */
  readonly workspaceId?: string | undefined
  /** e.g. 429, 500, 503. */
  readonly status: number
  /** Seam error `type`; default `rate_limited` for 429, `internal_server_error` otherwise. */
  readonly type?: string | undefined
  /** Sent as the `Retry-After` header (seconds). */
  readonly retryAfterSeconds?: number | undefined
  /** How many matching requests fail; default 1 (`Infinity` for all, until cleared). */
  readonly times?: number | undefined
  /** Let the request take effect, then answer the failure (a lost response). Default false. */
  readonly afterHandling?: boolean | undefined
}

/** Server options. */
export interface Options {
  /** Default 127.0.0.1. */
  readonly host?: string | undefined
  /** Default 0 (any free port). */
  readonly port?: number | undefined
  readonly workspaces: ReadonlyArray<Workspace.Options>
  /** One line per request and background failure; never receives keys or secrets. Default: silent. */
  readonly log?: ((line: string) => void) | undefined
  /** Largest accepted body in bytes. Default 1 MiB. */
  readonly maxBodyBytes?: number | undefined
}

/** A running server. */
export interface Running {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  readonly workspaces: ReadonlyArray<Workspace.Workspace>
  /** The workspace with this id (throws on an unknown id: a test bug). */
  readonly workspace: (id: string) => Workspace.Workspace
  readonly injectFault: (fault: Fault) => void
  readonly clearFaults: () => void
  /** Requests answered so far (faulted ones included). */
  readonly requests: () => number
}

/** The server could not start. */
export class ServeError extends Data.TaggedError("ServeError")<{ readonly message: string }> {}

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

const hashKey = (key: string) => createHash("sha256").update(key).digest("hex")

/** The body was larger than allowed: answered 413, and the connection closed after the answer. */
class BodyTooLarge extends Error {}

const readBody = (req: IncomingMessage, max: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    // Past the limit the rest is read and dropped, and the 413 goes out once the client has sent it
    // all: answering mid-upload and closing would reach the client as a reset, not as the 413. A body
    // that goes on far past the limit is cut off.
    req.on("data", (c: Buffer) => {
      size += c.length
      if (size <= max) chunks.push(c)
      else if (size > 16 * max) {
        reject(new BodyTooLarge())
        req.destroy()
      }
    })
    req.on("end", () => (size > max ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks).toString("utf8"))))
    req.on("error", reject)
  })

// GET parameters: `a=1&a=2` and `a[]=1` are arrays; `true`/`false` and `limit` are typed.
const fromQuery = (params: URLSearchParams): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  const scalar = (k: string, v: string): unknown =>
    v === "true" ? true : v === "false" ? false : k === "limit" && /^\d+$/.test(v) ? Number(v) : v
  for (const rawKey of new Set(params.keys())) {
    const isArray = rawKey.endsWith("[]")
    const key = isArray ? rawKey.slice(0, -2) : rawKey
    const values = params.getAll(rawKey).map((v) => scalar(key, v))
    out[key] = isArray || values.length > 1 ? values : values[0]
  }
  return out
}

/** The OpenAPI document of the route table, once made. */
let openApiCache: string | undefined

/**
 * Serve until the scope closes: builds every workspace (engine, store, simulator, background
 * loops) and listens.
 *
 * @since 0.1.0
 */
export const serve = (options: Options): Effect.Effect<Running, ServeError | PortError.PortError, Scope.Scope> =>
  Effect.gen(function* () {
    const log = options.log ?? (() => {})
    const maxBody = options.maxBodyBytes ?? 1024 * 1024
    // requests are handled outside any fiber: run them with this context (its loggers, tracer, metrics)
    const context = yield* Effect.context<never>()
    const runExit = Effect.runPromiseExitWith(context)
    const byKey = new Map<string, Workspace.Workspace>()
    const workspaces: Array<Workspace.Workspace> = []
    for (const wo of options.workspaces) {
      for (const k of wo.apiKeys) {
        if (!Redacted.value(k).startsWith("seam_")) {
          return yield* Effect.fail(new ServeError({ message: `workspace ${wo.id}: API keys must start with seam_` }))
        }
      }
      const ws = yield* Workspace.make({ ...wo, log: wo.log ?? log })
      workspaces.push(ws)
      for (const k of wo.apiKeys) {
        const h = hashKey(Redacted.value(k))
        if (byKey.has(h)) return yield* Effect.fail(new ServeError({ message: "an API key is given to two workspaces" }))
        byKey.set(h, ws)
      }
    }

    let faults: Array<{ fault: Fault; left: number }> = []
    let served = 0
    const takeFault = (path: string, ws: Workspace.Workspace): Fault | undefined => {
      const hit = faults.find(
        ({ fault: f, left }) =>
          left > 0 &&
          (f.workspaceId === undefined || f.workspaceId === ws.id) &&
          (f.path === undefined || (typeof f.path === "string" ? f.path === path : f.path.test(path)))
      )
      if (hit === undefined) return undefined
      hit.left--
      faults = faults.filter((f) => f.left > 0)
      return hit.fault
    }

    const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
      const json = JSON.stringify(body)
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json), ...headers })
      res.end(json)
    }
    const sendError = (res: ServerResponse, e: SeamError, headers: Record<string, string> = {}) =>
      send(res, e.status, e.body, {
        // a body left unread cannot be skipped: close the connection once the 413 is out
        ...(e.status === 413 ? { connection: "close" } : {}),
        ...headers,
        ...(e.retryAfterSeconds === undefined ? {} : { "retry-after": String(e.retryAfterSeconds) })
      })
    const faultError = (f: Fault) =>
      new SeamError({
        status: f.status,
        type: f.type ?? (f.status === 429 ? "rate_limited" : "internal_server_error"),
        message: `Injected fault (${f.status})`,
        ...(f.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: f.retryAfterSeconds })
      })

    const byId = new Map(workspaces.map((w) => [w.id, w]))
    // the route table is fixed, so the document (about 40 ms to build) is built once per process
    const openApiJson = yield* Effect.try({
      try: () => {
        openApiCache ??= JSON.stringify(OpenApi.make())
        return openApiCache
      },
      catch: (e) => new ServeError({ message: `cannot generate the OpenAPI document: ${e instanceof Error ? e.message : String(e)}` })
    })

    // HID → OrigoEvents.ingest → engine.ingest. 200 when taken, 4xx when refused (nothing changed),
    // 503 when it failed (HID is not known to redeliver: polling and resync catch up).
    const hidCallback = async (req: IncomingMessage, res: ServerResponse, workspaceId: string, path: string, headers: Record<string, string>) => {
      const intake = byId.get(workspaceId)?.hidCallback
      if (intake === undefined) {
        sendError(res, routeNotFound(path), headers)
        return 404
      }
      if (req.method !== "POST") {
        sendError(res, methodNotAllowed(req.method ?? "GET"), headers)
        return 405
      }
      let body: string
      try {
        body = await readBody(req, maxBody)
      } catch (err) {
        const e = err instanceof BodyTooLarge ? payloadTooLarge(maxBody) : invalidInput("Request body could not be read")
        sendError(res, e, headers)
        return e.status
      }
      const exit = await runExit(intake({ headers: req.headers, body }))
      if (Exit.isSuccess(exit)) {
        send(res, 200, { observations: exit.value, ok: true }, headers)
        return 200
      }
      const failure = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
      if (failure?._tag === "CallbackRejected") {
        const status = failure.reason === "Unauthenticated" ? 401 : failure.reason === "UnsupportedMediaType" ? 415 : 400
        const type = failure.reason === "Unauthenticated" ? "unauthorized" : failure.reason === "UnsupportedMediaType" ? "unsupported_media_type" : "invalid_input"
        const field = failure.field
        sendError(
          res,
          field === undefined
            ? new SeamError({ status, type, message: failure.message })
            : invalidInput(failure.message, { [field]: { _errors: [failure.message] } }),
          headers
        )
        return status
      }
      log(`POST ${path}: HID callback failed: ${failure === undefined ? Cause.pretty(exit.cause) : failure.message}`)
      const e = new SeamError({ status: 503, type: "service_unavailable", message: "The callback could not be processed" })
      sendError(res, e, headers)
      return e.status
    }

    const handle = async (req: IncomingMessage, res: ServerResponse, origin: string): Promise<number> => {
      const requestId = randomUUID()
      const headers = { "seam-request-id": requestId }
      const url = new URL(req.url ?? "/", origin)
      const path = url.pathname.replace(/\/+$/, "") || "/"
      const method = req.method ?? "GET"
      const operation = Operations.answer(workspaces, method, path)
      if (operation !== undefined) {
        const exit = await runExit(operation)
        const a = Exit.isSuccess(exit) ? exit.value : { status: 500, contentType: "application/json", body: JSON.stringify(internal().body) }
        res.writeHead(a.status, { "content-type": a.contentType, "content-length": Buffer.byteLength(a.body), ...headers })
        res.end(method === "HEAD" ? undefined : a.body)
        return a.status
      }
      if (path === "/openapi.json") {
        if (method !== "GET" && method !== "HEAD") {
          sendError(res, methodNotAllowed(method), headers)
          return 405
        }
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(openApiJson), ...headers })
        res.end(method === "HEAD" ? undefined : openApiJson)
        return 200
      }
      const hid = /^\/hid\/callbacks\/([^/]+)$/.exec(path)?.[1]
      if (hid !== undefined) return hidCallback(req, res, safeDecode(hid), path, headers)
      const route = routes[path]
      if (route === undefined) {
        sendError(res, routeNotFound(path), headers)
        return 404
      }
      const allowed =
        method === "POST" ||
        (method === "GET" && route.kind === "read") ||
        (method === "DELETE" && route.kind === "delete") ||
        ((method === "PUT" || method === "PATCH") && route.kind === "write")
      if (!allowed) {
        sendError(res, methodNotAllowed(method), headers)
        return 405
      }
      const auth = req.headers.authorization
      const token = auth?.startsWith("Bearer ") === true ? auth.slice("Bearer ".length).trim() : undefined
      const ws = token === undefined ? undefined : byKey.get(hashKey(token))
      if (ws === undefined) {
        const e = unauthorized(token === undefined ? "Missing API key: send Authorization: Bearer seam_..." : "Invalid API key")
        sendError(res, e, headers)
        return e.status
      }
      let body: unknown
      try {
        const text = method === "GET" ? "" : await readBody(req, maxBody)
        body = method === "GET" ? fromQuery(url.searchParams) : text.trim() === "" ? {} : JSON.parse(text)
      } catch (e) {
        const err =
          e instanceof BodyTooLarge
            ? payloadTooLarge(maxBody)
            : invalidInput(e instanceof SyntaxError ? "Request body is not valid JSON" : "Request body could not be read")
        sendError(res, err, headers)
        return err.status
      }
      const fault = takeFault(path, ws)
      if (fault !== undefined && fault.afterHandling !== true) {
        sendError(res, faultError(fault), headers)
        return fault.status
      }
      const ctx: RequestContext = { ws, origin, path }
      const exit = await runExit(route.handle(ctx, body))
      if (fault !== undefined) {
        sendError(res, faultError(fault), headers)
        return fault.status
      }
      if (Exit.isSuccess(exit)) {
        send(res, 200, { ...exit.value, ok: true }, headers)
        return 200
      }
      const failure = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
      if (failure !== undefined) {
        if (failure.status >= 500 && failure.detail !== undefined) log(`${method} ${path} ${requestId}: ${failure.detail}`)
        sendError(res, failure, headers)
        return failure.status
      }
      log(`${method} ${path} ${requestId}: defect: ${Cause.pretty(exit.cause)}`)
      sendError(res, internal(), headers)
      return 500
    }

    const server: NodeServer = createServer((req, res) => {
      const origin = `http://${req.headers.host ?? "127.0.0.1"}`
      const started = Date.now()
      handle(req, res, origin).then(
        (status) => {
          served++
          log(`${req.method} ${req.url?.split("?")[0]} ${status} ${Date.now() - started}ms`)
        },
        (e: unknown) => {
          served++
          log(`${req.method} ${req.url?.split("?")[0]} failed: ${e instanceof Error ? e.message : String(e)}`)
          if (!res.headersSent) sendError(res, internal())
        }
      )
    })
    const host = options.host ?? "127.0.0.1"
    const address = yield* Effect.acquireRelease(
      Effect.callback<AddressInfo, ServeError>((resume) => {
        server.once("error", (e) => resume(Effect.fail(new ServeError({ message: `cannot listen on ${host}:${options.port ?? 0}: ${e.message}` }))))
        server.listen(options.port ?? 0, host, () => {
          const a = server.address()
          resume(
            a !== null && typeof a === "object"
              ? Effect.succeed(a)
              : Effect.fail(new ServeError({ message: "server has no TCP address" }))
          )
        })
      }),
      () =>
        Effect.callback<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    const url = `http://${host}:${address.port}`
    for (const ws of workspaces) {
      // A registration that fails is reported, not fatal: polling and resync still reach HID.
      yield* ws.registerHidCallbacks(url).pipe(
        Effect.tap((registered) => Effect.sync(() => registered !== undefined && log(`workspace ${ws.id}: HID callbacks registered → ${registered}`))),
        Effect.catch((e) => Effect.sync(() => log(`workspace ${ws.id}: registering HID callbacks failed: ${e.message}`)))
      )
    }
    return {
      url,
      port: address.port,
      workspaces,
      workspace: (id) => {
        const w = byId.get(id)
        if (w === undefined) throw new Error(`unknown workspace ${id}`)
        return w
      },
      injectFault: (fault) => {
        faults.push({ fault, left: fault.times ?? 1 })
      },
      clearFaults: () => {
        faults = []
      },
      requests: () => served
    } satisfies Running
  })

/** A running server with a way to stop it (for hosts and tests outside Effect). */
export interface Handle extends Running {
  /** Stop listening and stop every workspace's background work. */
  readonly close: () => Promise<void>
}

/**
 * Start the server from a Promise world (tests, scripts). `close()` releases everything.
 *
 * @since 0.1.0
 */
export const start = async (options: Options): Promise<Handle> => {
  const scope = await Effect.runPromise(Scope.make())
  const exit = await Effect.runPromiseExit(Scope.provide(serve(options), scope))
  if (Exit.isFailure(exit)) {
    await Effect.runPromise(Scope.close(scope, exit))
    const e = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
    throw new Error(e === undefined ? Cause.pretty(exit.cause) : e.message)
  }
  return { ...exit.value, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}
