/**
 * The engine's provider calls and leases, at their edges, on the TestClock: how many run at once,
 * the lease left at a call's start (renewed, or not), the in-flight time of an earlier holder that
 * the planner is given, the waits of several rate-limited calls, the facts learned in the last
 * round, and the capabilities the planner sees. The simulator and the memory store, with the ports
 * wrapped where a test needs to see or slow a call.
 */
import { MemoryStore, Simulator } from "@credsync/adapter-memory"
import { AccessControl, CredentialManager, Engine, Identity, Ids, Plan, PortError, Store } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Schedule } from "effect"
import { TestClock } from "effect/testing"

const id = Ids.UserIdentityId.make("u1")
type Manager = CredentialManager.IssuingManagerShape
type Access = AccessControl.AccessControlShape

interface Wrap {
  readonly cm?: (m: Manager) => Manager
  readonly acs?: (a: Access) => Access
  readonly store?: (s: Store.StoreShape) => Store.StoreShape
}

/** One identity with `phones` phones and `parents` sync credentials (distinct card formats) at the simulator's manager. */
const setup = (config: Engine.Config = {}, wrap: Wrap = {}, phones = 1, parents: ReadonlyArray<string> = ["rfid48"], options: Simulator.Options = {}) =>
  Effect.gen(function* () {
    const sim = Simulator.make(options)
    const store = MemoryStore.make()
    const contexts: Array<Plan.PlanContext> = []
    const planner: typeof Plan.plan = (s, o, ctx) => {
      contexts.push(ctx)
      return Plan.plan(s, o, ctx)
    }
    const engine = yield* Engine.make({ retry: Schedule.recurs(0), replica: "a", planner, ...config }).pipe(
      Effect.provide(
        Layer.mergeAll(
          Layer.succeed(CredentialManager.CredentialManager, CredentialManager.CredentialManager.of((wrap.cm ?? ((m) => m))(sim.manager))),
          Layer.succeed(AccessControl.AccessControl, AccessControl.AccessControl.of((wrap.acs ?? ((a) => a))(sim.acs))),
          Layer.succeed(Store.Store, Store.Store.of((wrap.store ?? ((s) => s))(store)))
        )
      )
    )
    const acsUser = yield* sim.acs.createUser(Simulator.defaultAcsId, { fullName: "Ana" })
    const commands: Array<Record<string, unknown>> = [
      { _tag: "CreateUserIdentity", userIdentityId: id },
      { _tag: "LinkAcsUser", userIdentityId: id, acsUserId: acsUser.id, acsSystemId: Simulator.defaultAcsId },
      { _tag: "LaunchAutomation", userIdentityId: id, automationId: "a1", managerId: Simulator.defaultManagerId },
      ...parents.map((cardFormat, n) => ({ _tag: "CreateSyncCredential", userIdentityId: id, credentialId: `c${n + 1}`, acsUserId: acsUser.id, managerId: Simulator.defaultManagerId, cardFormat, facilityCode: "9" })),
      ...Array.from({ length: phones }, (_, n) => ({ _tag: "PhoneOnline", userIdentityId: id, phoneId: `p${n + 1}`, deviceType: "ios_phone" }))
    ]
    for (const command of commands) yield* engine.executeUnknown(command)
    /** Invite every phone and redeem each code (the engine has not seen the redemptions yet). */
    const redeemAll = Effect.gen(function* () {
      // (a few reconciles when each may run only one round)
      for (let n = 0; n < 4; n++) yield* engine.reconcile(id)
      for (const e of (yield* engine.get(id)).enrollments) yield* sim.redeem(e.code!)
    })
    return { sim, store, engine, contexts, redeemAll }
  })

const now = Effect.clockWith((c) => c.currentTimeMillis)

/** Counts the calls in flight at once through `track`, each of which first takes 1 s. */
const inFlight = () => {
  let current = 0
  const seen = { max: 0 }
  const track = <A, E>(eff: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        current++
        seen.max = Math.max(seen.max, current)
      }),
      () => Effect.andThen(Effect.sleep("1 second"), eff),
      () =>
        Effect.sync(() => {
          current--
        })
    )
  return { track, seen }
}

