/**
 * The engine against a replicating credential manager (Seam style): it creates the parent there and
 * launches the automation, each recorded as an intent before its call; it records what the calls
 * answered; it deletes a deleted parent there; an action of the other kind of manager is a defect;
 * and the ACS is not observed for such a manager's parents. The manager is a small fake written
 * here (the simulator does not replicate); the store is the memory store, time the TestClock.
 */
import { MemoryStore, Simulator } from "@credsync/adapter-memory"
import { AccessControl, type Action, CredentialManager, Engine, Event, Identity, Ids, Plan, Store } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option, Result, Schema } from "effect"

type Query = Parameters<AccessControl.AccessControlShape["observe"]>[1]

const seam = Ids.AcsSystemId.make("seam")
const id = Ids.UserIdentityId.make("u1")
const ref = (s: string) => Ids.ProviderRef.make(s)

interface Fake {
  readonly shape: CredentialManager.CredentialManagerShape
  readonly calls: Record<string, number>
  /** What each call saw in the store when it was made. */
  readonly seen: Array<{ readonly call: string; readonly stored: Store.Stored | undefined }>
  readonly parents: Map<string, { readonly cardFormat: string; readonly facilityCode: string }>
  readonly endpoints: Set<string>
}

/** A replicating manager: every parent is copied onto every endpoint. */
const fake = (store: Store.StoreShape): Fake => {
  const calls: Record<string, number> = {}
  const seen: Fake["seen"] = []
  const parents: Fake["parents"] = new Map()
  const automations: Array<string> = []
  const endpoints = new Set<string>()
  let parentCount = 0
  let automationCount = 0
  const called = (call: string) =>
    Effect.map(store.load(id), (stored) => {
      calls[call] = (calls[call] ?? 0) + 1
      seen.push({ call, stored: Option.getOrUndefined(stored) })
    })
  const shape: CredentialManager.ReplicatingManagerShape = {
    kind: "replicating",
    systems: [{ id: seam, name: "Seam", externalType: "seam", capabilities: { asyncIssue: false, listingLag: 0 } }],
    ensureUser: () => Effect.as(called("ensureUser"), ref("user1")),
    observe: (_, user) =>
      Effect.as(called("observe"), {
        user,
        invitations: [],
        endpoints: [...endpoints].map((e) => ({ ref: ref(e), status: "active" as const })),
        credentials: [...parents.keys()].flatMap((p) =>
          [...endpoints].map((e) => ({ ref: ref(`${p}@${e}`), endpoint: ref(e), cardFormat: "rfid48", facilityCode: "9", status: "active" as const, parent: ref(p), cardNumber: "77" }))
        ),
        parents: [...parents].map(([r, card]) => ({ ref: ref(r), ...card })),
        automations: automations.map((r) => ({ ref: ref(r) }))
      }),
    revoke: () => Effect.as(called("revoke"), undefined),
    removeEndpoint: () => Effect.as(called("removeEndpoint"), undefined),
    createParent: (_, request) =>
      Effect.map(called("createParent"), () => {
        const r = `pc${++parentCount}`
        parents.set(r, { cardFormat: request.card.cardFormat, facilityCode: request.card.facilityCode })
        return ref(r)
      }),
    deleteParent: (_, parent) =>
      Effect.map(called("deleteParent"), () => {
        parents.delete(parent)
      }),
    launchAutomation: () =>
      Effect.map(called("launchAutomation"), () => {
        const r = `ea${++automationCount}`
        automations.push(r)
        return ref(r)
      })
  }
  return { shape, calls, seen, parents, endpoints }
}

const setup = (config: Engine.Config = {}) =>
  setupWith([{ _tag: "CreateSyncCredential", userIdentityId: id, credentialId: "c1", acsUserId: "acs-user", managerId: "seam", cardFormat: "rfid48", facilityCode: "9" }], config)

/** The identity with its ACS user linked, the automation at seam and phone dev1; then `more` commands. */
const setupWith = (more: ReadonlyArray<Record<string, unknown>>, config: Engine.Config = {}) =>
  Effect.gen(function* () {
    const sim = Simulator.make()
    const store = MemoryStore.make()
    const f = fake(store)
    const acsQueries: Array<Query> = []
    const acs = { ...sim.acs, observe: (a: Ids.AcsSystemId, q: Query) => Effect.andThen(Effect.sync(() => acsQueries.push(q)), sim.acs.observe(a, q)) }
    const engine = yield* Engine.make(config).pipe(
      Effect.provide(
        Layer.mergeAll(
          Layer.succeed(CredentialManager.CredentialManager, CredentialManager.CredentialManager.of(f.shape)),
          Layer.succeed(AccessControl.AccessControl, AccessControl.AccessControl.of(acs)),
          Layer.succeed(Store.Store, Store.Store.of(store))
        )
      )
    )
    const acsUser = yield* sim.acs.createUser(Simulator.defaultAcsId, { fullName: "Ana" })
    const linked = (c: Record<string, unknown>) => (c.acsUserId === "acs-user" ? { ...c, acsUserId: acsUser.id } : c)
    for (const command of [
      { _tag: "CreateUserIdentity", userIdentityId: id },
      { _tag: "LinkAcsUser", userIdentityId: id, acsUserId: acsUser.id, acsSystemId: Simulator.defaultAcsId },
      { _tag: "LaunchAutomation", userIdentityId: id, automationId: "a1", managerId: "seam" },
      { _tag: "PhoneOnline", userIdentityId: id, phoneId: "dev1", deviceType: "ios_phone" },
      ...more.map(linked)
    ]) {
      yield* engine.executeUnknown(command)
    }
    const execute = (c: Record<string, unknown>) => engine.executeUnknown(linked(c))
    return { engine: { ...engine, execute }, f, acsQueries, sim }
  })

