/**
 * Step 2 at a manager that does not replicate: what the listing says of enrollments (redeemed,
 * removed, expired, gone after the lag) and of phone credentials (known by ref, requests whose
 * response was lost), and what nobody holds there (credentials, invitations, endpoints).
 */
import { assert, describe, it } from "@effect/vitest"
import { fold } from "../../src/Aggregate.js"
import * as Identity from "../../src/Identity.js"
import { learn } from "../../src/internal/plan/learn.js"
import { acs, caps, cm, cred, entry, observed, ref, twoPhonesRedeemed as invited, view } from "../planFixtures.js"
import { enrolled, issuedAs, issuer, requested, start, tags } from "./fixtures.js"

const ended = (run: ReturnType<typeof start>) => run.events.flatMap((e) => (e._tag === "EnrollmentEnded" || e._tag === "EnrollmentFailed" ? [[e.key.split("|")[1], e._tag === "EnrollmentEnded" ? e.reason : e.error.code]] : []))
const lost = (run: ReturnType<typeof start>) => run.events.flatMap((e) => (e._tag === "CredentialLost" ? [[e.credentialId, e.reason]] : []))

describe("learn: enrollments", () => {
  it("enrolls each invited phone at the active endpoint made from its invitation", () => {
    const { s, v } = invited()
    const run = start(s, observed(v))
    learn(run, issuer(run, cm), v)
    assert.deepStrictEqual(
      run.events.flatMap((e) => (e._tag === "PhoneEnrolled" ? [[e.phoneId, e.endpoint]] : [])),
      [
        [Identity.phone(s, "p1")!.id, ref("ep1")],
        [Identity.phone(s, "p2")!.id, ref("ep2")]
      ]
    )
    assert.deepStrictEqual(run.actions, [])
  })

  it("ends an enrollment whose endpoint was removed before it was seen, and fails one whose invitation expired or was cancelled", () => {
    const { s, v } = invited()
    const removed = { ...v, endpoints: [{ ref: ref("ep1"), invitation: ref("i1"), status: "removed" as const }] }
    const run = start(s, observed(removed))
    learn(run, issuer(run, cm), removed)
    assert.deepStrictEqual(run.events.map((e) => e._tag), ["EnrollmentEnded"])
    const gone = view({
      invitations: [
        { ref: ref("i1"), code: "CODE-i1", status: "expired" },
        { ref: ref("i2"), code: "CODE-i2", status: "cancelled" }
      ]
    })
    const failed = start(s, observed(gone))
    learn(failed, issuer(failed, cm), gone)
    assert.deepStrictEqual(
      failed.events.flatMap((e) => (e._tag === "EnrollmentFailed" ? [e.error.code] : [])),
      ["invitation_expired", "invitation_cancelled"]
    )
  })

  it("fails an enrollment whose invitation is missing only once the listing lag has passed", () => {
    const { s } = invited()
    const early = start(s, observed(view({})), { now: 50, capabilities: caps(100) })
    learn(early, issuer(early, cm), view({}))
    assert.deepStrictEqual(early.events, [])
    assert.strictEqual(early.wakeAt, 100)
    const late = start(s, observed(view({})), { now: 100, capabilities: caps(100) })
    learn(late, issuer(late, cm), view({}))
    assert.deepStrictEqual(
      late.events.flatMap((e) => (e._tag === "EnrollmentFailed" ? [e.error.code] : [])),
      ["invitation_missing", "invitation_missing"]
    )
  })

  it("ends an enrollment whose endpoint is gone or removed", () => {
    const { s, v } = enrolled()
    const listing = { ...v, endpoints: [{ ref: ref("ep2"), invitation: ref("i2"), status: "removed" as const }] }
    const run = start(s, observed(listing))
    learn(run, issuer(run, cm), listing)
    assert.deepStrictEqual(ended(run), [
      ["cm", "endpoint_removed"],
      ["cm", "endpoint_removed"]
    ])
  })
})

