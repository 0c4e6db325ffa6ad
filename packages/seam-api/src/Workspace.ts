/**
 * One Seam workspace: its own engine over its own store and simulator, plus the API-side records
 * the engine does not keep (ACS user profiles, sandbox phone names, webhooks) and the Seam event
 * log. Nothing is shared between workspaces.
 *
 * Background work (forked into the workspace's scope, stopped when it closes):
 * - the engine's reconcile loop;
 * - a tail of the store's persisted event log that turns domain events into Seam events, delivers
 *   webhooks and, in sandbox workspaces, plays the phone SDK (redeems invitation codes);
 * - a pump of the simulator's provider callbacks into `engine.ingest`;
 * - with the HID Origo backend (`backend: { _tag: "hid-origo", ... }`, see HidOrigo): a poll of the
 *   HID users that wait on HID, as a fallback for lost callbacks (callbacks themselves arrive through
 *   the server's `/hid/callbacks/:workspace_id` route and `hidCallback`).
 *
 * The credential manager is the simulator's (default) or HID Origo; the ACS is always the in-memory
 * ACS of the simulator.
 *
 * @since 0.1.0
 */
import {
  type AccessControl,
  type CredentialManager,
  Engine,
  type Identity,
  Ids,
  type PortError,
  type Store
} from "@credsync/core"
import { MemoryStore, Simulator } from "@credsync/adapter-memory"
import { SqliteStore } from "@credsync/store-sqlite"
import { AccessControl as AccessControlTag, CredentialManager as ManagerTag, Store as StoreTag } from "@credsync/core"
import type { OrigoEvents } from "@credsync/adapter-hid-origo"
import { Effect, FiberSet, Option, Queue, type Redacted, Schedule, type Scope, Semaphore, Stream } from "effect"
import * as HidOrigo from "./HidOrigo.js"
import * as ProfileIndex from "./internal/profileIndex.js"
import * as AcsUsers from "./internal/acsUsers.js"
import { stableId } from "./internal/ids.js"
import * as SeamEvents from "./SeamEvents.js"
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
  /** Persist the engine in this SQLite file; default: in memory. */
  readonly sqliteFile?: string | undefined
  /** The engine's store, already open (wins over `sqliteFile`); e.g. a test's store that fails on demand. */
  readonly store?: Store.StoreShape | undefined
  /** Simulator settings (seed, issueDelay, faults...). Systems get UUID ids unless given. */
  readonly simulator?: Simulator.Options | undefined
  /**
   * The credential manager: the simulator's (default) or HID Origo. The ACS is the simulator's
   * in-memory ACS either way.
   */
  readonly backend?: { readonly _tag: "simulator" } | HidOrigo.Backend | undefined
  readonly engine?: Engine.Config | undefined
  readonly webhookDelivery?: Webhooks.DeliveryOptions | undefined
  /** Fallback poll of the event log and provider callbacks, in ms. Default 250. */
  readonly tickMs?: number | undefined
  /** Where background failures are reported. Default: nowhere. */
  readonly log?: ((line: string) => void) | undefined
}

/** An ACS user as the API knows it (the ACS port keeps only id, name and email). */
export interface AcsUserRecord {
  readonly acs_user_id: Ids.AcsUserId
  readonly acs_system_id: Ids.AcsSystemId
  readonly full_name: string
  readonly email_address: string | undefined
  readonly phone_number: string | undefined
  readonly access_schedule: { readonly starts_at: string; readonly ends_at: string | null } | undefined
  readonly created_at: number
}

/** Display details of a sandbox phone (the engine keeps the phone itself). */
export interface PhoneInfo {
  readonly display_name: string
  readonly custom_sdk_installation_id: string | undefined
}