describe("engine: calls at once", () => {
  it.effect("runs one round's calls up to actionConcurrency (4 by default) at once", () =>
    Effect.gen(function* () {
      for (const [config, expected] of [
        [{}, 4],
        [{ actionConcurrency: 2 }, 2]
      ] as const) {
        const issues = inFlight()
        const { engine, sim, redeemAll } = yield* setup(config, { cm: (m) => ({ ...m, issue: (mgr, r) => issues.track(m.issue(mgr, r)) }) }, 2, ["rfid48", "h10301"])
        yield* redeemAll
        const working = yield* Effect.forkChild(engine.reconcile(id))
        yield* TestClock.adjust("2 seconds")
        yield* Fiber.join(working)
        assert.strictEqual(sim.calls.issue, 4)
        assert.strictEqual(issues.seen.max, expected)
      }
    }))

  it.effect("observes the credential manager and the ACS at once", () =>
    Effect.gen(function* () {
      const reads = inFlight()
      const { redeemAll } = yield* setup({}, {
        cm: (m) => ({ ...m, observe: (mgr, u) => reads.track(m.observe(mgr, u)) }),
        acs: (a) => ({ ...a, observe: (s, q) => reads.track(a.observe(s, q)) })
      })
      const first = yield* Effect.forkChild(redeemAll)
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(first)
      assert.strictEqual(reads.seen.max, 2)
    }))
})

/** `m` whose next observe, once `gate.slow` is set, first takes `ms` on the TestClock (then the gate closes). */
const slowNextObserve = <M extends CredentialManager.CredentialManagerShape>(m: M, ms: number, gate: { slow: boolean }): M => ({
  ...m,
  observe: (mgr, u) =>
    Effect.suspend(() => {
      if (!gate.slow) return m.observe(mgr, u)
      gate.slow = false
      return Effect.andThen(Effect.sleep(`${ms} millis`), m.observe(mgr, u))
    })
})

describe("engine: the lease at a call's start", () => {
  /** Observing takes `ms` on the TestClock (the first time), then the issue call is due. */
  const slowObserve = (ms: number, renew: "works" | "unreachable") =>
    Effect.gen(function* () {
      const gate = { slow: true }
      const { engine, sim, redeemAll } = yield* setup(
        { leaseTtl: "30 seconds", callTimeout: "10 seconds" },
        {
          cm: (m) => slowNextObserve(m, ms, gate),
          store: (s) =>
            renew === "works"
              ? s
              : { ...s, renew: () => Effect.fail(new PortError.PortError({ reason: "Transient", port: "Store", method: "renew", message: "unreachable" })) }
        }
      )
      gate.slow = false
      yield* redeemAll
      gate.slow = true
      const working = yield* Effect.forkChild(engine.reconcile(id))
      yield* TestClock.adjust(`${ms} millis`)
      const r = yield* Fiber.join(working)
      return { sim, r }
    })

  it.effect("starts a call while the lease holds for at least the call timeout", () =>
    Effect.gen(function* () {
      // granted for 30 s, not renewed: at 20 s exactly the call timeout (10 s) is left
      const { sim } = yield* slowObserve(20_000, "unreachable")
      assert.strictEqual(sim.calls.issue, 1)
    }))

  it.effect("starts no call once less than the call timeout is left, and looks again soon", () =>
    Effect.gen(function* () {
      const start = yield* now
      const { sim, r } = yield* slowObserve(20_001, "unreachable")
      assert.strictEqual(sim.calls.issue, 0)
      assert.strictEqual(r.next, start + 20_001 + 500, "a lease race: retried after the back-off base")
    }))

  it.effect("calls on past the first grant when the lease was renewed", () =>
    Effect.gen(function* () {
      // renewed at 10 s and 20 s: held until 50 s
      const { sim } = yield* slowObserve(25_000, "works")
      assert.strictEqual(sim.calls.issue, 1)
    }))
})

