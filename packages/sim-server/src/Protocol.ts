/**
 * The wire protocol between the simulator server and its clients: one `POST /v1/<route>` per
 * operation, a JSON request body and a JSON envelope back, every body described by a Schema that both
 * sides decode with. Each route says whether it changes provider state (`mutating`), which decides how
 * a client classifies a connection lost after the request was sent (`Ambiguous` vs `Transient`).
 *
 * @since 0.1.0
 */
import { Faults as SimFaults } from "@credsync/adapter-memory"
import { AccessControl, Card, CredentialManager, Ids, PortError } from "@credsync/core"
import { Schema } from "effect"

const opt = Schema.optional

/** One route: request and response Schemas, the port it belongs to, and whether it mutates. */
export interface Route<Req extends Schema.Top, Res extends Schema.Top> {
  readonly request: Req
  readonly response: Res
  readonly port: PortError.PortError["port"]
  readonly mutating: boolean
}

const route = <Req extends Schema.Top, Res extends Schema.Top>(
  port: PortError.PortError["port"],
  mutating: boolean,
  request: Req,
  response: Res
): Route<Req, Res> => ({ request, response, port, mutating })

/** An empty request body. */
export const Empty = Schema.Struct({})
/** The response of an operation that returns nothing. */
export const Done = Schema.Null

/** Fault probabilities for one operation (mirrors adapter-memory's `Faults.OperationFaults`). */
export const OperationFaults = Schema.Struct({
  transient: opt(Schema.Number),
  rateLimited: opt(Schema.Number),
  retryAfter: opt(Schema.Number),
  lostResponse: opt(Schema.Number),
  crash: opt(Schema.Number),
  latency: opt(Schema.Number),
  latencyMs: opt(Schema.Number)
})

/** Fault settings (mirrors adapter-memory's `Faults.Faults`). */
export const Faults = Schema.Struct({
  ...OperationFaults.fields,
  ops: opt(Schema.Record(Schema.Literals(SimFaults.operations), Schema.optionalKey(OperationFaults))),
  lagMs: opt(Schema.Number),
  duplicateCallbacks: opt(Schema.Number),
  reorderCallbacks: opt(Schema.Number),
  issueFailure: opt(Schema.Number)
})
export type Faults = typeof Faults.Type

/** The simulator's ground truth (mirrors adapter-memory's `Simulator.Truth`). */
export const Truth = Schema.Struct({
  at: Schema.Number,
  users: Schema.Array(Schema.Struct({ manager: Ids.AcsSystemId, ref: Ids.ProviderRef, identity: Ids.UserIdentityId })),
  invitations: Schema.Array(
    Schema.Struct({
      manager: Ids.AcsSystemId,
      ref: Ids.ProviderRef,
      identity: Ids.UserIdentityId,
      code: Schema.String,
      status: Schema.Literals(["pending", "redeemed", "expired", "cancelled"])
    })
  ),
  endpoints: Schema.Array(
    Schema.Struct({
      manager: Ids.AcsSystemId,
      ref: Ids.ProviderRef,
      identity: Ids.UserIdentityId,
      invitation: opt(Ids.ProviderRef),
      status: Schema.Literals(["active", "removed"])
    })
  ),
  credentials: Schema.Array(
    Schema.Struct({
      manager: Ids.AcsSystemId,
      ref: Ids.ProviderRef,
      identity: Ids.UserIdentityId,
      endpoint: Ids.ProviderRef,
      cardFormat: Schema.String,
      facilityCode: Schema.String,
      cardNumber: Schema.String,
      status: CredentialManager.CredentialStatus,
      live: Schema.Boolean
    })
  ),
  acsUsers: Schema.Array(Schema.Struct({ acsSystemId: Ids.AcsSystemId, id: Ids.AcsUserId, fullName: Schema.String })),
  acsEntries: Schema.Array(
    Schema.Struct({
      acsSystemId: Ids.AcsSystemId,
      ref: Ids.ProviderRef,
      cardNumber: Schema.String,
      cardFormat: Schema.String,
      facilityCode: Schema.String,
      label: Schema.String,
      assignedTo: opt(Ids.AcsUserId)
    })
  ),
  calls: Schema.Record(Schema.String, Schema.Number)
})
export type Truth = typeof Truth.Type

/** A failed operation: the port error's reason, message and `retryAfter`, as sent on the wire. */
export const WireError = Schema.Struct({
  reason: PortError.Reason,
  message: Schema.String,
  retryAfter: opt(Schema.Number)
})
export type WireError = typeof WireError.Type

