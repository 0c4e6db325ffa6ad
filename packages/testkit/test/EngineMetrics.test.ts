/**
 * The engine's metrics by label, as the README lists them: callbacks by outcome, reconciles by
 * outcome (skipped, converged, retry, race), lease changes (acquired, taken over, lost), back-offs
 * by reason, events committed; the queue gauges measured at most once a second; and the background
 * loop waking for a due identity, not before. Memory adapters, a fresh metric registry, TestClock.
 */
import { MemoryAccessControl, MemoryCredentialManager, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { Engine, Identity, Ids, Observability, PortError, Store } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Metric, Option, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { ana, counter, fresh } from "./fixtures.js"


const id = Ids.UserIdentityId.make("u1")

const setup = (config: Engine.Config = {}, wrap: (s: Store.StoreShape) => Store.StoreShape = (s) => s) =>
  Effect.gen(function* () {
    const sim = Simulator.make()
    const store = MemoryStore.make()
    const engine = yield* Engine.make({ retry: Schedule.recurs(0), replica: "a", ...config }).pipe(
      Effect.provide(Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), Layer.succeed(Store.Store, Store.Store.of(wrap(store)))))
    )
    yield* ana(engine, sim, id)
    return { sim, store, engine }
  })

describe("engine metrics by label", () => {
  it.effect("callbacks: invalid, unknown, accepted", () =>
    fresh(
      Effect.gen(function* () {
        const { engine } = yield* setup()
        yield* Effect.flip(engine.ingest({ _tag: "AcsRemoved", acsSystemId: "acs_sim", entry: "x" }))
        yield* Effect.flip(engine.ingest({ _tag: "EndpointActive", managerId: "cm_sim", userIdentityId: "nobody", endpoint: "e1" }))
        yield* engine.ingest({ _tag: "EndpointActive", managerId: "cm_sim", userIdentityId: id, endpoint: "e1" })
        yield* engine.ingest({ _tag: "EndpointActive", managerId: "cm_sim", userIdentityId: id, endpoint: "e2" })
        const by = (outcome: string) => counter("credsync_callbacks_total", { outcome })
        assert.deepStrictEqual([yield* by("invalid"), yield* by("unknown"), yield* by("accepted")], [1, 1, 2])
      })
    ))

  it.effect("reconciles and lease changes: converged and acquired, skipped while another replica holds it, taken over", () =>
    fresh(
      Effect.gen(function* () {
        const { engine, store } = yield* setup()
        yield* engine.reconcile(id)
        assert.strictEqual(yield* counter("credsync_reconciles_total", { outcome: "converged" }), 1)
        assert.strictEqual(yield* counter("credsync_lease_changes_total", { change: "acquired" }), 1)
        const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
        yield* store.acquire({ owner: "other", ttl: 1_000, grace: 5_000 }, now, id)
        assert.deepStrictEqual(yield* engine.reconcile(id), { rounds: 0, actions: 0, next: undefined })
        assert.strictEqual(yield* counter("credsync_reconciles_total", { outcome: "skipped" }), 1)
        yield* TestClock.adjust("2 seconds")
        yield* engine.reconcile(id)
        assert.strictEqual(yield* counter("credsync_lease_changes_total", { change: "taken_over" }), 1)
        assert.strictEqual(yield* counter("credsync_lease_changes_total", { change: "acquired" }), 1, "a take-over is not also counted as acquired")
        assert.strictEqual(yield* counter("credsync_reconciles_total", { outcome: "converged" }), 2)
        assert.isAbove(yield* counter("credsync_events_committed_total"), 0)
      })
    ))

  it.effect("a failed reconcile: retry, with a back-off for its reason; a version race: race, without one", () =>
    fresh(
      Effect.gen(function* () {
        let races = 0
        const { sim, engine } = yield* setup({}, (s) => ({
          ...s,
          save: (r) => (races-- > 0 ? Effect.fail(new PortError.PortError({ reason: "Conflict", port: "Store", method: "save", message: "moved" })) : s.save(r))
        }))
        yield* sim.failNext("observe", "Unknown")
        yield* engine.reconcile(id)
        assert.strictEqual(yield* counter("credsync_reconciles_total", { outcome: "retry" }), 1)
        assert.strictEqual(yield* counter("credsync_backoffs_total", { reason: "retry" }), 1)
        // a second phone: the next reconcile has an intent to commit, and finds the version moved
        yield* engine.executeUnknown({ _tag: "PhoneOnline", userIdentityId: id, phoneId: "p2", deviceType: "ios_phone" })
        races = 1
        yield* engine.reconcile(id)
        assert.strictEqual(yield* counter("credsync_reconciles_total", { outcome: "race" }), 1)
        assert.strictEqual(yield* counter("credsync_backoffs_total"), 1, "a race has no cause to count")
      })
    ))

  it.effect("a store that failed a save: retry, with a back-off; a refused save: rejected; a store that cannot load: the caller's error", () =>
    fresh(
      Effect.gen(function* () {
        let next: PortError.PortError | undefined
        let loadFails = false
        const { engine } = yield* setup({}, (s) => ({
          ...s,
          save: (r) => {
            const e = next
            next = undefined
            return e === undefined || r.events.some((x) => x._tag === "IdentityStuck") ? s.save(r) : Effect.fail(e)
          },
          load: (u) => (loadFails ? Effect.fail(new PortError.PortError({ reason: "Unknown", port: "Store", method: "load", message: "corrupt row" })) : s.load(u))
        }))
        next = new PortError.PortError({ reason: "Transient", port: "Store", method: "save", message: "busy" })
        yield* engine.reconcile(id)
        assert.strictEqual(yield* counter("credsync_reconciles_total", { outcome: "retry" }), 1)
        assert.strictEqual(yield* counter("credsync_backoffs_total", { reason: "retry" }), 1)
        next = new PortError.PortError({ reason: "Unknown", port: "Store", method: "save", message: "refused" })
        yield* Effect.flip(engine.reconcile(id))
        assert.strictEqual(yield* counter("credsync_reconciles_total", { outcome: "rejected" }), 1)
        assert.strictEqual(yield* counter("credsync_backoffs_total", { reason: "rejected" }), 1)
        loadFails = true
        const e = yield* Effect.flip(engine.reconcile(id))
        assert.deepInclude(e, { _tag: "PortError", reason: "Unknown", message: "corrupt row" })
      })
    ))

  it.effect("a lease lost to another replica is counted", () =>
    fresh(
      Effect.gen(function* () {
        let taken = false
        const { sim, engine } = yield* setup({ leaseTtl: "30 seconds", callTimeout: "5 seconds" }, (s) => ({
          ...s,
          renew: (lease, now, ids) => (taken ? Effect.succeed([]) : s.renew(lease, now, ids))
        }))
        yield* engine.reconcile(id)
        yield* sim.setFaults({ ops: { observe: { latencyMs: 11_000 } } })
        taken = true
        const working = yield* Effect.forkChild(engine.reconcile(id))
        yield* TestClock.adjust("11 seconds")
        yield* sim.setFaults({})
        yield* TestClock.adjust("11 seconds")
        yield* Fiber.join(working)
        assert.strictEqual(yield* counter("credsync_lease_changes_total", { change: "lost" }), 1)
      })
    ))
})

