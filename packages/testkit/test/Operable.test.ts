/**
 * Operability of the engine (issue 9): log lines at the documented points, metrics that move with
 * work, stuck identities, refused saves, the durable event feed, and the background loop's
 * failures reaching the host, OTLP export. Memory adapters, TestClock (a loopback collector for OTLP).
 */
import { createServer } from "node:http"
import { MemoryAccessControl, MemoryCredentialManager, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { Client, Command, Engine, Identity, Ids, Notices, Observability, PortError, Store } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Clock, ConfigProvider, Effect, Exit, Fiber, Layer, Metric, Schedule } from "effect"
import { OtlpExporter } from "effect/observability"
import { TestClock, TestConsole } from "effect/testing"
import { Loopback } from "../src/index.js"
import { counter, logged } from "./fixtures.js"



/** `logged`, with a metric registry of its own. */
const observed = () => {
  const o = logged()
  return { ...o, layer: Layer.merge(o.layer, Layer.succeed(Metric.MetricRegistry, new Map())) }
}

const acs = Simulator.defaultAcsId

/** The value, or the test fails here. */
const defined = <A>(a: A | undefined, what: string): A => {
  if (a === undefined) throw new Error(`expected ${what}`)
  return a
}

/** An engine over the simulator and a memory store; `person` sets up one identity with a phone. */
const world = (options: Simulator.Options = {}, config: Engine.Config = {}, wrap: (s: Store.StoreShape) => Store.StoreShape = (s) => s) =>
  Effect.gen(function* () {
    const sim = Simulator.make(options)
    const store = MemoryStore.make()
    // in-call retries at once: on the TestClock nothing would wake a sleeping retry
    const engine = yield* Engine.make({ retry: Schedule.recurs(2), ...config }).pipe(
      Effect.provide(
        Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), Layer.succeed(Store.Store, Store.Store.of(wrap(store))))
      )
    )
    const person = (name: string, managerId: string = Simulator.defaultManagerId) =>
      Effect.gen(function* () {
        const acsUser = yield* sim.acs.createUser(acs, { fullName: name })
        const id = Ids.UserIdentityId.make(`u-${name}`)
        for (const command of [
          { _tag: "CreateUserIdentity", userIdentityId: id },
          { _tag: "LinkAcsUser", userIdentityId: id, acsUserId: acsUser.id, acsSystemId: acs },
          { _tag: "LaunchAutomation", userIdentityId: id, automationId: `a-${name}`, managerId },
          { _tag: "CreateSyncCredential", userIdentityId: id, credentialId: `c-${name}`, acsUserId: acsUser.id, managerId, cardFormat: "rfid48", facilityCode: "9" },
          { _tag: "PhoneOnline", userIdentityId: id, phoneId: `p-${name}`, deviceType: "ios_phone" }
        ] satisfies ReadonlyArray<Command.Encoded>) {
          yield* engine.execute(Command.make(command))
        }
        yield* engine.reconcile(id)
        const code = Identity.enrollmentByKey(yield* engine.get(id), `p-${name}|${managerId}`)?.code
        if (code !== undefined) yield* sim.redeem(code)
        return { id, acsUserId: acsUser.id }
      })
    return { sim, store, engine, person }
  })

