/**
 * One Seam workspace: its own engine over its own store and simulator, plus the API-side records
 * the engine does not keep (ACS user profiles, sandbox phone names, webhooks, the Seam event log).
 * Nothing is shared between workspaces.
 *
 * Everything lives in the workspace's persistence (`Persistence`: core's `Store` for the engine and
 * `Records` for the rest), so a workspace built again on the same store after a restart continues
 * where it stopped, and several instances of one workspace (in one process or several, on one
 * store) serve it together:
 * - ACS users (with the id the ACS uses inside), webhooks, sandbox phone names, email / phone-number
 *   claims, the workspace's creation time: records, read from the store on each request (the ACS id
 *   mapping, which never changes, is cached);
 * - Access Grants and their access methods: records over the engine's parents (see
 *   `internal/accessGrants.ts`), whose children's events the event log turns into `access_method.*`;
 * - the Seam event log, its cursor over the engine's feed and the webhook delivery queue: see
 *   `internal/eventLog.ts` (each event recorded once, delivered once per webhook across instances,
 *   at least once when an instance dies mid-delivery, with a stable Svix message id);
 * - the sandbox simulator: its whole state, written after every mutating call before the call
 *   returns to the engine, restored at start (`internal/simulatorStore.ts`).
 *
 * Background work (forked into the workspace's scope, stopped when it closes):
 * - the engine's reconcile loop;
 * - a tail of the store's persisted event log that turns domain events into Seam events, delivers
 *   webhooks and, in sandbox workspaces, plays the phone SDK (redeems invitation codes);
 * - a sweep of webhook deliveries left behind by a dead instance or an earlier run;
 * - a pump of the simulator's provider callbacks into `engine.ingest`;
 * - with the HID Origo backend (`backend: { _tag: "hid-origo", ... }`, see HidOrigo): a poll of the
 *   HID users that wait on HID, as a fallback for lost callbacks (callbacks themselves arrive through
 *   the server's `/hid/callbacks/:workspace_id` route and `hidCallback`).
 * Each reports its failures through `log` (the first, a change, or once a minute while it repeats)
 * and keeps going: none fails or backs off in silence.
 *
 * The credential manager is the simulator's (default) or HID Origo; the ACS is always the in-memory
 * ACS of the simulator.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import type { Simulator } from "@credsync/adapter-memory"
import {
  type AccessControl,
  AccessControl as AccessControlTag,
  type CredentialManager,
  Engine,
  Identity,
  Ids,
  CredentialManager as ManagerTag,
  PortError,
  type Records,
  type Store,
  Store as StoreTag
} from "@credsync/core"
import { OrigoEvents } from "@credsync/adapter-hid-origo"
import { Cause, Clock, Duration, Effect, Option, Queue, type Redacted, Schedule, Schema, type Scope, Semaphore, Stream } from "effect"
import * as HidOrigo from "./HidOrigo.js"
import * as AccessGrants from "./internal/accessGrants.js"
import * as AcsUsers from "./internal/acsUsers.js"
import * as EventLog from "./internal/eventLog.js"
import { stableId } from "./internal/ids.js"
import * as ProfileIndex from "./internal/profileIndex.js"
import * as Rec from "./internal/records.js"
import * as Report from "./internal/report.js"
import * as SimulatorStore from "./internal/simulatorStore.js"
import * as Persistence from "./Persistence.js"
import type * as SeamEvents from "./SeamEvents.js"
import * as Webhooks from "./Webhooks.js"

/** How to build a workspace. */
export interface Options {
  /** `workspace_id` (a UUID). */
  readonly id: string
  readonly name?: string | undefined
  /** Bearer keys of this workspace; each must start with `seam_` (the official client insists). */
  readonly apiKeys: ReadonlyArray<Redacted.Redacted<string>>
  /** Sandbox workspaces accept `/phones/simulate/*` and play the phone SDK. Default true. */
  readonly sandbox?: boolean | undefined
  /**
   * The workspace's store and records (`Persistence`; one store instance per workspace). Default:
   * fresh in-memory ones, so nothing survives the process. `ServerConfig.persistence` opens SQLite
   * or Postgres from the environment.
   */
  readonly persistence?: Persistence.Source | undefined
  /** Simulator settings (seed, issueDelay, faults...). Systems get UUID ids unless given. */
  readonly simulator?: Simulator.Options | undefined
  /**
   * Use this simulator object as it is, instead of one restored from the store: for several
   * instances of one workspace in one process (tests), where it stands for the one provider they
   * share. Its state is still written to the store after each call. Real multi-instance deployments
   * need a provider the instances really share: HID Origo, or the simulator served over HTTP
   * (`@credsync/sim-server`).
   */
  readonly sharedSimulator?: Simulator.Simulator | undefined
  /**
   * The credential manager: the simulator's (default) or HID Origo. The ACS is the simulator's
   * in-memory ACS either way.
   */
  readonly backend?: { readonly _tag: "simulator" } | HidOrigo.Backend | undefined
  readonly engine?: Engine.Config | undefined
  readonly webhookDelivery?: Webhooks.DeliveryOptions | undefined
  /** The webhook URL policy and cap (see {@link WebhookPolicy}). */
  readonly webhooks?: Partial<WebhookPolicy> | undefined
  /** Fallback poll of the event log and provider callbacks, in ms. Default 250. */
  readonly tickMs?: number | undefined
  /** Where background failures are reported. Default: nowhere. */
  readonly log?: ((line: string) => void) | undefined
}

