/**
 * The planner's rules at their edges, for a manager that does not replicate (HID style): what a
 * plan reads from its context (capabilities once, defaults), the listing-lag and in-flight
 * boundaries, credentials and enrollments that disappeared, the wait for a free endpoint, and that
 * every event it emits is a valid domain event (the store persists them as they are).
 */
import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import { fold } from "../src/Aggregate.js"
import { DomainEvent } from "../src/Event.js"
import * as Identity from "../src/Identity.js"
import type { IdentityState } from "../src/Identity.js"
import { type Observed, type Plan, type PlanContext, plan } from "../src/Plan.js"
import { acs, apply, base, caps, cm, cm2, cred, entry, observed, ref, issuingKind, twoPhonesRedeemed as invited, view } from "./planFixtures.js"

const decodeEvent = Schema.decodeUnknownResult(DomainEvent)

/** plan, and every event it emits must decode as a DomainEvent (what the store would persist). */
const run = (s: IdentityState, o: Observed, ctx: PlanContext): Plan => {
  const p = plan(s, o, ctx)
  for (const e of p.events) {
    const decoded = decodeEvent(e)
    if (Result.isFailure(decoded)) assert.fail(`invalid ${e._tag}: ${decoded.failure.message}`)
  }
  return p
}

/** Both phones enrolled, one phone credential requested on each (at time 0). */
const requested = (parents: ReadonlyArray<readonly [string, string]> = [["c1", "rfid48"]]) => {
  const { s, v } = invited(parents)
  const st = fold(s, plan(s, observed(v), { now: 0, kind: issuingKind, capabilities: caps() }).events)!
  const on = (endpoint: string) => st.children.find((c) => c.endpoint === ref(endpoint))!
  return { st, v, k1: on("ep1"), k2: on("ep2") }
}

const lost = (p: Plan) => p.events.flatMap((e) => (e._tag === "CredentialLost" ? [[e.credentialId, e.reason]] : []))

describe("plan's context", () => {
  it("reads each manager's capabilities once per plan (a provider may compute them per call)", () => {
    const { st, v } = requested()
    let calls = 0
    const p = run(st, observed(v), {
      now: 0,
      kind: issuingKind,
      capabilities: () => {
        calls++
        return caps()()
      }
    })
    assert.strictEqual(calls, 1)
    assert.lengthOf(lost(p), 2, "the capabilities were used: lag 0, both requests concluded lost")
  })

  it("plans a manager with no kind and no capabilities (no port serves it) as one without listing lag that does not replicate", () => {
    const { st, v, k1, k2 } = requested()
    const p = run(st, observed(v), { now: 0, kind: () => undefined, capabilities: () => undefined })
    assert.deepStrictEqual(lost(p), [
      [k1.id, "the issue request did not take effect"],
      [k2.id, "the issue request did not take effect"]
    ])
    assert.deepStrictEqual(
      p.actions.map((a) => a._tag),
      ["Issue", "Issue"]
    )
  })

  it("waits for the later of the listing lag and an earlier holder's in-flight time", () => {
    const { st, v } = requested()
    // requested at 0, lag 100, the earlier holder's calls may land until 50: the lag decides
    const early = run(st, observed(v), { now: 60, kind: issuingKind, capabilities: caps(100), inFlightUntil: 50 })
    assert.deepStrictEqual(lost(early), [])
    assert.strictEqual(early.wakeAt, 100)
    assert.lengthOf(lost(run(st, observed(v), { now: 100, kind: issuingKind, capabilities: caps(100), inFlightUntil: 50 })), 2)
  })

  it("asks nothing of a manager for an identity being deleted, and ends its enrollments", () => {
    const { st, v } = requested()
    const deleting = apply(st, { _tag: "DeleteUserIdentity", userIdentityId: "u1" })
    const p = run(deleting, observed(v), { now: 1, kind: issuingKind, capabilities: caps() })
    assert.isFalse(p.actions.some((a) => a._tag === "EnsureManagerUser" || a._tag === "Invite" || a._tag === "Issue"))
    // its phone credentials are retired, for the parent being deleted
    assert.deepStrictEqual(
      p.events.flatMap((e) => (e._tag === "CredentialRetiring" ? [e.reason] : [])),
      ["parent_deleted", "parent_deleted"]
    )
    // and nothing new is set up when no manager user exists yet
    const fresh = apply(apply(undefined, { _tag: "CreateUserIdentity", userIdentityId: "u2" }), { _tag: "DeleteUserIdentity", userIdentityId: "u2" })
    assert.deepStrictEqual(run(fresh, { managers: new Map(), acs: new Map() }, { now: 1, kind: issuingKind, capabilities: caps() }).actions, [])
  })
})

