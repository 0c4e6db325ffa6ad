import { Simulator } from "@credsync/adapter-memory"
import { CredentialManager, Ids, type Observation, PortError } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"

const m = Simulator.defaultManagerId
const acsId = Simulator.defaultAcsId
const card = { cardFormat: "H10301", facilityCode: "42" }
const identity = (n: number) => Ids.UserIdentityId.make(`identity-${n}`)

/** A user with one enrolled phone. */
const enrolled = (sim: Simulator.Simulator, n = 1) =>
  Effect.gen(function* () {
    const user = yield* sim.manager.ensureUser(m, { id: identity(n) })
    const invitation = yield* sim.manager.invite(m, user)
    const endpoint = yield* sim.redeem(invitation.code)
    return { user, invitation, endpoint }
  })

const flipPortError = <A>(effect: Effect.Effect<A, PortError.PortError>) =>
  Effect.gen(function* () {
    const error = yield* Effect.flip(effect)
    assert.instanceOf(error, PortError.PortError)
    return error
  })

describe("Simulator", () => {
  it.effect("invitation codes look like XXXX-XXXX-XXXX-XXXX and are unique", () =>
    Effect.gen(function* () {
      const sim = Simulator.make()
      const user = yield* sim.manager.ensureUser(m, { id: identity(1) })
      const codes = new Set<string>()
      for (let i = 0; i < 50; i++) {
        const inv = yield* sim.manager.invite(m, user)
        assert.match(inv.code, /^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/)
        codes.add(inv.code)
      }
      assert.strictEqual(codes.size, 50)
    })
  )

  it.effect("redeem: unknown, cancelled, expired and already redeemed codes fail", () =>
    Effect.gen(function* () {
      const sim = Simulator.make({ invitationTtl: 1000 })
      const user = yield* sim.manager.ensureUser(m, { id: identity(1) })
      assert.strictEqual((yield* flipPortError(sim.redeem("NOPE-NOPE-NOPE-NOPE"))).reason, "NotFound")
      const cancelled = yield* sim.manager.invite(m, user)
      yield* sim.manager.cancelInvitation(m, cancelled.ref)
      assert.strictEqual((yield* flipPortError(sim.redeem(cancelled.code))).reason, "Conflict")
      const expired = yield* sim.manager.invite(m, user)
      assert.strictEqual(expired.expiresAt, 1000)
      yield* TestClock.adjust(1000)
      const view = yield* sim.manager.observe(m, user)
      assert.strictEqual(view.invitations.find((i) => i.ref === expired.ref)?.status, "expired")
      yield* flipPortError(sim.redeem(expired.code))
      const manual = yield* sim.manager.invite(m, user)
      yield* sim.expireInvitation(manual.ref)
      yield* flipPortError(sim.redeem(manual.code))
      const ok = yield* sim.manager.invite(m, user)
      const endpoint = yield* sim.redeem(ok.code)
      yield* flipPortError(sim.redeem(ok.code))
      const truth = yield* sim.truth()
      assert.deepStrictEqual(
        truth.endpoints.map((e) => [e.ref, e.invitation, e.status]),
        [[endpoint, ok.ref, "active"]]
      )
      const callbacks = yield* sim.takeCallbacks()
      assert.deepStrictEqual(
        callbacks.filter((c) => c._tag === "InvitationExpired").map((c) => c.at),
        [1000, 1000]
      )
    })
  )

  it.effect("card numbers are sequential from the pool start; an exhausted pool fails with InvalidInput", () =>
    Effect.gen(function* () {
      const sim = Simulator.make({ managers: [{ id: "cm_sim", cardNumberStart: 500, cardNumberPoolSize: 2 }] })
      const { user, endpoint } = yield* enrolled(sim)
      const a = yield* sim.manager.issue(m, { user, endpoint, card })
      const b = yield* sim.manager.issue(m, { user, endpoint, card })
      assert.deepStrictEqual([a.cardNumber, b.cardNumber], ["500", "501"])
      const error = yield* flipPortError(sim.manager.issue(m, { user, endpoint, card }))
      assert.strictEqual(error.reason, "InvalidInput")
      assert.strictEqual(error.message, "card number pool exhausted")
      assert.strictEqual((yield* sim.truth()).credentials.length, 2)
    })
  )

  it.effect("never deduplicates by itself, unless rejectDuplicateIssue (Conflict, like HID's 412)", () =>
    Effect.gen(function* () {
      const lax = Simulator.make()
      const l = yield* enrolled(lax)
      yield* lax.manager.issue(m, { user: l.user, endpoint: l.endpoint, card })
      yield* lax.manager.issue(m, { user: l.user, endpoint: l.endpoint, card })
      assert.strictEqual((yield* lax.truth()).credentials.filter((c) => c.live).length, 2)

      const strict = Simulator.make({ rejectDuplicateIssue: true })
      const s = yield* enrolled(strict)
      const first = yield* strict.manager.issue(m, { user: s.user, endpoint: s.endpoint, card })
      const error = yield* flipPortError(strict.manager.issue(m, { user: s.user, endpoint: s.endpoint, card }))
      assert.strictEqual(error.reason, "Conflict")
      // another profile is fine, and after a revoke the same profile is fine again
      yield* strict.manager.issue(m, { user: s.user, endpoint: s.endpoint, card: { ...card, facilityCode: "7" } })
      yield* strict.manager.revoke(m, first.ref)
      yield* strict.manager.issue(m, { user: s.user, endpoint: s.endpoint, card })
    })
  )

  it.effect("asynchronous issuance: issuing until issueDelay of Clock time has passed", () =>
    Effect.gen(function* () {
      const sim = Simulator.make({ issueDelay: 500 })
      assert.isTrue(sim.manager.systems[0]!.capabilities.asyncIssue)
      const { user, endpoint } = yield* enrolled(sim)
      const cred = yield* sim.manager.issue(m, { user, endpoint, card })
      assert.strictEqual(cred.status, "issuing")
      yield* TestClock.adjust(499)
      assert.strictEqual((yield* sim.manager.observe(m, user)).credentials[0]!.status, "issuing")
      yield* TestClock.adjust(1)
      assert.strictEqual((yield* sim.manager.observe(m, user)).credentials[0]!.status, "active")
      const other = yield* sim.manager.issue(m, { user, endpoint, card })
      yield* sim.completeIssuances()
      const truth = yield* sim.truth()
      assert.deepStrictEqual(
        truth.credentials.map((c) => [c.ref, c.status]),
        [
          [cred.ref, "active"],
          [other.ref, "active"]
        ]
      )
    })
  )

  it.effect("issueFailure: the issuance ends failed, reported by a CredentialFailed callback", () =>
    Effect.gen(function* () {
      const sim = Simulator.make({ issueDelay: 10, faults: { issueFailure: 1 } })
      const { user, endpoint } = yield* enrolled(sim)
      const cred = yield* sim.manager.issue(m, { user, endpoint, card })
      yield* TestClock.adjust(10)
      const listed = (yield* sim.manager.observe(m, user)).credentials[0]!
      assert.strictEqual(listed.status, "failed")
      assert.isDefined(listed.error)
      const callbacks = yield* sim.takeCallbacks()
      assert.isDefined(callbacks.find((c) => c._tag === "CredentialFailed" && c.credential === cred.ref))
    })
  )

  it.effect("removeEndpoint revokes the endpoint's live credentials (HID cascade)", () =>
    Effect.gen(function* () {
      const sim = Simulator.make()
      const { user, endpoint } = yield* enrolled(sim)
      const a = yield* sim.manager.issue(m, { user, endpoint, card })
      const b = yield* sim.manager.issue(m, { user, endpoint, card: { ...card, facilityCode: "9" } })
      yield* sim.manager.removeEndpoint(m, endpoint)
      const truth = yield* sim.truth()
      assert.deepStrictEqual(
        truth.credentials.map((c) => [c.ref, c.status]),
        [
          [a.ref, "revoked"],
          [b.ref, "revoked"]
        ]
      )
      assert.strictEqual(truth.endpoints[0]!.status, "removed")
      const error = yield* flipPortError(sim.manager.issue(m, { user, endpoint, card }))
      assert.strictEqual(error.reason, "Conflict")
    })
  )

  it.effect("observe has no side effects, even with due issuances and expiries", () =>
    Effect.gen(function* () {
      const sim = Simulator.make({ issueDelay: 100, invitationTtl: 100 })
      const { user, endpoint } = yield* enrolled(sim)
      yield* sim.manager.issue(m, { user, endpoint, card })
      yield* sim.manager.invite(m, user)
      yield* TestClock.adjust(1000)
      const before = sim.truthUnsafe()
      const a = yield* sim.manager.observe(m, user)
      const b = yield* sim.manager.observe(m, user)
      assert.deepStrictEqual(a, b)
      assert.deepStrictEqual({ ...sim.truthUnsafe(), calls: before.calls }, before, "observe changed the provider state")
      assert.strictEqual(sim.calls.observe, 2)
      assert.strictEqual(a.credentials[0]!.status, "active", "but it reports what is due")
    })
  )

  it.effect("lagMs: fresh records are missing and fresh revocations show the previous status", () =>
    Effect.gen(function* () {
      const sim = Simulator.make({ faults: { lagMs: 100 } })
      assert.strictEqual(sim.manager.systems[0]!.capabilities.listingLag, 100)
      const { user, endpoint } = yield* enrolled(sim)
      const view0 = yield* sim.manager.observe(m, user)
      assert.deepStrictEqual([view0.invitations.length, view0.endpoints.length], [0, 0])
      yield* TestClock.adjust(100)
      const cred = yield* sim.manager.issue(m, { user, endpoint, card })
      const view1 = yield* sim.manager.observe(m, user)
      assert.strictEqual(view1.endpoints.length, 1)
      assert.strictEqual(view1.credentials.length, 0, "a credential issued < lagMs ago is not listed")
      yield* TestClock.adjust(100)
      yield* sim.manager.revoke(m, cred.ref)
      assert.strictEqual((yield* sim.manager.observe(m, user)).credentials[0]!.status, "active")
      assert.strictEqual((yield* sim.truth()).credentials[0]!.status, "revoked", "the truth does not lag")
      yield* TestClock.adjust(99)
      assert.strictEqual((yield* sim.manager.observe(m, user)).credentials[0]!.status, "active")
      yield* TestClock.adjust(1)
      assert.strictEqual((yield* sim.manager.observe(m, user)).credentials[0]!.status, "revoked")
      yield* sim.setFaults({})
      assert.strictEqual(sim.manager.systems[0]!.capabilities.listingLag, 0)
    })
  )

  it.effect("failNext scripts one failure: Transient before the change, Ambiguous after it, Crash dies after it", () =>
    Effect.gen(function* () {
      const sim = Simulator.make()
      const user = yield* sim.manager.ensureUser(m, { id: identity(1) })
      yield* sim.failNext("invite", "Transient")
      assert.strictEqual((yield* flipPortError(sim.manager.invite(m, user))).reason, "Transient")
      assert.strictEqual((yield* sim.truth()).invitations.length, 0, "nothing happened")
      yield* sim.failNext("invite", "RateLimited")
      const limited = yield* flipPortError(sim.manager.invite(m, user))
      assert.strictEqual(limited.reason, "RateLimited")
      assert.strictEqual(limited.retryAfter, 1000)
      yield* sim.failNext("invite", "Ambiguous")
      assert.strictEqual((yield* flipPortError(sim.manager.invite(m, user))).reason, "Ambiguous")
      assert.strictEqual((yield* sim.truth()).invitations.length, 1, "the change was applied")
      yield* sim.failNext("invite", "Crash")
      const exit = yield* Effect.exit(sim.manager.invite(m, user))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        assert.isTrue(Cause.hasDies(exit.cause))
        assert.isTrue(Simulator.isSimulatedCrash(Cause.squash(exit.cause)))
      }
      assert.strictEqual((yield* sim.truth()).invitations.length, 2, "the change was applied before the crash")
      yield* sim.manager.invite(m, user)
      assert.strictEqual(sim.calls.invite, 5, "every call is counted")
    })
  )

  it.effect("seeded faults are deterministic: same seed, same outcomes; every outcome kind happens", () =>
    Effect.gen(function* () {
      const faults = { transient: 0.2, rateLimited: 0.1, lostResponse: 0.2, retryAfter: 50 }
      const runOnce = (seed: number) =>
        Effect.gen(function* () {
          const sim = Simulator.make({ seed, faults })
          const user = yield* sim.manager.ensureUser(m, { id: identity(1) }).pipe(Effect.retry({ times: 100 }))
          const outcomes: Array<string> = []
          for (let i = 0; i < 200; i++) {
            const r = yield* Effect.result(sim.manager.invite(m, user))
            outcomes.push(r._tag === "Success" ? "ok" : r.failure.reason)
          }
          const truth = yield* sim.truth()
          return { outcomes, invitations: truth.invitations.map((i) => i.code) }
        })
      const a = yield* runOnce(42)
      const b = yield* runOnce(42)
      const c = yield* runOnce(43)
      assert.deepStrictEqual(a, b)
      assert.notDeepEqual(a.outcomes, c.outcomes)
      for (const kind of ["ok", "Transient", "RateLimited", "Ambiguous"]) assert.include(a.outcomes, kind)
      const applied = a.outcomes.filter((o) => o === "ok" || o === "Ambiguous").length
      assert.strictEqual(a.invitations.length, applied, "lost responses were applied, transient ones were not")
    })
  )

  it.effect("per-operation faults override the defaults; setFaults replaces them at run time", () =>
    Effect.gen(function* () {
      const sim = Simulator.make({ faults: { transient: 1, ops: { ensureUser: { transient: 0 } } } })
      const user = yield* sim.manager.ensureUser(m, { id: identity(1) })
      assert.strictEqual((yield* flipPortError(sim.manager.invite(m, user))).reason, "Transient")
      yield* sim.setFaults({ ops: { issue: { lostResponse: 1 } } })
      const inv = yield* sim.manager.invite(m, user)
      const endpoint = yield* sim.redeem(inv.code)
      assert.strictEqual((yield* flipPortError(sim.manager.issue(m, { user, endpoint, card }))).reason, "Ambiguous")
      assert.strictEqual((yield* sim.truth()).credentials.length, 1)
    })
  )

  it.effect("crash faults die with SimulatedCrash after applying the change", () =>
    Effect.gen(function* () {
      const sim = Simulator.make({ faults: { ops: { acsImport: { crash: 1 } } } })
      const exit = yield* Effect.exit(
        sim.acs.importCredential(acsId, { cardNumber: "1", card, label: "credsync:c" })
      )
      assert.isTrue(Exit.isFailure(exit) && Simulator.isSimulatedCrash(Cause.squash(exit.cause)))
      assert.strictEqual((yield* sim.truth()).acsEntries.length, 1)
    })
  )

  it.effect("latency sleeps in Clock time before the call", () =>
    Effect.gen(function* () {
      const sim = Simulator.make({ faults: { ops: { ensureUser: { latencyMs: 1000 } } } })
      const fiber = yield* Effect.forkChild(sim.manager.ensureUser(m, { id: identity(1) }))
      yield* TestClock.adjust(999)
      assert.strictEqual((yield* sim.truth()).users.length, 0)
      yield* TestClock.adjust(1)
      yield* Fiber.join(fiber)
      assert.strictEqual((yield* sim.truth()).users.length, 1)
    })
  )

  it.effect("callbacks: every provider change is reported; takeCallbacks clears the outbox", () =>
    Effect.gen(function* () {
      const sim = Simulator.make({ issueDelay: 10 })
      const { user, endpoint, invitation } = yield* enrolled(sim)
      const cred = yield* sim.manager.issue(m, { user, endpoint, card })
      yield* TestClock.adjust(10)
      yield* sim.manager.revoke(m, cred.ref)
      yield* sim.manager.removeEndpoint(m, endpoint)
      const entry = yield* sim.acs.importCredential(acsId, { cardNumber: "100000", card, label: "credsync:x" })
      yield* sim.acs.remove(acsId, entry.ref)
      const callbacks = yield* sim.takeCallbacks()
      assert.deepStrictEqual(
        callbacks.map((c) => c._tag),
        [
          "InvitationCreated",
          "EndpointActive",
          "CredentialIssued",
          "CredentialIssued",
          "CredentialRevoked",
          "EndpointRemoved",
          "AcsImported",
          "AcsRemoved"
        ]
      )
      const active = callbacks[1]!
      assert.isTrue(active._tag === "EndpointActive" && active.invitation === invitation.ref)
      assert.isTrue(active._tag === "EndpointActive" && active.userIdentityId === identity(1))
      assert.deepStrictEqual(yield* sim.takeCallbacks(), [])
    })
  )

  it.effect("duplicated and reordered callbacks are seeded", () =>
    Effect.gen(function* () {
      const runOnce = (seed: number) =>
        Effect.gen(function* () {
          const sim = Simulator.make({ seed, faults: { duplicateCallbacks: 0.5, reorderCallbacks: 0.5 } })
          const user = yield* sim.manager.ensureUser(m, { id: identity(1) })
          for (let i = 0; i < 20; i++) yield* sim.manager.invite(m, user)
          return yield* sim.takeCallbacks()
        })
      const a = yield* runOnce(7)
      assert.deepStrictEqual(yield* runOnce(7), a)
      assert.isAbove(a.length, 20, "some callbacks were duplicated")
      const refs = (cs: ReadonlyArray<Observation.Observation>) =>
        cs.flatMap((c) => (c._tag === "InvitationCreated" ? [c.invitation] : []))
      assert.strictEqual(new Set(refs(a)).size, 20, "none was lost")
      const firstSeen = [...new Set(refs(a))]
      assert.notDeepEqual(firstSeen, [...firstSeen].sort((x, y) => Number(x.slice(4)) - Number(y.slice(4))))
    })
  )

  it.effect("drift controls: delete, duplicate, remove endpoint and ACS entry behind the engine's back", () =>
    Effect.gen(function* () {
      const sim = Simulator.make()
      const { user, endpoint } = yield* enrolled(sim)
      const a = yield* sim.manager.issue(m, { user, endpoint, card })
      const dup = yield* sim.duplicateCredential(a.ref)
      let view = yield* sim.manager.observe(m, user)
      const live = view.credentials.filter(CredentialManager.isLive)
      assert.deepStrictEqual(
        live.map((c) => c.ref),
        [a.ref, dup]
      )
      assert.notStrictEqual(live[0]!.cardNumber, live[1]!.cardNumber)
      assert.strictEqual(live[1]!.endpoint, endpoint)
      assert.strictEqual(live[1]!.facilityCode, card.facilityCode)
      yield* sim.deleteCredential(a.ref)
      view = yield* sim.manager.observe(m, user)
      assert.deepStrictEqual(
        view.credentials.map((c) => c.ref),
        [dup]
      )
      yield* sim.removeEndpointBehindBack(endpoint)
      view = yield* sim.manager.observe(m, user)
      assert.strictEqual(view.endpoints[0]!.status, "removed")
      assert.strictEqual(view.credentials[0]!.status, "revoked")
      const entry = yield* sim.acs.importCredential(acsId, { cardNumber: "1", card, label: "credsync:x" })
      yield* sim.removeAcsEntry(entry.ref)
      assert.deepStrictEqual(yield* sim.acs.observe(acsId, { users: [], cardNumbers: ["1"] }), [])
      assert.strictEqual(sim.calls.issue, 1, "test controls are not counted as calls")
      yield* flipPortError(sim.deleteCredential(a.ref))
    })
  )

  it.effect("several managers: separate pools, and refs of one are unknown to the other", () =>
    Effect.gen(function* () {
      const sim = Simulator.make({
        managers: [
          { id: "cm_a", cardNumberStart: 10 },
          { id: "cm_b", cardNumberStart: 10, name: "B" }
        ]
      })
      const [ma, mb] = sim.manager.systems.map((s) => s.id)
      const ua = yield* sim.manager.ensureUser(ma!, { id: identity(1) })
      const ub = yield* sim.manager.ensureUser(mb!, { id: identity(1) })
      assert.notStrictEqual(ua, ub)
      assert.strictEqual((yield* flipPortError(sim.manager.observe(mb!, ua))).reason, "NotFound")
      const ia = yield* sim.manager.invite(ma!, ua)
      const ib = yield* sim.manager.invite(mb!, ub)
      const ea = yield* sim.redeem(ia.code)
      const eb = yield* sim.redeem(ib.code)
      const ca = yield* sim.manager.issue(ma!, { user: ua, endpoint: ea, card })
      const cb = yield* sim.manager.issue(mb!, { user: ub, endpoint: eb, card })
      assert.deepStrictEqual([ca.cardNumber, cb.cardNumber], ["10", "10"])
      yield* sim.manager.revoke(mb!, ca.ref)
      assert.strictEqual((yield* sim.truth()).credentials.find((c) => c.ref === ca.ref)!.status, "active")
    })
  )

  it.effect("ACS: users, import by card number, assignment and removal", () =>
    Effect.gen(function* () {
      const sim = Simulator.make()
      const u = yield* sim.acs.createUser(acsId, { fullName: "Jane" })
      const e = yield* sim.acs.importCredential(acsId, { cardNumber: "77", card, label: "credsync:c1" })
      yield* sim.acs.assign(acsId, e.ref, u.id)
      const truth = yield* sim.truth()
      assert.deepStrictEqual(
        truth.acsEntries.map((x) => [x.cardNumber, x.assignedTo]),
        [["77", u.id]]
      )
      yield* sim.acs.remove(acsId, e.ref)
      const again = yield* sim.acs.importCredential(acsId, { cardNumber: "77", card, label: "credsync:c2" })
      assert.notStrictEqual(again.ref, e.ref, "a removed card number can be imported again")
      assert.deepStrictEqual(yield* sim.acs.observe(acsId, { users: [u.id], cardNumbers: [] }), [])
    })
  )

  it.effect("truth counts calls per operation (issue calls per credential)", () =>
    Effect.gen(function* () {
      const sim = Simulator.make({ faults: { ops: { issue: { transient: 0.5 } } }, seed: 9 })
      const { user, endpoint } = yield* enrolled(sim)
      for (let i = 0; i < 10; i++) {
        yield* sim.manager.issue(m, { user, endpoint, card }).pipe(Effect.retry({ times: 50 }))
      }
      const truth = yield* sim.truth()
      assert.strictEqual(truth.credentials.length, 10)
      assert.isAbove(truth.calls.issue, 10)
      assert.strictEqual(truth.calls.issue, sim.calls.issue)
    })
  )
})
