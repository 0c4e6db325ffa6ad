/**
 * Step 4 at a manager that does not replicate: one phone credential per (live parent, active
 * enrolled phone), requested before its issue call, held back while the endpoint holds another
 * credential of the same profile, retried when lost, failed after the attempts allowed.
 */
import { assert, describe, it } from "@effect/vitest"
import { fold } from "../../src/Aggregate.js"
import * as Identity from "../../src/Identity.js"
import { childId, issuance } from "../../src/internal/plan/issuance.js"
import { apply, cred, observed, ref } from "../planFixtures.js"
import { acts, enrolled, issuedAs, requested, start, tags, withFacts } from "./fixtures.js"

describe("issuance", () => {
  it("names a phone credential by (parent, phone, endpoint)", () => {
    const { s } = enrolled()
    const [c1, p1] = [Identity.parent(s, "c1")!.id, Identity.phone(s, "p1")!.id]
    assert.strictEqual(childId(c1, p1, ref("ep1")), childId(c1, p1, ref("ep1")))
    assert.notStrictEqual(childId(c1, p1, ref("ep1")), childId(c1, p1, ref("ep2")))
  })

  it("requests and issues one per (live parent, active enrolled phone), and returns them as wanted", () => {
    const { s, v } = enrolled([
      ["c1", "rfid48"],
      ["c2", "h10301"]
    ])
    const run = start(s, observed(v))
    const wanted = issuance(run)
    const ids = [Identity.parent(s, "c1")!.id, Identity.parent(s, "c2")!.id].flatMap((c) => [childId(c, Identity.phone(s, "p1")!.id, ref("ep1")), childId(c, Identity.phone(s, "p2")!.id, ref("ep2"))])
    assert.deepStrictEqual([...wanted], ids)
    assert.deepStrictEqual(tags(run), ["CredentialRequested", "CredentialRequested", "CredentialRequested", "CredentialRequested"])
    assert.deepStrictEqual(
      run.actions.map((a) => (a._tag === "Issue" ? [a.credentialId, a.endpoint, a.card.cardFormat] : [a._tag])),
      [
        [ids[0], ref("ep1"), "rfid48"],
        [ids[1], ref("ep2"), "rfid48"],
        [ids[2], ref("ep1"), "h10301"],
        [ids[3], ref("ep2"), "h10301"]
      ]
    )
  })

  it("wants nothing of a deleted parent or a deactivated phone", () => {
    const { s, v } = enrolled()
    const off = apply(s, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p1" })
    const run = start(off, observed(v))
    assert.deepStrictEqual([...issuance(run)], [childId(Identity.parent(s, "c1")!.id, Identity.phone(s, "p2")!.id, ref("ep2"))])
    const deleted = start(apply(s, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" }), observed(v))
    assert.deepStrictEqual([...issuance(deleted)], [])
    assert.deepStrictEqual(acts(deleted), [])
  })

  it("wants nothing on an enrollment that ended, and a new phone credential where the phone enrols again", () => {
    const { s, v, k1, k2 } = requested()
    const e = Identity.enrollment(s, k1.phoneId, "cm")!
    const ended = fold(s, [{ _tag: "EnrollmentEnded", identity: s.id, at: 1, key: `${e.phoneId}|cm`, reason: "endpoint_removed" }])!
    assert.strictEqual(Identity.enrollment(ended, k1.phoneId, "cm")?.endpoint, ref("ep1"), "an ended enrollment keeps its endpoint")
    assert.deepStrictEqual([...issuance(start(ended, observed(v)))], [k2.id])
    const again = fold(ended, [
      { _tag: "EnrollmentRequested", identity: s.id, at: 2, enrollment: { ...e, generation: 2, status: "inviting", requestedAt: 2 } },
      { _tag: "PhoneEnrolled", identity: s.id, at: 3, key: `${e.phoneId}|cm`, endpoint: ref("ep3"), phoneId: e.phoneId }
    ])!
    const run = start(again, observed(v))
    const fresh = childId(k1.parentId, k1.phoneId, ref("ep3"))
    assert.deepStrictEqual([...issuance(run)], [fresh, k2.id])
    assert.deepStrictEqual(
      run.actions.map((a) => (a._tag === "Issue" ? [a.credentialId, a.endpoint] : [a._tag])),
      [[fresh, ref("ep3")]]
    )
  })

  it("waits while the endpoint holds a live credential of the profile, or the manager is not observed", () => {
    const { s, v } = enrolled()
    const listing = { ...v, credentials: [cred("x1", "ep1", "1", "issuing"), cred("x2", "ep2", "2", "active", "h10301")] }
    const run = start(s, observed(listing), { now: 5, pollMs: 100 })
    assert.strictEqual(issuance(run).size, 2)
    assert.deepStrictEqual(
      run.actions.map((a) => (a._tag === "Issue" ? a.endpoint : a._tag)),
      [ref("ep2")]
    )
    assert.strictEqual(run.wakeAt, 105)
    const unseen = start(s, { managers: new Map(), acs: new Map() })
    issuance(unseen)
    assert.deepStrictEqual([acts(unseen), tags(unseen)], [[], []])
  })

  it("waits while the engine still tracks another credential of the profile on the endpoint (the listing may lag)", () => {
    const { s, v, k1, k2 } = requested()
    let t = issuedAs(issuedAs(s, k1.id, "x1", true), k2.id, "x2", true)
    t = apply(t, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" })
    t = apply(t, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c2", acsUserId: "acsu1", managerId: "cm", cardFormat: "rfid48", facilityCode: "9" })
    const run = start(t, observed(v))
    issuance(run)
    assert.deepStrictEqual([acts(run), tags(run), run.wakeAt], [[], [], 1_000])
  })

  it("issues a lost credential again, and fails it after the attempts allowed", () => {
    const { s, v, k1 } = requested()
    const lost = withFacts(s, k1.id, "lost")
    const run = start(lost, observed(v))
    issuance(run)
    assert.deepStrictEqual(acts(run), ["Issue"])
    assert.strictEqual(Identity.child(run.state, k1.id)?.attempts, 2)
    const spent = start(lost, observed(v), { maxIssueAttempts: 1 })
    issuance(spent)
    assert.deepStrictEqual(
      spent.events.flatMap((e) => (e._tag === "CredentialFailed" ? [[e.credentialId, e.error.code, e.error.message]] : [])),
      [[k1.id, "failed_to_issue", "not issued after 1 attempts"]]
    )
    // a retiring credential is not issued again
    const retiring = start(withFacts(lost, k1.id, "retiring"), observed(v))
    issuance(retiring)
    assert.deepStrictEqual(acts(retiring), [])
  })

  it("looks again soon at a credential the manager is still issuing, and leaves a requested one to learn", () => {
    const { s, v, k1 } = requested()
    const run = start(issuedAs(s, k1.id, "x1"), observed(v), { now: 7, pollMs: 50 })
    issuance(run)
    assert.deepStrictEqual([acts(run), tags(run), run.wakeAt], [[], [], 57])
  })
})
