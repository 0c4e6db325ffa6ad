/**
 * Event intake for HID Origo callbacks (CloudEvents batches, `application/cloudevents-batch+json`) and the
 * polling fallback for when callbacks are lost. Both turn what HID reports into core `Observation`s; the
 * engine is level-based, so an observation only says which identity to reconcile.
 *
 * For a host without Effect, {@link intakeLayer} plugs the callback check into the Promise facade
 * (`credsync.ingestHidOrigo({ headers, body })`).
 *
 * @since 0.1.0
 */
import { timingSafeEqual, createHash } from "node:crypto"
import { Callbacks, type Ids, Ids as IdsSchema, type Observation, type PortError } from "@credsync/core"
import { Context, Effect, Layer, type Redacted, Ref, Schema, Redacted as R } from "effect"
import { containerStatus, credentialStatus, invitationStatus } from "./internal/mapping.js"
import { OrigoClient, type OrigoClientShape, type OrigoUser } from "./OrigoClient.js"

/** A callback the intake refused; nothing was changed. */
export class CallbackRejected extends Schema.TaggedError<CallbackRejected>()("CallbackRejected", {
  reason: Schema.Literals(["Unauthenticated", "UnsupportedMediaType", "Malformed"]),
  /** For `Malformed`: where the problem is, e.g. `[0].data.credentialId`. */
  field: Schema.optional(Schema.String),
  message: Schema.String
}) {}

/**
 * How callbacks authenticate. HID's docs say the receiver "may use authentication" and stop there;
 * ASSUMPTION: the registration sends a fixed header (name and secret value) with every delivery.
 */
export type Authentication =
  | { readonly _tag: "Header"; readonly name: string; readonly secret: Redacted.Redacted<string> }
  | { readonly _tag: "None" }

/** @since 0.1.0 */
export interface Options {
  readonly system: Ids.AcsSystemId
  readonly authentication: Authentication
}

/** What a host's HTTP handler passes in. */
export interface CallbackRequest {
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly body: string | Uint8Array
}

/** @since 0.1.0 */
export interface OrigoEventsShape {
  /**
   * Authenticates, decodes and translates one delivery. Answer HID 200 on success. Unknown event types are
   * ignored; events of users that no longer exist are dropped.
   */
  readonly ingest: (request: CallbackRequest) => Effect.Effect<ReadonlyArray<Observation.Observation>, CallbackRejected | PortError.PortError>
  /**
   * Reads the given HID users and reports what changed since the previous poll (everything on the first).
   * Users that no longer exist are skipped.
   */
  readonly poll: (users: ReadonlyArray<Ids.ProviderRef>) => Effect.Effect<ReadonlyArray<Observation.Observation>, PortError.PortError>
}

/** @since 0.1.0 */
export class OrigoEvents extends Context.Service<OrigoEvents, OrigoEventsShape>()("@credsync/adapter-hid-origo/OrigoEvents") {}

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

// ASSUMPTION: event type names and data fields for invitations, containers and credentials (HID only
// shows `com.origo.mi.user`); they match the fake's guess.
const InvitationData = Schema.Struct({ userId: IdLike, invitationId: IdLike, status: Schema.String })
const ContainerData = Schema.Struct({
  userId: IdLike,
  credentialContainerId: IdLike,
  invitationId: Schema.optional(IdLike),
  status: Schema.String
})
const CredentialData = Schema.Struct({
  userId: IdLike,
  credentialId: IdLike,
  credentialContainerId: Schema.optional(IdLike),
  status: Schema.String
})

type Decoded =
  | { readonly kind: "invitation"; readonly at: number | undefined; readonly data: typeof InvitationData.Type }
  | { readonly kind: "container"; readonly at: number | undefined; readonly data: typeof ContainerData.Type }
  | { readonly kind: "credential"; readonly at: number | undefined; readonly data: typeof CredentialData.Type }

/** `at ["data"]["credentialId"]`-style paths from the schema message, rendered as a dotted field. */
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

const decodeBatch = (request: CallbackRequest): Effect.Effect<ReadonlyArray<Decoded>, CallbackRejected> =>
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
    const out: Array<Decoded> = []
    for (const [i, ev] of events.entries()) {
      const at = ev.time === undefined ? undefined : Date.parse(ev.time)
      const when = at === undefined || Number.isNaN(at) ? undefined : at
      const decode = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) =>
        Schema.decodeUnknownEffect(schema)(ev.data).pipe(Effect.mapError((e) => malformed(fieldOf(`[${i}].data`, e.message), e.message)))
      switch (ev.type) {
        case "com.origo.mi.invitation":
          out.push({ kind: "invitation", at: when, data: yield* decode(InvitationData) })
          break
        case "com.origo.mi.credentialcontainer":
          out.push({ kind: "container", at: when, data: yield* decode(ContainerData) })
          break
        case "com.origo.mi.credential":
          out.push({ kind: "credential", at: when, data: yield* decode(CredentialData) })
          break
        default:
          // User and pass events (and types added later) carry nothing the engine acts on.
          yield* Effect.logDebug(`HID callback event of type ${ev.type} ignored: nothing to reconcile`).pipe(
            Effect.annotateLogs({ provider: "hid-origo", type: ev.type })
          )
          break
      }
    }
    return out
  })

// ---------------------------------------------------------------------------------------------- make

