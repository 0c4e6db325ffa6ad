/**
 * Step 4 at a replicating manager (Seam style): the manager's copy of a parent on an enrolled phone
 * is mirrored as the phone credential (adopted, reissued, assigned by the manager), extra copies are
 * revoked, a lost copy is reported, and a phone left without one past the bound is failed.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ManagerCredential } from "../../src/CredentialManager.js"
import * as Identity from "../../src/Identity.js"
import type { IdentityState } from "../../src/Identity.js"
import { childId, issuance } from "../../src/internal/plan/issuance.js"
import { mirror } from "../../src/internal/plan/mirror.js"
import { learnReplicating } from "../../src/internal/plan/replicating.js"
import type { PlanContext } from "../../src/Plan.js"
import { cm2, ref } from "../planFixtures.js"
import { acts, copy, mirrored, replicator, seam, seamCtx, seamObserved, seamView, start, tags } from "./fixtures.js"

/** `seam()` with dev1 enrolled at cm2 (learned from its listing), no phone credential yet. */
const enrolledAtSeam = () => {
  const run = start(seam(), seamObserved(seamView()), seamCtx())
  learnReplicating(run, replicator(run, cm2), seamView())
  return run.state
}

/** Mirror c1's copy on dev1 against cm2 listing these copies. */
const mirrorWith = (s: IdentityState, credentials: ReadonlyArray<ManagerCredential>, ctx: Partial<PlanContext> = {}) => {
  const run = start(s, seamObserved(seamView(credentials)), { ...seamCtx(), ...ctx })
  const p = Identity.parent(s, "c1")!
  const phone = Identity.phone(s, "dev1")!.id
  const id = childId(p.id, phone, ref("dev1"))
  mirror(run, p, id, phone, ref("dev1"), Identity.child(s, id))
  return run
}
const issuedRefs = (run: ReturnType<typeof start>) => run.events.flatMap((e) => (e._tag === "CredentialIssued" ? [[e.ref, e.active, e.cardNumber]] : []))

describe("mirror", () => {
  it("mirrors the copy the manager made as the phone credential, assigned by the manager", () => {
    const run = mirrorWith(enrolledAtSeam(), [copy("k1", "dev1", "active", "1")])
    assert.deepStrictEqual(tags(run), ["CredentialRequested", "CredentialIssued", "CredentialAssigned"])
    assert.deepStrictEqual(issuedRefs(run), [[ref("k1"), true, "1"]])
    assert.isTrue(run.claimed.has(ref("k1")))
    assert.deepStrictEqual(acts(run), [])
  })

  it("looks again soon at a copy still issuing, and ignores copies of other parents or on other endpoints", () => {
    const other = { ...copy("k9", "dev1"), parent: ref("px") }
    const run = mirrorWith(enrolledAtSeam(), [other, copy("k8", "dev2"), copy("k1", "dev1", "issuing")], { now: 3, pollMs: 10 })
    assert.deepStrictEqual(tags(run), ["CredentialRequested", "CredentialIssued"])
    assert.deepStrictEqual(issuedRefs(run), [[ref("k1"), false, undefined]])
    assert.strictEqual(run.wakeAt, 13)
  })

  it("keeps the copy the phone credential holds and revokes the others as duplicates", () => {
    const run = mirrorWith(mirrored(), [copy("k0", "dev1", "active", "0"), copy("k1", "dev1", "active", "1"), copy("k2", "dev1", "issuing")])
    assert.deepStrictEqual(tags(run), [])
    assert.deepStrictEqual(
      run.actions.map((a) => (a._tag === "Revoke" ? [a.credential, a.why] : [a._tag])),
      [
        [ref("k0"), "duplicate"],
        [ref("k2"), "duplicate"]
      ]
    )
  })

  it("records a reissue that kept the copy's id but changed its card number", () => {
    const run = mirrorWith(mirrored(), [copy("k1", "dev1", "active", "2")])
    assert.deepStrictEqual(issuedRefs(run), [[ref("k1"), true, "2"]])
  })

  it("reports a copy the manager no longer holds as lost", () => {
    const run = mirrorWith(mirrored(), [copy("k1", "dev1", "revoked", "1")])
    assert.deepStrictEqual(
      run.events.flatMap((e) => (e._tag === "CredentialLost" ? [e.reason] : [])),
      ["the manager no longer holds its copy"]
    )
  })

  it("waits for a copy until the replication bound, then fails the phone credential once", () => {
    const s = enrolledAtSeam()
    const waiting = mirrorWith(s, [], { now: 10, replicationBoundMs: 100 })
    assert.deepStrictEqual([tags(waiting), waiting.wakeAt], [["CredentialRequested"], 110])
    const requested = waiting.state
    const late = mirrorWith(requested, [], { now: 110, replicationBoundMs: 100 })
    assert.deepStrictEqual(
      late.events.flatMap((e) => (e._tag === "CredentialFailed" ? [e.error.code] : [])),
      ["not_replicated"]
    )
    const failed = mirrorWith(late.state, [], { now: 500, replicationBoundMs: 100 })
    assert.deepStrictEqual([tags(failed), failed.wakeAt], [[], undefined])
  })

  it("does nothing while the manager is not observed or the parent is not created there", () => {
    const s = enrolledAtSeam()
    const p = Identity.parent(s, "c1")!
    const id = childId(p.id, Identity.phone(s, "dev1")!.id, ref("dev1"))
    const unseen = start(s, { managers: new Map(), acs: new Map() }, seamCtx())
    mirror(unseen, p, id, Identity.phone(s, "dev1")!.id, ref("dev1"), undefined)
    const { remote: _, ...unbound } = p
    const creating = start(s, seamObserved(seamView([copy("k1", "dev1")])), seamCtx())
    mirror(creating, unbound, id, Identity.phone(s, "dev1")!.id, ref("dev1"), undefined)
    assert.deepStrictEqual([unseen.events, creating.events], [[], []])
  })

  it("is how issuance serves a replicating manager's parent: mirrored, never issued", () => {
    const s = enrolledAtSeam()
    const run = start(s, seamObserved(seamView([copy("k1", "dev1", "active", "1")])), seamCtx())
    const wanted = issuance(run)
    assert.deepStrictEqual([...wanted], [childId(Identity.parent(s, "c1")!.id, Identity.phone(s, "dev1")!.id, ref("dev1"))])
    assert.deepStrictEqual(tags(run), ["CredentialRequested", "CredentialIssued", "CredentialAssigned"])
    assert.deepStrictEqual(acts(run), [])
  })
})