describe("logs", () => {
  it.effect("a line per reconcile, retry, rate limit, conflict and ignored callback, at the documented levels", () => {
    const o = observed()
    return Effect.gen(function* () {
      const { sim, engine, person } = yield* world()
      const ana = yield* person("ana")
      // the issue call: a Transient failure retried in the call, then a lost response (Ambiguous)
      yield* sim.failNext("issue", "Transient")
      yield* sim.failNext("issue", "Ambiguous")
      yield* engine.reconcile(ana.id)
      const reconciled = o.find("Debug", "reconciled:")
      assert.isDefined(reconciled)
      assert.strictEqual(reconciled?.annotations.identity, ana.id)
      assert.includeMembers(Object.keys(reconciled?.annotations ?? {}), ["rounds", "actions", "outcome"])
      // the action, then the adapter's own method name and its reason
      assert.isDefined(o.find("Debug", "retrying CredentialManager.Issue (attempt 2) after CredentialManager.issue Transient"))
      assert.isDefined(o.find("Debug", /CredentialManager\.issue Ambiguous: .*settled by observing again/))
      assert.isDefined(o.find("Debug", "lease acquired"))

      // a rate limit: the wait is logged, then the back-off
      const ben = yield* person("ben")
      yield* sim.failNext("issue", "RateLimited")
      yield* engine.reconcile(ben.id)
      assert.isDefined(o.find("Info", /rate limited by CredentialManager on Issue \(cm_sim\); waiting 1 s/))
      assert.isDefined(o.find("Info", /reconcile failed \(1 in a row\); next attempt in 1 s: CredentialManager\.issue RateLimited/))

      // a callback about nobody
      const refused = yield* Effect.flip(
        engine.ingest({ _tag: "EndpointActive", managerId: "cm_sim", userIdentityId: "nobody", endpoint: "e1" })
      )
      assert.strictEqual(refused._tag, "InvalidObservation")
      assert.isDefined(o.find("Info", "callback ignored: EndpointActive names no known user identity"))

      // every line is one line
      assert.isTrue(o.lines.every((l) => !l.message.includes("\n")))
    }).pipe(Effect.provide(o.layer))
  })

  it.effect("lease changes: taken over from an expired holder, and lost to another replica", () => {
    const o = observed()
    let refuseRenewals = false
    return Effect.gen(function* () {
      const { sim, store, engine, person } = yield* world({}, { leaseTtl: "30 seconds", callTimeout: "20 seconds" }, (s) => ({
        ...s,
        renew: (lease, now, ids) => (refuseRenewals ? Effect.succeed([]) : s.renew(lease, now, ids))
      }))
      const ana = yield* person("ana")
      // a replica that died holding the lease
      yield* store.acquire({ owner: "dead-replica", ttl: 1_000, grace: 5_000 }, yield* Clock.currentTimeMillis, ana.id)
      yield* TestClock.adjust("2 seconds")
      yield* engine.reconcile(ana.id)
      assert.isDefined(o.find("Info", "lease taken over from an expired holder"))

      // another replica takes the lease while this one is in a slow call
      const ben = yield* person("ben")
      yield* sim.setFaults({ ops: { issue: { latencyMs: 12_000 } } })
      refuseRenewals = true
      const working = yield* Effect.forkChild(engine.reconcile(ben.id))
      yield* TestClock.adjust("13 seconds")
      yield* Fiber.join(working)
      assert.isDefined(o.find("Warn", "lease lost to another replica"))
      assert.strictEqual(o.find("Warn", "lease lost")?.annotations.identity, ben.id)
    }).pipe(Effect.provide(o.layer))
  })

  it.effect("CREDSYNC_LOG_LEVEL and CREDSYNC_LOG_FORMAT: JSON lines, filtered by level; a bad value fails", () =>
    Effect.gen(function* () {
      const env = (vars: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromUnknown(vars))
      yield* Effect.gen(function* () {
        yield* Effect.logInfo("hidden")
        yield* Effect.logWarning("shown").pipe(Effect.annotateLogs({ identity: "u1" }))
      }).pipe(Effect.provide(Observability.layerLogger().pipe(Layer.provide(env({ CREDSYNC_LOG_LEVEL: "warning", CREDSYNC_LOG_FORMAT: "JSON" })))))
      const lines = yield* TestConsole.logLines
      assert.strictEqual(lines.length, 1)
      const parsed: unknown = JSON.parse(String(lines[0]))
      assert.deepInclude(parsed, { message: "shown", level: "WARN", annotations: { identity: "u1" } })
      const bad = yield* Effect.exit(Effect.void.pipe(Effect.provide(Observability.layerLogger().pipe(Layer.provide(env({ CREDSYNC_LOG_LEVEL: "loud" }))))))
      assert.isTrue(Exit.isFailure(bad))
    })
  )
})

