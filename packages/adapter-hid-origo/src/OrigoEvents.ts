/**
 * Event intake for HID Origo callbacks (CloudEvents batches, `application/cloudevents-batch+json`) and the
 * polling fallback for when callbacks are lost. Both turn what HID reports into core `Observation`s; the
 * engine is level-based, so an observation only says which identity to reconcile.
 *
 * HID's request budget is shared by everything a HID organization does: the intake never asks HID who a
 * user is. A user credsync manages is known locally (the client's user directory, filled by the port, and
 * the host's `lookup`, e.g. the engine's `manager-user:` key); events about any other user are dropped at
 * no cost.
 *
 *
 * For a host without Effect, {@link intakeLayer} plugs the callback check into the Promise facade
 * (`credsync.ingestHidOrigo({ headers, body })`).
 *
 * @since 0.1.0
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { Callbacks, Engine, type Ids, Ids as IdsSchema, type Observation, type PortError } from "@credsync/core"
import { Context, Effect, Layer, Redacted, Ref, Schema } from "effect"
import { bare, containerStatus, credentialStatus, invitationStatus } from "./internal/mapping.js"
import { type CallbackRegistration, type EventFilter, OrigoClient, type OrigoClientShape, type OrigoUser } from "./OrigoClient.js"

/** A callback the intake refused; nothing was changed. */
export class CallbackRejected extends Schema.TaggedError<CallbackRejected>()("CallbackRejected", {
  reason: Schema.Literals(["Unauthenticated", "UnsupportedMediaType", "Malformed"]),
  /** For `Malformed`: where the problem is, e.g. `[0].data.mid`. */
  field: Schema.optional(Schema.String),
  message: Schema.String
}) {}

/**
 * How callbacks authenticate.
 * - `ApiKey`: the `X-API-Key` header carries the key given at registration (`authenticationType: "X-API-Key"`,
 *   as HID registrations are made); see {@link subscribe}.
 * - `Header`: any fixed header (e.g. added by a proxy in front of the receiver).
 * - `None`: no check (only behind something that authenticates).
 */
export type Authentication =
  | { readonly _tag: "ApiKey"; readonly apiKey: Redacted.Redacted<string> }
  | { readonly _tag: "Header"; readonly name: string; readonly secret: Redacted.Redacted<string> }
  | { readonly _tag: "None" }

/** Resolves a HID user to the identity credsync manages it for, without asking HID; undefined: not ours. */
export type Lookup = (hidUser: Ids.ProviderRef) => Effect.Effect<Ids.UserIdentityId | undefined, PortError.PortError>

/**
/**
 * Options of the HID callback intake: the manager's system id, how callbacks are authenticated, polling.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly system: Ids.AcsSystemId
  readonly authentication: Authentication
  /**
   * Consulted when the client's user directory does not know a HID user (e.g. after a restart, before the
   * engine has observed everyone again): {@link engineLookup} asks the engine's store. Never HID.
   */
  readonly lookup?: Lookup | undefined
}

/** What a host's HTTP handler passes in. */
export interface CallbackRequest {
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly body: string | Uint8Array
}

/**
 * Turns HID's CloudEvents callbacks (and polled events) into observations for `Engine.ingest`.
 *
 * @since 0.1.0
 */
export interface OrigoEventsShape {
  /**
   * Authenticates, decodes and translates one delivery. Answer HID 200 on success. Unknown event types are
   * ignored; events about HID users credsync does not manage are dropped without any call to HID.
   */
  readonly ingest: (request: CallbackRequest) => Effect.Effect<ReadonlyArray<Observation.Observation>, CallbackRejected | PortError.PortError>
  /**
   * Reads the given HID users and reports what changed since the previous poll (everything on the first).
   * Users credsync does not manage are skipped without a call; users that no longer exist are skipped.
   * Polling is HID's lowest priority: it fails `RateLimited` before it could take requests that issue or revoke.
   */
  readonly poll: (users: ReadonlyArray<Ids.ProviderRef>) => Effect.Effect<ReadonlyArray<Observation.Observation>, PortError.PortError>
}

/**
 * Service tag of the HID Origo callback intake.
 *
 * @since 0.1.0
 */