/**
 * Which webhooks a workspace may register.
 *
 * @since 0.2.0
 */
export interface WebhookPolicy {
  /**
   * Accept URLs naming loopback, private, link-local or reserved addresses (and deliver to them).
   * Default false: a webhook is a request the server makes into its own network on a caller's
   * behalf. Tests with a receiver on 127.0.0.1 turn it on.
   */
  readonly allowPrivateUrls: boolean
  /** Most webhooks one workspace may have. Default 100. */
  readonly maxPerWorkspace: number
}

/** An ACS user as the API knows it (the ACS port keeps only id, name and email). */
export type AcsUserRecord = AcsUsers.AcsUserProfile

/**
 * Display details of a sandbox phone (the engine keeps the phone itself).
 *
 * @since 0.2.0
 */
export const PhoneInfoSchema = Schema.Struct({
  display_name: Schema.String,
  custom_sdk_installation_id: Schema.optional(Schema.String)
})
/** Display details of a sandbox phone (the engine keeps the phone itself). */
export type PhoneInfo = typeof PhoneInfoSchema.Type

/** The workspace's ACS users (profiles in the store; users in the ACS). */
export interface AcsUserDirectory {
  readonly get: (id: string) => Effect.Effect<AcsUserRecord | undefined, PortError.PortError>
  readonly list: Effect.Effect<ReadonlyArray<AcsUserRecord>, PortError.PortError>
  /** Create the user in the ACS and record its profile. */
  readonly create: (user: AcsUsers.NewAcsUser) => Effect.Effect<AcsUserRecord, PortError.PortError>
  /** Change the recorded profile; `undefined` when there is no such user. */
  readonly update: (id: string, change: AcsUsers.AcsUserChange) => Effect.Effect<AcsUserRecord | undefined, PortError.PortError>
  /** Forget the recorded profile (the ACS's own user stays: its port has no delete); `false` when it was gone. */
  readonly remove: (id: string) => Effect.Effect<boolean, PortError.PortError>
}

/** Sandbox phone names, by device id. */
export interface PhoneDirectory {
  readonly get: (id: string) => Effect.Effect<PhoneInfo | undefined, PortError.PortError>
  /** The names of these phones (one read each, or one pass when there are many). */
  readonly many: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, PhoneInfo>, PortError.PortError>
  readonly create: (id: string, info: PhoneInfo) => Effect.Effect<void, PortError.PortError>
  readonly remove: (id: string) => Effect.Effect<void, PortError.PortError>
}