describe("metrics", () => {
  it.effect("count port calls by outcome, retries, reconciles and the time from phone online to ACS", () => {
    const o = observed()
    return Effect.gen(function* () {
      const { sim, engine, person } = yield* world()
      const ana = yield* person("ana")
      yield* TestClock.adjust("90 seconds") // the app takes a while to redeem: counted in time to ACS
      yield* sim.failNext("issue", "Transient")
      yield* engine.reconcile(ana.id)
      assert.strictEqual(yield* counter("credsync_port_calls_total", { action: "Issue", outcome: "Transient" }), 1)
      assert.strictEqual(yield* counter("credsync_port_calls_total", { action: "Issue", outcome: "ok" }), 1)
      assert.isAtLeast(yield* counter("credsync_port_calls_total", { action: "Assign", outcome: "ok" }), 1)
      assert.strictEqual(yield* counter("credsync_retries_total", { action: "Issue", reason: "Transient" }), 1)
      assert.isAtLeast(yield* counter("credsync_reconciles_total", { outcome: "converged" }), 2)
      const toAcs = (yield* Metric.value(Observability.metrics.timeToAcs)).count
      assert.strictEqual(toAcs, 1)
      const sum = (yield* Metric.value(Observability.metrics.timeToAcs)).sum
      assert.strictEqual(sum, 90)
      const text = yield* Observability.prometheus
      assert.match(text, /^credsync_port_calls_total\{port="CredentialManager",action="Issue",outcome="ok"\} 1$/m)
      assert.match(text, /^credsync_phone_to_acs_seconds_bucket\{le="120"\} 1$/m)
    }).pipe(Effect.provide(o.layer))
  })
})

