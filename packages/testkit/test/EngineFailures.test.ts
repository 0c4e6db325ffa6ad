/**
 * A reconcile that does not end normally: a provider call that dies (a defect) or is interrupted is
 * counted with that outcome, and the lease is let go at once so another replica can take the
 * identity without waiting for it to expire. Memory adapters, a fresh metric registry, TestClock.
 */
import { MemoryAccessControl, MemoryCredentialManager, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { Engine, Identity, Ids, PortError, Store } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { ana, counter, fresh } from "./fixtures.js"


const id = Ids.UserIdentityId.make("u1")

const setup = Effect.gen(function* () {
  const sim = Simulator.make()
  const store = MemoryStore.make()
  const ports = Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), Layer.succeed(Store.Store, Store.Store.of(store)))
  const make = (replica: string) => Engine.make({ retry: Schedule.recurs(0), replica, leaseTtl: "1 minute" }).pipe(Effect.provide(ports))
  const engine = yield* make("a")
  yield* ana(engine, sim, id)
  yield* engine.reconcile(id)
  yield* sim.redeem(Identity.enrollmentByKey(yield* engine.get(id), "p1|cm_sim")!.code!)
  return { sim, engine, make }
})

describe("a reconcile that does not end normally", () => {
  it.effect("a provider call that dies: counted as a defect, and the lease let go at once", () =>
    fresh(
      Effect.gen(function* () {
        const { sim, engine, make } = yield* setup
        yield* sim.failNext("issue", "Crash")
        const exit = yield* Effect.exit(engine.reconcile(id))
        assert.isTrue(Exit.isFailure(exit))
        assert.strictEqual(yield* counter("credsync_port_calls_total", { action: "Issue", outcome: "defect" }), 1)
        // another replica works the identity now, not a minute later
        const b = yield* make("b")
        const r = yield* b.reconcile(id)
        assert.isAbove(r.rounds, 0)
        assert.strictEqual((yield* b.get(id)).children[0]?.issue, "active")
      })
    ))

  it.effect("a provider call interrupted with its reconcile: counted as interrupted", () =>
    fresh(
      Effect.gen(function* () {
        const { sim, engine } = yield* setup
        yield* sim.setFaults({ ops: { issue: { latencyMs: 3_000 } } })
        const working = yield* Effect.forkChild(engine.reconcile(id))
        yield* TestClock.adjust("1 second")
        yield* Fiber.interrupt(working)
        assert.strictEqual(yield* counter("credsync_port_calls_total", { action: "Issue", outcome: "interrupted" }), 1)
      })
    ))
})