describe("engine: what the planner is given", () => {
  it.effect("an earlier holder's in-flight time, only while it lies ahead", () =>
    Effect.gen(function* () {
      const { engine, store, contexts } = yield* setup()
      // a replica that died holding the lease at 0 for 1 s: its calls may land until 1 s + the call timeout (5 s)
      yield* store.acquire({ owner: "dead", ttl: 1_000, grace: 5_000 }, yield* now, id)
      yield* TestClock.adjust("2 seconds")
      yield* engine.reconcile(id)
      assert.isTrue(contexts.length > 0)
      assert.isTrue(contexts.every((c) => c.inFlightUntil === 6_000))
      // taken over exactly when that time is reached: nothing is in flight any more
      const late = yield* setup()
      yield* late.store.acquire({ owner: "dead", ttl: 1_000, grace: 5_000 }, yield* now, id)
      yield* TestClock.adjust("6 seconds")
      yield* late.engine.reconcile(id)
      assert.isTrue(late.contexts.length > 0)
      assert.isTrue(late.contexts.every((c) => !("inFlightUntil" in c)))
    }))

  it.effect("each manager's own capabilities, read from the manager's systems, and the port's kind", () =>
    Effect.gen(function* () {
      const { engine, contexts } = yield* setup(
        {},
        {
          cm: (m) => ({
            ...m,
            systems: [...m.systems, { id: Ids.AcsSystemId.make("other"), name: "Other", externalType: "x", capabilities: { asyncIssue: false, listingLag: 777 } }]
          })
        }
      )
      yield* engine.reconcile(id)
      const ctx = contexts[0]!
      assert.strictEqual(ctx.capabilities(Ids.AcsSystemId.make("other"))?.listingLag, 777)
      assert.strictEqual(ctx.capabilities(Ids.AcsSystemId.make(Simulator.defaultManagerId))?.listingLag, 0)
      assert.isUndefined(ctx.capabilities(Ids.AcsSystemId.make("unknown")))
      // every system of a port is of the port's kind; a system no port serves has none
      assert.deepStrictEqual([ctx.kind(Ids.AcsSystemId.make("other")), ctx.kind(Ids.AcsSystemId.make("unknown"))], ["issuing", undefined])
    }))
})

describe("engine: waits and the last round", () => {
  it.effect("waits for the longest of several rate limits before the next attempt", () =>
    Effect.gen(function* () {
      const waits = [1_000, 3_000, 2_000]
      let n = 0
      const { engine, redeemAll } = yield* setup(
        {},
        {
          cm: (m) => ({
            ...m,
            issue: () => {
              const retryAfter = waits[n++ % waits.length]!
              return Effect.fail(new PortError.PortError({ reason: "RateLimited", port: "CredentialManager", method: "issue", message: "slow down", retryAfter }))
            }
          })
        },
        3
      )
      yield* redeemAll
      const start = yield* now
      const r = yield* engine.reconcile(id)
      assert.strictEqual(n, 3, "three issue calls in one round")
      assert.strictEqual(r.next, start + 3_000)
    }))

  it.effect("waits for a rate limit among calls that succeeded", () =>
    Effect.gen(function* () {
      let n = 0
      const { engine, redeemAll } = yield* setup(
        {},
        {
          cm: (m) => ({
            ...m,
            issue: (manager, request) =>
              n++ === 0
                ? Effect.fail(new PortError.PortError({ reason: "RateLimited", port: "CredentialManager", method: "issue", message: "slow down", retryAfter: 2_000 }))
                : m.issue(manager, request)
          })
        },
        2
      )
      yield* redeemAll
      const start = yield* now
      const r = yield* engine.reconcile(id)
      assert.strictEqual(n, 2, "two issue calls in one round")
      assert.strictEqual(r.next, start + 2_000)
    }))

  it.effect("stops at a refused credential (Unauthorized) and backs off, not repeating the call each round", () =>
    Effect.gen(function* () {
      // two phones: one issue refused, the other issued, in the same round
      const { sim, engine, redeemAll } = yield* setup({ backoff: { base: "4 seconds", cap: "1 minute" } }, {}, 2)
      yield* redeemAll
      yield* sim.failNext("issue", "Unauthorized")
      const issued = sim.calls.issue
      const start = yield* now
      const r = yield* engine.reconcile(id)
      assert.strictEqual(sim.calls.issue - issued, 2)
      assert.strictEqual(r.next, start + 4_000)
      assert.deepStrictEqual((yield* engine.get(id)).children.map((c) => c.issue).sort(), ["active", "failed"])
    }))

  it.effect("commits what the last round's calls answered when it runs out of rounds", () =>
    Effect.gen(function* () {
      const { engine, redeemAll } = yield* setup({ maxRounds: 1 })
      yield* redeemAll
      yield* engine.reconcile(id)
      // one round: enrolled, requested, issued; the issue's answer is saved though no round followed
      const [child] = (yield* engine.get(id)).children
      assert.strictEqual(child?.issue, "active")
      assert.isDefined(child?.ref)
    }))

  it.effect("a command that changes nothing queues no reconcile", () =>
    Effect.gen(function* () {
      const { engine } = yield* setup()
      yield* engine.drain
      assert.isUndefined(yield* engine.nextDue)
      yield* engine.executeUnknown({ _tag: "DeactivatePhone", userIdentityId: id, phoneId: "p1" })
      yield* engine.drain
      const before = yield* engine.nextDue
      // already inactive: no events, nothing queued
      yield* engine.executeUnknown({ _tag: "DeactivatePhone", userIdentityId: id, phoneId: "p1" })
      assert.strictEqual(yield* engine.nextDue, before)
    }))
})