/** @since 0.1.0 */
export const make = Effect.fnUntraced(function* (client: OrigoClientShape, options: Options) {
  const managerId = options.system
  const ref = IdsSchema.ProviderRef.make
  const identities = yield* Ref.make<ReadonlyMap<string, string>>(new Map())
  const seen = yield* Ref.make<ReadonlyMap<string, string>>(new Map())

  const authenticate = (request: CallbackRequest): Effect.Effect<void, CallbackRejected> => {
    const auth = options.authentication
    if (auth._tag === "None") return Effect.void
    const given = header(request.headers, auth.name)
    // Compare digests so the comparison is constant-time whatever the lengths.
    const ok = given !== undefined && timingSafeEqual(digest(given), digest(R.value(auth.secret)))
    return ok ? Effect.void : Effect.fail(new CallbackRejected({ reason: "Unauthenticated", message: `Missing or wrong ${auth.name} header` }))
  }

  /** HID user id → identity id (the user's externalId); undefined when the user is gone. */
  const resolve = (userId: string) =>
    Effect.gen(function* () {
      const cached = (yield* Ref.get(identities)).get(userId)
      if (cached !== undefined) return cached
      const user = yield* client.getUser(userId).pipe(Effect.catchIf((e) => e.reason === "NotFound", () => Effect.succeed(undefined)))
      const externalId = user?.externalId
      if (!externalId) return undefined
      yield* Ref.update(identities, (m) => new Map(m).set(userId, externalId))
      return externalId
    })

  const toObservation = (d: Decoded, identity: string): Observation.Observation | undefined => {
    const base = { managerId, userIdentityId: IdsSchema.UserIdentityId.make(identity), ...(d.at === undefined ? {} : { at: d.at }) }
    switch (d.kind) {
      case "invitation": {
        const s = invitationStatus(d.data.status)
        const invitation = ref(String(d.data.invitationId))
        if (s === "pending") return { _tag: "InvitationCreated", ...base, invitation }
        if (s === "expired") return { _tag: "InvitationExpired", ...base, invitation }
        return undefined
      }
      case "container": {
        const s = containerStatus(d.data.status)
        const endpoint = ref(String(d.data.credentialContainerId))
        if (s === "active") {
          const inv = d.data.invitationId
          return { _tag: "EndpointActive", ...base, endpoint, ...(inv === undefined ? {} : { invitation: ref(String(inv)) }) }
        }
        if (s === "removed") return { _tag: "EndpointRemoved", ...base, endpoint }
        return undefined
      }
      case "credential": {
        const { status, error } = credentialStatus(d.data.status)
        const credential = ref(String(d.data.credentialId))
        const cc = d.data.credentialContainerId
        if (status === "active" && cc !== undefined) return { _tag: "CredentialIssued", ...base, credential, endpoint: ref(String(cc)) }
        if (status === "revoked") return { _tag: "CredentialRevoked", ...base, credential }
        if (status === "failed") return { _tag: "CredentialFailed", ...base, credential, reason: error ?? d.data.status }
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
      for (const d of decoded) {
        const identity = yield* resolve(String(d.data.userId))
        if (identity === undefined) {
          yield* Effect.logInfo(`HID callback about user ${String(d.data.userId)} ignored: no such user at HID, or not a credsync identity`).pipe(
            Effect.annotateLogs({ provider: "hid-origo" })
          )
          continue
        }
        const o = toObservation(d, identity)
        if (o) out.push(o)
      }
      return out
    })

  /** Observations for what differs from the previous poll. */
  const diff = (user: OrigoUser, previous: ReadonlyMap<string, string>): { obs: Array<Observation.Observation>; next: Map<string, string> } => {
    const obs: Array<Observation.Observation> = []
    const next = new Map<string, string>()
    const identity = user.externalId
    if (!identity) return { obs, next }
    const changed = (key: string, status: string) => {
      next.set(key, status)
      return previous.get(key) !== status
    }
    for (const i of user.invitations) {
      if (!changed(`inv:${i.id}`, i.status)) continue
      const o = toObservation({ kind: "invitation", at: undefined, data: { userId: user.id, invitationId: i.id, status: i.status } }, identity)
      if (o) obs.push(o)
    }
    for (const c of user.containers) {
      if (changed(`cc:${c.id}`, c.status)) {
        const data = { userId: user.id, credentialContainerId: c.id, status: c.status, ...(c.invitationId === undefined ? {} : { invitationId: c.invitationId }) }
        const o = toObservation({ kind: "container", at: undefined, data }, identity)
        if (o) obs.push(o)
      }
      for (const cr of c.credentials) {
        if (!changed(`cr:${cr.id}`, cr.status)) continue
        const data = { userId: user.id, credentialId: cr.id, credentialContainerId: c.id, status: cr.status }
        const o = toObservation({ kind: "credential", at: undefined, data }, identity)
        if (o) obs.push(o)
      }
    }
    return { obs, next }
  }

  const poll: OrigoEventsShape["poll"] = (users) =>
    Effect.gen(function* () {
      const out: Array<Observation.Observation> = []
      for (const userId of users) {
        const user = yield* client.getUser(userId).pipe(Effect.catchIf((e) => e.reason === "NotFound", () => Effect.succeed(undefined)))
        if (!user) continue
        const previous = yield* Ref.get(seen)
        const prefix = `${userId}|`
        const mine = new Map([...previous].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]))
        const { obs, next } = diff(user, mine)
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

/** @since 0.1.0 */
export const layer = (options: Options): Layer.Layer<OrigoEvents, never, OrigoClient> =>
  Layer.effect(
    OrigoEvents,
    Effect.gen(function* () {
      return yield* make(yield* OrigoClient, options)
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
