/**
 * Steps 2 and 4 at a replicating manager (Seam style): its automation and parents bound, created or
 * deleted there (after a lost response, once the lag passed), enrolment as it lists the phones, and
 * the copies of our parents that no phone credential claims revoked.
 */
import { assert, describe, it } from "@effect/vitest"
import { fold } from "../../src/Aggregate.js"
import type { ManagerView } from "../../src/CredentialManager.js"
import * as Identity from "../../src/Identity.js"
import type { IdentityState } from "../../src/Identity.js"
import { learnReplicating, unclaimedCopies } from "../../src/internal/plan/replicating.js"
import type { PlanContext } from "../../src/Plan.js"
import { apply, cm, cm2, cred, ref, view } from "../planFixtures.js"
import { copy, mirrored, replicator, seam, seamCtx, seamObserved, seamView, start, tags } from "./fixtures.js"

const learnWith = (s: IdentityState, v: ManagerView, ctx: Partial<PlanContext> = {}) => {
  const run = start(s, seamObserved(v), { ...seamCtx(), ...ctx })
  learnReplicating(run, replicator(run, cm2), v)
  return run
}
const remote = (r: string, cardFormat = "rfid48") => ({ ref: ref(r), cardFormat, facilityCode: "9" })
const shown = (run: ReturnType<typeof start>) =>
  run.actions.map((a) =>
    a._tag === "DeleteRemoteParent" ? [a._tag, a.parent] : a._tag === "CreateRemoteParent" || a._tag === "LaunchRemoteAutomation" ? [a._tag, a.managerId] : [a._tag]
  )

describe("learnReplicating: the automation and the parents there", () => {
  it("binds the automation and the parent the manager lists (a lost create response), or creates them", () => {
    const s = seam(false)
    const adopted = learnWith(s, view({ automations: [{ ref: ref("ea1") }], parents: [remote("pc1")] }))
    assert.deepStrictEqual(tags(adopted), ["AutomationBound", "ParentBound"])
    assert.deepStrictEqual(adopted.actions, [])
    const created = learnWith(s, view({ parents: [remote("px", "h10301")] }))
    assert.deepStrictEqual(tags(created), ["AutomationRemoteRequested", "ParentRemoteRequested"])
    // the parent of another profile is nobody's: deleted, but only once ours is not being created
    assert.deepStrictEqual(shown(created), [
      ["LaunchRemoteAutomation", cm2],
      ["CreateRemoteParent", cm2]
    ])
  })

  it("waits out the listing lag before asking again for what it asked already", () => {
    const s = seam(false)
    const asked = fold(s, [
      { _tag: "AutomationRemoteRequested", identity: s.id, at: 0, automationId: Identity.automation(s, "a1")!.id },
      { _tag: "ParentRemoteRequested", identity: s.id, at: 0, credentialId: Identity.parent(s, "c1")!.id }
    ])!
    const early = learnWith(asked, view({}), { now: 50, ...seamCtx(100) })
    assert.deepStrictEqual([tags(early), early.actions, early.wakeAt], [[], [], 100])
    const late = learnWith(asked, view({}), { now: 100, ...seamCtx(100) })
    assert.deepStrictEqual(tags(late), ["AutomationRemoteRequested", "ParentRemoteRequested"])
  })

  it("deletes a deleted parent's copy there, and parents that are not ours", () => {
    const s = seam()
    const deleted = learnWith(apply(s, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" }), seamView([], { parents: [remote("pc1"), remote("px", "x")] }))
    assert.deepStrictEqual(shown(deleted), [
      ["DeleteRemoteParent", ref("pc1")],
      ["DeleteRemoteParent", ref("px")]
    ])
    assert.deepStrictEqual(tags(learnWith(s, seamView())), ["EnrollmentRequested", "PhoneEnrolled"])
  })
})

describe("learnReplicating: enrolment as the manager lists the phones", () => {
  it("enrolls an active phone at its listed endpoint, and ends the enrollment when it is no longer listed", () => {
    const run = learnWith(seam(), seamView())
    assert.deepStrictEqual(
      run.events.flatMap((e): ReadonlyArray<string> =>
        e._tag === "PhoneEnrolled" ? [`${e.key} at ${e.endpoint}`] : e._tag === "EnrollmentRequested" ? [`generation ${e.enrollment.generation}`] : []
      ),
      ["generation 1", `${Identity.phone(run.state, "dev1")!.id}|cm2 at dev1`]
    )
    const gone = learnWith(run.state, seamView([], { endpoints: [{ ref: ref("dev1"), status: "removed" }] }))
    assert.deepStrictEqual(
      gone.events.flatMap((e) => (e._tag === "EnrollmentEnded" ? [e.reason] : [])),
      ["endpoint_removed"]
    )
  })

  it("removes a deactivated phone's endpoint there (or the manager would copy parents onto it)", () => {
    const off = apply(seam(), { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "dev1" })
    const run = learnWith(off, seamView())
    assert.deepStrictEqual(tags(run), [])
    assert.deepStrictEqual(run.actions, [{ _tag: "RemoveEndpoint", managerId: cm2, endpoint: ref("dev1") }])
  })
})

describe("unclaimedCopies", () => {
  it("revokes the copies of our parents that no live phone credential claims, and nothing else", () => {
    const s = mirrored()
    const v = seamView([copy("k1", "dev1", "active", "1"), copy("k2", "dev1"), copy("k3", "dev1", "revoked"), { ...copy("k4", "dev1"), parent: ref("px") }])
    const run = start(s, { managers: new Map([[cm2, v], [cm, view({ credentials: [cred("h1", "ep1", "1")] })]]), acs: new Map() }, seamCtx())
    unclaimedCopies(run)
    assert.deepStrictEqual(run.actions, [{ _tag: "Revoke", managerId: cm2, credential: ref("k2"), why: "unclaimed" }])
    // a retiring phone credential claims nothing
    const k1 = s.children[0]!
    const retiring = fold(s, [{ _tag: "CredentialRetiring", identity: s.id, at: 0, credentialId: k1.id, reason: "phone_deactivated" }])!
    const revoked = start(retiring, seamObserved(v), seamCtx())
    unclaimedCopies(revoked)
    assert.deepStrictEqual(
      revoked.actions.map((a) => (a._tag === "Revoke" ? a.credential : a._tag)),
      [ref("k1"), ref("k2")]
    )
  })
})