/** The envelope of every response. */
export const Envelope = Schema.Union([
  Schema.Struct({ ok: Schema.Literal(true), value: Schema.Unknown }),
  Schema.Struct({ ok: Schema.Literal(false), error: WireError })
])
export type Envelope = typeof Envelope.Type

const manager = Ids.AcsSystemId
const acs = Ids.AcsSystemId

/**
 * Every route of the server. CredentialManager and AccessControl routes mirror the port methods;
 * `redeem`, `completeIssuances`, `truth` and `setFaults` are the simulator's test controls.
 *
 * @since 0.1.0
 */
export const routes = {
  managerSystems: route("CredentialManager", false, Empty, Schema.Array(CredentialManager.ManagerSystem)),
  ensureUser: route(
    "CredentialManager",
    true,
    Schema.Struct({
      manager,
      identity: Schema.Struct({ id: Ids.UserIdentityId, email: opt(Schema.String), fullName: opt(Schema.String) })
    }),
    Ids.ProviderRef
  ),
  observe: route("CredentialManager", false, Schema.Struct({ manager, user: Ids.ProviderRef }), CredentialManager.ManagerView),
  invite: route("CredentialManager", true, Schema.Struct({ manager, user: Ids.ProviderRef }), CredentialManager.Invitation),
  cancelInvitation: route("CredentialManager", true, Schema.Struct({ manager, invitation: Ids.ProviderRef }), Done),
  issue: route(
    "CredentialManager",
    true,
    Schema.Struct({ manager, user: Ids.ProviderRef, endpoint: Ids.ProviderRef, card: Card.CardProfile }),
    CredentialManager.ManagerCredential
  ),
  revoke: route("CredentialManager", true, Schema.Struct({ manager, credential: Ids.ProviderRef }), Done),
  removeEndpoint: route("CredentialManager", true, Schema.Struct({ manager, endpoint: Ids.ProviderRef }), Done),

  acsSystems: route("AccessControl", false, Empty, Schema.Array(AccessControl.AcsSystem)),
  acsCreateUser: route(
    "AccessControl",
    true,
    Schema.Struct({ acs, user: Schema.Struct({ fullName: Schema.String, email: opt(Schema.String) }) }),
    AccessControl.AcsUser
  ),
  acsGetUser: route("AccessControl", false, Schema.Struct({ acs, user: Ids.AcsUserId }), AccessControl.AcsUser),
  acsObserve: route(
    "AccessControl",
    false,
    Schema.Struct({ acs, users: Schema.Array(Ids.AcsUserId), cardNumbers: Schema.Array(Schema.String) }),
    Schema.Array(AccessControl.AcsEntry)
  ),
  acsImport: route(
    "AccessControl",
    true,
    Schema.Struct({ acs, cardNumber: Schema.String, card: Card.CardProfile, label: Schema.String }),
    AccessControl.AcsEntry
  ),
  acsAssign: route("AccessControl", true, Schema.Struct({ acs, entry: Ids.ProviderRef, user: Ids.AcsUserId }), Done),
  acsRemove: route("AccessControl", true, Schema.Struct({ acs, entry: Ids.ProviderRef }), Done),

  redeem: route("CredentialManager", true, Schema.Struct({ code: Schema.String }), Ids.ProviderRef),
  completeIssuances: route("CredentialManager", true, Empty, Done),
  truth: route("CredentialManager", false, Empty, Truth),
  setFaults: route("CredentialManager", true, Schema.Struct({ faults: Faults }), Done)
} as const

/** The routes' names. */
export type RouteName = keyof typeof routes
/** The decoded request body of a route. */
export type RequestOf<K extends RouteName> = (typeof routes)[K]["request"]["Type"]
/** The decoded response value of a route. */
export type ResponseOf<K extends RouteName> = (typeof routes)[K]["response"]["Type"]

/** The URL path of a route. */
export const pathOf = (name: RouteName): string => `/v1/${name}`

/** The route a URL path names, if any. */
export const routeOfPath = (path: string): RouteName | undefined =>
  path.startsWith("/v1/") ? decodeRouteName(path.slice(4)) : undefined

const RouteNameSchema = Schema.Literals([
  "managerSystems",
  "ensureUser",
  "observe",
  "invite",
  "cancelInvitation",
  "issue",
  "revoke",
  "removeEndpoint",
  "acsSystems",
  "acsCreateUser",
  "acsGetUser",
  "acsObserve",
  "acsImport",
  "acsAssign",
  "acsRemove",
  "redeem",
  "completeIssuances",
  "truth",
  "setFaults"
] satisfies ReadonlyArray<RouteName>)

const decodeRouteName = (name: string): RouteName | undefined => {
  const r = Schema.decodeUnknownOption(RouteNameSchema)(name)
  return r._tag === "Some" ? r.value : undefined
}
