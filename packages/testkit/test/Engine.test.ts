import { MemoryAccessControl, MemoryCredentialManager, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { Client, Command, Engine, Identity, Ids, Store } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Schedule } from "effect"
import { ana } from "./fixtures.js"
import { TestClock } from "effect/testing"

const setup = (options: Simulator.Options = {}, config: Engine.Config = {}) =>
  Effect.gen(function* () {
    const sim = Simulator.make(options)
    const store = MemoryStore.make()
    const engine = yield* Engine.make(config).pipe(
      Effect.provide(
        Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), Layer.succeed(Store.Store, Store.Store.of(store)))
      )
    )
    const id = Ids.UserIdentityId.make("u1")
    yield* ana(engine, sim, id)
    // enrol: invite, then the app redeems the code
    yield* engine.drain
    const code = Identity.enrollmentByKey(yield* engine.get(id), "p1|cm_sim")!.code!
    yield* sim.redeem(code)
    return { sim, store, engine, id }
  })

const eventCount = (store: ReturnType<typeof MemoryStore.make>) => Effect.map(store.events({ after: 0, limit: 100_000 }), (e) => e.length)

describe("Engine", () => {
  it.effect("issues, imports and assigns one credential per enrolled phone", () =>
    Effect.gen(function* () {
      const { sim, engine, id } = yield* setup()
      yield* engine.reconcile(id)
      const truth = yield* sim.truth()
      assert.strictEqual(truth.credentials.filter((c) => c.live).length, 1)
      assert.strictEqual(truth.acsEntries.length, 1)
      assert.isDefined(truth.acsEntries[0]!.assignedTo)
      const child = (yield* engine.get(id)).children[0]!
      assert.strictEqual(child.issue, "active")
      assert.isTrue(child.assigned)
    }))

  it.effect("rejects bad commands with a typed error and changes nothing", () =>
    Effect.gen(function* () {
      const { store, engine, id } = yield* setup()
      const before = yield* eventCount(store)
      const stateBefore = yield* engine.get(id)
      for (const bad of [
        { _tag: "DeactivatePhone", userIdentityId: id, phoneId: "unknown" },
        { _tag: "CreateSyncCredential", userIdentityId: id, credentialId: "c2", acsUserId: "x", managerId: "cm_sim", cardFormat: "h10301", facilityCode: "1", cardNumber: "42" },
        { _tag: "Teleport", userIdentityId: id },
        "not even an object"
      ]) {
        const e = yield* Effect.flip(engine.executeUnknown(bad))
        assert.strictEqual(e._tag, "CommandRejected")
      }
      assert.strictEqual(yield* eventCount(store), before)
      assert.deepStrictEqual(yield* engine.get(id), stateBefore)
    }))

  it.effect("executeUnknown names the field of input that does not decode, and changes nothing", () =>
    Effect.gen(function* () {
      const { store, engine, id } = yield* setup()
      const before = yield* eventCount(store)
      const stateBefore = yield* engine.get(id)
      for (const [bad, field] of [
        [{ _tag: "PhoneOnline", userIdentityId: id, phoneId: "p2" }, "deviceType"],
        [{ _tag: "PhoneOnline", userIdentityId: id, phoneId: "p2", deviceType: "pager" }, "deviceType"],
        [{ _tag: "PhoneOnline", userIdentityId: id, phoneId: "", deviceType: "ios_phone" }, "phoneId"],
        [{ _tag: "CreateSyncCredential", userIdentityId: id, credentialId: "c2", acsUserId: "x", managerId: "cm_sim", cardFormat: "h10301", facilityCode: "1", cardNumber: "42" }, "cardNumber"]
      ] as const) {
        const e = yield* Effect.flip(engine.executeUnknown(bad))
        assert.strictEqual(e._tag, "CommandRejected")
        if (e._tag === "CommandRejected") {
          assert.strictEqual(e.reason, "InvalidInput")
          assert.strictEqual(e.field, field, JSON.stringify(bad))
        }
      }
      assert.strictEqual(yield* eventCount(store), before)
      assert.deepStrictEqual(yield* engine.get(id), stateBefore)
      // what decodes is executed like a typed command
      const after = yield* engine.executeUnknown({ _tag: "PhoneOnline", userIdentityId: id, phoneId: "p2", deviceType: "ios_phone" })
      assert.isDefined(Identity.phone(after, "p2"))
    }))

  it("Command.make builds a typed command from its plain form and throws on a value the types cannot rule out", () => {
    const c = Command.make({ _tag: "PhoneOnline", userIdentityId: "u1", phoneId: "p1", deviceType: "ios_phone" })
    assert.deepStrictEqual(c, { _tag: "PhoneOnline", userIdentityId: Ids.UserIdentityId.make("u1"), phoneId: Ids.PhoneId.make("p1"), deviceType: "ios_phone" })
    assert.throws(() => Command.make({ _tag: "PhoneOnline", userIdentityId: "", phoneId: "p1", deviceType: "ios_phone" }))
    assert.throws(() => Command.make({ _tag: "CreateUserIdentity", userIdentityId: "u1", email: "not an email" }))
  })

  it.effect("rejects malformed or unroutable observations, naming the field, and changes nothing", () =>
    Effect.gen(function* () {
      const { store, engine } = yield* setup()
      const before = yield* eventCount(store)
      const malformed = yield* Effect.flip(engine.ingest({ _tag: "EndpointActive", managerId: "cm_sim", userIdentityId: "u1" }))
      assert.strictEqual(malformed._tag, "InvalidObservation")
      assert.match(malformed.message, /endpoint/)
      const unknown = yield* Effect.flip(engine.ingest({ _tag: "EndpointActive", managerId: "cm_sim", userIdentityId: "ghost", endpoint: "ep" }))
      assert.strictEqual(unknown._tag === "InvalidObservation" && unknown.field, "userIdentityId")
      assert.strictEqual(yield* eventCount(store), before)
      assert.isUndefined(yield* engine.nextDue)
    }))

  it.effect("retries a transient failure with the Schedule, on the clock", () =>
    Effect.gen(function* () {
      const { sim, engine, id } = yield* setup({}, { retry: Schedule.spaced("1 second") })
      yield* sim.failNext("issue", "Transient")
      const fiber = yield* Effect.forkChild(engine.reconcile(id))
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(sim.calls.issue, 1)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      assert.strictEqual(sim.calls.issue, 2)
      assert.strictEqual((yield* sim.truth()).credentials.filter((c) => c.live).length, 1)
    }))

  it.effect("honours RateLimited.retryAfter: the identity waits, then converges", () =>
    Effect.gen(function* () {
      const { sim, engine, id } = yield* setup({ faults: { ops: { issue: { retryAfter: 30_000 } } } })
      yield* sim.failNext("issue", "RateLimited")
      const result = yield* engine.reconcile(id)
      assert.isAtLeast(result.next ?? 0, 30_000)
      assert.strictEqual(yield* engine.drain, 0)
      assert.strictEqual(sim.calls.issue, 1)
      yield* TestClock.adjust("30 seconds")
      yield* engine.drain
      assert.strictEqual(sim.calls.issue, 2)
      assert.strictEqual((yield* sim.truth()).credentials.filter((c) => c.live).length, 1)
    }))

  it.effect("serialises one identity: concurrent reconciles issue once", () =>
    Effect.gen(function* () {
      const { sim, engine, id } = yield* setup()
      yield* Effect.all([engine.reconcile(id), engine.reconcile(id), engine.reconcile(id), engine.drain], { concurrency: "unbounded" })
      assert.strictEqual(sim.calls.issue, 1)
    }))

  it.effect("resolves a lost issue response by observing, never by a second issue", () =>
    Effect.gen(function* () {
      const { sim, engine, id } = yield* setup()
      yield* sim.failNext("issue", "Ambiguous")
      yield* engine.reconcile(id)
      assert.strictEqual(sim.calls.issue, 1)
      const live = (yield* sim.truth()).credentials.filter((c) => c.live)
      assert.strictEqual(live.length, 1)
      assert.strictEqual((yield* engine.get(id)).children[0]!.ref, live[0]!.ref)
    }))

  it.effect("repairs drift on resync: a deleted credential is reissued, a duplicate revoked", () =>
    Effect.gen(function* () {
      const { sim, engine, id } = yield* setup()
      yield* engine.reconcile(id)
      const first = (yield* sim.truth()).credentials.find((c) => c.live)!
      yield* sim.duplicateCredential(first.ref)
      yield* engine.resyncAll
      yield* engine.drain
      assert.strictEqual((yield* sim.truth()).credentials.filter((c) => c.live).length, 1)
      yield* sim.deleteCredential(first.ref)
      yield* engine.resyncAll
      yield* engine.drain
      const live = (yield* sim.truth()).credentials.filter((c) => c.live)
      assert.strictEqual(live.length, 1)
      assert.notStrictEqual(live[0]!.ref, first.ref)
      assert.strictEqual((yield* sim.truth()).acsEntries.length, 1)
    }))
})