/** The real planner, plus one action it would never ask for. */
const withStray =
  (stray: Action.Action): typeof Plan.plan =>
  (s, o, ctx) => {
    const p = Plan.plan(s, o, ctx)
    return { ...p, actions: [...p.actions, stray] }
  }

/** The defect `eff` dies with, as text ("" when it does not die). */
const defectOf = <A, E>(eff: Effect.Effect<A, E>) =>
  Effect.map(Effect.exit(eff), (exit) => (Exit.isFailure(exit) && Cause.hasDies(exit.cause) ? String(Cause.squash(exit.cause)) : ""))

describe("engine with a replicating manager", () => {
  it.effect("records creating the parent and launching the automation before it calls, then what the calls answered", () =>
    Effect.gen(function* () {
      const { engine, f } = yield* setup()
      f.endpoints.add("dev1")
      yield* engine.reconcile(id)
      assert.strictEqual(f.calls.createParent, 1)
      assert.strictEqual(f.calls.launchAutomation, 1)
      const create = f.seen.find((s) => s.call === "createParent")
      assert.isDefined(create?.stored && Identity.parent(create.stored.state, "c1")?.remoteRequestedAt, "the create was recorded before its call")
      const launch = f.seen.find((s) => s.call === "launchAutomation")
      assert.isDefined(launch?.stored && Identity.automation(launch.stored.state, "a1")?.remoteRequestedAt, "the launch was recorded before its call")
      const state = yield* engine.get(id)
      assert.strictEqual(Identity.parent(state, "c1")?.remote, ref("pc1"))
      assert.strictEqual(Identity.automation(state, "a1")?.remote, ref("ea1"))
      // the manager copied the parent onto the phone: mirrored, assigned by the manager, converged
      const [child] = state.children
      assert.strictEqual(child?.ref, ref("pc1@dev1"))
      assert.strictEqual(child?.issue, "active")
      assert.isTrue(child?.assigned)
      // nothing more to do: no second create or launch
      yield* engine.reconcile(id)
      assert.strictEqual(f.calls.createParent, 1)
      assert.strictEqual(f.calls.launchAutomation, 1)
    }))

  it.effect("records each intent before its call also when it is the round's only one", () =>
    Effect.gen(function* () {
      // the automation alone first (no sync credential yet), then the parent alone
      const { engine, f } = yield* setupWith([])
      yield* engine.reconcile(id)
      assert.deepStrictEqual([f.calls.launchAutomation, f.calls.createParent], [1, undefined])
      const launched = f.seen.find((s) => s.call === "launchAutomation")?.stored
      assert.isDefined(launched && Identity.automation(launched.state, "a1")?.remoteRequestedAt)
      yield* engine.execute({ _tag: "CreateSyncCredential", userIdentityId: id, credentialId: "c1", acsUserId: "acs-user", managerId: "seam", cardFormat: "rfid48", facilityCode: "9" })
      yield* engine.reconcile(id)
      assert.deepStrictEqual([f.calls.launchAutomation, f.calls.createParent], [1, 1])
      const created = f.seen.find((s) => s.call === "createParent")?.stored
      assert.isDefined(created && Identity.parent(created.state, "c1")?.remoteRequestedAt)
    }))

  it.effect("records each call's answer as a domain event, once", () =>
    Effect.gen(function* () {
      const { engine } = yield* setup()
      const at = yield* Effect.clockWith((c) => c.currentTimeMillis)
      yield* engine.reconcile(id)
      yield* engine.execute({ _tag: "DeleteSyncCredential", userIdentityId: id, credentialId: "c1" })
      yield* engine.reconcile(id)
      const feed = (yield* engine.events({ limit: 1_000 })).events.map((e) => e.event)
      // nothing else slipped into the log (the delete's answer adds no event)
      for (const e of feed) assert.isTrue(Result.isSuccess(Schema.decodeUnknownResult(Event.DomainEvent)(e)), JSON.stringify(e))
      assert.deepStrictEqual(
        feed.filter((e) => e._tag === "ParentBound"),
        [{ _tag: "ParentBound", identity: id, at, credentialId: Ids.CredentialId.make("c1"), ref: ref("pc1") }]
      )
      assert.deepStrictEqual(
        feed.filter((e) => e._tag === "AutomationBound"),
        [{ _tag: "AutomationBound", identity: id, at, automationId: Ids.AutomationId.make("a1"), ref: ref("ea1") }]
      )
    }))

  it.effect("deletes a deleted parent there, then forgets it", () =>
    Effect.gen(function* () {
      const { engine, f } = yield* setup()
      yield* engine.reconcile(id)
      assert.deepStrictEqual([...f.parents.keys()], ["pc1"])
      yield* engine.execute({ _tag: "DeleteSyncCredential", userIdentityId: id, credentialId: "c1" })
      yield* engine.reconcile(id)
      assert.strictEqual(f.calls.deleteParent, 1)
      assert.deepStrictEqual([...f.parents.keys()], [])
      assert.deepStrictEqual((yield* engine.get(id)).parents, [])
    }))

  it.effect("an issuing action for a replicating manager is a planner bug: a defect naming both, and no call", () =>
    Effect.gen(function* () {
      const strays: ReadonlyArray<Action.Action> = [
        { _tag: "Invite", managerId: seam, key: "k" },
        { _tag: "CancelInvitation", managerId: seam, invitation: ref("inv") },
        { _tag: "Issue", managerId: seam, credentialId: Ids.CredentialId.make("x"), endpoint: ref("dev1"), card: { cardFormat: "rfid48", facilityCode: "9" } }
      ]
      for (const stray of strays) {
        const { engine } = yield* setup({ planner: withStray(stray), maxRounds: 2 })
        assert.include(yield* defectOf(engine.reconcile(id)), `planner bug: ${stray._tag} sent to seam, whose manager is replicating`)
      }
    }))

  it.effect("a replicating action for an issuing manager is a planner bug: a defect naming both", () =>
    Effect.gen(function* () {
      const m = Simulator.defaultManagerId
      const strays: ReadonlyArray<Action.Action> = [
        { _tag: "CreateRemoteParent", managerId: m, credentialId: Ids.CredentialId.make("c1") },
        { _tag: "DeleteRemoteParent", managerId: m, parent: ref("pc1") },
        { _tag: "LaunchRemoteAutomation", managerId: m, automationId: Ids.AutomationId.make("a1") }
      ]
      for (const stray of strays) {
        const sim = Simulator.make()
        const engine = yield* Engine.make({ planner: withStray(stray), maxRounds: 2 }).pipe(
          Effect.provide(
            Layer.mergeAll(
              Layer.succeed(CredentialManager.CredentialManager, CredentialManager.CredentialManager.of(sim.manager)),
              Layer.succeed(AccessControl.AccessControl, AccessControl.AccessControl.of(sim.acs)),
              Layer.succeed(Store.Store, Store.Store.of(MemoryStore.make()))
            )
          )
        )
        yield* engine.executeUnknown({ _tag: "CreateUserIdentity", userIdentityId: id })
        assert.include(yield* defectOf(engine.reconcile(id)), `planner bug: ${stray._tag} sent to cm_sim, whose manager is issuing`)
      }
    }))

  it.effect("skips creating a parent the state does not hold, or launching where it has no manager user", () =>
    Effect.gen(function* () {
      const planner: typeof Plan.plan = (s, o, ctx) => {
        const p = Plan.plan(s, o, ctx)
        return {
          ...p,
          actions: [
            ...p.actions,
            { _tag: "CreateRemoteParent", managerId: seam, credentialId: Ids.CredentialId.make("nope") },
            { _tag: "CreateRemoteParent", managerId: Ids.AcsSystemId.make("no-user-here"), credentialId: Ids.CredentialId.make("c1") },
            { _tag: "LaunchRemoteAutomation", managerId: Ids.AcsSystemId.make("no-user-here"), automationId: Ids.AutomationId.make("a1") }
          ]
        }
      }
      const { engine, f } = yield* setup({ planner, maxRounds: 2 })
      yield* engine.reconcile(id)
      // the plan's own create and launch, once each; the strays called nothing
      assert.strictEqual(f.calls.createParent, 1)
      assert.strictEqual(f.calls.launchAutomation, 1)
    }))

  it.effect("observes no ACS for a replicating manager's parents and copies", () =>
    Effect.gen(function* () {
      const { engine, f, acsQueries } = yield* setup()
      f.endpoints.add("dev1")
      yield* engine.reconcile(id)
      yield* engine.reconcile(id)
      assert.deepStrictEqual(acsQueries, [])
    }))
})