export class OrigoEvents extends Context.Service<OrigoEvents, OrigoEventsShape>()("@credsync/adapter-hid-origo/OrigoEvents") {}

/**
 * The event statuses the engine acts on; the filter {@link subscribe} registers. ASSUMPTION: HID's
 * `filterSet` accepts these event statuses (public code filters on `USER_CREATED` / `USER_DELETED`), and a
 * terminated MI endpoint is reported as `CREDENTIALCONTAINER_INACTIVE`.
 */
export const defaultFilterSet: ReadonlyArray<string> = [
  "INVITATION_PENDING",
  "INVITATION_EXPIRED",
  "ENDPOINT_ACTIVE",
  "CREDENTIALCONTAINER_INACTIVE",
  "CREDENTIAL_ISSUED",
  "CREDENTIAL_REVOKED",
  "CREDENTIAL_UNBOUND",
  "CREDENTIAL_CREATION_FAILURE",
  "USER_DELETE_INITIATED",
  "USER_DELETED"
]

// ---------------------------------------------------------------------------------------------- wire

const IdLike = Schema.Union([Schema.String, Schema.Number])

/** CloudEvents 1.0 envelope (required attributes plus time and data). */
const CloudEvent = Schema.Struct({
  specversion: Schema.Literal("1.0"),
  id: Schema.NonEmptyString,
  type: Schema.NonEmptyString,
  source: Schema.NonEmptyString,
  time: Schema.optional(Schema.String),
  data: Schema.optional(Schema.Unknown)
})
const Batch = Schema.Array(CloudEvent)

// Data of HID's MI events as public receivers read them (ids as strings, the credential's `mid` and
// `cardNumber` as numbers: both are accepted here); only the fields the intake uses are required.
const InvitationData = Schema.Struct({ userId: IdLike, invitationId: IdLike, status: Schema.String })
const EndpointData = Schema.Struct({ userId: IdLike, endpointId: IdLike, invitationId: Schema.optional(IdLike), status: Schema.String })
const CredentialData = Schema.Struct({ userId: IdLike, mid: IdLike, endpointId: Schema.optional(IdLike), status: Schema.String })
const UserData = Schema.Struct({ userId: IdLike, status: Schema.String })

/** One thing HID reports, from an event or from a poll, with bare ids. */
type Fact =
  | { readonly kind: "invitation"; readonly user: string; readonly id: string; readonly status: string }
  | { readonly kind: "endpoint"; readonly user: string; readonly id: string; readonly invitation: string | undefined; readonly status: string }
  | { readonly kind: "credential"; readonly user: string; readonly id: string; readonly endpoint: string | undefined; readonly status: string }
  | { readonly kind: "user"; readonly user: string; readonly status: string }

interface Dated {
  readonly fact: Fact
  readonly at: number | undefined
}

const opt = (v: string | number | undefined) => (v === undefined ? undefined : String(v))

/** `at ["data"]["mid"]`-style paths from the schema message, rendered as a dotted field. */
const fieldOf = (prefix: string, message: string): string => {
  const m = /at ((?:\[[^\]]+\])+)/.exec(message)
  if (!m?.[1]) return prefix
  const path = [...m[1].matchAll(/\[("?)([^"\]]*)\1\]/g)].map((x) => (x[1] ? `.${x[2]}` : `[${x[2]}]`)).join("")
  return `${prefix}${path}`
}

const malformed = (field: string, message: string) => new CallbackRejected({ reason: "Malformed", field, message })

const digest = (s: string) => createHash("sha256").update(s).digest()

const header = (headers: CallbackRequest["headers"], name: string): string | undefined => {
  const lower = name.toLowerCase()
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === lower) return typeof v === "string" ? v : v?.[0]
  }
  return undefined
}