describe("Engine: enrolment lifecycle", () => {
  it.effect("a phone whose endpoint was removed enrols again and gets a fresh credential", () =>
    Effect.gen(function* () {
      const { sim, engine, id } = yield* setup()
      yield* engine.reconcile(id)
      const before = (yield* sim.truth()).credentials.find((c) => c.live)!
      yield* sim.removeEndpointBehindBack(before.endpoint)
      yield* engine.resyncAll
      yield* engine.drain
      const state = yield* engine.get(id)
      const enrollment = Identity.enrollmentByKey(state, "p1|cm_sim")!
      assert.strictEqual(enrollment.status, "invited")
      assert.strictEqual(enrollment.generation, 2)
      yield* sim.redeem(enrollment.code!)
      yield* engine.reconcile(id)
      const live = (yield* sim.truth()).credentials.filter((c) => c.live)
      assert.strictEqual(live.length, 1)
      assert.notStrictEqual(live[0]!.endpoint, before.endpoint)
      const children = (yield* engine.get(id)).children
      assert.strictEqual(children.length, 1)
      assert.strictEqual(children[0]!.ref, live[0]!.ref)
      assert.strictEqual((yield* sim.truth()).acsEntries.length, 1)
    }))

  it.effect("a deactivated phone loses its credential and its endpoint, and never gets another", () =>
    Effect.gen(function* () {
      const { sim, engine, id } = yield* setup()
      yield* engine.reconcile(id)
      yield* engine.execute(Command.make({ _tag: "DeactivatePhone", userIdentityId: id, phoneId: "p1" }))
      yield* engine.drain
      const truth = yield* sim.truth()
      assert.strictEqual(truth.credentials.filter((c) => c.live).length, 0)
      assert.strictEqual(truth.acsEntries.length, 0)
      assert.isTrue(truth.endpoints.every((e) => e.status === "removed"))
      const again = yield* Effect.flip(engine.execute(Command.make({ _tag: "PhoneOnline", userIdentityId: id, phoneId: "p1", deviceType: "ios_phone" })))
      assert.strictEqual(again.reason, "Conflict")
    }))
})

