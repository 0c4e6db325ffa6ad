/**
 * adapter-seam against the Seam-compatible API (packages/seam-api) as a property-test {@link Provider}
 * (packages/testkit). Each run gets a fresh server on 127.0.0.1 (port 0) with one sandbox workspace, a
 * loopback proxy in front of it ({@link DriftProxy}) and a loopback webhook receiver.
 *
 * - manager / acs: `SeamCredentialManager` and `SeamAccessControl` over one `SeamClient` (official
 *   `@seamapi/http`, no SDK retries) that talks to the proxy. Nothing on the engine's path sleeps: the
 *   adapter has no in-call retry and the engine runs on the World's TestClock.
 * - The test's own calls (ACS users through `/acs/users/create|get`, the phone app's
 *   `/phones/simulate/create_sandbox_phone`) go straight to the server with a second client, outside
 *   the fault injection, as a host's own calls would.
 * - createPhone: the Seam user identity whose `user_identity_key` is the credsync identity id (found, or
 *   created the adapter's way: `ensureUser`), then a sandbox phone for it; its `device_id` names the phone.
 * - settle: lets the server's inner engine progress on the real clock (its event tail plays the phone
 *   SDK, its provider callbacks are pumped, everything due is drained), in a bounded loop until it is
 *   quiet. It never runs the inner engine under the World's TestClock.
 * - truth: the inner simulator's ground truth translated into what the outer engine sees: a credential's
 *   `ref` is the Seam child `acs_credential_id` (the inner engine's child id for that simulator credential),
 *   its `endpoint` the phone's `device_id` (the simulator endpoint was created by redeeming the invitation
 *   the inner engine made for that phone); ACS entries from the inner simulator with the public
 *   (UUID) ACS user ids. Copies planted through the proxy (drift) are live credentials too.
 * - callbacks: the server's webhooks (Svix-signed), received on loopback, verified and turned into
 *   observations by `SeamWebhooks.intake` (a delivery whose intake fails, e.g. on an injected fault, is
 *   dropped: the engine's resync covers it). `duplicateCallbacks` / `reorderCallbacks` are applied here.
 * - faults: for a request the engine makes through the proxy, a seeded draw arms the server's own fault
 *   injection (`server.injectFault`, that path, this workspace, once) just before it is forwarded:
 *   `transient` → 503 or 500, `rateLimited` → 429 with `Retry-After: 1`, `lostResponse` → the request
 *   takes effect and 502 is answered (`afterHandling`). `/acs/users/*` are never faulted (only the test
 *   uses them). `lagMs` does not apply (Seam's listings read back their own writes: `listingLag: 0`).
 * - crashNext: the next mutating call of the engine goes through to Seam, then the engine dies.
 * - drift: `deleteCredential` deletes the simulator credential under a Seam child behind both engines'
 *   backs (the inner engine repairs it; the outer mirrors the new copy), or a planted copy;
 *   `duplicateCredential` plants a second copy of a child for the same phone and parent in the proxy's
 *   listings (the server itself never lists two), which the outer engine must revoke.
 */
import { randomUUID } from "node:crypto"
import {
  type AccessControl,
  type CredentialManager,
  Identity,
  Ids,
  type Observation,
  PortError
} from "@credsync/core"
import { Server } from "@credsync/seam-api"
import { Seeded } from "@credsync/adapter-memory"
import { type FaultProfile, Loopback, type Provider, type Truth } from "@credsync/testkit"
import { SeamHttp } from "@seamapi/http/connect"
import { Effect, Exit, Redacted } from "effect"
import { SeamAccessControl, SeamClient, SeamCredentialManager, SeamWebhooks } from "../src/index.js"
import * as DriftProxy from "./DriftProxy.js"
import { grantCard, managerOptions } from "./helpers.js"

/** The defect a provoked engine crash dies with. */
export class ProviderCrash extends Error {
  override readonly name = "ProviderCrash"
  constructor() {
    super("simulated engine crash after a call reached Seam")
  }
}