const decodeBatch = (request: CallbackRequest): Effect.Effect<ReadonlyArray<Dated>, CallbackRejected> =>
  Effect.gen(function* () {
    const type = (header(request.headers, "content-type") ?? "").split(";")[0]?.trim().toLowerCase()
    if (type !== "application/cloudevents-batch+json") {
      return yield* new CallbackRejected({
        reason: "UnsupportedMediaType",
        message: `Expected application/cloudevents-batch+json, got ${type || "nothing"}`
      })
    }
    const text = typeof request.body === "string" ? request.body : Buffer.from(request.body).toString("utf8")
    const json = yield* Effect.try({ try: (): unknown => JSON.parse(text), catch: () => malformed("body", "The body is not JSON") })
    const events = yield* Schema.decodeUnknownEffect(Batch)(json).pipe(Effect.mapError((e) => malformed(fieldOf("", e.message) || "body", e.message)))
    const out: Array<Dated> = []
    for (const [i, ev] of events.entries()) {
      const parsed = ev.time === undefined ? undefined : Date.parse(ev.time)
      const at = parsed === undefined || Number.isNaN(parsed) ? undefined : parsed
      const decode = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) =>
        Schema.decodeUnknownEffect(schema)(ev.data).pipe(Effect.mapError((e) => malformed(fieldOf(`[${i}].data`, e.message), e.message)))
      switch (ev.type) {
        case "com.origo.mi.invitation": {
          const d = yield* decode(InvitationData)
          out.push({ at, fact: { kind: "invitation", user: String(d.userId), id: String(d.invitationId), status: d.status } })
          break
        }
        case "com.origo.mi.endpoint": {
          const d = yield* decode(EndpointData)
          out.push({
            at,
            fact: { kind: "endpoint", user: String(d.userId), id: String(d.endpointId), invitation: opt(d.invitationId), status: d.status }
          })
          break
        }
        case "com.origo.mi.credential": {
          const d = yield* decode(CredentialData)
          out.push({ at, fact: { kind: "credential", user: String(d.userId), id: String(d.mid), endpoint: opt(d.endpointId), status: d.status } })
          break
        }
        case "com.origo.mi.user": {
          const d = yield* decode(UserData)
          out.push({ at, fact: { kind: "user", user: String(d.userId), status: d.status } })
          break
        }
        default:
          // Wallet-pass events (origo.credential-management.events.*) and types added later: nothing to act on.
          yield* Effect.logDebug(`HID callback event of type ${ev.type} ignored: nothing to reconcile`).pipe(
            Effect.annotateLogs({ provider: "hid-origo", type: ev.type })
          )
          break
      }
    }
    return out
  })

// ---------------------------------------------------------------------------------------------- make

/** A {@link Lookup} on the engine's store: the HID user's `manager-user:{system}:{id}` key. */
export const engineLookup =
  (engine: Engine.EngineShape, system: Ids.AcsSystemId): Lookup =>
  (hidUser) =>
    engine.lookup(`manager-user:${system}:${hidUser}`)