describe("Client (Promise facade)", () => {
  it("runs the flow without Effect", async () => {
    const sim = Simulator.make()
    const client = Client.make(
      Engine.layer().pipe(Layer.provide(Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), MemoryStore.layer())))
    )
    const seen: Array<string> = []
    const unsubscribe = client.onEvent((e) => seen.push(e._tag))
    const acsUser = await Effect.runPromise(sim.acs.createUser(Simulator.defaultAcsId, { fullName: "Ana" }))
    const ana = await client.createUserIdentity({ email: "ana@example.com" })
    await client.linkAcsUser({ userIdentityId: ana.id, acsUserId: acsUser.id, acsSystemId: Simulator.defaultAcsId })
    await client.launchEnrollmentAutomation({ userIdentityId: ana.id, managerId: Simulator.defaultManagerId })
    await client.createSyncCredential({ userIdentityId: ana.id, acsUserId: acsUser.id, managerId: Simulator.defaultManagerId, cardFormat: "rfid48", facilityCode: "9" })
    await client.phoneOnline({ userIdentityId: ana.id, phoneId: "device-1", deviceType: "ios_phone" })
    await client.drain()
    const code = Identity.enrollmentByKey(await client.get(ana.id), "device-1|cm_sim")?.code
    assert.isDefined(code)
    await Effect.runPromise(sim.redeem(code!))
    // the provider's callbacks tell the engine whom to look at again
    for (const callback of await Effect.runPromise(sim.takeCallbacks())) await client.ingest(callback)
    await client.drain()
    const state = await client.get(ana.id)
    assert.strictEqual(state.children[0]?.issue, "active")
    const rejected = await client.deactivatePhone({ userIdentityId: ana.id, phoneId: "nope" }).then(
      () => undefined,
      (e: unknown) => e
    )
    assert.propertyVal(rejected, "_tag", "CommandRejected")
    assert.propertyVal(rejected, "reason", "NotFound")
    unsubscribe()
    await client.close()
    assert.include(seen, "InvitationCreated")
  })
})