describe("the background loop", () => {
  it.effect("measures the queue at most once a second: depth and how late the earliest due identity is", () =>
    fresh(
      Effect.gen(function* () {
        let depths = 0
        let first = true
        const measured: Array<number> = []
        const { engine } = yield* setup({}, (s) => ({
          ...s,
          queueDepth: (now) =>
            Effect.sync(() => {
              measured.push(now)
              return ++depths
            }),
          // the loop measures first: that measurement finds an identity due 3 s ago
          nextDue: (owner, now) =>
            Effect.suspend(() => {
              if (!first) return s.nextDue(owner, now)
              first = false
              return Effect.succeed(Option.some(now - 3_000))
            })
        }))
        const loop = yield* Effect.forkChild(engine.run)
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(depths, 1)
        assert.strictEqual((yield* Metric.value(Observability.metrics.queueDepth)).value, 1)
        assert.strictEqual((yield* Metric.value(Observability.metrics.dueLag)).value, 3)
        // commands wake the loop again within the second: not measured again
        yield* engine.executeUnknown({ _tag: "PhoneOnline", userIdentityId: id, phoneId: "p2", deviceType: "ios_phone" })
        yield* TestClock.adjust("10 millis")
        assert.strictEqual(depths, 1)
        // a wake exactly a second after the last measurement measures again
        const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
        yield* TestClock.adjust(Duration.millis((measured[0] ?? 0) + 1_000 - now))
        yield* engine.executeUnknown({ _tag: "PhoneOnline", userIdentityId: id, phoneId: "p3", deviceType: "ios_phone" })
        yield* TestClock.adjust("10 millis")
        assert.strictEqual(depths, 2)
        assert.strictEqual(measured[1], (measured[0] ?? 0) + 1_000)
        yield* Fiber.interrupt(loop)
      })
    ))

  it.effect("its states: starting while it first looks at everyone, then running; stopped when interrupted, not failed, and only when every run has", () =>
    Effect.gen(function* () {
      // listing the identities takes a second per page (two pages: one identity, then none)
      const { engine } = yield* setup({}, (s) => ({ ...s, list: (o) => Effect.andThen(Effect.sleep("1 second"), s.list(o)) }))
      const first = yield* Effect.forkChild(engine.run)
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(yield* engine.health, { loop: "starting", store: "reachable", stuck: 0 })
      yield* TestClock.adjust("3 seconds")
      assert.deepStrictEqual(yield* engine.health, { loop: "running", store: "reachable", stuck: 0 })
      const second = yield* Effect.forkChild(engine.run)
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.interrupt(first)
      assert.deepStrictEqual(yield* engine.health, { loop: "running", store: "reachable", stuck: 0 })
      yield* Fiber.interrupt(second)
      assert.deepStrictEqual(yield* engine.health, { loop: "stopped", store: "reachable", stuck: 0 })
    }))

  it.effect("over a store that cannot count its queue, with nothing due: no lag; another replica's new work wakes it at once", () =>
    fresh(
      Effect.gen(function* () {
        const sim = Simulator.make()
        const memory = MemoryStore.make()
        const { queueDepth: _, ...uncounted } = memory
        const ports = (store: Store.StoreShape) =>
          Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), Layer.succeed(Store.Store, Store.Store.of(store)))
        const a = yield* Engine.make({ replica: "a" }).pipe(Effect.provide(ports(uncounted)))
        const b = yield* Engine.make({ replica: "b" }).pipe(Effect.provide(ports(memory)))
        const loop = yield* Effect.forkChild(a.run)
        yield* TestClock.adjust("1 millis")
        assert.strictEqual((yield* a.health).loop, "running")
        assert.strictEqual((yield* Metric.value(Observability.metrics.dueLag)).value, 0)
        // b takes the commands; a's loop, idle until its next resync, claims the work
        yield* b.executeUnknown({ _tag: "CreateUserIdentity", userIdentityId: "u9" })
        yield* b.executeUnknown({ _tag: "LaunchAutomation", userIdentityId: "u9", automationId: "a9", managerId: Simulator.defaultManagerId })
        yield* TestClock.adjust("1 millis")
        assert.isDefined((yield* b.get(Ids.UserIdentityId.make("u9"))).managerUsers[Simulator.defaultManagerId])
        yield* Fiber.interrupt(loop)
      })
    ))

  it.effect("wakes for an identity when it is due, not before", () =>
    Effect.gen(function* () {
      const { sim, engine } = yield* setup({ backoff: { base: "500 millis", cap: "1 minute" } })
      yield* sim.failNext("observe", "Unknown")
      const loop = yield* Effect.forkChild(engine.run)
      yield* TestClock.adjust("1 millis")
      // the first reconcile failed: due again after 500 ms
      const observes = sim.calls.observe
      yield* TestClock.adjust("498 millis")
      assert.strictEqual(sim.calls.observe, observes)
      yield* TestClock.adjust("1 millis")
      assert.isAbove(sim.calls.observe, observes)
      yield* Fiber.interrupt(loop)
    }))

  it.effect("a defect in the loop is reported with its message", () =>
    Effect.gen(function* () {
      const { engine } = yield* setup({}, (s) => ({ ...s, list: () => Effect.die(new Error("the index is corrupt")) }))
      const loop = yield* Effect.forkChild(engine.run)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.await(loop)
      assert.deepInclude(yield* engine.health, { loop: "failed", error: "the index is corrupt" })
    }))

  it.effect("health: a store that does not answer within 2 s is unreachable", () =>
    Effect.gen(function* () {
      const { engine } = yield* setup({}, (s) => ({ ...s, nextDue: () => Effect.never }))
      const probe = yield* Effect.forkChild(engine.health)
      yield* TestClock.adjust("2 seconds")
      const h = yield* Fiber.join(probe)
      assert.deepInclude(h, { store: "unreachable", storeError: "Store.nextDue Transient: no answer within 2 s" })
    }))
})