describe("stuck identities", () => {
  it.effect("after N failed reconciles in a row: listed, shown on its resources, logged, retried, then recovered", () => {
    const o = observed()
    return Effect.gen(function* () {
      const { sim, engine, person } = yield* world({}, { stuckAfter: 3 })
      const ana = yield* person("ana")
      yield* sim.setFaults({ ops: { issue: { rateLimited: 1, retryAfter: 1_000 } } })
      for (let i = 0; i < 2; i++) {
        yield* engine.reconcile(ana.id)
        yield* TestClock.adjust("1 minute")
      }
      assert.deepStrictEqual(yield* engine.stuck, [])
      yield* engine.reconcile(ana.id)
      const [stuck] = yield* engine.stuck
      assert.strictEqual(stuck?.id, ana.id)
      assert.strictEqual(stuck?.cause.code, "reconcile_failing")
      assert.match(stuck?.cause.message ?? "", /3 or more reconciles in a row failed; last: CredentialManager\.issue RateLimited/)
      const state = yield* engine.get(ana.id)
      assert.deepStrictEqual(Notices.identity(state).errors.map((e) => e.code), ["reconcile_failing"])
      assert.include(Notices.parent(state, defined(Identity.parent(state, "c-ana"), "Ana's sync credential")).errors.map((e) => e.code), "reconcile_failing")
      assert.isDefined(o.find("Warn", "user identity is stuck (3 failed reconciles in a row)"))
      // still failing: counted, but neither logged nor recorded again while the cause is the same
      yield* TestClock.adjust("1 minute")
      yield* engine.reconcile(ana.id)
      assert.strictEqual((yield* engine.stuck)[0]?.failures, 4)
      assert.strictEqual(o.lines.filter((l) => l.message.startsWith("user identity is stuck")).length, 1)
      assert.strictEqual((yield* engine.events({ limit: 1_000 })).events.filter((e) => e.event._tag === "IdentityStuck").length, 1)
      assert.deepInclude((yield* engine.health), { stuck: 1 })
      // still retried with (capped) back-off: it is due again
      assert.isDefined(yield* engine.nextDue)
      // the provider recovers
      yield* sim.setFaults({})
      yield* TestClock.adjust("1 minute")
      yield* engine.drain
      assert.deepStrictEqual(yield* engine.stuck, [])
      const after = yield* engine.get(ana.id)
      assert.isUndefined(after.stuck)
      assert.deepStrictEqual(Notices.identity(after).errors, [])
      assert.isDefined(o.find("Info", "user identity recovered"))
      const feed = yield* engine.events({ limit: 1_000 })
      assert.includeMembers(
        feed.events.map((e) => e.event._tag),
        ["IdentityStuck", "IdentityRecovered"]
      )
    }).pipe(Effect.provide(o.layer))
  })

  it.effect("a card number two identities claim: the refusal is logged, listed and shown; nothing is taken from its owner; the rest converges", () => {
    const o = observed()
    return Effect.gen(function* () {
      // two credential managers numbering cards from the same start, both feeding one ACS
      const { sim, engine, person } = yield* world({ managers: [{ id: "cm_a" }, { id: "cm_b" }] })
      const ana = yield* person("ana", "cm_a")
      yield* engine.reconcile(ana.id)
      const anaCard = (yield* engine.get(ana.id)).children[0]
      assert.strictEqual(anaCard?.cardNumber, "100000")
      assert.isTrue(anaCard?.assigned)

      const ben = yield* person("ben", "cm_b")
      const refused = yield* Effect.flip(engine.reconcile(ben.id))
      assert.strictEqual(refused._tag, "SaveRejected")
      assert.deepInclude(refused, { reason: "InvalidInput", key: `card:${acs}:100000`, heldBy: ana.id })
      assert.match(refused.message, /card number 100000 \(ACS acs_sim\) is already held by user identity u-ana/)
      // logged, listed, shown on the phone credential concerned (and its sync credential)
      assert.isDefined(o.find("Error", /save refused \(InvalidInput\): card number 100000/))
      const [stuck] = yield* engine.stuck
      assert.deepInclude(stuck, { id: ben.id })
      assert.strictEqual(stuck?.cause.code, "save_rejected")
      const benState = yield* engine.get(ben.id)
      const benChild = defined(benState.children[0], "Ben's phone credential")
      assert.strictEqual(stuck?.credentialId, benChild.id)
      assert.deepStrictEqual(Notices.child(benChild, benState).errors.map((e) => e.code), ["save_rejected"])
      assert.include(Notices.parent(benState, defined(Identity.parent(benState, "c-ben"), "Ben's sync credential")).errors.map((e) => e.code), "save_rejected")
      assert.isAtLeast(yield* counter("credsync_save_rejections_total", { reason: "InvalidInput" }), 1)

      // nothing of Ana's was touched: her card stays assigned to her ACS user
      const truth = yield* sim.truth()
      const entry = truth.acsEntries.find((e) => e.cardNumber === "100000")
      assert.strictEqual(entry?.assignedTo, ana.acsUserId)
      assert.strictEqual(truth.acsEntries.filter((e) => e.cardNumber === "100000").length, 1)

      // the rest of the system keeps converging, the loop's drain included
      const chen = yield* person("chen", "cm_a")
      yield* TestClock.adjust("5 minutes")
      yield* engine.resyncAll
      const ran = yield* engine.drain
      assert.isAtLeast(ran, 3)
      const chenChild = (yield* engine.get(chen.id)).children[0]
      assert.strictEqual(chenChild?.cardNumber, "100001")
      assert.isTrue(chenChild?.assigned)
      assert.strictEqual((yield* sim.truth()).acsEntries.find((e) => e.cardNumber === "100000")?.assignedTo, ana.acsUserId)
      // Ben is still retried (capped back-off) and still shown
      assert.isDefined(yield* engine.nextDue)
      assert.strictEqual((yield* engine.stuck)[0]?.id, ben.id)
    }).pipe(Effect.provide(o.layer))
  })

  it.effect("a phone another identity holds is a typed rejection of the command, naming the field", () =>
    Effect.gen(function* () {
      const { engine, person } = yield* world()
      yield* person("ana")
      yield* engine.execute(Command.make({ _tag: "CreateUserIdentity", userIdentityId: "u-ben" }))
      const e = yield* Effect.flip(engine.execute(Command.make({ _tag: "PhoneOnline", userIdentityId: "u-ben", phoneId: "p-ana", deviceType: "ios_phone" })))
      assert.deepInclude(e, { _tag: "CommandRejected", reason: "AlreadyExists", field: "phoneId" })
      assert.match(e.message, /phone p-ana already belongs to user identity u-ana/)
    })
  )
})