describe("plan: what disappeared at the manager", () => {
  it("ends an enrollment whose endpoint the manager no longer lists", () => {
    const { st, v } = requested()
    const p = run(st, observed({ ...v, endpoints: [v.endpoints[1]!] }), { now: 1, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(
      p.events.flatMap((e) => (e._tag === "EnrollmentEnded" ? [[e.key, e.reason]] : [])),
      [["p1|cm", "endpoint_removed"]]
    )
  })

  it("concludes lost an issuing credential the manager no longer lists, even while the ACS is unseen", () => {
    const { st, v, k1 } = requested()
    const issuing = fold(st, [{ _tag: "CredentialIssued", identity: st.id, at: 1, credentialId: k1.id, ref: ref("k1"), active: false }])!
    // no card number yet: nothing of it can be in the ACS, so no need to see the ACS first
    const p = run(issuing, { managers: new Map([[cm, v]]), acs: new Map() }, { now: 2, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(lost(p).filter(([id]) => id === k1.id), [[k1.id, "missing at the credential manager"]])
  })

  it("concludes lost at once, within the lag, a credential the manager lists as revoked", () => {
    const { st, v, k1 } = requested()
    const active = fold(st, [{ _tag: "CredentialIssued", identity: st.id, at: 1, credentialId: k1.id, ref: ref("k1"), active: true, cardNumber: "11" }])!
    const p = run(active, observed({ ...v, credentials: [cred("k1", "ep1", "11", "revoked")] }), { now: 2, kind: issuingKind, capabilities: caps(1_000) })
    assert.deepStrictEqual(lost(p), [[k1.id, "revoked at the credential manager"]])
  })

  it("leaves a failed or retiring credential that disappeared to its own rules", () => {
    const { st, v, k1 } = requested()
    const active = fold(st, [{ _tag: "CredentialIssued", identity: st.id, at: 1, credentialId: k1.id, ref: ref("k1"), active: true, cardNumber: "11" }])!
    const failed = fold(active, [{ _tag: "CredentialFailed", identity: st.id, at: 1, credentialId: k1.id, error: { code: "x", message: "x", at: 1 } }])!
    assert.deepStrictEqual(lost(run(failed, observed(v), { now: 2, kind: issuingKind, capabilities: caps() })).filter(([id]) => id === k1.id), [])
    // retiring (its phone was deactivated): revoked and forgotten, not lost and re-issued
    const off = apply(active, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p1" })
    const retiring = fold(off, run(off, observed({ ...v, credentials: [cred("k1", "ep1", "11")] }), { now: 2, kind: issuingKind, capabilities: caps() }).events)!
    assert.isTrue(Identity.child(retiring, k1.id)?.retiring)
    const p = run(retiring, observed(v), { now: 3, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(lost(p).filter(([id]) => id === k1.id), [])
    assert.isTrue(p.events.some((e) => e._tag === "CredentialRevoked" && e.credentialId === k1.id))
  })

  it("removes from the ACS only the lost credential's own entry", () => {
    const { st, v, k1 } = requested()
    const active = fold(st, [{ _tag: "CredentialIssued", identity: st.id, at: 1, credentialId: k1.id, ref: ref("k1"), active: true, cardNumber: "11" }])!
    const p = run(active, observed(v, [entry("e9", "99", "someone else's")]), { now: 2, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(p.actions.filter((a) => a._tag === "RemoveFromAcs"), [])
    assert.deepStrictEqual(lost(p).filter(([id]) => id === k1.id), [[k1.id, "missing at the credential manager"]])
  })

  it("judges a request by its own manager's listing, not by another observed manager's", () => {
    const { st } = requested()
    const p = run(st, { managers: new Map([[cm2, view({ user: ref("usr2") })]]), acs: new Map([[acs, []]]) }, { now: 5, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(lost(p), [])
    assert.deepStrictEqual(p.actions, [])
  })
})

describe("plan: endpoints", () => {
  it("removes an endpoint whose enrollment ended, and one made twice from the same invitation", () => {
    const { st, v } = requested()
    const ended = fold(st, [{ _tag: "EnrollmentEnded", identity: st.id, at: 1, key: "p1|cm", reason: "endpoint_removed" }])!
    const p = run(ended, observed(v), { now: 2, kind: issuingKind, capabilities: caps() })
    assert.isTrue(p.actions.some((a) => a._tag === "RemoveEndpoint" && a.endpoint === ref("ep1")))
    // p2 is enrolled at ep2 (from i2); a second endpoint made from i2 belongs to no enrollment
    const twice = run(st, observed({ ...v, endpoints: [...v.endpoints, { ref: ref("ep9"), invitation: ref("i2"), status: "active" }] }), { now: 2, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(
      twice.actions.flatMap((a) => (a._tag === "RemoveEndpoint" ? [a.endpoint] : [])),
      [ref("ep9")]
    )
  })

  it("gives each enrollment its own id: per phone, and per generation", () => {
    const { s, v } = invited()
    const ids = [Identity.enrollmentByKey(s, "p1|cm")!.id, Identity.enrollmentByKey(s, "p2|cm")!.id]
    assert.notStrictEqual(ids[0], ids[1])
    const st = fold(s, run(s, observed(v), { now: 0, kind: issuingKind, capabilities: caps() }).events)!
    const ended = fold(st, [{ _tag: "EnrollmentEnded", identity: st.id, at: 1, key: "p1|cm", reason: "endpoint_removed" }])!
    const again = run(ended, observed({ ...v, endpoints: [v.endpoints[1]!] }), { now: 2, kind: issuingKind, capabilities: caps() })
    const requestedAgain = again.events.find((e) => e._tag === "EnrollmentRequested")
    assert.strictEqual(requestedAgain?._tag === "EnrollmentRequested" ? requestedAgain.enrollment.generation : undefined, 2)
    assert.notInclude(ids, requestedAgain?._tag === "EnrollmentRequested" ? requestedAgain.enrollment.id : undefined)
  })
})

describe("plan: one live credential per profile per endpoint", () => {
  /** Both phones enrolled, nothing requested yet. */
  const enrolledOnly = () => {
    const { s, v } = invited()
    const p = plan(s, observed(v), { now: 0, kind: issuingKind, capabilities: caps() })
    return { s: fold(s, p.events.filter((e) => e._tag === "PhoneEnrolled"))!, v }
  }

  it("does not issue while the manager is not observed, and looks again after the poll interval", () => {
    const { s } = enrolledOnly()
    const p = run(s, { managers: new Map(), acs: new Map([[acs, []]]) }, { now: 10, kind: issuingKind, capabilities: caps(), pollMs: 300 })
    assert.deepStrictEqual(p.actions, [])
    assert.deepStrictEqual(p.events, [])
    assert.strictEqual(p.wakeAt, 310)
  })

  it("waits while the manager lists another live credential of the profile on the endpoint", () => {
    const { s, v } = enrolledOnly()
    const p = run(s, observed({ ...v, credentials: [cred("x", "ep1", "5")] }), { now: 10, kind: issuingKind, capabilities: caps(), pollMs: 300 })
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "Issue" ? [a._tag, a.endpoint] : a._tag === "Revoke" ? [a._tag, a.credential] : a._tag)),
      [
        ["Revoke", ref("x")],
        ["Issue", ref("ep2")]
      ]
    )
    assert.strictEqual(p.wakeAt, 310)
    // another profile's credential does not hold the endpoint
    const other = run(s, observed({ ...v, credentials: [cred("x", "ep1", "5", "active", "h10301")] }), { now: 10, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(
      other.actions.flatMap((a) => (a._tag === "Issue" ? [a.endpoint] : [])),
      [ref("ep1"), ref("ep2")]
    )
  })

  it("waits while a credential of a deleted parent with the same profile is still tracked on the endpoint", () => {
    const { st, v, k1, k2 } = requested()
    let s = fold(st, [
      { _tag: "CredentialIssued", identity: st.id, at: 1, credentialId: k1.id, ref: ref("k1"), active: true, cardNumber: "11" },
      { _tag: "CredentialIssued", identity: st.id, at: 1, credentialId: k2.id, ref: ref("k2"), active: true, cardNumber: "12" }
    ])!
    s = apply(s, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" })
    s = apply(s, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c2", acsUserId: "acsu1", managerId: "cm", cardFormat: "rfid48", facilityCode: "9" })
    // the manager's listing no longer shows them (listing lag): the engine's own records hold the endpoints
    const p = run(s, observed(v), { now: 5, kind: issuingKind, capabilities: caps(1_000), pollMs: 300 })
    assert.isFalse(p.actions.some((a) => a._tag === "Issue"))
    assert.strictEqual(p.wakeAt, 305)
  })
})

describe("plan: enrollments ended and credentials retired, at their edges", () => {
  it("ends an invited enrollment whose endpoint was removed before it was seen, for that reason", () => {
    const { s, v } = invited([])
    const p = run(s, observed({ ...v, endpoints: [{ ref: ref("ep1"), invitation: ref("i1"), status: "removed" }, v.endpoints[1]!] }), { now: 1, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(
      p.events.flatMap((e) => (e._tag === "EnrollmentEnded" ? [[e.key, e.reason]] : [])),
      [["p1|cm", "endpoint_removed"]]
    )
  })

  it("ends the enrollment of a deactivated phone still waiting for its invitation, with nothing to cancel", () => {
    const s = base(["p1"], [])
    const inviting = fold(s, run(s, observed(view({})), { now: 0, kind: issuingKind, capabilities: caps(100) }).events)!
    assert.strictEqual(Identity.enrollmentByKey(inviting, "p1|cm")?.status, "inviting")
    const off = apply(inviting, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p1" })
    const p = run(off, observed(view({})), { now: 1, kind: issuingKind, capabilities: caps(100) })
    assert.deepStrictEqual(
      p.events.flatMap((e) => (e._tag === "EnrollmentEnded" ? [[e.key, e.reason]] : [])),
      [["p1|cm", "not_wanted"]]
    )
    assert.deepStrictEqual(p.actions, [])
  })

  it("records a requested credential as not yet assigned in the ACS", () => {
    const { st, k1, k2 } = requested()
    assert.deepStrictEqual([Identity.child(st, k1.id)?.assigned, Identity.child(st, k2.id)?.assigned], [false, false])
    assert.deepStrictEqual([k1.retiring, k1.issue], [false, "requested"])
  })

  it("imports only an active credential, and imports again an entry lost from the ACS", () => {
    const { st, v, k1 } = requested()
    const issuing = fold(st, [{ _tag: "CredentialIssued", identity: st.id, at: 1, credentialId: k1.id, ref: ref("k1"), active: false, cardNumber: "11" }])!
    const early = run(issuing, observed({ ...v, credentials: [cred("k1", "ep1", "11", "issuing")] }), { now: 2, kind: issuingKind, capabilities: caps() })
    assert.isFalse(early.actions.some((a) => a._tag === "Import"))
    const imported = fold(st, [
      { _tag: "CredentialIssued", identity: st.id, at: 1, credentialId: k1.id, ref: ref("k1"), active: true, cardNumber: "11" },
      { _tag: "CredentialImported", identity: st.id, at: 1, credentialId: k1.id, acsRef: ref("e1") },
      { _tag: "CredentialAssigned", identity: st.id, at: 1, credentialId: k1.id }
    ])!
    const gone = run(imported, observed({ ...v, credentials: [cred("k1", "ep1", "11")] }, []), { now: 3, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(
      gone.events.flatMap((e) => (e._tag === "CredentialAcsLost" ? [e.credentialId] : [])),
      [k1.id]
    )
    assert.isTrue(gone.actions.some((a) => a._tag === "Import" && a.credentialId === k1.id))
  })

  /** k1 active (card 11, issued at `issuedAt`), then its phone deactivated: retiring. */
  const retiring = (issuedAt = 1, lag = 0) => {
    const { st, v, k1 } = requested()
    const active = fold(st, [{ _tag: "CredentialIssued", identity: st.id, at: issuedAt, credentialId: k1.id, ref: ref("k1"), active: true, cardNumber: "11" }])!
    const off = apply(active, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p1" })
    const s = fold(off, [{ _tag: "CredentialRetiring", identity: off.id, at: issuedAt, credentialId: k1.id, reason: "phone_deactivated" }])!
    return { s, v, k1, ctx: (now: number) => ({ now, kind: issuingKind, capabilities: caps(lag) }) }
  }
  const revoked = (p: Plan) => p.events.flatMap((e) => (e._tag === "CredentialRevoked" ? [e.credentialId] : []))
  const revokes = (p: Plan) => p.actions.flatMap((a) => (a._tag === "Revoke" ? [a.credential] : []))

  it("forgets a retiring credential the manager no longer lists once its ACS entry is gone, without revoking it again", () => {
    const { s, v, k1, ctx } = retiring()
    const withEntry = run(s, observed(v, [entry("e1", "11")]), ctx(5))
    assert.deepStrictEqual(
      withEntry.actions.flatMap((a) => (a._tag === "RemoveFromAcs" ? [[a.entry, a.why]] : [])),
      [[ref("e1"), "retiring"]]
    )
    assert.deepStrictEqual(revoked(withEntry), [], "not before its entry is out of the ACS")
    const clear = run(s, observed(v, []), ctx(5))
    assert.deepStrictEqual(revoked(clear), [k1.id])
    assert.deepStrictEqual(revokes(clear), [])
    // the ACS not observed: wait
    assert.deepStrictEqual(revoked(run(s, { managers: new Map([[cm, v]]), acs: new Map() }, ctx(5))), [])
  })

  it("revokes a retiring credential issued within the listing lag though the manager does not list it yet", () => {
    // requested at 0, issued at 900, lag 1 s: at 1_000 it may be live without being listed
    const { s, v, k1, ctx } = retiring(900, 1_000)
    const p = run(s, observed(v, []), ctx(1_000))
    assert.deepStrictEqual(revokes(p), [ref("k1")])
    assert.deepStrictEqual(revoked(p), [])
    assert.strictEqual(p.wakeAt, 1_900)
    assert.deepStrictEqual(revoked(run(s, observed(v, []), ctx(1_900))), [k1.id])
  })

  it("forgets at once a retiring credential that was lost, and waits on one whose request may still land", () => {
    const { st, v, k1, k2 } = requested()
    // k1: lost at 1 (pending, no reference); k2: still requested (at 0); both retiring with the phones
    let s = fold(st, [{ _tag: "CredentialLost", identity: st.id, at: 1, credentialId: k1.id, reason: "x" }])!
    s = apply(apply(s, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p1" }), { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p2" })
    const p = run(s, observed(v, []), { now: 2, kind: issuingKind, capabilities: caps(1_000) })
    assert.deepStrictEqual(revoked(p), [k1.id])
    assert.deepStrictEqual(revokes(p), [])
    assert.strictEqual(p.wakeAt, 1_000, "k2's request is concluded after the lag")
    assert.deepStrictEqual(revoked(run(fold(s, p.events)!, observed(v, []), { now: 1_000, kind: issuingKind, capabilities: caps(1_000) })), [k2.id])
  })

  it("forgets a deleted parent that has no phone credential left, whether or not its manager is observed", () => {
    let s = base(["p1"], [["c1", "rfid48"]])
    s = apply(s, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" })
    const p = run(s, { managers: new Map(), acs: new Map() }, { now: 1, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(
      p.events.flatMap((e) => (e._tag === "ParentRemoved" ? [e.credentialId] : [])),
      [Identity.parent(s, "c1")!.id]
    )
  })
})
