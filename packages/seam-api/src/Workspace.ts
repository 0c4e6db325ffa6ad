/**
 * One Seam workspace: its own engine over its own store and simulator, plus the API-side records
 * the engine does not keep (ACS user profiles, sandbox phone names, webhooks) and the Seam event
 * log. Nothing is shared between workspaces.
 *
 * Background work (forked into the workspace's scope, stopped when it closes):
 * - the engine's reconcile loop;
 * - a tail of the store's persisted event log that turns domain events into Seam events, delivers
 *   webhooks and, in sandbox workspaces, plays the phone SDK (redeems invitation codes);
 * - a pump of the simulator's provider callbacks into `engine.ingest`.
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
import { Effect, FiberSet, Option, Queue, type Redacted, Schedule, type Scope, Semaphore, Stream } from "effect"
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
  /** Simulator settings (seed, issueDelay, faults...). Systems get UUID ids unless given. */
  readonly simulator?: Simulator.Options | undefined
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
  /** The simulated credential manager and ACS (ground truth for tests). */
  readonly simulator: Simulator.Simulator
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
}

const withUuidSystems = (workspaceId: string, options: Simulator.Options = {}): Simulator.Options => ({
  ...options,
  managers: options.managers ?? [
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
    const simulator = Simulator.make(withUuidSystems(options.id, options.simulator))
    const acs = AcsUsers.wrap(simulator.acs).port
    const store: Store.StoreShape =
      options.sqliteFile === undefined ? MemoryStore.make() : yield* SqliteStore.make({ filename: options.sqliteFile })
    const engine = yield* Engine.make(options.engine ?? {}).pipe(
      Effect.provideService(ManagerTag.CredentialManager, simulator.manager),
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
    const playSdk = (e: Extract<Store.StoredEvent["event"], { _tag: "InvitationCreated" }>) =>
      Effect.gen(function* () {
        if (!sandbox) return
        const s = yield* identity(e.identity)
        if (s?.phones[e.phoneId]?.active !== true) return
        yield* simulator.redeem(e.code).pipe(Effect.ignore)
        yield* pump
      })

    const sync = syncLock.withPermits(1)(
      Effect.gen(function* () {
        while (true) {
          const page = yield* store.events({ after: lastSeq, limit: 1000 })
          if (page.length === 0) return
          for (const stored of page) {
            lastSeq = stored.seq
            if (stored.event._tag === "InvitationCreated") yield* playSdk(stored.event)
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
    yield* Effect.forkScoped(Stream.runForEach(engine.events, () => Queue.offer(wakeQueue, undefined)))
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          yield* Effect.raceFirst(Effect.sleep(`${tick} millis`), Queue.take(wakeQueue))
          yield* pump
          yield* sync
        }).pipe(Effect.catchCause(report(`workspace ${options.id}: event tail`)))
      )
    )

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
      managers: simulator.manager.systems,
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
      find
    } satisfies Workspace
  })