describe("learn: phone credentials known by ref", () => {
  it("records the manager's confirmation or failure, and claims the credential", () => {
    const { s, v, k1, k2 } = requested()
    const issuing = issuedAs(issuedAs(s, k1.id, "x1"), k2.id, "x2")
    const listing = { ...v, credentials: [cred("x1", "ep1", "1"), { ...cred("x2", "ep2", undefined, "failed"), error: "no" }] }
    const run = start(issuing, observed(listing))
    learn(run, issuer(run, cm), listing)
    assert.deepStrictEqual(tags(run), ["CredentialIssued", "CredentialFailed"])
    assert.deepStrictEqual([...run.claimed], [ref("x1"), ref("x2")])
    assert.deepStrictEqual(run.actions, [], "claimed: neither is revoked as unclaimed")
  })

  it("concludes a credential missing from a lagging listing lost only after the lag; a revoked one at once", () => {
    const { s, v, k1, k2 } = requested()
    const issuing = issuedAs(issuedAs(s, k1.id, "x1"), k2.id, "x2")
    const listing = { ...v, credentials: [cred("x2", "ep2", undefined, "revoked")] }
    const early = start(issuing, observed(listing), { now: 50, capabilities: caps(100) })
    learn(early, issuer(early, cm), listing)
    assert.deepStrictEqual(lost(early), [[k2.id, "revoked at the credential manager"]])
    assert.strictEqual(early.wakeAt, 100)
    const late = start(issuing, observed(listing), { now: 100, capabilities: caps(100) })
    learn(late, issuer(late, cm), listing)
    assert.deepStrictEqual(lost(late), [
      [k1.id, "missing at the credential manager"],
      [k2.id, "revoked at the credential manager"]
    ])
  })

  it("takes a lost credential's card out of the ACS before forgetting it, and waits while the ACS is not observed", () => {
    const { s, v, k1, k2 } = requested()
    const active = issuedAs(s, k1.id, "x1", true, "77")
    const inAcs = start(active, observed(v, [entry("e1", "77")]))
    learn(inAcs, issuer(inAcs, cm), v)
    assert.deepStrictEqual(inAcs.actions, [{ _tag: "RemoveFromAcs", acsSystemId: acs, entry: ref("e1"), why: "credential lost" }])
    assert.deepStrictEqual(lost(inAcs), [[k2.id, "the issue request did not take effect"]])
    const unseen = start(active, { managers: new Map([[cm, v]]), acs: new Map() })
    learn(unseen, issuer(unseen, cm), v)
    assert.isFalse(lost(unseen).some(([id]) => id === k1.id))
  })

  it("leaves a retiring credential to retirement", () => {
    const { s, v, k1 } = requested()
    const active = issuedAs(s, k1.id, "x1", true)
    const retiring = fold(active, [{ _tag: "CredentialRetiring", identity: s.id, at: 0, credentialId: k1.id, reason: "phone_deactivated" }])!
    const run = start(retiring, observed(v))
    learn(run, issuer(run, cm), v)
    assert.isFalse(lost(run).some(([id]) => id === k1.id))
  })
})

describe("learn: requests whose response was lost", () => {
  it("adopts a live credential of the parent's profile on the endpoint", () => {
    const { s, v, k1, k2 } = requested()
    const listing = { ...v, credentials: [cred("y1", "ep1", "5", "issuing")] }
    const run = start(s, observed(listing))
    learn(run, issuer(run, cm), listing)
    assert.deepStrictEqual(
      run.events.map((e) => (e._tag === "CredentialIssued" ? [e.credentialId, e.ref, e.active] : e._tag === "CredentialLost" ? [e.credentialId] : [e._tag])),
      [[k1.id, ref("y1"), false], [k2.id]]
    )
    assert.isTrue(run.claimed.has(ref("y1")))
  })

  it("does not adopt a credential of another profile, nor one already claimed, and concludes after the lag", () => {
    const { s, v, k1, k2 } = requested()
    const listing = { ...v, credentials: [cred("y1", "ep1", "5", "active", "h10301"), cred("y2", "ep2", "6")] }
    const run = start(s, observed(listing))
    run.claimed.add(ref("y2"))
    learn(run, issuer(run, cm), listing)
    assert.deepStrictEqual(lost(run), [
      [k1.id, "the issue request did not take effect"],
      [k2.id, "the issue request did not take effect"]
    ])
    assert.deepStrictEqual(run.actions, [{ _tag: "Revoke", managerId: cm, credential: ref("y1"), why: "unclaimed" }])
    const lagging = start(s, observed(listing), { now: 10, capabilities: caps(100) })
    learn(lagging, issuer(lagging, cm), listing)
    assert.deepStrictEqual(lost(lagging), [])
    assert.strictEqual(lagging.wakeAt, 100)
  })
})

describe("learn: what nobody holds there", () => {
  it("revokes live credentials nobody claims, cancels invitations nobody holds, removes endpoints no enrollment uses", () => {
    const { s, v } = enrolled([])
    const listing = {
      ...v,
      credentials: [cred("x1", "ep1", "1"), cred("x2", "ep2", "2", "issuing"), cred("x3", "ep2", "3", "revoked")],
      invitations: [...v.invitations, { ref: ref("i9"), code: "C9", status: "pending" as const }, { ref: ref("i8"), code: "C8", status: "expired" as const }],
      endpoints: [...v.endpoints, { ref: ref("ep9"), status: "active" as const }, { ref: ref("ep8"), status: "removed" as const }]
    }
    const run = start(s, observed(listing))
    learn(run, issuer(run, cm), listing)
    assert.deepStrictEqual(
      run.actions.map((a) => (a._tag === "Revoke" ? [a._tag, a.credential, a.why] : a._tag === "CancelInvitation" ? [a._tag, a.invitation] : a._tag === "RemoveEndpoint" ? [a._tag, a.endpoint] : [a._tag])),
      [
        ["Revoke", ref("x1"), "unclaimed"],
        ["Revoke", ref("x2"), "unclaimed"],
        ["CancelInvitation", ref("i9")],
        ["RemoveEndpoint", ref("ep9")]
      ]
    )
  })

  it("keeps the endpoint made from a still-invited enrollment's invitation", () => {
    const { s, v } = invited([])
    const run = start(s, observed(v))
    learn(run, issuer(run, cm), v)
    assert.deepStrictEqual(run.actions, [])
  })
})