/** Run an effect of the server's world on the real clock, never on the World's TestClock. */
const real = <A, E>(eff: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.flatMap(
    Effect.promise(() => Effect.runPromiseExit(eff)),
    (exit) => (Exit.isSuccess(exit) ? Effect.succeed(exit.value) : Effect.failCause(exit.cause))
  )

const wait = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** A copy planted in the proxy's listings. */
interface Planted {
  readonly endpoint: string
  readonly cardFormat: string
  readonly facilityCode: string
  readonly cardNumber: string
}

export interface SeamProviderOptions {
  /** Seeds the fault draws and the callback shuffling. */
  readonly seed?: number
  /** How the adapter drives Seam (default enrollment automations). With Access Grants the
   *  property's parents are all of the one card profile a grant's mobile keys have. */
  readonly via?: SeamCredentialManager.Via
}

/** A provider with the server at hand. */
export interface SeamProvider extends Provider {
  readonly server: Server.Handle
  readonly workspaceId: string
  /** The route path of every request the engine's adapter sent (through the proxy), in order. */
  readonly paths: ReadonlyArray<string>
  /** What the run exercised: server faults armed, copies planted, webhook observations handed over. */
  readonly stats: { faults: number; planted: number; observations: number }
}


/** Starts a server, a proxy, a webhook receiver and the adapter on them. `close()` stops everything. */
export const make = async (options: SeamProviderOptions = {}): Promise<SeamProvider> => {
  const seed = options.seed ?? 1
  const random = Seeded.random(seed ^ 0x9e3779b9)
  const workspaceId = randomUUID()
  const key = `seam_test_${randomUUID().replaceAll("-", "")}`
  const server = await Server.start({
    workspaces: [
      {
        id: workspaceId,
        apiKeys: [Redacted.make(key)],
        sandbox: true,
        tickMs: 10,
        simulator: { seed },
        // the webhook receiver is on loopback
        webhooks: { allowPrivateUrls: true },
        // the inner engine runs on the real clock: keep its waits short so that settle is quick
        engine: { poll: "20 millis", backoff: { base: "10 millis", cap: "100 millis" }, replicationBound: "1 second" }
      }
    ]
  })
  const ws = server.workspace(workspaceId)
  const managerSystem = ws.managers[0]
  const acsSystem = ws.acsSystems[0]
  if (managerSystem === undefined || acsSystem === undefined) throw new Error("the workspace has no credential manager or ACS")
  const managerId = Ids.AcsSystemId.make(managerSystem.id)
  const acsSystemId = Ids.AcsSystemId.make(acsSystem.id)

  // --- faults: armed per forwarded request, through the server's own injection
  let faults: FaultProfile = {}
  const stats = { faults: 0, planted: 0, observations: 0 }
  const neverFaulted = (path: string) => path.startsWith("/acs/users/")
  const proxy = await DriftProxy.start(server.url, {
    intercept: (path) => {
      if (neverFaulted(path)) return
      const transient = faults.transient ?? 0
      const rateLimited = faults.rateLimited ?? 0
      const lost = faults.lostResponse ?? 0
      if (transient + rateLimited + lost === 0) return
      const r = random()
      if (r < transient + rateLimited + lost) stats.faults++
      if (r < transient) server.injectFault({ path, workspaceId, status: random() < 0.5 ? 503 : 500, times: 1 })
      else if (r < transient + rateLimited) server.injectFault({ path, workspaceId, status: 429, retryAfterSeconds: 1, times: 1 })
      else if (r < transient + rateLimited + lost) server.injectFault({ path, workspaceId, status: 502, afterHandling: true, times: 1 })
    }
  })
  const receiver = await Loopback.receiver("/seam/webhooks", 204)

  // --- the engine's client (through the proxy) and the test's own (straight to the server)
  const client = SeamClient.make({ apiKey: Redacted.make(key), endpoint: proxy.url })
  const direct = SeamClient.make({ apiKey: Redacted.make(key), endpoint: server.url })
  const withClient = <A>(c: SeamClient.SeamClientShape, eff: Effect.Effect<A, never, SeamClient.SeamClient>) =>
    Effect.runSync(Effect.provideService(eff, SeamClient.SeamClient, c))
  const via = options.via ?? "enrollment_automations"
  const cm = withClient(client, SeamCredentialManager.make(managerOptions(managerId, via)))
  const directCm = withClient(direct, SeamCredentialManager.make(managerOptions(managerId, via)))
  const acsOptions = { systems: [{ id: acsSystemId }] }
  const engineAcs = withClient(client, SeamAccessControl.make(acsOptions))
  const testAcs = withClient(direct, SeamAccessControl.make(acsOptions))
  const seam = SeamHttp.fromApiKey(key, { endpoint: server.url, isUndocumentedApiEnabled: true, axiosRetryOptions: { retries: 0 } })
  const webhook = await seam.webhooks.create({ url: receiver.url })
  const webhooks = withClient(
    client,
    SeamWebhooks.make({ secret: Redacted.make(webhook.secret ?? ""), system: managerId })
  )

  // --- crashNext: the next mutating call reaches Seam, then the engine dies
  let crashArmed = false
  const afterCall = <A>(eff: Effect.Effect<A, PortError.PortError>): Effect.Effect<A, PortError.PortError> =>
    Effect.flatMap(Effect.exit(eff), (exit) => {
      if (crashArmed) {
        crashArmed = false
        return Effect.die(new ProviderCrash())
      }
      return Exit.isSuccess(exit) ? Effect.succeed(exit.value) : Effect.failCause(exit.cause)
    })
  const manager: CredentialManager.ReplicatingManagerShape = {
    ...cm,
    ensureUser: (m, identity) => afterCall(cm.ensureUser(m, identity)),
    revoke: (m, ref) => afterCall(cm.revoke(m, ref)),
    removeEndpoint: (m, ref) => afterCall(cm.removeEndpoint(m, ref)),
    createParent: (m, request) => afterCall(cm.createParent(m, request)),
    deleteParent: (m, ref) => afterCall(cm.deleteParent(m, ref)),
    launchAutomation: (m, user) => afterCall(cm.launchAutomation(m, user))
  }
  // the host creates and reads its ACS users itself (outside the engine's faults)
  const acs: AccessControl.AccessControlShape = { ...engineAcs, createUser: testAcs.createUser, getUser: testAcs.getUser }

  // --- the inner world
  const innerStates = real(Effect.orDie(ws.identities))
  const innerLastSeq = Effect.gen(function* () {
    let after = 0
    while (true) {
      const page = yield* ws.store.events({ after, limit: 10_000 })
      const last = page[page.length - 1]
      if (last === undefined) return after
      after = last.seq
    }
  })

  /** One round of the inner engine: the event tail (phone SDK, Seam events, webhooks), callbacks, due work. */
  const innerRound = Effect.gen(function* () {
    yield* Effect.ignore(ws.events)
    const callbacks = yield* ws.simulator.takeCallbacks()
    for (const c of callbacks) yield* Effect.ignore(ws.engine.ingest(c))
    const ran = yield* Effect.orElseSucceed(ws.engine.drain, () => 1)
    yield* Effect.ignore(ws.events)
    return ran + callbacks.length
  })

  const settle: Effect.Effect<void> = Effect.gen(function* () {
    yield* real(Effect.ignore(ws.engine.resyncAll))
    let quietRounds = 0
    for (let i = 0; i < 400 && quietRounds < 2; i++) {
      const before = yield* real(Effect.orDie(innerLastSeq))
      const ran = yield* real(innerRound)
      const after = yield* real(Effect.orDie(innerLastSeq))
      const next = yield* real(Effect.orElseSucceed(ws.engine.nextDue, () => undefined))
      const soon = next !== undefined && next - Date.now() < 500
      if (ran === 0 && after === before && !soon) quietRounds++
      else {
        quietRounds = 0
        if (ran === 0 && after === before) yield* wait(10)
      }
    }
  })

  // --- truth
  const planted = new Map<string, Planted>()
  let plantedCount = 0

  const truth: Effect.Effect<Truth> = Effect.gen(function* () {
    const states = yield* innerStates
    const t = ws.simulator.truthUnsafe()
    const childBySimRef = new Map<string, Identity.Child>()
    const phoneByInvitation = new Map<string, string>()
    const phoneByEndpoint = new Map<string, string>()
    for (const s of states) {
      for (const c of s.children) if (c.ref !== undefined) childBySimRef.set(c.ref, c)
      for (const e of s.enrollments) {
        if (e.invitation !== undefined) phoneByInvitation.set(e.invitation, e.phoneId)
        if (e.endpoint !== undefined) phoneByEndpoint.set(e.endpoint, e.phoneId)
      }
    }
    const phoneOfEndpoint = new Map<string, string>()
    for (const e of t.endpoints) {
      const phone = (e.invitation === undefined ? undefined : phoneByInvitation.get(e.invitation)) ?? phoneByEndpoint.get(e.ref)
      if (phone !== undefined) phoneOfEndpoint.set(e.ref, phone)
    }
    // inner ACS user ids → the public ones (the test names its ACS users uniquely)
    const publicByName = new Map<string, Array<string>>()
    for (const u of yield* real(Effect.orDie(ws.acsUsers.list))) publicByName.set(u.full_name, [...(publicByName.get(u.full_name) ?? []), u.acs_user_id])
    const publicOf = new Map<string, string>()
    for (const u of t.acsUsers) {
      const ids = publicByName.get(u.fullName) ?? []
      if (ids.length === 1 && ids[0] !== undefined) publicOf.set(u.id, ids[0])
    }
    const liveInProxy = [...planted].filter(([id]) => proxy.planted.has(id))
    return {
      credentials: [
        ...t.credentials.map((c) => ({
          ref: childBySimRef.get(c.ref)?.id ?? c.ref,
          endpoint: phoneOfEndpoint.get(c.endpoint) ?? c.endpoint,
          cardFormat: c.cardFormat,
          facilityCode: c.facilityCode,
          cardNumber: c.cardNumber,
          live: c.live
        })),
        ...liveInProxy.map(([ref, p]) => ({ ref, ...p, live: true }))
      ],
      acsEntries: t.acsEntries.map((e) => ({
        ref: e.ref,
        cardNumber: e.cardNumber,
        label: e.label,
        assignedTo: e.assignedTo === undefined ? undefined : (publicOf.get(e.assignedTo) ?? e.assignedTo)
      }))
    } satisfies Truth
  })

  // --- drift
  const findChild = (states: ReadonlyArray<Identity.IdentityState>, id: string) => {
    for (const s of states) {
      const c = Identity.child(s, id)
      if (c !== undefined) return { state: s, child: c, parent: Identity.parent(s, c.parentId) }
    }
    return undefined
  }

  const deleteCredential = (ref: string) =>
    Effect.gen(function* () {
      if (planted.has(ref)) {
        proxy.planted.delete(ref)
        return
      }
      const found = findChild(yield* innerStates, ref)
      const simRef = found?.child.ref ?? ref
      yield* real(Effect.ignore(ws.simulator.deleteCredential(Ids.ProviderRef.make(simRef))))
    })

  const duplicateCredential = (ref: string) =>
    Effect.gen(function* () {
      const found = findChild(yield* innerStates, ref)
      if (found === undefined || found.parent === undefined) return
      const { state, child, parent } = found
      const id = `planted-${seed}-${++plantedCount}`
      const cardNumber = String(900_000 + plantedCount)
      stats.planted++
      planted.set(id, { endpoint: child.phoneId, cardFormat: parent.card.cardFormat, facilityCode: parent.card.facilityCode, cardNumber })
      proxy.planted.set(id, {
        acs_credential_id: id,
        user_identity_id: state.id,
        acs_user_id: parent.acsUserId,
        acs_system_id: parent.acsSystemId,
        parent_acs_credential_id: parent.id,
        device_id: child.phoneId,
        is_issued: true,
        card_number: cardNumber,
        is_multi_phone_sync_credential: false,
        credential_manager_acs_system_id: parent.managerId,
        access_method: "mobile_key",
        created_at: new Date().toISOString(),
        errors: [],
        warnings: []
      })
    })

  // --- callbacks
  let duplicate = 0
  let reorder = 0
  const callbacks = Effect.gen(function* () {
    const received: Array<Observation.Observation> = []
    for (const d of receiver.take()) {
      const exit = yield* Effect.exit(webhooks.intake(d.body, d.headers))
      if (Exit.isSuccess(exit)) received.push(...exit.value)
    }
    const out = Seeded.deliver(received, random, { duplicate, reorder })
    stats.observations += out.length
    return out
  })

  // --- the phone app: enrols at Seam, which names the phone
  const createPhone = (userIdentityId: string) =>
    Effect.gen(function* () {
      const user = yield* directCm.ensureUser(managerId, { id: Ids.UserIdentityId.make(userIdentityId) })
      const phone = yield* direct.call("CredentialManager", "phones.simulate.createSandboxPhone", "create", (s) =>
        s.phones.simulate.createSandboxPhone({ user_identity_id: user, phone_metadata: { operating_system: "android" } })
      )
      return phone.device_id
    })

  const provider: SeamProvider = {
    name: via === "access_grants" ? "seam (access grants)" : "seam",
    ...(via === "access_grants" ? { cardProfiles: [grantCard] } : {}),
    server,
    workspaceId,
    paths: proxy.paths,
    stats,
    manager,
    acs,
    managerId,
    acsSystemId,
    redeem: () =>
      Effect.fail(
        new PortError.PortError({
          reason: "InvalidInput",
          port: "CredentialManager",
          method: "redeem",
          message: "Seam enrols phones itself: there are no invitation codes to redeem"
        })
      ),
    settle,
    truth,
    callbacks,
    setFaults: (f) =>
      Effect.sync(() => {
        faults = f
        duplicate = f.duplicateCallbacks ?? 0
        reorder = f.reorderCallbacks ?? 0
        if ((f.transient ?? 0) + (f.rateLimited ?? 0) + (f.lostResponse ?? 0) === 0) server.clearFaults()
      }),
    crashNext: Effect.sync(() => {
      crashArmed = true
    }),
    deleteCredential,
    duplicateCredential,
    isCrash: (defect) => defect instanceof ProviderCrash,
    createPhone,
    close: async () => {
      await proxy.close()
      await receiver.close()
      await server.close()
    }
  }
  return provider
}