/** The workspace's webhooks. */
export interface WebhookDirectory {
  readonly get: (id: string) => Effect.Effect<Webhooks.Webhook | undefined, PortError.PortError>
  readonly list: Effect.Effect<ReadonlyArray<Webhooks.Webhook>, PortError.PortError>
  readonly create: (webhook: Webhooks.Webhook) => Effect.Effect<void, PortError.PortError>
  /** Replace the event types a webhook wants; `false` when there is no such webhook. */
  readonly update: (id: string, eventTypes: ReadonlyArray<string>) => Effect.Effect<boolean, PortError.PortError>
  /** `false` when there was no such webhook. */
  readonly remove: (id: string) => Effect.Effect<boolean, PortError.PortError>
}

/** A live workspace. */
export interface Workspace {
  readonly id: string
  readonly name: string
  readonly sandbox: boolean
  /** When the workspace was first created (kept in its store: the same after a restart). */
  readonly createdAt: number
  readonly connectedAccountId: string
  readonly apiKeys: ReadonlyArray<Redacted.Redacted<string>>
  readonly engine: Engine.EngineShape
  readonly store: Store.StoreShape
  /** The API's own records, in the same store. */
  readonly records: Records.RecordsShape
  /** The simulated ACS, and the simulated credential manager unless HID Origo is configured (ground truth for tests). */
  readonly simulator: Simulator.Simulator
  /** Write the simulator's state to the store now (after driving its test controls directly). */
  readonly persistSimulator: Effect.Effect<void, PortError.PortError>
  /** With HID Origo: the card profiles (`format/facility`) that have a part number; undefined: any. */
  readonly cardProfiles: ReadonlySet<string> | undefined
  /** The HID Origo side, when the workspace is backed by HID Origo. */
  readonly hid: HidOrigo.HidIntake | undefined
  /**
   * One HID callback delivery: authenticated and decoded by `OrigoEvents.ingest`, its observations
   * fed to the engine. Undefined when HID callbacks are not configured for this workspace.
   */
  readonly hidCallback:
    | ((request: OrigoEvents.CallbackRequest) => Effect.Effect<number, OrigoEvents.CallbackRejected | PortError.PortError>)
    | undefined
  /**
   * Register this workspace's callback URL (`{baseUrl ?? serverUrl}/hid/callbacks/{id}`) with HID, if
   * configured to; returns the URL registered.
   */
  readonly registerHidCallbacks: (serverUrl: string) => Effect.Effect<string | undefined, PortError.PortError>
  readonly managers: ReadonlyArray<CredentialManager.ManagerSystem>
  readonly acsSystems: ReadonlyArray<AccessControl.AcsSystem>
  /** The ACS port with UUID user ids, as the engine sees it. */
  readonly acs: AccessControl.AccessControlShape
  readonly acsUsers: AcsUserDirectory
  readonly phones: PhoneDirectory
  readonly webhooks: WebhookDirectory
  readonly webhookPolicy: WebhookPolicy
  /** Bring the Seam event log up to date with the store, then return it (oldest first). */
  readonly events: Effect.Effect<ReadonlyArray<SeamEvents.SeamEvent>, PortError.PortError>
  /** Bring the Seam event log up to date with the store (what `events` does before reading). */
  readonly syncEvents: Effect.Effect<void, PortError.PortError>
  /** Read the Seam event log in order, newest first, page by page (see `EventLog.newest`); call `syncEvents` first. */
  readonly newestEvents: EventLog.EventLog["newest"]
  /** One Seam event, after bringing the log up to date. */
  readonly event: (id: string) => Effect.Effect<SeamEvents.SeamEvent | undefined, PortError.PortError>
  /** Record an event the API itself produced (e.g. `acs_user.created`) and deliver it. A failure is logged. */
  readonly publish: (event: SeamEvents.SeamEvent) => Effect.Effect<void>
  /** Ask the background tail to look now (after a command). */
  readonly wake: Effect.Effect<void>
  /** Every live (not deleted) user identity. */
  readonly identities: Effect.Effect<ReadonlyArray<Identity.IdentityState>, PortError.PortError>
  /** One live user identity, if any. */
  readonly identity: (id: string) => Effect.Effect<Identity.IdentityState | undefined, PortError.PortError>
  /** The live identity a lookup key (`phone:<id>`, `credential:<id>`, ...) points to. */
  readonly find: (key: string) => Effect.Effect<Identity.IdentityState | undefined, PortError.PortError>
  /** Email address and phone number claims (unique per workspace, also across instances; the engine has no such key). */
  readonly profiles: ProfileIndex.ProfileIndex
  /**
   * Run an API check-and-act that spans several calls (check an identity's ACS users, create one in
   * the ACS, link it) with no other such sequence of this instance in between, so that a request
   * rejected by the check changes nothing.
   */
  readonly exclusive: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

const withUuidSystems = (workspaceId: string, options: Simulator.Options = {}, hid: boolean): Simulator.Options => ({
  ...options,
  // with HID Origo the simulator plays only the ACS
  managers: hid ? [] : options.managers ?? [
    { id: stableId(`${workspaceId}|manager`), name: "Simulated HID Origo", externalType: "hid_credential_manager_organization" }
  ],
  acsSystems: options.acsSystems ?? [{ id: stableId(`${workspaceId}|acs`), name: "Simulated PTI site", externalType: "pti_site" }]
})

const Meta = Rec.kind("seam-workspace", Schema.Struct({ workspace_id: Schema.String, created_at: Schema.Number }))
const Phone = Rec.kind("seam-phone", PhoneInfoSchema)
const Webhook = Rec.kind("seam-webhook", Webhooks.WebhookSchema, { sensitive: true })

/** One line for a background failure: the typed error's message, or the defect's (never a stack). */
const describe = (cause: Cause.Cause<{ readonly message: string }>): string | undefined => {
  // a loop interrupted because the workspace closes has nothing to report
  if (Cause.hasInterruptsOnly(cause)) return undefined
  const failure = Option.getOrUndefined(Cause.findErrorOption(cause))
  if (failure !== undefined) return failure.message
  const squashed = Cause.squash(cause)
  return squashed instanceof Error ? `defect: ${squashed.message}` : `defect: ${String(squashed)}`
}

/**
 * The workspace's first creation time, written once by whichever instance gets there first, with
 * the workspace's id: a store already holding another workspace is refused (one store instance
 * serves one workspace; two workspaces given the same one would see each other's data).
 */
const createdAt = (records: Records.RecordsShape, workspaceId: string) =>
  Effect.gen(function* () {
    for (;;) {
      const found = yield* Rec.get(records, Meta, "meta")
      if (Option.isSome(found)) {
        const meta = found.value.value
        if (meta.workspace_id === workspaceId) return meta.created_at
        return yield* Effect.fail(
          new PortError.PortError({
            reason: "InvalidInput",
            port: "Store",
            method: "open",
            message: `the store given to workspace ${workspaceId} holds workspace ${meta.workspace_id}: give each workspace its own`
          })
        )
      }
      yield* Rec.create(records, Meta, "meta", { workspace_id: workspaceId, created_at: yield* Clock.currentTimeMillis })
    }
  })

/**
 * Build a workspace and start its background work in the current scope.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Workspace, PortError.PortError, Scope.Scope> =>
  Effect.gen(function* () {
    const log = options.log ?? (() => {})
    const say = (line: string) => log(`workspace ${options.id}: ${line}`)
    const sandbox = options.sandbox ?? true
    const backend = options.backend?._tag === "hid-origo" ? options.backend : undefined
    const { store, records } = yield* Persistence.open(options.persistence ?? Persistence.memoryLayer())
    const created = yield* createdAt(records, options.id)
    // this instance among the ones serving the workspace: the owner of its delivery claims
    const instance = randomUUID()
    const sim = yield* SimulatorStore.make(
      records,
      options.sharedSimulator === undefined
        ? { _tag: "Own", options: withUuidSystems(options.id, options.simulator, backend !== undefined) }
        : { _tag: "Shared", simulator: options.sharedSimulator },
      say
    )
    const simulator = sim.simulator
    const hidSide = backend === undefined ? undefined : yield* HidOrigo.make(backend, backend.managerId ?? stableId(`${options.id}|hid-origo`))
    const manager = hidSide?.manager ?? sim.manager
    const acsUsers = AcsUsers.make(sim.acs, records)
    const acs = acsUsers.port
    const engine = yield* Engine.make(options.engine ?? {}).pipe(
      Effect.provideService(ManagerTag.CredentialManager, manager),
      Effect.provideService(AccessControlTag.AccessControl, acs),
      Effect.provideService(StoreTag.Store, store)
    )
    const hid = hidSide === undefined || backend === undefined ? undefined : yield* HidOrigo.intake(hidSide, backend, engine)
    const ctx: SeamEvents.Context = { workspaceId: options.id, connectedAccountId: stableId(`${options.id}|connected_account`) }
    const wakeQueue = yield* Queue.sliding<void>(1)

    const live = (s: Identity.IdentityState | undefined) => (s === undefined || s.deleting ? undefined : s)
    const identity = (id: string) =>
      Effect.map(store.load(Ids.UserIdentityId.make(id)), (o) => live(Option.getOrUndefined(o)?.state))
    const exists = (id: string) => Effect.map(store.load(Ids.UserIdentityId.make(id)), Option.isSome)
    const find = (key: string) =>
      Effect.flatMap(engine.lookup(key), (id) => (id === undefined ? Effect.succeed(undefined) : identity(id)))
    const identities = Effect.gen(function* () {
      const out: Array<Identity.IdentityState> = []
      let after: Ids.UserIdentityId | undefined
      while (true) {
        const page = yield* store.list({ after, limit: 1000 })
        for (const id of page) {
          const s = yield* identity(id)
          if (s !== undefined) out.push(s)
        }
        const last = page[page.length - 1]
        if (last === undefined) return out
        after = last
      }
    })

    const phones: PhoneDirectory = {
      get: (id) => Effect.map(Rec.get(records, Phone, id), (o) => Option.getOrUndefined(Option.map(o, (r) => r.value))),
      many: (ids) =>
        ids.length > 16
          ? Effect.map(Rec.all(records, Phone), (rows) => {
              const wanted = new Set(ids)
              return new Map(rows.filter((r) => wanted.has(r.key)).map((r) => [r.key, r.value]))
            })
          : Effect.map(
              Effect.forEach(ids, (id) => Effect.map(Rec.get(records, Phone, id), (o) => Option.map(o, (r) => [id, r.value] as const))),
              (found) => new Map(found.flatMap((o) => (Option.isSome(o) ? [o.value] : [])))
            ),
      create: (id, info) => Effect.asVoid(Rec.create(records, Phone, id, info)),
      remove: (id) => Rec.modify(records, Phone, id, (): Rec.Change<PhoneInfo, void> => ({ _tag: "Remove", result: undefined }))
    }
    const webhooks: WebhookDirectory = {
      get: (id) => Effect.map(Rec.get(records, Webhook, id), (o) => Option.getOrUndefined(Option.map(o, (r) => r.value))),
      list: Effect.map(Rec.all(records, Webhook), (rows) => rows.map((r) => r.value)),
      create: (w) => Effect.asVoid(Rec.create(records, Webhook, w.webhook_id, w)),
      update: (id, eventTypes) =>
        Rec.modify(records, Webhook, id, (current): Rec.Change<Webhooks.Webhook, boolean> =>
          current === undefined ? { _tag: "Keep", result: false } : { _tag: "Put", value: { ...current.value, event_types: eventTypes }, result: true }
        ),
      remove: (id) =>
        Rec.modify(records, Webhook, id, (current): Rec.Change<Webhooks.Webhook, boolean> =>
          current === undefined ? { _tag: "Keep", result: false } : { _tag: "Remove", result: true }
        )
    }

    // Provider callbacks → engine (what a webhook receiver for the provider would do).
    const pump = Effect.gen(function* () {
      const callbacks = yield* simulator.takeCallbacks()
      for (const c of callbacks) yield* Effect.ignore(engine.ingest(c))
    })

    // The phone SDK of a sandbox phone: redeem the code the engine handed out, if the phone is live.
    // With HID Origo only the local fake can be asked to (its /test/redeem control); against HID itself
    // the code waits for a real app (it is on the phone resource).
    const fakeUrl = sandbox ? backend?.fakeControlUrl : undefined
    const playSdk = (e: Extract<Store.StoredEvent["event"], { _tag: "InvitationCreated" }>) =>
      Effect.gen(function* () {
        if (!sandbox || (hid !== undefined && fakeUrl === undefined)) return
        const s = yield* identity(e.identity)
        if (s === undefined || Identity.phone(s, e.phoneId)?.active !== true) return
        if (fakeUrl === undefined) {
          // an invitation redeemed already (by another instance, or before a restart) is a Conflict: nothing to do
          const redeemed = yield* Effect.result(simulator.redeem(e.code))
          if (redeemed._tag === "Success") yield* sim.persist
          yield* pump
        } else {
          yield* HidOrigo.fakeControl(fakeUrl, "redeem", { code: e.code }).pipe(
            Effect.catch((err) => Effect.sync(() => say(`fake redeem failed: ${err.message}`)))
          )
        }
      })
    // A sandbox phone on the fake syncs once HID started issuing to it (ISSUE_INITIATED → ISSUED).
    const syncPhones = (e: Store.StoredEvent["event"]) =>
      fakeUrl !== undefined && e._tag === "CredentialIssued" && !e.active
        ? HidOrigo.fakeControl(fakeUrl, "settle").pipe(Effect.catch((err) => Effect.sync(() => say(`fake settle failed: ${err.message}`))))
        : Effect.void

    // Identities that wait on HID (polled in case a callback is lost): seeded from the identities on
    // the first poll (the tail continues from a persisted cursor, not from the feed's start), then
    // kept up to date from the feed.
    const waiting = new Set<Ids.UserIdentityId>()
    let seeded = false
    const noteWaiting = (e: Store.StoredEvent["event"]) => {
      if (hid === undefined) return
      switch (e._tag) {
        case "EnrollmentRequested":
        case "InvitationCreated":
        case "CredentialRequested":
        case "CredentialIssued":
        case "CredentialRetiring":
          waiting.add(e.identity)
          return
        default:
          return
      }
    }
    const pollHid = (side: HidOrigo.HidIntake) =>
      Effect.gen(function* () {
        if (!seeded) {
          for (const s of yield* identities) if (HidOrigo.waitsOnHid(s, side.managerId)) waiting.add(s.id)
          seeded = true
        }
        const users: Array<Ids.ProviderRef> = []
        for (const id of [...waiting]) {
          const s = Option.getOrUndefined(yield* store.load(id))?.state
          const user = s === undefined ? undefined : HidOrigo.hidUserOf(s, side.managerId)
          if (s === undefined || !HidOrigo.waitsOnHid(s, side.managerId)) waiting.delete(id)
          else if (user !== undefined) users.push(user)
        }
        if (users.length === 0) return
        yield* HidOrigo.feed(engine, yield* side.events.poll(users))
      })

    const hidCallback =
      hid === undefined || backend?.callbacks === undefined
        ? undefined
        : (request: OrigoEvents.CallbackRequest) =>
            Effect.gen(function* () {
              const observations = yield* hid.events.ingest(request)
              yield* HidOrigo.feed(engine, observations)
              yield* Queue.offer(wakeQueue, undefined)
              return observations.length
            })

    const webhookPolicy: WebhookPolicy = {
      allowPrivateUrls: options.webhooks?.allowPrivateUrls ?? false,
      maxPerWorkspace: options.webhooks?.maxPerWorkspace ?? 100
    }
    const eventLog = yield* EventLog.make({
      records,
      store,
      ctx,
      owner: instance,
      delivery: { ...options.webhookDelivery, allowPrivateUrls: webhookPolicy.allowPrivateUrls },
      webhooks: webhooks.list,
      webhook: webhooks.get,
      log: say,
      derive: AccessGrants.derive(records, ctx),
      // the phone SDK's redeem is saved with the simulator before the cursor moves past its event
      onDomainEvent: (stored) =>
        Effect.gen(function* () {
          noteWaiting(stored.event)
          if (stored.event._tag === "InvitationCreated") yield* playSdk(stored.event)
          yield* syncPhones(stored.event)
        })
    })

    const publish = (event: SeamEvents.SeamEvent) =>
      eventLog.record(event).pipe(Effect.catch((e) => Effect.sync(() => say(`event ${event.event_id} (${event.event_type}) not recorded: ${e.message}`))))

    const tick = options.tickMs ?? 250
    const sweepEvery = Duration.toMillis(Duration.fromInputUnsafe(options.webhookDelivery?.sweepEvery ?? "5 seconds"))
    // Every background loop reports what fails (see Report) and keeps going.
    const loop = (what: string, body: Effect.Effect<void, PortError.PortError>) => {
      const report = Report.make(say, what)
      return body.pipe(
        Effect.andThen(report.ok),
        Effect.catchCause((cause) => {
          const line = describe(cause)
          return line === undefined ? Effect.failCause(cause) : report.failed(line)
        })
      )
    }
    const engineReport = Report.make(say, "engine loop")
    // The engine loop ends only on a store failure: report it and start again.
    yield* Effect.forkScoped(
      engine.run.pipe(
        Effect.tapCause((cause) => {
          const line = describe(cause)
          return line === undefined ? Effect.void : engineReport.failed(line)
        }),
        Effect.retry(Schedule.spaced("1 second"))
      )
    )
    yield* Effect.forkScoped(Stream.runForEach(engine.live, () => Queue.offer(wakeQueue, undefined)))
    const tail = loop("event tail", Effect.andThen(pump, eventLog.sync))
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.raceFirst(Effect.sleep(`${tick} millis`), Queue.take(wakeQueue)), tail)))
    const sweep = loop("webhook delivery sweep", eventLog.sweep)
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(`${sweepEvery} millis`), sweep)))

    const pollMs = backend?.pollMs ?? 30_000
    if (hid !== undefined && pollMs > 0) {
      const poll = loop("HID poll", pollHid(hid))
      yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(`${pollMs} millis`), poll)))
    }

    const profiles = ProfileIndex.make(records, identities, identity, exists)
    const exclusive = Semaphore.makeUnsafe(1).withPermits(1)
    // The ACS call of /acs/users/create is retried as the engine retries its own calls: a Transient
    // failure means the call did not happen, so a retry cannot create a second user.
    const retry = options.engine?.retry ?? Engine.defaultRetry
    const createAcsUser = (user: AcsUsers.NewAcsUser) =>
      acsUsers.create(user).pipe(Effect.retry({ schedule: retry, while: (e) => e.reason === "Transient" }))

    return {
      id: options.id,
      name: options.name ?? "Sandbox workspace",
      sandbox,
      createdAt: created,
      connectedAccountId: ctx.connectedAccountId,
      apiKeys: options.apiKeys,
      engine,
      store,
      records,
      simulator,
      persistSimulator: sim.persist,
      hid,
      cardProfiles: backend === undefined ? undefined : new Set(Object.keys(backend.partNumbers)),
      hidCallback,
      registerHidCallbacks: (serverUrl) => {
        const callbacks = backend?.callbacks
        if (hid === undefined || callbacks?.register === undefined) return Effect.succeed(undefined)
        const url = `${(callbacks.register.baseUrl ?? serverUrl).replace(/\/+$/, "")}/hid/callbacks/${encodeURIComponent(options.id)}`
        return Effect.as(OrigoEvents.subscribe(hid.client, { url, apiKey: callbacks.apiKey }), url)
      },
      managers: manager.systems,
      acsSystems: acs.systems,
      acs,
      acsUsers: { get: acsUsers.get, list: acsUsers.list, create: createAcsUser, update: acsUsers.update, remove: acsUsers.remove },
      phones,
      webhooks,
      webhookPolicy,
      events: Effect.andThen(eventLog.sync, eventLog.list),
      syncEvents: eventLog.sync,
      newestEvents: eventLog.newest,
      event: (id) => Effect.andThen(eventLog.sync, eventLog.get(id)),
      publish,
      wake: Effect.asVoid(Queue.offer(wakeQueue, undefined)),
      identities,
      identity,
      find,
      profiles,
      exclusive
    } satisfies Workspace
  })
