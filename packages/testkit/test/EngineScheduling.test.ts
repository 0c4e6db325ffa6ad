/**
 * The engine's own scheduling, on the TestClock: back-off arithmetic, polling of asynchronous
 * issuance, the attempts rules, leases between two replicas and the call timeout. Each test asserts
 * the times and counts the engine itself chose (no resync forced).
 */
import { MemoryAccessControl, MemoryCredentialManager, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { Engine, Ids, Store } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Schedule } from "effect"
import { TestClock } from "effect/testing"

const id = Ids.UserIdentityId.make("u1")

const setup = (options: Simulator.Options = {}, config: Engine.Config = {}) =>
  Effect.gen(function* () {
    const sim = Simulator.make(options)
    const store = MemoryStore.make()
    const ports = Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), Layer.succeed(Store.Store, Store.Store.of(store)))
    const make = (replica: string) => Engine.make({ retry: Schedule.recurs(0), replica, ...config }).pipe(Effect.provide(ports))
    const engine = yield* make("a")
    const acsUser = yield* sim.acs.createUser(Simulator.defaultAcsId, { fullName: "Ana" })
    for (const command of [
      { _tag: "CreateUserIdentity", userIdentityId: id },
      { _tag: "LinkAcsUser", userIdentityId: id, acsUserId: acsUser.id, acsSystemId: Simulator.defaultAcsId },
      { _tag: "LaunchAutomation", userIdentityId: id, automationId: "a1", managerId: Simulator.defaultManagerId },
      { _tag: "CreateSyncCredential", userIdentityId: id, credentialId: "c1", acsUserId: acsUser.id, managerId: Simulator.defaultManagerId, cardFormat: "rfid48", facilityCode: "9" },
      { _tag: "PhoneOnline", userIdentityId: id, phoneId: "p1", deviceType: "ios_phone" }
    ]) {
      yield* engine.execute(command)
    }
    return { sim, store, engine, make }
  })

/** The app redeems the phone's code (the engine has not seen it yet). */
const redeem = (sim: Simulator.Simulator, engine: Engine.EngineShape) =>
  Effect.gen(function* () {
    yield* engine.drain
    const code = (yield* engine.get(id)).enrollments["p1|cm_sim"]!.code!
    yield* sim.redeem(code)
  })

const child = (engine: Engine.EngineShape) => Effect.map(engine.get(id), (s) => Object.values(s.children)[0])