/** A live workspace. */
export interface Workspace {
  readonly id: string
  readonly name: string
  readonly sandbox: boolean
  readonly createdAt: number
  readonly connectedAccountId: string
  readonly apiKeys: ReadonlyArray<Redacted.Redacted<string>>
  readonly engine: Engine.EngineShape
  readonly store: Store.StoreShape
  /** The simulated ACS, and the simulated credential manager unless HID Origo is configured (ground truth for tests). */
  readonly simulator: Simulator.Simulator
  /** With HID Origo: the card profiles (`format/facility`) that have a part number; undefined: any. */
  readonly cardProfiles: ReadonlySet<string> | undefined
  /** The HID Origo side, when the workspace is backed by HID Origo. */
  readonly hid: HidOrigo.HidSide | undefined
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
  readonly acsUsers: Map<string, AcsUserRecord>
  readonly phones: Map<string, PhoneInfo>
  readonly webhooks: Map<string, Webhooks.Webhook>
  /** Bring the Seam event log up to date with the store, then return it (oldest first). */
  readonly events: Effect.Effect<ReadonlyArray<SeamEvents.SeamEvent>, PortError.PortError>
  /** Append an event the API itself produced (e.g. `acs_user.created`) and deliver it. */
  readonly publish: (event: SeamEvents.SeamEvent) => Effect.Effect<void>
  /** Ask the background tail to look now (after a command). */
  readonly wake: Effect.Effect<void>
  /** Every live (not deleted) user identity. */
  readonly identities: Effect.Effect<ReadonlyArray<Identity.IdentityState>, PortError.PortError>
  /** One live user identity, if any. */
  readonly identity: (id: string) => Effect.Effect<Identity.IdentityState | undefined, PortError.PortError>
  /** The live identity a lookup key (`phone:<id>`, `credential:<id>`, ...) points to. */
  readonly find: (key: string) => Effect.Effect<Identity.IdentityState | undefined, PortError.PortError>
  /** Who holds an email address or phone number (unique per workspace; the engine has no such key). */
  readonly profiles: ProfileIndex.ProfileIndex
}

const withUuidSystems = (workspaceId: string, options: Simulator.Options = {}, hid: boolean): Simulator.Options => ({
  ...options,
  // with HID Origo the simulator plays only the ACS
  managers: hid ? [] : options.managers ?? [
    { id: stableId(`${workspaceId}|manager`), name: "Simulated HID Origo", externalType: "hid_credential_manager_organization" }
  ],
  acsSystems: options.acsSystems ?? [{ id: stableId(`${workspaceId}|acs`), name: "Simulated PTI site", externalType: "pti_site" }]
})