describe("engine: what it observes and writes", () => {
  it.effect("asks the ACS about each ACS user once and about the card numbers it holds", () =>
    Effect.gen(function* () {
      const queries: Array<{ readonly users: ReadonlyArray<string>; readonly cardNumbers: ReadonlyArray<string> }> = []
      const { engine, redeemAll } = yield* setup({}, { acs: (a) => ({ ...a, observe: (s, q) => Effect.andThen(Effect.sync(() => queries.push(q)), a.observe(s, q)) }) }, 1, [
        "rfid48",
        "h10301"
      ])
      yield* redeemAll
      yield* engine.reconcile(id)
      yield* engine.reconcile(id)
      assert.isTrue(queries.length > 0)
      // both sync credentials belong to one ACS user: asked about once per observation
      assert.isTrue(queries.every((q) => q.users.length === 1))
      // no phone credential without its card number in a query
      assert.isTrue(queries.every((q) => q.cardNumbers.every((n) => typeof n === "string")))
      assert.lengthOf(queries[queries.length - 1]!.cardNumbers, 2)
    }))

  it.effect("asks the ACS about no card number for a phone credential that has none yet", () =>
    Effect.gen(function* () {
      const queries: Array<{ readonly users: ReadonlyArray<string>; readonly cardNumbers: ReadonlyArray<string> }> = []
      const { sim, engine, redeemAll } = yield* setup({}, { acs: (a) => ({ ...a, observe: (s, q) => Effect.andThen(Effect.sync(() => queries.push(q)), a.observe(s, q)) }) })
      yield* redeemAll
      // the issue is refused: the phone credential stays without a card number
      yield* sim.failNext("issue", "InvalidInput")
      yield* engine.reconcile(id)
      assert.isUndefined((yield* engine.get(id)).children[0]?.cardNumber)
      queries.length = 0
      yield* engine.reconcile(id)
      assert.deepStrictEqual(queries[0]?.cardNumbers, [])
    }))

  it.effect("writes as the replica it was named", () =>
    Effect.gen(function* () {
      const owners = new Set<string | undefined>()
      const { engine, redeemAll } = yield* setup({ replica: "r-7" }, { store: (s) => ({ ...s, save: (r) => Effect.andThen(Effect.sync(() => owners.add(r.owner)), s.save(r)) }) })
      yield* redeemAll
      yield* engine.reconcile(id)
      assert.deepStrictEqual([...owners].filter((o) => o !== undefined), ["r-7"])
    }))

  it.effect("commits a reconcile that records no intent once, at its end", () =>
    Effect.gen(function* () {
      let saves = 0
      const { engine, redeemAll } = yield* setup({}, { store: (s) => ({ ...s, save: (r) => Effect.andThen(Effect.sync(() => saves++), s.save(r)) }) })
      yield* redeemAll
      yield* engine.reconcile(id)
      yield* engine.executeUnknown({ _tag: "DeactivatePhone", userIdentityId: id, phoneId: "p1" })
      saves = 0
      const r = yield* engine.reconcile(id)
      // retire, revoke, remove from the ACS, end the enrollment, remove the endpoint: all learned, no intent
      assert.isAbove(r.rounds, 1)
      assert.strictEqual(saves, 1)
      assert.deepStrictEqual((yield* engine.get(id)).children, [])
    }))

  it.effect("issues, imports and assigns on the calls' answers: observed once, each call made once", () =>
    Effect.gen(function* () {
      const { engine, sim, redeemAll } = yield* setup()
      yield* redeemAll
      const before = { ...sim.calls }
      yield* engine.reconcile(id)
      const made = (op: keyof typeof sim.calls) => sim.calls[op] - before[op]
      assert.deepStrictEqual(
        [made("observe"), made("acsObserve"), made("issue"), made("acsImport"), made("acsAssign")],
        [1, 1, 1, 1, 1]
      )
      const [child] = (yield* engine.get(id)).children
      assert.isTrue(child?.assigned)
      const feed = (yield* engine.events({ limit: 1_000 })).events.map((e) => e.event)
      const entry = (yield* sim.truth()).acsEntries[0]
      assert.deepInclude(
        feed.filter((e) => e._tag === "CredentialImported"),
        { _tag: "CredentialImported", identity: id, at: yield* now, credentialId: child?.id ?? Ids.CredentialId.make("none"), acsRef: entry?.ref ?? Ids.ProviderRef.make("none") }
      )
    }))

  it.effect("checks each key a reconcile learns once, not again every round", () =>
    Effect.gen(function* () {
      const looked: Array<string> = []
      const { engine, redeemAll } = yield* setup({}, { store: (s) => ({ ...s, lookup: (key) => Effect.andThen(Effect.sync(() => looked.push(key)), s.lookup(key)) }) })
      yield* redeemAll
      looked.length = 0
      yield* engine.reconcile(id)
      const child = (yield* engine.get(id)).children[0]
      // the issue's ref and card number, before the import; not again before the assign
      assert.deepStrictEqual(looked, [`manager-credential:cm_sim:${child?.ref}`, `card:acs_sim:${child?.cardNumber}`])
    }))

  it.effect("plans on an invitation's answer without observing the manager again", () =>
    Effect.gen(function* () {
      const { engine, sim } = yield* setup()
      yield* engine.reconcile(id)
      const observes = sim.calls.observe
      // a second phone: one invitation, then settled on the patched observation
      yield* engine.executeUnknown({ _tag: "PhoneOnline", userIdentityId: id, phoneId: "p2", deviceType: "ios_phone" })
      yield* engine.reconcile(id)
      assert.strictEqual(sim.calls.invite, 2)
      assert.strictEqual(sim.calls.observe - observes, 1)
    }))

  it.effect("skips an action a planner asks for about something the state does not hold", () =>
    Effect.gen(function* () {
      const cm = Ids.AcsSystemId.make(Simulator.defaultManagerId)
      const stray = Ids.AcsSystemId.make("no-user-here")
      const planner: typeof Plan.plan = (s, o, ctx) => {
        const p = Plan.plan(s, o, ctx)
        if (p.actions.length === 0) return p
        const [first] = s.enrollments
        return {
          ...p,
          actions: [
            ...p.actions,
            { _tag: "Invite", managerId: cm, key: "nobody|cm_sim" },
            { _tag: "Invite", managerId: stray, key: first === undefined ? "x" : Identity.enrollmentKey(first.phoneId, first.managerId) },
            { _tag: "Issue", managerId: stray, credentialId: Ids.CredentialId.make("c1"), endpoint: Ids.ProviderRef.make("e"), card: { cardFormat: "rfid48", facilityCode: "9" } }
          ]
        }
      }
      const { engine, sim, redeemAll } = yield* setup({ planner, maxRounds: 3 })
      const invites = sim.calls.invite
      yield* redeemAll
      yield* engine.reconcile(id)
      // the real actions ran: one invitation (in redeemAll), one issue; the strays called nothing
      assert.strictEqual(sim.calls.invite - invites, 1)
      assert.strictEqual(sim.calls.issue, 1)
    }))
})

