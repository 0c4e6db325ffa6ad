/**
 * The memory simulator served over loopback HTTP, so that a credential manager and an ACS can live
 * outside the engine's process (crash tests kill the engine, not the provider). JSON over
 * `node:http`, bound to 127.0.0.1 only; see `Protocol` for the routes.
 *
 * A simulated lost response (`lostResponse` fault: the change is applied, then `Ambiguous`) is served
 * as a real lost response by default: the server applies the change, then destroys the connection
 * without answering, so the client must classify the failure itself.
 *
 * @since 0.1.0
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Simulator } from "@credsync/adapter-memory"
import { PortError } from "@credsync/core"
import { Cause, Effect, Exit, Schema } from "effect"
import { type Envelope, pathOf, type RequestOf, type ResponseOf, type RouteName, routeOfPath, routes } from "./Protocol.js"

/** Options of {@link start}. */
export interface Options {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number | undefined
  /** Serve `Ambiguous` (lost response) by dropping the connection (default true) or as an error envelope. */
  readonly dropLostResponses?: boolean | undefined
}

/** A running server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string
  readonly port: number
  /** Stop accepting, close idle and active connections, resolve when closed. Idempotent. */
  readonly close: () => Promise<void>
}

type Handlers = { readonly [K in RouteName]: (request: RequestOf<K>) => Effect.Effect<ResponseOf<K>, PortError.PortError> }

const handlersOf = (sim: Simulator.Simulator): Handlers => ({
  managerSystems: () => Effect.sync(() => sim.manager.systems),
  ensureUser: (r) => sim.manager.ensureUser(r.manager, r.identity),
  observe: (r) => sim.manager.observe(r.manager, r.user),
  invite: (r) => sim.manager.invite(r.manager, r.user),
  cancelInvitation: (r) => Effect.as(sim.manager.cancelInvitation(r.manager, r.invitation), null),
  issue: (r) => sim.manager.issue(r.manager, { user: r.user, endpoint: r.endpoint, card: r.card }),
  revoke: (r) => Effect.as(sim.manager.revoke(r.manager, r.credential), null),
  removeEndpoint: (r) => Effect.as(sim.manager.removeEndpoint(r.manager, r.endpoint), null),
  acsSystems: () => Effect.sync(() => sim.acs.systems),
  acsCreateUser: (r) => sim.acs.createUser(r.acs, r.user),
  acsGetUser: (r) => sim.acs.getUser(r.acs, r.user),
  acsObserve: (r) => sim.acs.observe(r.acs, { users: r.users, cardNumbers: r.cardNumbers }),
  acsImport: (r) => sim.acs.importCredential(r.acs, { cardNumber: r.cardNumber, card: r.card, label: r.label }),
  acsAssign: (r) => Effect.as(sim.acs.assign(r.acs, r.entry, r.user), null),
  acsRemove: (r) => Effect.as(sim.acs.remove(r.acs, r.entry), null),
  redeem: (r) => sim.redeem(r.code),
  completeIssuances: () => Effect.as(sim.completeIssuances(), null),
  truth: () => sim.truth(),
  setFaults: (r) => Effect.as(sim.setFaults(r.faults), null)
})

/** What answering one request comes to: an envelope with its status, or a dropped connection. */
type Answer = { readonly status: number; readonly body: Envelope } | "drop"

const statusOf: Record<PortError.Reason, number> = {
  NotFound: 404,
  Conflict: 409,
  RateLimited: 429,
  Unauthorized: 401,
  Transient: 503,
  Ambiguous: 504,
  InvalidInput: 400,
  Unknown: 500
}

const failure = (reason: PortError.Reason, message: string, retryAfter?: number): Answer => ({
  status: statusOf[reason],
  body: { ok: false, error: retryAfter === undefined ? { reason, message } : { reason, message, retryAfter } }
})

/** Decode, run, encode one call of route `name`. */
const dispatch = <K extends RouteName>(handlers: Handlers, name: K, body: unknown, drop: boolean): Effect.Effect<Answer> => {
  const r = routes[name]
  return Schema.decodeUnknownEffect(r.request)(body, { onExcessProperty: "error" }).pipe(
    Effect.mapError((e) => new PortError.PortError({ reason: "InvalidInput", port: r.port, method: name, message: e.message })),
    Effect.flatMap((request) => handlers[name](request)),
    Effect.flatMap((value) =>
      Schema.encodeEffect(r.response)(value).pipe(
        Effect.mapError((e) => new PortError.PortError({ reason: "Unknown", port: r.port, method: name, message: e.message }))
      )
    ),
    Effect.exit,
    Effect.map((exit): Answer => {
      if (Exit.isSuccess(exit)) return { status: 200, body: { ok: true, value: exit.value } }
      const error = exit.cause.reasons.find(Cause.isFailReason)?.error
      if (error !== undefined) {
        if (error.reason === "Ambiguous" && drop) return "drop"
        return failure(error.reason, error.message, error.retryAfter)
      }
      // a simulated engine crash means "applied, then the caller vanished": over HTTP, a lost response
      if (exit.cause.reasons.some((x) => Cause.isDieReason(x) && Simulator.isSimulatedCrash(x.defect))) return "drop"
      return failure("Unknown", Cause.pretty(exit.cause))
    })
  )
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const send = (res: ServerResponse, answer: Answer): void => {
  if (answer === "drop") {
    res.socket?.destroy()
    return
  }
  const text = JSON.stringify(answer.body)
  res.writeHead(answer.status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

/**
 * Serve `sim` on 127.0.0.1. Every operation runs on the simulator with the real clock.
 *
 * @since 0.1.0
 */
export const start = (sim: Simulator.Simulator, options: Options = {}): Promise<RunningServer> => {
  const handlers = handlersOf(sim)
  const drop = options.dropLostResponses ?? true
  const server = createServer((req, res) => {
    const name = routeOfPath(req.url ?? "")
    if (req.method !== "POST" || name === undefined) {
      send(res, failure("NotFound", `no route ${req.method ?? "?"} ${req.url ?? ""}; routes are POST ${pathOf("truth")} and the like`))
      return
    }
    readBody(req).then(
      (text) => {
        let body: unknown
        try {
          body = text === "" ? {} : JSON.parse(text)
        } catch {
          send(res, failure("InvalidInput", "the request body is not JSON"))
          return
        }
        Effect.runPromise(dispatch(handlers, name, body, drop)).then(
          (answer) => send(res, answer),
          (defect: unknown) => send(res, failure("Unknown", String(defect)))
        )
      },
      () => res.socket?.destroy()
    )
  })
  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject)
      const address: AddressInfo | string | null = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      let closing: Promise<void> | undefined
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        close: () => {
          closing ??= new Promise<void>((done) => {
            server.close(() => done())
            server.closeAllConnections()
          })
          return closing
        }
      })
    })
  })
}

/**
 * {@link start} as a scoped Effect: the server closes with the scope.
 *
 * @since 0.1.0
 */
export const serve = (sim: Simulator.Simulator, options: Options = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => start(sim, options)),
    (s) => Effect.promise(() => s.close())
  )
