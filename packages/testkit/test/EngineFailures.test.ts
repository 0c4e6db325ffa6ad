/**
 * A reconcile that does not end normally: a provider call that dies (a defect) or is interrupted is
 * counted with that outcome, and the lease is let go at once so another replica can take the
 * identity without waiting for it to expire. Memory adapters, a fresh metric registry, TestClock.
 */
import { MemoryAccessControl, MemoryCredentialManager, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { Engine, Ids, Store } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Metric, Schedule } from "effect"
import { TestClock } from "effect/testing"

const counter = (id: string, attributes: Readonly<Record<string, string>>) =>
  Effect.map(Metric.snapshot, (all) =>
    all
      .filter((m) => m.id === id && Object.entries(attributes).every(([k, v]) => m.attributes?.[k] === v))
      .reduce((n, m) => n + (m.type === "Counter" ? Number(m.state.count) : 0), 0)
  )
const fresh = <A, E, R>(eff: Effect.Effect<A, E, R>) => Effect.provide(eff, Layer.succeed(Metric.MetricRegistry, new Map()))

const id = Ids.UserIdentityId.make("u1")

const setup = Effect.gen(function* () {
  const sim = Simulator.make()
  const store = MemoryStore.make()
  const ports = Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), Layer.succeed(Store.Store, Store.Store.of(store)))
  const make = (replica: string) => Engine.make({ retry: Schedule.recurs(0), replica, leaseTtl: "1 minute" }).pipe(Effect.provide(ports))
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
  yield* engine.reconcile(id)
  yield* sim.redeem((yield* engine.get(id)).enrollments["p1|cm_sim"]!.code!)
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
        assert.strictEqual(Object.values((yield* b.get(id)).children)[0]?.issue, "active")
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