/**
/**
 * Build the callback intake over an Origo client.
 *
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (client: OrigoClientShape, options: Options) {
  const managerId = options.system
  const ref = IdsSchema.ProviderRef.make
  const seen = yield* Ref.make<ReadonlyMap<string, string>>(new Map())

  const authenticate = (request: CallbackRequest): Effect.Effect<void, CallbackRejected> => {
    const auth = options.authentication
    if (auth._tag === "None") return Effect.void
    const [name, secret] = auth._tag === "ApiKey" ? ["X-API-Key", auth.apiKey] : [auth.name, auth.secret]
    const given = header(request.headers, name)
    // Compare digests so the comparison is constant-time whatever the lengths.
    const ok = given !== undefined && timingSafeEqual(digest(given), digest(Redacted.value(secret)))
    return ok ? Effect.void : Effect.fail(new CallbackRejected({ reason: "Unauthenticated", message: `Missing or wrong ${name} header` }))
  }

  /** HID user id → identity id, from what this process knows; undefined when credsync does not manage the user. */
  const resolve = (userId: string) =>
    Effect.gen(function* () {
      const known = client.users.identityOf(userId)
      if (known !== undefined) return known
      if (options.lookup === undefined) return undefined
      const found = yield* options.lookup(ref(userId))
      if (found !== undefined) client.users.remember(userId, found)
      return found
    })

  const toObservation = (fact: Fact, identity: string, at: number | undefined): Observation.Observation | undefined => {
    const base = { managerId, userIdentityId: IdsSchema.UserIdentityId.make(identity), ...(at === undefined ? {} : { at }) }
    switch (fact.kind) {
      case "invitation": {
        // ACKNOWLEDGED is followed by the endpoint's ENDPOINT_ACTIVE; cancellations are the engine's own.
        const s = invitationStatus(fact.status)
        if (s === "pending") return { _tag: "InvitationCreated", ...base, invitation: ref(fact.id) }
        if (s === "expired") return { _tag: "InvitationExpired", ...base, invitation: ref(fact.id) }
        return undefined
      }
      case "endpoint": {
        const s = containerStatus(fact.status)
        const endpoint = ref(fact.id)
        if (s === "active") return { _tag: "EndpointActive", ...base, endpoint, ...(fact.invitation === undefined ? {} : { invitation: ref(fact.invitation) }) }
        if (s === "removed") return { _tag: "EndpointRemoved", ...base, endpoint }
        return undefined
      }
      case "credential": {
        const { status, error } = credentialStatus(fact.status)
        const credential = ref(fact.id)
        if (status === "active" && fact.endpoint !== undefined) return { _tag: "CredentialIssued", ...base, credential, endpoint: ref(fact.endpoint) }
        // UNBOUND and CREATION_FAILURE: the phone has no working credential; the reconcile issues a new one.
        if (status === "revoked" && error !== undefined) return { _tag: "CredentialFailed", ...base, credential, reason: error }
        if (status === "revoked") return { _tag: "CredentialRevoked", ...base, credential }
        return undefined
      }
      case "user": {
        const s = bare(fact.status)
        if (s === "DELETE_INITIATED" || s === "DELETED") return { _tag: "Changed", ...base, what: `HID user ${fact.user} ${fact.status}` }
        return undefined
      }
    }
  }

  const ingest: OrigoEventsShape["ingest"] = (request) =>
    Effect.gen(function* () {
      yield* authenticate(request)
      // Validate the whole batch before anything is resolved or reported.
      const decoded = yield* decodeBatch(request)
      const out: Array<Observation.Observation> = []
      const identities = new Map<string, string | undefined>()
      for (const { fact, at } of decoded) {
        let identity = identities.get(fact.user)
        if (!identities.has(fact.user)) {
          identity = yield* resolve(fact.user)
          identities.set(fact.user, identity)
        }
        if (identity === undefined) {
          yield* Effect.logInfo(`HID callback about user ${fact.user} ignored: not a user credsync manages`).pipe(
            Effect.annotateLogs({ provider: "hid-origo" })
          )
          continue
        }
        if (fact.kind === "user" && bare(fact.status) === "DELETED") client.users.forget(fact.user)
        const o = toObservation(fact, identity, at)
        if (o) out.push(o)
      }
      return out
    })

  /** Observations for what differs from the previous poll (REST statuses are read like event statuses). */
  const diff = (user: OrigoUser, identity: string, previous: ReadonlyMap<string, string>) => {
    const obs: Array<Observation.Observation> = []
    const next = new Map<string, string>()
    const report = (key: string, status: string, fact: Fact) => {
      next.set(key, status)
      if (previous.get(key) === status) return
      const o = toObservation(fact, identity, undefined)
      if (o) obs.push(o)
    }
    for (const i of user.invitations) report(`inv:${i.id}`, i.status, { kind: "invitation", user: user.id, id: i.id, status: i.status })
    for (const c of user.containers) {
      report(`cc:${c.id}`, c.status, { kind: "endpoint", user: user.id, id: c.id, invitation: c.invitationId, status: c.status })
      for (const cr of c.credentials) {
        report(`cr:${cr.id}`, cr.status, { kind: "credential", user: user.id, id: cr.id, endpoint: c.id, status: cr.status })
      }
    }
    if (user.status !== undefined) report("user", user.status, { kind: "user", user: user.id, status: user.status })
    return { obs, next }
  }

  const poll: OrigoEventsShape["poll"] = (users) =>
    Effect.gen(function* () {
      const out: Array<Observation.Observation> = []
      for (const userId of users) {
        const identity = yield* resolve(userId)
        if (identity === undefined) continue
        const user = yield* client
          .getUser(userId, { priority: "low" })
          .pipe(Effect.catchIf((e) => e.reason === "NotFound", () => Effect.succeed(undefined)))
        if (!user) continue
        const previous = yield* Ref.get(seen)
        const prefix = `${userId}|`
        const mine = new Map([...previous].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]))
        const { obs, next } = diff(user, identity, mine)
        out.push(...obs)
        yield* Ref.update(seen, (m) => {
          const updated = new Map([...m].filter(([k]) => !k.startsWith(prefix)))
          for (const [k, v] of next) updated.set(prefix + k, v)
          return updated
        })
      }
      return out
    })

  return OrigoEvents.of({ ingest, poll })
})