describe("engine scheduling", () => {
  it.effect("backs off a failing identity: base, doubled per failure, capped; cleared by a clean run", () =>
    Effect.gen(function* () {
      const { sim, engine } = yield* setup({}, { backoff: { base: "500 millis", cap: "2 seconds" } })
      yield* redeem(sim, engine)
      // queue it (as a callback would), then let each failure set the next due time
      yield* engine.resyncAll
      for (const wait of [500, 1_000, 2_000, 2_000]) {
        yield* sim.failNext("observe", "Unknown")
        const start = yield* Effect.clockWith((c) => c.currentTimeMillis)
        assert.strictEqual(yield* engine.drain, 1)
        assert.strictEqual(yield* engine.nextDue, start + wait)
        yield* TestClock.adjust(`${wait - 1} millis`)
        assert.strictEqual(yield* engine.drain, 0, "not before its time")
        yield* TestClock.adjust("1 millis")
      }
      assert.strictEqual(yield* engine.drain, 1)
      assert.isUndefined(yield* engine.nextDue)
      assert.strictEqual((yield* child(engine))?.issue, "active")
      // the count starts again after a clean run
      yield* sim.failNext("observe", "Unknown")
      const start = yield* Effect.clockWith((c) => c.currentTimeMillis)
      assert.strictEqual((yield* engine.reconcile(id)).next, start + 500)
    }))

  it.effect("polls an asynchronous issuance at the poll interval until the manager confirms it", () =>
    Effect.gen(function* () {
      const { sim, engine } = yield* setup({ issueDelay: 2_500 }, { poll: "1 second" })
      yield* redeem(sim, engine)
      const r = yield* engine.reconcile(id)
      assert.strictEqual(r.next, 1_000)
      assert.strictEqual((yield* child(engine))?.issue, "issuing")
      for (const at of [1_000, 2_000]) {
        yield* TestClock.adjust("1 second")
        assert.strictEqual(yield* engine.drain, 1)
        assert.strictEqual(yield* engine.nextDue, at + 1_000)
      }
      yield* TestClock.adjust("1 second")
      yield* engine.drain
      assert.strictEqual((yield* child(engine))?.issue, "active")
      assert.isUndefined(yield* engine.nextDue)
      assert.strictEqual(sim.calls.issue, 1)
    }))

  it.effect("gives up after maxIssueAttempts and says so on the phone credential", () =>
    Effect.gen(function* () {
      const { sim, engine } = yield* setup({}, { maxIssueAttempts: 2 })
      yield* redeem(sim, engine)
      for (let n = 0; n < 2; n++) {
        yield* engine.reconcile(id)
        const live = (yield* sim.truth()).credentials.find((c) => c.live)!
        yield* sim.deleteCredential(live.ref)
      }
      yield* engine.reconcile(id)
      const c = yield* child(engine)
      assert.strictEqual(c?.issue, "failed")
      assert.strictEqual(c?.error?.code, "failed_to_issue")
      assert.strictEqual(c?.error?.message, "not issued after 2 attempts")
      assert.strictEqual(sim.calls.issue, 2)
    }))

  it.effect("retries a failed enrollment after enrollmentRetry, doubled per attempt, up to maxEnrollmentAttempts", () =>
    Effect.gen(function* () {
      const { sim, engine } = yield* setup({}, { enrollmentRetry: "1 second", maxEnrollmentAttempts: 3 })
      for (const wait of [1_000, 2_000]) {
        yield* sim.failNext("invite", "Unauthorized")
        const start = yield* Effect.clockWith((c) => c.currentTimeMillis)
        yield* engine.drain
        const e = (yield* engine.get(id)).enrollments["p1|cm_sim"]!
        assert.strictEqual(e.status, "failed")
        assert.strictEqual(e.error?.code, "invite_Unauthorized")
        assert.strictEqual(yield* engine.nextDue, start + wait)
        yield* TestClock.adjust(`${wait - 1} millis`)
        assert.strictEqual(yield* engine.drain, 0)
        yield* TestClock.adjust("1 millis")
      }
      yield* sim.failNext("invite", "Unauthorized")
      yield* engine.drain
      const e = (yield* engine.get(id)).enrollments["p1|cm_sim"]!
      assert.deepStrictEqual([e.status, e.attempts], ["failed", 3])
      assert.isUndefined(yield* engine.nextDue, "no attempt left")
      assert.strictEqual(sim.calls.invite, 3)
    }))

  it.effect("a second replica keeps off while the first holds the lease; a call cut at the timeout is settled by observing", () =>
    Effect.gen(function* () {
      const { sim, engine, make } = yield* setup({ faults: { ops: { issue: { latencyMs: 10_000 } } } }, { leaseTtl: "15 seconds", callTimeout: "5 seconds" })
      const b = yield* make("b")
      yield* redeem(sim, engine)
      // replica a is stuck in its issue call, which is cut at the call timeout (Ambiguous)
      const fiber = yield* Effect.forkChild(engine.reconcile(id))
      yield* TestClock.adjust("1 second")
      yield* sim.setFaults({})
      assert.deepStrictEqual(yield* b.reconcile(id), { rounds: 0, actions: 0, next: undefined })
      yield* TestClock.adjust("4 seconds")
      yield* Fiber.join(fiber)
      // the cut call never landed: the intent was concluded lost by observing, and issued once more
      const live = (yield* sim.truth()).credentials.filter((c) => c.live)
      assert.strictEqual(live.length, 1)
      assert.strictEqual(sim.calls.issue, 2)
      assert.strictEqual((yield* child(engine))?.ref, live[0]!.ref)
      // the lease is released: b may work the identity now, and finds nothing to do
      assert.strictEqual((yield* b.reconcile(id)).actions, 0)
    }))

  it.effect("routes an ACS callback by card number, and names the field of one it cannot route", () =>
    Effect.gen(function* () {
      const { sim, engine } = yield* setup()
      yield* redeem(sim, engine)
      yield* engine.reconcile(id)
      const card = (yield* child(engine))!.cardNumber!
      assert.strictEqual(yield* engine.ingest({ _tag: "AcsRemoved", acsSystemId: "acs_sim", entry: "x", cardNumber: card }), id)
      const unknown = yield* Effect.flip(engine.ingest({ _tag: "AcsRemoved", acsSystemId: "acs_sim", entry: "x", cardNumber: "nope" }))
      assert.deepStrictEqual([unknown._tag, unknown._tag === "InvalidObservation" && unknown.field], ["InvalidObservation", "userIdentityId"])
      assert.strictEqual(unknown.message, "observation names an unknown user identity")
      const malformed = yield* Effect.flip(engine.ingest({ _tag: "AcsRemoved", acsSystemId: "acs_sim", entry: "x" }))
      assert.strictEqual(malformed._tag === "InvalidObservation" && malformed.field, "cardNumber")
    }))

  it.effect("refuses a lease shorter than the call timeout", () =>
    Effect.gen(function* () {
      const sim = Simulator.make()
      const exit = yield* Effect.exit(
        Engine.make({ leaseTtl: "1 second", callTimeout: "1 second" }).pipe(
          Effect.provide(Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), MemoryStore.layer()))
        )
      )
      assert.isTrue(exit._tag === "Failure" && String(exit.cause).includes("leaseTtl (1000 ms) must be longer than callTimeout (1000 ms)"))
    }))
})