/**
 * Build a workspace and start its background work in the current scope.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Workspace, PortError.PortError, Scope.Scope> =>
  Effect.gen(function* () {
    const log = options.log ?? (() => {})
    const sandbox = options.sandbox ?? true
    const backend = options.backend?._tag === "hid-origo" ? options.backend : undefined
    const simulator = Simulator.make(withUuidSystems(options.id, options.simulator, backend !== undefined))
    const hid = backend === undefined ? undefined : yield* HidOrigo.make(backend, backend.managerId ?? stableId(`${options.id}|hid-origo`))
    const manager = hid?.manager ?? simulator.manager
    const acs = AcsUsers.wrap(simulator.acs).port
    const store: Store.StoreShape =
      options.store ?? (options.sqliteFile === undefined ? MemoryStore.make() : yield* SqliteStore.make({ filename: options.sqliteFile }))
    const engine = yield* Engine.make(options.engine ?? {}).pipe(
      Effect.provideService(ManagerTag.CredentialManager, manager),
      Effect.provideService(AccessControlTag.AccessControl, acs),
      Effect.provideService(StoreTag.Store, store)
    )
    const ctx: SeamEvents.Context = { workspaceId: options.id, connectedAccountId: stableId(`${options.id}|connected_account`) }
    const translate = SeamEvents.translator(ctx)
    const log_: Array<SeamEvents.SeamEvent> = []
    const webhooks = new Map<string, Webhooks.Webhook>()
    const phones = new Map<string, PhoneInfo>()
    const deliveries = yield* FiberSet.make<void, never>()
    const wakeQueue = yield* Queue.sliding<void>(1)
    const syncLock = yield* Semaphore.make(1)
    let lastSeq = 0

    const publish = (event: SeamEvents.SeamEvent) =>
      Effect.gen(function* () {
        log_.push(event)
        for (const w of webhooks.values()) {
          if (!Webhooks.wants(w, event.event_type)) continue
          yield* FiberSet.run(
            deliveries,
            Webhooks.deliver(w, `msg_${event.event_id}`, event, options.webhookDelivery).pipe(
              Effect.catch((e) => Effect.sync(() => log(`webhook ${w.webhook_id}: delivery of ${event.event_id} failed: ${e.message}`)))
            )
          )
        }
      })

    const live = (s: Identity.IdentityState | undefined) => (s === undefined || s.deleting ? undefined : s)
    const identity = (id: string) =>
      Effect.map(store.load(Ids.UserIdentityId.make(id)), (o) => live(Option.getOrUndefined(o)?.state))
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
        if (s?.phones[e.phoneId]?.active !== true) return
        if (fakeUrl === undefined) {
          yield* simulator.redeem(e.code).pipe(Effect.ignore)
          yield* pump
        } else {
          yield* HidOrigo.fakeControl(fakeUrl, "redeem", { code: e.code }).pipe(
            Effect.catch((err) => Effect.sync(() => log(`workspace ${options.id}: fake redeem failed: ${err.message}`)))
          )
        }
      })
    // A sandbox phone on the fake syncs once HID started issuing to it (ISSUE_INITIATED → ACTIVE).
    const syncPhones = (e: Store.StoredEvent["event"]) =>
      fakeUrl !== undefined && e._tag === "CredentialIssued" && !e.active
        ? HidOrigo.fakeControl(fakeUrl, "settle").pipe(
            Effect.catch((err) => Effect.sync(() => log(`workspace ${options.id}: fake settle failed: ${err.message}`)))
          )
        : Effect.void

    // Identities that wait on HID (polled in case a callback is lost); rebuilt from the event log.
    const waiting = new Set<Ids.UserIdentityId>()
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
    const pollHid = (side: HidOrigo.HidSide) =>
      Effect.gen(function* () {
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

    const sync = syncLock.withPermits(1)(
      Effect.gen(function* () {
        while (true) {
          const page = yield* store.events({ after: lastSeq, limit: 1000 })
          if (page.length === 0) return
          for (const stored of page) {
            lastSeq = stored.seq
            noteWaiting(stored.event)
            if (stored.event._tag === "InvitationCreated") yield* playSdk(stored.event)
            yield* syncPhones(stored.event)
            for (const ev of translate(stored)) yield* publish(ev)
          }
        }
      })
    )

    const tick = options.tickMs ?? 250
    const report = (what: string) => (cause: unknown) => Effect.sync(() => log(`${what}: ${String(cause)}`))
    // The engine loop ends only on a store failure: report it and start again.
    yield* Effect.forkScoped(
      engine.run.pipe(Effect.tapCause(report(`workspace ${options.id}: engine loop`)), Effect.retry(Schedule.spaced("1 second")))
    )
    yield* Effect.forkScoped(Stream.runForEach(engine.live, () => Queue.offer(wakeQueue, undefined)))
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          yield* Effect.raceFirst(Effect.sleep(`${tick} millis`), Queue.take(wakeQueue))
          yield* pump
          yield* sync
        }).pipe(Effect.catchCause(report(`workspace ${options.id}: event tail`)))
      )
    )

    const pollMs = backend?.pollMs ?? 30_000
    if (hid !== undefined && pollMs > 0) {
      yield* Effect.forkScoped(
        Effect.forever(
          Effect.sleep(`${pollMs} millis`).pipe(
            Effect.andThen(pollHid(hid)),
            Effect.catchCause(report(`workspace ${options.id}: HID poll`))
          )
        )
      )
    }

    return {
      id: options.id,
      name: options.name ?? "Sandbox workspace",
      sandbox,
      createdAt: Date.now(),
      connectedAccountId: ctx.connectedAccountId,
      apiKeys: options.apiKeys,
      engine,
      store,
      simulator,
      hid,
      cardProfiles: backend === undefined ? undefined : new Set(Object.keys(backend.partNumbers)),
      hidCallback,
      registerHidCallbacks: (serverUrl) => {
        const callbacks = backend?.callbacks
        if (hid === undefined || callbacks?.register === undefined) return Effect.succeed(undefined)
        const url = `${(callbacks.register.baseUrl ?? serverUrl).replace(/\/+$/, "")}/hid/callbacks/${encodeURIComponent(options.id)}`
        return Effect.as(hid.client.registerCallback({ url, header: { name: callbacks.header, value: callbacks.secret } }), url)
      },
      managers: manager.systems,
      acsSystems: acs.systems,
      acs,
      acsUsers: new Map(),
      phones,
      webhooks,
      events: Effect.as(sync, log_),
      publish,
      wake: Effect.asVoid(Queue.offer(wakeQueue, undefined)),
      identities,
      identity,
      find,
      profiles: ProfileIndex.make(identities, identity)
    } satisfies Workspace
  })
