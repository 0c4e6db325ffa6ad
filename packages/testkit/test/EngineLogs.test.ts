/**
 * The engine's log lines that Operable.test.ts does not reach, at the levels the README documents:
 * a refused provider call (warn, with its system), waits as people read them (`250 ms`, `1.5 s`),
 * lease renewals (debug) and a renewal the store could not take (warn), a version race (debug), a
 * store that failed a save (info, with the back-off), and a malformed callback (info). Memory
 * adapters, TestClock.
 */
import { MemoryAccessControl, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { CredentialManager, Engine, Identity, Ids, PortError, Store } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { ana, logged as observed } from "./fixtures.js"

const id = Ids.UserIdentityId.make("u1")

const setup = (config: Engine.Config = {}, wrap: (s: Store.StoreShape) => Store.StoreShape = (s) => s) => setupWith((m) => m, config, wrap)

const setupWith = (
  manager: (m: CredentialManager.CredentialManagerShape) => CredentialManager.CredentialManagerShape,
  config: Engine.Config = {},
  wrap: (s: Store.StoreShape) => Store.StoreShape = (s) => s
) =>
  Effect.gen(function* () {
    const sim = Simulator.make()
    const store = MemoryStore.make()
    const engine = yield* Engine.make({ retry: Schedule.recurs(0), ...config }).pipe(
      Effect.provide(
        Layer.mergeAll(
          Layer.succeed(CredentialManager.CredentialManager, CredentialManager.CredentialManager.of(manager(sim.manager))),
          MemoryAccessControl.layer(sim),
          Layer.succeed(Store.Store, Store.Store.of(wrap(store)))
        )
      )
    )
    yield* ana(engine, sim, id)
    yield* engine.reconcile(id)
    yield* sim.redeem(Identity.enrollmentByKey(yield* engine.get(id), "p1|cm_sim")!.code!)
    return { sim, store, engine }
  })

const storeError = (reason: PortError.PortError["reason"], method: string) =>
  new PortError.PortError({ reason, port: "Store", method, message: `${method} ${reason.toLowerCase()}` })

describe("engine log lines", () => {
  it.effect("a refused provider call: warn, naming the call, its reason and the system", () => {
    const o = observed()
    return Effect.gen(function* () {
      const { sim, engine } = yield* setup()
      yield* sim.failNext("issue", "InvalidInput")
      yield* engine.reconcile(id)
      assert.isDefined(o.find("Warn", /^CredentialManager\.issue InvalidInput: .* \(cm_sim\); not retried in this reconcile$/))
    }).pipe(Effect.provide(o.layer))
  })

  it.effect("a provider's message over several lines is logged on one", () => {
    const o = observed()
    return Effect.gen(function* () {
      const { sim, engine } = yield* setupWith((m) => ({
        ...m,
        issue: () => Effect.fail(new PortError.PortError({ reason: "InvalidInput", port: "CredentialManager", method: "issue", message: "first\n  second\nthird" }))
      }))
      yield* engine.reconcile(id)
      assert.isDefined(o.find("Warn", "CredentialManager.issue InvalidInput: first; second; third (cm_sim); not retried in this reconcile"))
      assert.isDefined(sim)
    }).pipe(Effect.provide(o.layer))
  })

  it.effect("waits as people read them: milliseconds under a second, tenths of seconds above", () => {
    const o = observed()
    return Effect.gen(function* () {
      const { sim, engine } = yield* setup({ backoff: { base: "100 millis", cap: "1 minute" } })
      yield* sim.setFaults({ ops: { issue: { rateLimited: 1, retryAfter: 250 } } })
      yield* engine.reconcile(id)
      assert.isDefined(o.find("Info", /rate limited by CredentialManager on Issue \(cm_sim\); waiting 250 ms: /))
      assert.isDefined(o.find("Info", /reconcile failed \(1 in a row\); next attempt in 250 ms: /))
      yield* sim.setFaults({ ops: { issue: { rateLimited: 1, retryAfter: 1_540 } } })
      yield* engine.reconcile(id)
      assert.isDefined(o.find("Info", /waiting 1\.5 s: /))
      assert.isDefined(o.find("Info", /reconcile failed \(2 in a row\); next attempt in 1\.5 s: /))
    }).pipe(Effect.provide(o.layer))
  })

  it.effect("lease renewals: debug with the new expiry; warn when the store could not take one", () => {
    const o = observed()
    let unreachable = false
    return Effect.gen(function* () {
      const { sim, engine } = yield* setup({ leaseTtl: "30 seconds", callTimeout: "5 seconds" }, (s) => ({
        ...s,
        renew: (lease, now, ids) => (unreachable ? Effect.fail(storeError("Transient", "renew")) : s.renew(lease, now, ids))
      }))
      const start = yield* Effect.clockWith((c) => c.currentTimeMillis)
      yield* sim.setFaults({ ops: { observe: { latencyMs: 11_000 } } })
      const working = yield* Effect.forkChild(engine.reconcile(id))
      yield* TestClock.adjust("11 seconds")
      yield* Fiber.join(working)
      // renewed at 10 s, for the lease's ttl
      assert.isDefined(o.find("Debug", `lease renewed until ${new Date(start + 10_000 + 30_000).toISOString()}`))
      unreachable = true
      const again = yield* Effect.forkChild(engine.reconcile(id))
      yield* TestClock.adjust("11 seconds")
      yield* Fiber.join(again)
      assert.isDefined(o.find("Warn", "lease renewal failed (store unreachable); the lease runs out on its own"))
    }).pipe(Effect.provide(o.layer))
  })

  it.effect("a version race: debug, and looked at again after the back-off base with no cause to report", () => {
    const o = observed()
    let races = 0
    return Effect.gen(function* () {
      const { engine } = yield* setup({}, (s) => ({
        ...s,
        save: (request) => (races-- > 0 ? Effect.fail(storeError("Conflict", "save")) : s.save(request))
      }))
      races = 1
      const start = yield* Effect.clockWith((c) => c.currentTimeMillis)
      const r = yield* engine.reconcile(id)
      assert.isDefined(o.find("Debug", "version race: Store.save Conflict: save conflict; looking again"))
      assert.strictEqual(r.next, start + 500)
      assert.isUndefined(o.find("Info", "reconcile failed"))
    }).pipe(Effect.provide(o.layer))
  })

  it.effect("a store that failed a save: info with the cause and the back-off", () => {
    const o = observed()
    let failures = 0
    return Effect.gen(function* () {
      const { engine } = yield* setup({}, (s) => ({
        ...s,
        save: (request) => (failures-- > 0 ? Effect.fail(storeError("Transient", "save")) : s.save(request))
      }))
      failures = 1
      // not at time 0: the wait is counted from now
      yield* TestClock.adjust("1 minute")
      yield* engine.reconcile(id)
      assert.isDefined(o.find("Info", "reconcile failed (1 in a row); next attempt in 500 ms: the store failed: Store.save Transient: save transient"))
    }).pipe(Effect.provide(o.layer))
  })

  it.effect("a call cut at the call timeout: Ambiguous, naming the call and the timeout, settled by observing", () => {
    const o = observed()
    return Effect.gen(function* () {
      const { sim, engine } = yield* setup({ callTimeout: "2 seconds", leaseTtl: "15 seconds" })
      yield* sim.setFaults({ ops: { issue: { latencyMs: 5_000 } } })
      const working = yield* Effect.forkChild(engine.reconcile(id))
      yield* TestClock.adjust("1 second")
      // the next issue call answers at once
      yield* sim.setFaults({})
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(working)
      assert.isDefined(o.find("Debug", "CredentialManager.Issue Ambiguous: Issue gave no answer within 2000 ms; settled by observing again"))
    }).pipe(Effect.provide(o.layer))
  })

  it.effect("a malformed callback: info, on one line, naming no identity", () => {
    const o = observed()
    return Effect.gen(function* () {
      const { engine } = yield* setup()
      yield* Effect.flip(engine.ingest({ _tag: "AcsRemoved", acsSystemId: "acs_sim", entry: "x" }))
      const line = o.find("Info", /^callback refused: /)
      assert.isDefined(line)
      assert.notInclude(line?.message ?? "\n", "\n")
      assert.deepStrictEqual(line?.annotations, {})
    }).pipe(Effect.provide(o.layer))
  })

  it.effect("a callback about an unknown identity: ignored, naming the identity and observation it named", () => {
    const o = observed()
    return Effect.gen(function* () {
      const { engine } = yield* setup()
      yield* Effect.flip(engine.ingest({ _tag: "EndpointActive", managerId: "cm_sim", userIdentityId: "nobody", endpoint: "e1" }))
      assert.deepStrictEqual(o.find("Info", "callback ignored: EndpointActive names no known user identity")?.annotations, {
        identity: "nobody",
        observation: "EndpointActive"
      })
    }).pipe(Effect.provide(o.layer))
  })

  it.effect("a call after the lease was lost: not made, and settled by observing again", () => {
    const o = observed()
    let taken = false
    return Effect.gen(function* () {
      const { sim, engine } = yield* setup({ leaseTtl: "30 seconds", callTimeout: "5 seconds" }, (s) => ({
        ...s,
        renew: (lease, now, ids) => (taken ? Effect.succeed([]) : s.renew(lease, now, ids))
      }))
      // the renewal at 10 s finds the lease taken while the observation is still running
      yield* sim.setFaults({ ops: { observe: { latencyMs: 11_000 } } })
      taken = true
      const issued = sim.calls.issue
      const working = yield* Effect.forkChild(engine.reconcile(id))
      yield* TestClock.adjust("11 seconds")
      yield* sim.setFaults({})
      yield* TestClock.adjust("11 seconds")
      yield* Fiber.join(working)
      assert.strictEqual(sim.calls.issue, issued)
      assert.isDefined(o.find("Debug", "Store.lease Conflict: the lease on identity u1 ran out before Issue; settled by observing again"))
      assert.isUndefined(o.find("Warn", "not retried"))
    }).pipe(Effect.provide(o.layer))
  })

  it.effect("the background loop: info when running, with its replica; error with the cause when it fails", () => {
    const o = observed()
    let broken = false
    let slow = false
    return Effect.gen(function* () {
      const { engine } = yield* setup({ replica: "r1" }, (s) => ({
        ...s,
        list: (q) => (broken ? Effect.die(new Error("the index is corrupt")) : slow ? Effect.andThen(Effect.sleep("1 second"), s.list(q)) : s.list(q))
      }))
      const loop = yield* Effect.forkChild(engine.run)
      yield* TestClock.adjust("1 millis")
      assert.isDefined(o.find("Info", "background loop running (replica r1)"))
      yield* Fiber.interrupt(loop)
      assert.isUndefined(o.find("Error", "background loop failed"))
      broken = true
      yield* Fiber.await(yield* Effect.forkChild(engine.run))
      assert.isDefined(o.find("Error", "background loop failed: the index is corrupt"))
      assert.deepInclude(yield* engine.health, { loop: "failed", error: "the index is corrupt" })
      // started again (its first look at everyone takes a while): no stale error while it starts
      broken = false
      slow = true
      const again = yield* Effect.forkChild(engine.run)
      yield* TestClock.adjust("1 millis")
      const h = yield* engine.health
      assert.strictEqual(h.loop, "starting")
      assert.notProperty(h, "error")
      yield* Fiber.interrupt(again)
    }).pipe(Effect.provide(o.layer))
  })
})

describe("recording stuck and recovered identities", () => {
  it.effect("a record that lost a version race: debug; listed or cleared anyway; recorded on the next failure or clean reconcile", () => {
    const o = observed()
    let race: "IdentityStuck" | "IdentityRecovered" | undefined
    return Effect.gen(function* () {
      const { sim, engine } = yield* setup({ stuckAfter: 1 }, (s) => ({
        ...s,
        save: (request) => (request.events.some((e) => e._tag === race) ? Effect.fail(storeError("Conflict", "save")) : s.save(request))
      }))
      const recorded = Effect.map(engine.get(id), (state) => state.stuck?.cause.code)
      const stuck = Effect.map(engine.stuck, (all) => all.map((x) => x.id))
      // stuck at once (stuckAfter 1), but the record loses a race
      race = "IdentityStuck"
      yield* sim.failNext("observe", "Unknown")
      yield* engine.reconcile(id)
      assert.isDefined(o.find("Debug", "recording the stuck state lost a version race; recorded on the next failure"))
      assert.isDefined(o.find("Warn", /^user identity is stuck \(1 failed reconcile in a row\); still retried with back-off: credsync cannot converge this user identity: 1 or more reconciles in a row failed; last: observing failed: CredentialManager\.observe Unknown: /))
      assert.deepStrictEqual(yield* stuck, [id])
      assert.isUndefined(yield* recorded)
      // failing again a minute later, the record losing again: still listed since the first failure
      const since = (yield* engine.stuck)[0]?.since
      yield* TestClock.adjust("1 minute")
      yield* sim.failNext("observe", "Unknown")
      yield* engine.reconcile(id)
      assert.strictEqual((yield* engine.stuck)[0]?.since, since)
      // a clean reconcile clears the listing; there was no record to recover
      race = undefined
      yield* engine.reconcile(id)
      assert.deepStrictEqual(yield* stuck, [])
      assert.isUndefined(o.find("Info", "user identity recovered"))
      // failing again: recorded this time
      yield* sim.failNext("observe", "Unknown")
      yield* engine.reconcile(id)
      assert.strictEqual(yield* recorded, "reconcile_failing")
      // the recovery loses a race: cleared from the listing, the record stays until the next clean reconcile
      race = "IdentityRecovered"
      yield* engine.reconcile(id)
      assert.isDefined(o.find("Debug", "recording the recovery lost a version race; recorded on the next clean reconcile"))
      assert.deepStrictEqual(yield* stuck, [])
      assert.strictEqual(yield* recorded, "reconcile_failing")
      race = undefined
      yield* engine.reconcile(id)
      assert.isUndefined(yield* recorded)
      assert.isDefined(o.find("Info", "user identity recovered after being stuck since"))
    }).pipe(Effect.provide(o.layer))
  })

  it.effect("a cause that changes is logged and recorded again", () => {
    const o = observed()
    return Effect.gen(function* () {
      const { sim, engine, store } = yield* setup({ stuckAfter: 1 })
      yield* sim.failNext("observe", "Unknown")
      yield* engine.reconcile(id)
      yield* sim.failNext("observe", "Unknown")
      yield* engine.reconcile(id)
      yield* sim.failNext("observe", "Unauthorized")
      yield* engine.reconcile(id)
      const lines = o.lines.filter((l) => l.level === "Warn" && l.message.startsWith("user identity is stuck"))
      assert.deepStrictEqual(
        lines.map((l) => /last: observing failed: CredentialManager\.observe (\w+)/.exec(l.message)?.[1]),
        ["Unknown", "Unauthorized"]
      )
      const recorded = (yield* store.events({ after: 0, limit: 1_000 })).flatMap((e) => (e.event._tag === "IdentityStuck" ? [e.event.stuck.cause.message] : []))
      assert.lengthOf(recorded, 2)
      assert.include(recorded[1], "CredentialManager.observe Unauthorized")
    }).pipe(Effect.provide(o.layer))
  })

  it.effect("a refused save: error with its reason; the stuck line with its code; both about the identity", () => {
    const o = observed()
    let refuse = false
    return Effect.gen(function* () {
      const { engine } = yield* setup({}, (s) => ({
        ...s,
        save: (request) => (refuse && !request.events.some((e) => e._tag === "IdentityStuck") ? Effect.fail(storeError("Unknown", "save")) : s.save(request))
      }))
      refuse = true
      yield* Effect.flip(engine.reconcile(id))
      assert.deepStrictEqual(o.find("Error", "save refused (Unknown): ")?.annotations, { identity: id, reason: "Unknown" })
      assert.deepStrictEqual(o.find("Warn", "user identity is stuck (1 failed reconcile in a row)")?.annotations, { identity: id, code: "save_rejected" })
    }).pipe(Effect.provide(o.layer))
  })
})