describe("stuck counting and refused saves", () => {
  const storeError = (reason: "Conflict" | "Transient" | "Ambiguous" | "Unknown", message: string) =>
    new PortError.PortError({ reason, port: "Store", method: "save", message })

  /** An engine over a store whose next saves fail as scripted, and one identity with a phone waiting for its invitation. */
  const scripted = (config: Engine.Config = {}) =>
    Effect.gen(function* () {
      const sim = Simulator.make()
      const memory = MemoryStore.make()
      const script: Array<PortError.PortError> = []
      const store: Store.StoreShape = { ...memory, save: (r) => Effect.suspend(() => (script.length > 0 ? Effect.fail(script.shift()!) : memory.save(r))) }
      const engine = yield* Engine.make({ retry: Schedule.recurs(0), ...config }).pipe(
        Effect.provide(Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), Layer.succeed(Store.Store, Store.Store.of(store))))
      )
      yield* engine.executeUnknown({ _tag: "CreateUserIdentity", userIdentityId: id })
      yield* engine.executeUnknown({ _tag: "LaunchAutomation", userIdentityId: id, automationId: "a1", managerId: Simulator.defaultManagerId })
      let phones = 0
      /** A new phone: the next reconcile has an intent to commit. */
      const work = Effect.suspend(() => engine.executeUnknown({ _tag: "PhoneOnline", userIdentityId: id, phoneId: `p${++phones}`, deviceType: "ios_phone" }))
      return { sim, engine, script, work }
    })

  it.effect("a version race neither adds to nor clears the run of failures that makes an identity stuck", () =>
    Effect.gen(function* () {
      const { sim, engine, script, work } = yield* scripted({ stuckAfter: 2 })
      yield* engine.reconcile(id)
      yield* sim.failNext("observe", "Unknown")
      yield* engine.reconcile(id)
      assert.deepStrictEqual(yield* engine.stuck, [])
      yield* work
      script.push(storeError("Conflict", "moved"))
      yield* engine.reconcile(id)
      assert.deepStrictEqual(yield* engine.stuck, [], "a race is no failure")
      yield* sim.failNext("observe", "Unknown")
      yield* engine.reconcile(id)
      const [stuck] = yield* engine.stuck
      assert.deepStrictEqual([stuck?.id, stuck?.failures], [id, 2])
    }))

  it.effect("a save the store could not take (Ambiguous) is retried later, not a refusal", () =>
    Effect.gen(function* () {
      const { engine, script, work } = yield* scripted()
      yield* engine.reconcile(id)
      yield* work
      script.push(storeError("Ambiguous", "no answer"))
      const start = yield* Effect.clockWith((c) => c.currentTimeMillis)
      const r = yield* engine.reconcile(id)
      assert.strictEqual(r.next, start + 500)
      assert.deepStrictEqual(yield* engine.stuck, [])
    }))

  it.effect("a save the store refuses for a reason of its own: SaveRejected quoting it on one line, and stuck at once", () =>
    Effect.gen(function* () {
      const { engine, script, work } = yield* scripted()
      yield* engine.reconcile(id)
      yield* work
      script.push(storeError("Unknown", "disk full\n  try later"))
      const e = yield* Effect.flip(engine.reconcile(id))
      assert.deepInclude(e, { _tag: "SaveRejected", reason: "Unknown", message: "the store refused the state of user identity u1: disk full; try later" })
      const [stuck] = yield* engine.stuck
      assert.deepStrictEqual([stuck?.cause.code, stuck?.failures], ["save_rejected", 1])
    }))
})

describe("identities another engine marked stuck", () => {
  it.effect("a new replica lists them from their records, since when they were stuck, oldest first, until they recover", () =>
    Effect.gen(function* () {
      const sim = Simulator.make()
      const store = MemoryStore.make()
      const ports = Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), Layer.succeed(Store.Store, Store.Store.of(store)))
      const make = (replica: string, stuckAfter: number) => Engine.make({ retry: Schedule.recurs(0), replica, stuckAfter }).pipe(Effect.provide(ports))
      const a = yield* make("a", 1)
      const [u1, u2] = [Ids.UserIdentityId.make("u1"), Ids.UserIdentityId.make("u2")]
      for (const u of [u1, u2]) {
        yield* a.executeUnknown({ _tag: "CreateUserIdentity", userIdentityId: u })
        yield* a.executeUnknown({ _tag: "LaunchAutomation", userIdentityId: u, automationId: `a-${u}`, managerId: Simulator.defaultManagerId })
        yield* a.reconcile(u)
      }
      const failing = (engine: Engine.EngineShape, u: Ids.UserIdentityId) => Effect.andThen(sim.failNext("observe", "Unknown"), engine.reconcile(u))
      const listed = (engine: Engine.EngineShape) => Effect.map(engine.stuck, (all) => all.map((x) => [x.id, x.since]))
      // u1 stuck at 10 s, u2 at 20 s; u1 failing again at 30 s is still stuck since 10 s
      yield* TestClock.adjust("10 seconds")
      yield* failing(a, u1)
      yield* TestClock.adjust("10 seconds")
      yield* failing(a, u2)
      yield* TestClock.adjust("10 seconds")
      yield* failing(a, u1)
      assert.deepStrictEqual(yield* listed(a), [
        [u1, 10_000],
        [u2, 20_000]
      ])
      // replica b starts; it meets u2 first, both still failing, not yet often enough for b to judge
      const b = yield* make("b", 3)
      yield* failing(b, u2)
      yield* failing(b, u1)
      assert.deepStrictEqual(yield* listed(b), [
        [u1, 10_000],
        [u2, 20_000]
      ])
      assert.deepInclude(yield* b.health, { stuck: 2 })
      // u1 reconciles cleanly on b: recovered, its record too
      yield* b.reconcile(u1)
      assert.deepStrictEqual(yield* listed(b), [[u2, 20_000]])
      assert.isUndefined((yield* b.get(u1)).stuck)
    }))
})
