/**
 * Step 3 at managers that do not replicate: enrollments nobody wants are ended (and their invitation
 * or endpoint cleaned up), and every active phone is invited by every automation's manager, retried
 * with back-off after a failure and re-invited after a lost response once the listing lag passed.
 */
import { assert, describe, it } from "@effect/vitest"
import { fold } from "../../src/Aggregate.js"
import * as Identity from "../../src/Identity.js"
import type { IdentityState } from "../../src/Identity.js"
import { enrollment } from "../../src/internal/plan/enrollment.js"
import { plan } from "../../src/Plan.js"
import { apply, base, caps, cm, issuingKind, observed, ref, twoPhonesRedeemed as invited, view } from "../planFixtures.js"
import { acts, enrolled, requested, seam, seamCtx, seamObserved, seamView, start, tags } from "./fixtures.js"

const off = (s: IdentityState) => apply(s, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p1" })
const endings = (run: ReturnType<typeof start>) => run.events.flatMap((e) => (e._tag === "EnrollmentEnded" ? [[e.key, e.reason]] : []))

/** p1 invited (requested at 0, no invitation yet: the response is outstanding or lost). */
const inviting = () => {
  const s = base(["p1"], [])
  return fold(s, plan(s, observed(view({})), { now: 0, kind: issuingKind, capabilities: caps() }).events)!
}

describe("enrollment: ended when nobody wants it", () => {
  it("cancels the invitation of a deactivated phone's enrollment and ends it", () => {
    const { s, v } = invited([])
    const run = start(off(s), observed(v))
    enrollment(run)
    assert.deepStrictEqual(run.actions, [{ _tag: "CancelInvitation", managerId: cm, invitation: ref("i1") }])
    assert.deepStrictEqual(endings(run), [[`${Identity.phone(s, "p1")!.id}|cm`, "not_wanted"]])
  })

  it("removes a deactivated phone's endpoint once no phone credential is on it", () => {
    const { s, v } = enrolled([])
    const run = start(off(s), observed(v))
    enrollment(run)
    assert.deepStrictEqual(run.actions, [{ _tag: "RemoveEndpoint", managerId: cm, endpoint: ref("ep1") }])
    assert.deepStrictEqual(endings(run), [[`${Identity.phone(s, "p1")!.id}|cm`, "phone_deactivated"]])
    const busy = requested()
    const waits = start(off(busy.s), observed(busy.v))
    enrollment(waits)
    assert.deepStrictEqual([acts(waits), tags(waits)], [[], []])
  })

  it("ends a failed enrollment nobody wants, and leaves a replicating manager's enrollments alone", () => {
    const i = inviting()
    const s = fold(i, [{ _tag: "EnrollmentFailed", identity: i.id, at: 0, key: `${Identity.phone(i, "p1")!.id}|cm`, error: { code: "x", message: "x", at: 0 } }])!
    const run = start(off(s), observed(view({})))
    enrollment(run)
    assert.deepStrictEqual(endings(run), [[`${Identity.phone(s, "p1")!.id}|cm`, "not_wanted"]])
    const atSeam = seam()
    const listed = fold(atSeam, plan(atSeam, seamObserved(seamView()), { now: 0, ...seamCtx() }).events)!
    const gone = start(apply(listed, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "dev1" }), seamObserved(seamView()), seamCtx())
    enrollment(gone)
    assert.deepStrictEqual([acts(gone), tags(gone)], [[], []])
  })
})

describe("enrollment: invitations", () => {
  it("invites each active phone where the manager user is bound, as generation 1", () => {
    const s = base(["p1", "p2"], [])
    const run = start(s, observed(view({})))
    enrollment(run)
    assert.deepStrictEqual(acts(run), ["Invite", "Invite"])
    assert.deepStrictEqual(
      run.events.flatMap((e) => (e._tag === "EnrollmentRequested" ? [[e.enrollment.phoneId, e.enrollment.generation, e.enrollment.attempts]] : [])),
      [
        [Identity.phone(s, "p1")!.id, 1, 1],
        [Identity.phone(s, "p2")!.id, 1, 1]
      ]
    )
    const unbound = start({ ...s, managerUsers: {} }, observed(view({})))
    enrollment(unbound)
    assert.deepStrictEqual(acts(unbound), [])
  })

  it("invites an ended enrollment's phone again as the next generation", () => {
    const s = inviting()
    const key = `${Identity.phone(s, "p1")!.id}|cm`
    const ended = fold(s, [{ _tag: "EnrollmentEnded", identity: s.id, at: 0, key, reason: "endpoint_removed" }])!
    const run = start(ended, observed(view({})))
    enrollment(run)
    assert.strictEqual(Identity.enrollmentByKey(run.state, key)?.generation, 2)
    assert.notStrictEqual(Identity.enrollmentByKey(run.state, key)?.id, Identity.enrollmentByKey(s, key)?.id)
  })

  it("retries a failed enrollment after a back-off that doubles per attempt, up to the attempts allowed", () => {
    const s = inviting()
    const key = `${Identity.phone(s, "p1")!.id}|cm`
    const failed = fold(s, [{ _tag: "EnrollmentFailed", identity: s.id, at: 0, key, error: { code: "x", message: "x", at: 10 } }])!
    const early = start(failed, observed(view({})), { now: 500, enrollmentRetryMs: 1_000 })
    enrollment(early)
    assert.deepStrictEqual([acts(early), early.wakeAt], [[], 1_010])
    const due = start(failed, observed(view({})), { now: 1_010, enrollmentRetryMs: 1_000 })
    enrollment(due)
    assert.deepStrictEqual(acts(due), ["Invite"])
    const again = Identity.enrollmentByKey(due.state, key)!
    assert.deepStrictEqual([again.id, again.generation, again.attempts], [Identity.enrollmentByKey(s, key)!.id, 1, 2])
    const last = start(failed, observed(view({})), { now: 5_000, maxEnrollmentAttempts: 1 })
    enrollment(last)
    assert.deepStrictEqual([acts(last), last.wakeAt], [[], undefined])
  })

  it("invites again after a lost response once the lag passed, only while the manager is observed", () => {
    const s = inviting()
    const early = start(s, observed(view({})), { now: 50, capabilities: caps(100) })
    enrollment(early)
    assert.deepStrictEqual([acts(early), early.wakeAt], [[], 100])
    const late = start(s, observed(view({})), { now: 100, capabilities: caps(100) })
    enrollment(late)
    assert.deepStrictEqual(acts(late), ["Invite"])
    assert.strictEqual(Identity.enrollmentByKey(late.state, `${Identity.phone(s, "p1")!.id}|cm`)?.attempts, 2)
    const unseen = start(s, { managers: new Map(), acs: new Map() }, { now: 100, capabilities: caps(100) })
    enrollment(unseen)
    assert.deepStrictEqual(acts(unseen), [])
  })

  it("invites nothing at a replicating manager (it enrolls the phones it lists)", () => {
    const run = start(seam(), seamObserved(seamView()), seamCtx())
    enrollment(run)
    assert.deepStrictEqual([acts(run), tags(run)], [[], []])
  })
})