describe("engine: the lease lost", () => {
  it.effect("makes no provider call after another replica took the lease", () =>
    Effect.gen(function* () {
      const gate = { slow: false }
      let taken = false
      const { engine, sim, redeemAll } = yield* setup(
        { leaseTtl: "30 seconds", callTimeout: "10 seconds" },
        {
          cm: (m) => slowNextObserve(m, 11_000, gate),
          // the renewal at 10 s finds the lease taken
          store: (s) => ({ ...s, renew: (lease, t, ids) => (taken ? Effect.succeed([]) : s.renew(lease, t, ids)) })
        }
      )
      yield* redeemAll
      gate.slow = true
      taken = true
      const working = yield* Effect.forkChild(engine.reconcile(id))
      yield* TestClock.adjust("11 seconds")
      yield* Fiber.join(working)
      assert.strictEqual(sim.calls.issue, 0)
    }))
})

describe("engine: the background loop", () => {
  it.effect("looks at everyone again every resyncEvery (5 minutes by default), not more often", () =>
    Effect.gen(function* () {
      let lists = 0
      const { engine } = yield* setup({}, { store: (s) => ({ ...s, list: (o) => Effect.andThen(Effect.sync(() => lists++), s.list(o)) }) })
      const loop = yield* Effect.forkChild(engine.run)
      yield* TestClock.adjust("1 millis")
      // one page with the identity, one empty page
      assert.strictEqual(lists, 2)
      yield* TestClock.adjust("4 minutes")
      assert.strictEqual(lists, 2)
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(lists, 4)
      yield* Fiber.interrupt(loop)
    }))
})