describe("event feed", () => {
  it.effect("pages in commit order with an opaque cursor; a bad cursor is rejected; pruned events are reported", () =>
    Effect.gen(function* () {
      const { engine, store, person } = yield* world()
      yield* person("ana")
      yield* person("ben")
      const all = yield* store.events({ after: 0, limit: 10_000 })
      const seen: Array<string> = []
      let after: string | undefined
      while (true) {
        const page = yield* engine.events({ after, limit: 3 })
        if (page.events.length === 0) break
        assert.isFalse(page.missed)
        seen.push(...page.events.map((e) => JSON.stringify(e.event)))
        after = page.next
      }
      assert.deepStrictEqual(
        seen,
        all.map((e) => JSON.stringify(e.event))
      )
      const bad = yield* Effect.flip(engine.events({ after: "42" }))
      assert.deepInclude(bad, { _tag: "CommandRejected", reason: "InvalidInput", field: "after" })
      const tooMany = yield* Effect.flip(engine.events({ limit: 5_000 }))
      assert.deepInclude(tooMany, { reason: "InvalidInput", field: "limit" })
    })
  )

  it.effect("reports events the store no longer holds", () =>
    Effect.gen(function* () {
      const sim = Simulator.make()
      const engine = yield* Engine.make().pipe(
        Effect.provide(Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), MemoryStore.layer({ retainEvents: 2 })))
      )
      for (const id of ["a", "b", "c", "d"]) yield* engine.execute(Command.make({ _tag: "CreateUserIdentity", userIdentityId: id }))
      const page = yield* engine.events()
      assert.isTrue(page.missed)
      assert.deepStrictEqual(
        page.events.map((e) => e.event.identity),
        ["c", "d"]
      )
    })
  )

  it("a host that stops and starts again resumes from its cursor and misses nothing (the engine wrote meanwhile)", async () => {
    const sim = Simulator.make()
    const store = MemoryStore.make()
    const engineLayer = () =>
      Engine.layer().pipe(
        Layer.provide(Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), Layer.succeed(Store.Store, Store.Store.of(store))))
      )
    const options = { observability: { defaultLevel: "None" } } as const
    const writer = Client.make(engineLayer(), options)
    const acsUser = await Effect.runPromise(sim.acs.createUser(acs, { fullName: "Ana" }))
    const ana = await writer.createUserIdentity({ userIdentityId: "ana" })
    await writer.linkAcsUser({ userIdentityId: ana.id, acsUserId: acsUser.id, acsSystemId: acs })

    // the forwarding host: reads pages, persists the cursor after each page
    let saved: string | undefined
    const delivered: Array<string> = []
    const forward = async (host: Client.Client) => {
      while (true) {
        const page = await host.events({ after: saved, limit: 2 })
        if (page.events.length === 0) return
        for (const e of page.events) delivered.push(`${e.event.identity}:${e.event._tag}`)
        saved = page.next
      }
    }
    const host1 = Client.make(engineLayer(), options)
    await forward(host1)
    await host1.close() // the host is down...
    await writer.launchEnrollmentAutomation({ userIdentityId: ana.id, managerId: Simulator.defaultManagerId, automationId: "a1" })
    await writer.createSyncCredential({ userIdentityId: ana.id, acsUserId: acsUser.id, managerId: Simulator.defaultManagerId, cardFormat: "rfid48", facilityCode: "9" })
    await writer.phoneOnline({ userIdentityId: ana.id, phoneId: "p1", deviceType: "ios_phone" })
    await writer.drain()
    const host2 = Client.make(engineLayer(), options) // ...and back
    await forward(host2)
    const log = await Effect.runPromise(store.events({ after: 0, limit: 10_000 }))
    assert.deepStrictEqual(
      delivered,
      log.map((e) => `${e.event.identity}:${e.event._tag}`)
    )
    assert.include(delivered, "ana:InvitationCreated")
    await host2.close()
    await writer.close()
  })
})