/**
 * Registers `url` with HID for the events credsync acts on: a filter of `filterSet` (default
 * {@link defaultFilterSet}) and a callback registration on it with `authenticationType: "X-API-Key"`.
 * Registrations already there for the same URL are removed once the new one exists (a restart or a new key
 * leaves exactly one; events may arrive twice in between, which the level-based engine shrugs off).
 */
export const subscribe = (
  client: OrigoClientShape,
  options: { readonly url: string; readonly apiKey: Redacted.Redacted<string>; readonly filterSet?: ReadonlyArray<string> | undefined }
): Effect.Effect<{ readonly filter: EventFilter; readonly callback: CallbackRegistration }, PortError.PortError> =>
  Effect.gen(function* () {
    const before = (yield* client.listCallbacks()).filter((r) => r.url === options.url)
    const filter = yield* client.createFilter(options.filterSet ?? defaultFilterSet)
    const callback = yield* client.registerCallback({ url: options.url, filterId: filter.id, apiKey: options.apiKey })
    for (const old of before) {
      yield* client.deleteCallback(old.id)
      // the old filter goes with it, unless something else still uses it
      if (old.filterId !== undefined) yield* Effect.ignore(client.deleteFilter(old.filterId))
    }
    return { filter, callback }
  })

/**
 * The HID Origo callback intake as a layer, over an `OrigoClient`.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<OrigoEvents, never, OrigoClient> =>
  Layer.effect(
    OrigoEvents,
    Effect.gen(function* () {
      return yield* make(yield* OrigoClient, options)
    })
  )

/**
 * The intake with the engine's store as its {@link Lookup}: build it on top of the engine (the engine's own
 * layer needs the credential manager, built on the same client).
 */
export const layerWithEngine = (options: Omit<Options, "lookup">): Layer.Layer<OrigoEvents, never, OrigoClient | Engine.Engine> =>
  Layer.effect(
    OrigoEvents,
    Effect.gen(function* () {
      const engine = yield* Engine.Engine
      return yield* make(yield* OrigoClient, { ...options, lookup: engineLookup(engine, options.system) })
    })
  )

/**
 * The Promise facade's HID Origo intake: `credsync.ingestHidOrigo({ headers, body })` authenticates
 * and decodes with this `OrigoEvents` and hands the observations to the engine. Refusals become
 * core's `Callbacks.CallbackRejected` (`provider: "hid-origo"`). HID deliveries carry no signed
 * timestamp, so a replayed delivery is not refused; it only makes the engine look again.
 *
 * @since 0.2.0
 */
export const intake: Layer.Layer<Callbacks.HidOrigoIntake, never, OrigoEvents> = Layer.effect(
  Callbacks.HidOrigoIntake,
  Effect.gen(function* () {
    const events = yield* OrigoEvents
    return Callbacks.HidOrigoIntake.of({
      verify: (request) =>
        events.ingest(request).pipe(
          Effect.catchTag("CallbackRejected", (e) =>
            Effect.fail(
              new Callbacks.CallbackRejected({
                provider: "hid-origo",
                reason: e.reason,
                ...(e.field === undefined ? {} : { field: e.field }),
                message: e.message
              })
            )
          )
        )
    })
  })
)

/**
 * {@link intake} over its own `OrigoEvents` with these options: merge it into the layer given to
 * `Client.make`.
 *
 * @since 0.2.0
 */
export const intakeLayer = (options: Options): Layer.Layer<Callbacks.HidOrigoIntake, never, OrigoClient> =>
  intake.pipe(Layer.provide(layer(options)))
