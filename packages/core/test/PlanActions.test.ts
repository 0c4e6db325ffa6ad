/**
 * What `plan` asks for, action by action: every distinct action is kept (two of a kind are two
 * calls, never folded into one), each carries the reason it gives, and failures are surfaced with
 * their code and message. The level-based engine would converge anyway if one were dropped, a
 * round later; these tests see the difference.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { decide, decodeCommand, fold } from "../src/Aggregate.js"
import type { ManagerCredential, ManagerView } from "../src/CredentialManager.js"
import * as Identity from "../src/Identity.js"
import type { IdentityState } from "../src/Identity.js"
import { AcsSystemId } from "../src/Ids.js"
import { type Observed, plan } from "../src/Plan.js"
import { acs, apply, base, caps, cm, cm2, cred, entry, observed, ref, issuingKind, twoPhonesRedeemed as enrolled, view } from "./planFixtures.js"

const tags = (p: { readonly actions: ReadonlyArray<{ readonly _tag: string }> }) => p.actions.map((a) => a._tag)

describe("plan asks for every distinct action, once", () => {
  it("one manager user per manager", () => {
    let s = base([], [])
    s = apply(s, { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a2", managerId: "cm2" })
    const fresh = apply(apply(undefined, { _tag: "CreateUserIdentity", userIdentityId: "u2" }), { _tag: "LaunchAutomation", userIdentityId: "u2", automationId: "b1", managerId: "cm" })
    const both = apply(fresh, { _tag: "LaunchAutomation", userIdentityId: "u2", automationId: "b2", managerId: "cm2" })
    const p = plan(both, { managers: new Map(), acs: new Map() }, { now: 0, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "EnsureManagerUser" ? a.managerId : a._tag)),
      [cm, cm2]
    )
    assert.isDefined(s)
  })

  it("an invitation per phone, and an issue per (parent, phone)", () => {
    const s = base(["p1", "p2"], [])
    const p = plan(s, observed(view({})), { now: 0, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(tags(p), ["Invite", "Invite"])
    const { s: e, v } = enrolled([
      ["c1", "rfid48"],
      ["c2", "h10301"]
    ])
    const issue = plan(e, observed(v), { now: 0, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(tags(issue), ["Issue", "Issue", "Issue", "Issue"])
  })

  it("revokes each credential nobody claims, as unclaimed", () => {
    const { s, v } = enrolled([])
    const p = plan(s, observed({ ...v, credentials: [cred("x1", "ep1", "1"), cred("x2", "ep2", "2"), cred("x3", "ep2", "3", "revoked")] }), { now: 0, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "Revoke" ? [a.credential, a.why] : a._tag)),
      [
        [ref("x1"), "unclaimed"],
        [ref("x2"), "unclaimed"]
      ]
    )
  })

  it("cancels each invitation nobody holds, and removes each endpoint no enrollment uses", () => {
    const { s, v } = enrolled([])
    const p = plan(
      fold(s, plan(s, observed(v), { now: 0, kind: issuingKind, capabilities: caps() }).events)!,
      observed({
        ...v,
        invitations: [...v.invitations, { ref: ref("i8"), code: "X", status: "pending" }, { ref: ref("i9"), code: "Y", status: "pending" }],
        endpoints: [...v.endpoints, { ref: ref("ep8"), status: "active" }, { ref: ref("ep9"), status: "active" }, { ref: ref("ep7"), status: "removed" }]
      }),
      { now: 0, kind: issuingKind, capabilities: caps() }
    )
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "CancelInvitation" ? a.invitation : a._tag === "RemoveEndpoint" ? a.endpoint : a._tag)),
      [ref("i8"), ref("i9"), ref("ep8"), ref("ep9")]
    )
  })

  it("imports each active credential into the ACS, assigns each to the ACS user, and removes each unclaimed entry", () => {
    const { s, v } = enrolled()
    let st = fold(s, plan(s, observed(v), { now: 0, kind: issuingKind, capabilities: caps() }).events)!
    const children = st.children
    const creds = [cred("k1", "ep1", "11"), cred("k2", "ep2", "12")]
    st = fold(
      st,
      children.map((c, n) => ({ _tag: "CredentialIssued", identity: st.id, at: 1, credentialId: c.id, ref: creds[n]!.ref, active: true, cardNumber: creds[n]!.cardNumber }) as never)
    )!
    const imports = plan(st, observed({ ...v, credentials: creds }), { now: 2, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(
      imports.actions.map((a) => (a._tag === "Import" ? a.cardNumber : a._tag)),
      ["11", "12"]
    )
    const assigns = plan(st, observed({ ...v, credentials: creds }, [entry("e1", "11"), entry("e2", "12", "credsync:y", "someone-else"), entry("e3", "99"), entry("e4", "98"), entry("e5", "97", "theirs")]), { now: 2, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(
      assigns.actions.map((a) => (a._tag === "Assign" ? [a._tag, a.entry, a.acsUserId] : a._tag === "RemoveFromAcs" ? [a._tag, a.entry, a.why] : a._tag)),
      [
        ["Assign", ref("e1"), "acsu1"],
        ["Assign", ref("e2"), "acsu1"],
        ["RemoveFromAcs", ref("e3"), "unclaimed"],
        ["RemoveFromAcs", ref("e4"), "unclaimed"]
      ]
    )
    assert.deepStrictEqual(
      assigns.events.filter((e) => e._tag === "CredentialImported").map((e) => (e._tag === "CredentialImported" ? e.acsRef : "")),
      [ref("e1"), ref("e2")]
    )
  })

  it("retires each phone credential with its reason, revokes each as retiring and removes its entry", () => {
    const { s, v } = enrolled()
    let st = fold(s, plan(s, observed(v), { now: 0, kind: issuingKind, capabilities: caps() }).events)!
    const [k1, k2] = st.children
    st = fold(st, [
      { _tag: "CredentialIssued", identity: st.id, at: 1, credentialId: k1!.id, ref: ref("k1"), active: true, cardNumber: "11" },
      { _tag: "CredentialIssued", identity: st.id, at: 1, credentialId: k2!.id, ref: ref("k2"), active: true, cardNumber: "12" }
    ] as never)!
    st = apply(st, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p1" })
    st = apply(st, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" })
    const p = plan(st, observed({ ...v, credentials: [cred("k1", "ep1", "11"), cred("k2", "ep2", "12")] }, [entry("e1", "11"), entry("e2", "12")]), {
      now: 2,
      kind: issuingKind, capabilities: caps()
    })
    assert.deepStrictEqual(
      p.events.filter((e) => e._tag === "CredentialRetiring").map((e) => (e._tag === "CredentialRetiring" ? e.reason : "")),
      ["parent_deleted", "parent_deleted"]
    )
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "Revoke" ? [a.credential, a.why] : a._tag === "RemoveFromAcs" ? [a.entry, a.why] : a._tag)),
      [
        [ref("k1"), "retiring"],
        [ref("e1"), "retiring"],
        [ref("k2"), "retiring"],
        [ref("e2"), "retiring"]
      ]
    )
  })
})

describe("plan surfaces what failed", () => {
  it("an issuance the manager failed, with its message", () => {
    const { s, v } = enrolled()
    const st = fold(s, plan(s, observed(v), { now: 0, kind: issuingKind, capabilities: caps() }).events)!
    const [k1] = st.children
    const issued = fold(st, [{ _tag: "CredentialIssued", identity: st.id, at: 1, credentialId: k1!.id, ref: ref("k1"), active: false }] as never)!
    const failed = { ...cred("k1", "ep1", "11", "failed"), error: "card pool empty" }
    const p = plan(issued, observed({ ...v, credentials: [failed] }), { now: 2, kind: issuingKind, capabilities: caps() })
    const e = p.events.find((x) => x._tag === "CredentialFailed")
    assert.deepStrictEqual(e?._tag === "CredentialFailed" ? [e.error.code, e.error.message, e.error.at] : [], ["failed_to_issue", "card pool empty", 2])
    const { error: _, ...noMessage } = failed
    const p2 = plan(issued, observed({ ...v, credentials: [noMessage] }), { now: 2, kind: issuingKind, capabilities: caps() })
    const e2 = p2.events.find((x) => x._tag === "CredentialFailed")
    assert.strictEqual(e2?._tag === "CredentialFailed" ? e2.error.message : "", "the credential manager failed to issue it")
    // failed stays failed: no second event, no issue
    const again = plan(fold(issued, p.events)!, observed({ ...v, credentials: [failed] }), { now: 3, kind: issuingKind, capabilities: caps() })
    assert.isFalse(again.events.some((x) => x._tag === "CredentialFailed"))
    assert.isFalse(again.actions.some((a) => a._tag === "Issue" && a.endpoint === ref("ep1")))
  })

  it("an invitation that expired, was cancelled or is gone", () => {
    const { s } = enrolled([])
    for (const [status, code, message] of [
      ["expired", "invitation_expired", "invitation i1 expired before the phone redeemed it"],
      ["cancelled", "invitation_cancelled", "invitation i1 cancelled before the phone redeemed it"]
    ] as const) {
      const p = plan(s, observed(view({ invitations: [{ ref: ref("i1"), code: "X", status }] })), { now: 3, kind: issuingKind, capabilities: caps() })
      const e = p.events.find((x) => x._tag === "EnrollmentFailed" && x.key === "p1|cm")
      assert.deepStrictEqual(e?._tag === "EnrollmentFailed" ? [e.error.code, e.error.message] : [], [code, message])
    }
    const gone = plan(s, observed(view({})), { now: 3, kind: issuingKind, capabilities: caps() })
    const e = gone.events.find((x) => x._tag === "EnrollmentFailed" && x.key === "p1|cm")
    assert.deepStrictEqual(e?._tag === "EnrollmentFailed" ? [e.error.code, e.error.message] : [], ["invitation_missing", "invitation i1 is gone at the credential manager"])
    // within the listing lag a missing invitation is not concluded gone
    assert.isFalse(plan(s, observed(view({})), { now: 3, kind: issuingKind, capabilities: caps(10) }).events.some((x) => x._tag === "EnrollmentFailed"))
  })

  it("a credential that disappeared, with the reason, and a request that did not take effect", () => {
    const { s, v } = enrolled()
    const st = fold(s, plan(s, observed(v), { now: 0, kind: issuingKind, capabilities: caps() }).events)!
    const [k1] = st.children
    const active = fold(st, [{ _tag: "CredentialIssued", identity: st.id, at: 1, credentialId: k1!.id, ref: ref("k1"), active: true, cardNumber: "11" }] as never)!
    const lost = (credentials: ReadonlyArray<ManagerCredential>) =>
      plan(active, observed({ ...v, credentials }, []), { now: 2, kind: issuingKind, capabilities: caps() }).events.flatMap((e) => (e._tag === "CredentialLost" && e.credentialId === k1!.id ? [e.reason] : []))
    assert.deepStrictEqual(lost([]), ["missing at the credential manager"])
    assert.deepStrictEqual(lost([cred("k1", "ep1", "11", "revoked")]), ["revoked at the credential manager"])
    const requested = plan(st, observed({ ...v, credentials: [cred("k2", "ep2", "12")] }), { now: 2, kind: issuingKind, capabilities: caps() })
    assert.includeMembers(
      requested.events.flatMap((e) => (e._tag === "CredentialLost" ? [e.reason] : [])),
      ["the issue request did not take effect"]
    )
  })
})

describe("plan with a replicating manager: deleted parents", () => {
  const seam = AcsSystemId.make("seam")
  const ctx = (now: number, lag = 0) => ({ now, kind: () => "replicating" as const, capabilities: () => ({ asyncIssue: true, listingLag: lag }) })
  const applySeam = (s: IdentityState | undefined, input: Record<string, unknown>) =>
    fold(s, Result.getOrThrow(decide(s, Result.getOrThrow(decodeCommand(input)), { now: 0, managers: new Set([seam]) })))!
  const setup = () => {
    let s = applySeam(undefined, { _tag: "CreateUserIdentity", userIdentityId: "u1" })
    s = applySeam(s, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu1", acsSystemId: "acs" })
    s = applySeam(s, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c1", acsUserId: "acsu1", managerId: "seam", cardFormat: "rfid48", facilityCode: "9" })
    return fold(s, [{ _tag: "ManagerUserBound", identity: s.id, at: 0, managerId: seam, ref: ref("ui1") }])!
  }
  const seamView = (parents: ReadonlyArray<string>): Observed => ({
    managers: new Map([[seam, view({ user: ref("ui1"), parents: parents.map((r) => ({ ref: ref(r), cardFormat: "rfid48", facilityCode: "9" })) })]]),
    acs: new Map()
  })

  it("deletes a deleted parent at the manager, and forgets it once the manager no longer lists it", () => {
    let s = fold(setup(), [{ _tag: "ParentBound", identity: setup().id, at: 0, credentialId: Identity.parent(setup(), "c1")!.id, ref: ref("pc1") }])!
    s = applySeam(s, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" })
    const there = plan(s, seamView(["pc1"]), ctx(1))
    assert.deepStrictEqual(
      there.actions.map((a) => (a._tag === "DeleteRemoteParent" ? a.parent : a._tag)),
      [ref("pc1")]
    )
    assert.isFalse(there.events.some((e) => e._tag === "ParentRemoved"))
    const gone = plan(s, seamView([]), ctx(2))
    assert.deepStrictEqual(gone.events.map((e) => e._tag), ["ParentRemoved"])
    // not observed: nothing concluded
    assert.deepStrictEqual(plan(s, { managers: new Map(), acs: new Map() }, ctx(2)).events, [])
  })

  it("waits out the lag before forgetting a deleted parent whose create was requested but not seen", () => {
    let s = setup()
    s = fold(s, plan(s, seamView([]), ctx(0, 100)).events)!
    s = applySeam(s, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" })
    assert.deepStrictEqual(plan(s, seamView([]), ctx(50, 100)).events, [])
    assert.deepStrictEqual(plan(s, seamView([]), ctx(100, 100)).events.map((e) => e._tag), ["ParentRemoved"])
    // and deletes, as unclaimed, every parent of ours it lists that no live parent holds
    const stray = plan(s, seamView(["px", "py"]), ctx(100, 100))
    assert.deepStrictEqual(
      stray.actions.map((a) => (a._tag === "DeleteRemoteParent" ? a.parent : a._tag)),
      [ref("px"), ref("py")]
    )
  })
})

describe("plan's defaults and clocks", () => {
  const requestedChild = () => {
    const { s, v } = enrolled()
    const st = fold(s, plan(s, observed(v), { now: 0, kind: issuingKind, capabilities: caps() }).events)!
    return { st, v, k1: st.children.find((c) => c.endpoint === ref("ep1"))! }
  }

  it("gives up after 5 issue attempts and 5 enrollment attempts when not told otherwise", () => {
    const { st, v, k1 } = requestedChild()
    const pending = fold(st, [{ _tag: "CredentialLost", identity: st.id, at: 1, credentialId: k1.id, reason: "x" }])!
    const at = (attempts: number) => ({ ...pending, children: pending.children.map((c) => (c.id === k1.id ? { ...c, attempts } : c)) })
    const four = plan(at(4), observed(v), { now: 2, kind: issuingKind, capabilities: caps() })
    assert.isTrue(four.actions.some((a) => a._tag === "Issue" && a.credentialId === k1.id))
    const five = plan(at(5), observed(v), { now: 2, kind: issuingKind, capabilities: caps() })
    const failed = five.events.find((e) => e._tag === "CredentialFailed")
    assert.strictEqual(failed?._tag === "CredentialFailed" ? failed.error.message : "", "not issued after 5 attempts")

    const e = base(["p1"], [])
    const enrol = fold(e, plan(e, observed(view({})), { now: 0, kind: issuingKind, capabilities: caps() }).events)!
    const failedAt = (attempts: number) =>
      fold(
        { ...enrol, enrollments: enrol.enrollments.map((x) => (x.phoneId === "p1" && x.managerId === "cm" ? { ...x, attempts } : x)) },
        [{ _tag: "EnrollmentFailed", identity: enrol.id, at: 100, key: "p1|cm", error: { code: "x", message: "x", at: 100 } }]
      )!
    // retried after 1 s, doubled per attempt
    assert.strictEqual(plan(failedAt(1), observed(view({})), { now: 500, kind: issuingKind, capabilities: caps() }).wakeAt, 1_100)
    assert.strictEqual(plan(failedAt(3), observed(view({})), { now: 500, kind: issuingKind, capabilities: caps() }).wakeAt, 4_100)
    assert.deepStrictEqual(tags(plan(failedAt(3), observed(view({})), { now: 4_100, kind: issuingKind, capabilities: caps() })), ["Invite"])
    assert.deepStrictEqual(tags(plan(failedAt(5), observed(view({})), { now: 100_000, kind: issuingKind, capabilities: caps() })), [])
  })

  it("polls an issuing credential after 1 s by default, and wakes at the earliest of its reasons", () => {
    const { st, v, k1 } = requestedChild()
    const issuing = fold(st, [{ _tag: "CredentialIssued", identity: st.id, at: 1, credentialId: k1.id, ref: ref("k1"), active: false }])!
    const p = plan(issuing, observed({ ...v, credentials: [cred("k1", "ep1", "11", "issuing")] }), { now: 10, kind: issuingKind, capabilities: caps(5_000) })
    // the other phone's request waits out the 5 s lag (until 5_000), the issuing one is polled at 1_010
    assert.strictEqual(p.wakeAt, 1_010)
    assert.strictEqual(plan(issuing, observed({ ...v, credentials: [cred("k1", "ep1", "11", "issuing")] }), { now: 10, kind: issuingKind, capabilities: caps(500) }).wakeAt, 500)
  })

  it("does not conclude a request lost before an earlier lease holder's calls may have landed", () => {
    const { st, v } = requestedChild()
    const early = plan(st, observed(v), { now: 100, kind: issuingKind, capabilities: caps(50), inFlightUntil: 3_000 })
    assert.isFalse(early.events.some((e) => e._tag === "CredentialLost"))
    assert.strictEqual(early.wakeAt, 3_000)
    const late = plan(st, observed(v), { now: 3_000, kind: issuingKind, capabilities: caps(50), inFlightUntil: 3_000 })
    assert.isTrue(late.events.some((e) => e._tag === "CredentialLost"))
    // a request made after that time only waits out the lag
    assert.strictEqual(plan(st, observed(v), { now: 10, kind: issuingKind, capabilities: caps(50), inFlightUntil: -1 }).wakeAt, 50)
  })

  it("adopts, for a request whose response was lost, only a live unclaimed credential of its profile on its endpoint", () => {
    const { st, v, k1 } = requestedChild()
    const adopt = (credentials: ReadonlyArray<ManagerCredential>) =>
      plan(st, observed({ ...v, credentials }), { now: 5, kind: issuingKind, capabilities: caps(100) }).events.flatMap((e) =>
        e._tag === "CredentialIssued" && e.credentialId === k1.id ? [e.ref] : []
      )
    assert.deepStrictEqual(adopt([cred("x", "ep1", "1")]), [ref("x")])
    assert.deepStrictEqual(adopt([cred("x", "ep2", "1")]), [], "another phone's")
    assert.deepStrictEqual(adopt([cred("x", "ep1", "1", "revoked")]), [], "not live")
    assert.deepStrictEqual(adopt([cred("x", "ep1", "1", "active", "h10301")]), [], "another profile")
    assert.deepStrictEqual(adopt([cred("x", "ep1", "1", "issuing")]), [ref("x")])
  })

  it("takes a lost credential's entry out of the ACS before forgetting its card number, and waits when the ACS was not seen", () => {
    const { st, v, k1 } = requestedChild()
    const active = fold(st, [{ _tag: "CredentialIssued", identity: st.id, at: 1, credentialId: k1.id, ref: ref("k1"), active: true, cardNumber: "11" }])!
    const withEntry = plan(active, observed(v, [entry("e1", "11")]), { now: 2, kind: issuingKind, capabilities: caps() })
    assert.isTrue(withEntry.actions.some((a) => a._tag === "RemoveFromAcs" && a.entry === ref("e1") && a.why === "credential lost"))
    assert.isFalse(withEntry.events.some((e) => e._tag === "CredentialLost" && e.credentialId === k1.id))
    const unseen = plan(active, { managers: new Map([[cm, v]]), acs: new Map() }, { now: 2, kind: issuingKind, capabilities: caps() })
    assert.isFalse(unseen.events.some((e) => e._tag === "CredentialLost" && e.credentialId === k1.id))
    const clear = plan(active, observed(v, []), { now: 2, kind: issuingKind, capabilities: caps() })
    assert.isTrue(clear.events.some((e) => e._tag === "CredentialLost" && e.credentialId === k1.id))
  })

  it("keeps the endpoint an invited enrollment's invitation created, and ends an enrollment whose endpoint is gone", () => {
    const { s, v } = enrolled([])
    // p1 is still invited (its endpoint, made from i1, is not yet adopted): ep1 is not removed
    const p = plan(s, observed(v), { now: 0, kind: issuingKind, capabilities: caps() })
    assert.isFalse(p.actions.some((a) => a._tag === "RemoveEndpoint"))
    const st = fold(s, p.events)!
    const gone = plan(st, observed({ ...v, endpoints: [{ ref: ref("ep1"), invitation: ref("i1"), status: "removed" }, v.endpoints[1]!] }), { now: 1, kind: issuingKind, capabilities: caps() })
    const ended = gone.events.find((e) => e._tag === "EnrollmentEnded")
    assert.deepStrictEqual(ended?._tag === "EnrollmentEnded" ? [ended.key, ended.reason] : [], ["p1|cm", "endpoint_removed"])
  })
})

describe("plan: enrollments that are no longer wanted", () => {
  it("cancels the invitation of a deactivated phone and ends its enrollment, also a failed one", () => {
    const { s } = enrolled([])
    const off = apply(s, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p1" })
    const p = plan(off, observed(view({ invitations: [{ ref: ref("i1"), code: "X", status: "pending" }, { ref: ref("i2"), code: "Y", status: "pending" }] })), { now: 1, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "CancelInvitation" ? a.invitation : a._tag)),
      [ref("i1")]
    )
    assert.deepStrictEqual(
      p.events.flatMap((e) => (e._tag === "EnrollmentEnded" ? [[e.key, e.reason]] : [])),
      [["p1|cm", "not_wanted"]]
    )
    const failed = fold(s, [{ _tag: "EnrollmentFailed", identity: s.id, at: 1, key: "p1|cm", error: { code: "x", message: "x", at: 1 } }])!
    const q = plan(apply(failed, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p1" }), observed(view({})), { now: 2, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(
      q.events.flatMap((e) => (e._tag === "EnrollmentEnded" ? [[e.key, e.reason]] : [])),
      [["p1|cm", "not_wanted"]]
    )
    assert.isFalse(q.actions.some((a) => a._tag === "CancelInvitation"))
  })

  it("removes a deactivated phone's endpoint once no phone credential is on it", () => {
    const { s, v } = enrolled()
    let st = fold(s, plan(s, observed(v), { now: 0, kind: issuingKind, capabilities: caps() }).events)!
    st = apply(st, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p1" })
    // its credential is still being retired: the endpoint stays
    const busy = plan(st, observed(v), { now: 1, kind: issuingKind, capabilities: caps() })
    assert.isFalse(busy.events.some((e) => e._tag === "EnrollmentEnded"))
    const k1 = st.children.find((c) => c.endpoint === ref("ep1"))!
    const other = st.children.find((c) => c.endpoint === ref("ep2"))!
    const clear = fold(st, [{ _tag: "CredentialRevoked", identity: st.id, at: 1, credentialId: k1.id }])!
    const p = plan(clear, observed(v), { now: 2, kind: issuingKind, capabilities: caps() })
    assert.deepStrictEqual(
      p.events.flatMap((e) => (e._tag === "EnrollmentEnded" ? [[e.key, e.reason]] : [])),
      [["p1|cm", "phone_deactivated"]]
    )
    assert.isTrue(p.actions.some((a) => a._tag === "RemoveEndpoint" && a.endpoint === ref("ep1")))
    assert.isFalse(p.actions.some((a) => a._tag === "RemoveEndpoint" && a.endpoint === ref("ep2")))
    assert.isDefined(other)
  })

  it("asks again for an invitation whose response was lost, after the lag, as the next attempt", () => {
    const st = base(["p1"], [])
    const requested = fold(st, plan(st, observed(view({})), { now: 0, kind: issuingKind, capabilities: caps(100) }).events)!
    assert.strictEqual(Identity.enrollmentByKey(requested, "p1|cm")?.status, "inviting")
    assert.deepStrictEqual(tags(plan(requested, observed(view({})), { now: 50, kind: issuingKind, capabilities: caps(100) })), [])
    const again = plan(requested, observed(view({})), { now: 100, kind: issuingKind, capabilities: caps(100) })
    assert.deepStrictEqual(tags(again), ["Invite"])
    assert.strictEqual(Identity.enrollmentByKey(again.state, "p1|cm")?.attempts, 2)
    assert.strictEqual(Identity.enrollmentByKey(again.state, "p1|cm")?.id, Identity.enrollmentByKey(requested, "p1|cm")?.id, "same enrollment, next attempt")
    // not while the manager is not observed
    assert.deepStrictEqual(tags(plan(requested, { managers: new Map(), acs: new Map([[acs, []]]) }, { now: 100, kind: issuingKind, capabilities: caps(100) })), [])
  })
})

describe("plan with two managers", () => {
  it("judges each manager's enrollments and credentials by that manager's listing only", () => {
    let s = base(["p1"], [["c1", "rfid48"]])
    s = apply(s, { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a2", managerId: "cm2" })
    s = apply(s, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c2", acsUserId: "acsu1", managerId: "cm2", cardFormat: "h10301", facilityCode: "9" })
    s = fold(s, [{ _tag: "ManagerUserBound", identity: s.id, at: 0, managerId: cm2, ref: ref("usr2") }])!
    const both = (a: ManagerView, b: ManagerView): Observed => ({ managers: new Map([[cm, a], [cm2, b]]), acs: new Map([[acs, []]]) })
    s = fold(s, plan(s, both(view({}), view({ user: ref("usr2") })), { now: 0, kind: issuingKind, capabilities: caps() }).events)!
    s = fold(s, [
      { _tag: "InvitationCreated", identity: s.id, at: 0, key: "p1|cm", invitation: ref("i1"), code: "A", phoneId: Identity.phone(s, "p1")!.id },
      { _tag: "InvitationCreated", identity: s.id, at: 0, key: "p1|cm2", invitation: ref("j1"), code: "B", phoneId: Identity.phone(s, "p1")!.id }
    ])!
    const v1 = view({ invitations: [{ ref: ref("i1"), code: "A", status: "redeemed" }], endpoints: [{ ref: ref("ep1"), invitation: ref("i1"), status: "active" }] })
    const v2 = view({ user: ref("usr2"), invitations: [{ ref: ref("j1"), code: "B", status: "pending" }] })
    const p = plan(s, both(v1, v2), { now: 1, kind: issuingKind, capabilities: caps() })
    // p1 enrolled with cm only; the cm2 invitation is still pending: nothing failed or cancelled
    assert.deepStrictEqual(p.events.map((e) => e._tag), ["PhoneEnrolled", "CredentialRequested"])
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "Issue" ? [a.managerId, a.endpoint] : a._tag)),
      [[cm, ref("ep1")]]
    )
    const st = fold(s, p.events)!
    const [k1] = st.children
    const active = fold(st, [{ _tag: "CredentialIssued", identity: st.id, at: 2, credentialId: k1!.id, ref: ref("k1"), active: true, cardNumber: "11" }] as never)!
    const again = plan(active, both({ ...v1, credentials: [cred("k1", "ep1", "11")] }, v2), { now: 3, kind: issuingKind, capabilities: caps() })
    assert.isFalse(again.events.some((e) => e._tag === "CredentialLost" || e._tag === "EnrollmentFailed"))
    // cm2's listing alone says nothing about cm's credential
    const onlyCm2 = plan(active, { managers: new Map([[cm2, v2]]), acs: new Map([[acs, []]]) }, { now: 3, kind: issuingKind, capabilities: caps() })
    assert.isFalse(onlyCm2.events.some((e) => e._tag === "CredentialLost"))
  })
})