describe("nothing fails in silence", () => {
  const failingStore = new PortError.PortError({ reason: "Unknown", port: "Store", method: "open", message: "cannot open the database" })

  it("Client.start() rejects when the store cannot be opened", async () => {
    const sim = Simulator.make()
    const client = Client.make(
      Engine.layer().pipe(
        Layer.provide(
          Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), Layer.effect(Store.Store, Effect.fail(failingStore)))
        )
      ),
      { observability: { defaultLevel: "None" } }
    )
    const e = await client.start().then(
      () => undefined,
      (error: unknown) => error
    )
    assert.deepInclude(e, { _tag: "PortError", reason: "Unknown", message: "cannot open the database" })
    await client.close()
  })

  it("a loop failure after start reaches onError and health; the loop restarts when the store is back", async () => {
    const sim = Simulator.make()
    const memory = MemoryStore.make()
    let down = false
    const broken = <A>(eff: Effect.Effect<A, PortError.PortError>) =>
      Effect.suspend(() => (down ? Effect.fail(new PortError.PortError({ reason: "Transient", port: "Store", method: "claim", message: "connection lost" })) : eff))
    const store: Store.StoreShape = {
      ...memory,
      claim: (lease, now, limit) => broken(memory.claim(lease, now, limit)),
      nextDue: (owner, now) => broken(memory.nextDue(owner, now)),
      list: (options) => broken(memory.list(options))
    }
    const errors: Array<unknown> = []
    const client = Client.make(
      Engine.layer().pipe(
        Layer.provide(Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), Layer.succeed(Store.Store, Store.Store.of(store))))
      ),
      { observability: { defaultLevel: "None" }, onError: (e) => errors.push(e) }
    )
    await client.start()
    await Loopback.until("loop running", async () => ((await client.health()).loop === "running" ? true : undefined))
    down = true
    assert.deepInclude(await client.health(), { store: "unreachable" })
    // work arrives: the loop claims and fails
    await client.createUserIdentity({ userIdentityId: "x" })
    await Loopback.until("onError called", async () => (errors.length > 0 ? true : undefined))
    assert.deepInclude(errors[0], { _tag: "PortError", reason: "Transient", message: "connection lost" })
    const failed = await client.health()
    assert.strictEqual(failed.loop, "failed")
    assert.match(failed.error ?? "", /Store\.claim Transient: connection lost/)
    assert.isAtLeast(Number((await client.metrics()).match(/^credsync_loop_failures_total (\d+)$/m)?.[1] ?? 0), 1)
    down = false
    await Loopback.until("loop restarted", async () => ((await client.health()).loop === "running" ? true : undefined), 200, 25)
    await client.close()
  })

  it.effect("health: loop state and store reachability for readiness checks", () =>
    Effect.gen(function* () {
      const { engine } = yield* world()
      assert.deepStrictEqual(yield* engine.health, { loop: "stopped", store: "reachable", stuck: 0 })
      const loop = yield* Effect.forkChild(engine.run)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* engine.health).loop, "running")
      yield* Fiber.interrupt(loop)
      assert.strictEqual((yield* engine.health).loop, "stopped")
    })
  )
})

describe("OTLP export", () => {
  /** A loopback OTLP/HTTP collector that keeps what it receives. */
  const collector = Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ url: string; received: Array<{ path: string; body: string }>; close: () => Promise<void> }>((resolve) => {
          const received: Array<{ path: string; body: string }> = []
          const server = createServer((req, res) => {
            const chunks: Array<Buffer> = []
            req.on("data", (c: Buffer) => chunks.push(c))
            req.on("end", () => {
              received.push({ path: req.url ?? "", body: Buffer.concat(chunks).toString("utf8") })
              res.writeHead(200, { "content-type": "application/json" }).end("{}")
            })
          })
          server.listen(0, "127.0.0.1", () => {
            const address = server.address()
            const port = typeof address === "object" && address !== null ? address.port : 0
            resolve({ url: `http://127.0.0.1:${port}`, received, close: () => new Promise<void>((r) => server.close(() => r())) })
          })
        })
    ),
    (c) => Effect.promise(() => c.close())
  )

  const reconcileWith = (env: Record<string, string>) =>
    Effect.gen(function* () {
      const { engine, person } = yield* world()
      const ana = yield* person("ana")
      yield* engine.reconcile(ana.id)
      yield* (yield* OtlpExporter.Flusher).flush
    }).pipe(Effect.provide(Observability.layer({ defaultLevel: "None" }).pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env))))))

  it.live("off by default; OTEL_EXPORTER_OTLP_ENDPOINT alone sends the engine's spans and metrics", () =>
    Effect.gen(function* () {
      const c = yield* collector
      yield* reconcileWith({})
      assert.deepStrictEqual(c.received, [])
      yield* reconcileWith({ OTEL_EXPORTER_OTLP_ENDPOINT: c.url })
      const traces = c.received.filter((r) => r.path === "/v1/traces").map((r) => r.body).join("")
      assert.include(traces, "credsync.reconcile")
      assert.include(traces, "CredentialManager.Issue")
      assert.include(traces, "credsync.identity")
      const metrics = c.received.filter((r) => r.path === "/v1/metrics").map((r) => r.body).join("")
      assert.include(metrics, "credsync_port_calls_total")
    }).pipe(Effect.scoped)
  )
})