describe("time from phone online to ACS", () => {
  it.effect("timed from the later of phone and sync credential; a re-issue from its request; an ACS-side repair not at all", () =>
    fresh(
      Effect.gen(function* () {
        const sim = Simulator.make()
        const engine = yield* Engine.make({ retry: Schedule.recurs(0) }).pipe(
          Effect.provide(Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), MemoryStore.layer()))
        )
        const acsUser = yield* sim.acs.createUser(Simulator.defaultAcsId, { fullName: "Ana" })
        for (const command of [
          { _tag: "CreateUserIdentity", userIdentityId: id },
          { _tag: "LinkAcsUser", userIdentityId: id, acsUserId: acsUser.id, acsSystemId: Simulator.defaultAcsId },
          { _tag: "LaunchAutomation", userIdentityId: id, automationId: "a1", managerId: Simulator.defaultManagerId },
          { _tag: "CreateSyncCredential", userIdentityId: id, credentialId: "c1", acsUserId: acsUser.id, managerId: Simulator.defaultManagerId, cardFormat: "rfid48", facilityCode: "9" }
        ]) {
          yield* engine.executeUnknown(command)
        }
        const toAcs = Effect.map(Metric.value(Observability.metrics.timeToAcs), (h) => [h.count, h.sum])
        // the phone comes online 30 s after the sync credential, and is redeemed 60 s later
        yield* TestClock.adjust("30 seconds")
        yield* engine.executeUnknown({ _tag: "PhoneOnline", userIdentityId: id, phoneId: "p1", deviceType: "ios_phone" })
        yield* engine.reconcile(id)
        yield* TestClock.adjust("60 seconds")
        yield* sim.redeem(Identity.enrollmentByKey(yield* engine.get(id), "p1|cm_sim")?.code ?? "")
        yield* engine.reconcile(id)
        assert.deepStrictEqual(yield* toAcs, [1, 60])
        // the ACS entry is deleted there and imported again: the same credential, not a new arrival
        const entry = (yield* sim.truth()).acsEntries[0]
        assert.isDefined(entry)
        yield* sim.removeAcsEntry(entry?.ref ?? Ids.ProviderRef.make("none"))
        yield* TestClock.adjust("10 seconds")
        yield* engine.reconcile(id)
        assert.strictEqual((yield* sim.truth()).acsEntries[0]?.assignedTo, acsUser.id)
        assert.deepStrictEqual(yield* toAcs, [1, 60])
        // the credential is deleted at the manager and issued again: timed from that new request
        const child = (yield* engine.get(id)).children[0]
        yield* sim.deleteCredential(child?.ref ?? Ids.ProviderRef.make("none"))
        yield* TestClock.adjust("10 seconds")
        yield* engine.reconcile(id)
        const again = (yield* engine.get(id)).children.find((c) => c.attempts > 1)
        assert.isTrue(again?.assigned)
        assert.deepStrictEqual(yield* toAcs, [2, 60])
      })
    ))
})
