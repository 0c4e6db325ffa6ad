/**
 * Step 7: a deleted parent is forgotten once its last phone credential is gone; at a replicating
 * manager, also only once the manager no longer lists its copy of the parent and no create request
 * may still land there.
 */
import { assert, describe, it } from "@effect/vitest"
import { fold } from "../../src/Aggregate.js"
import * as Identity from "../../src/Identity.js"
import type { IdentityState } from "../../src/Identity.js"
import { parents } from "../../src/internal/plan/parents.js"
import type { Observed, PlanContext } from "../../src/Plan.js"
import { apply, base, observed, view } from "../planFixtures.js"
import { requested, seam, seamCtx, seamObserved, seamView, start, tags } from "./fixtures.js"

const deleted = (s: IdentityState) => apply(s, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" })
const planned = (s: IdentityState, o: Observed, ctx: Partial<PlanContext> = {}) => {
  const run = start(s, o, ctx)
  parents(run)
  return run
}

describe("parents", () => {
  it("forgets a deleted parent without phone credentials, and keeps one that still has some", () => {
    const none = deleted(base(["p1"], [["c1", "rfid48"]]))
    assert.deepStrictEqual(
      planned(none, observed(view({}))).events.map((e) => (e._tag === "ParentRemoved" ? e.credentialId : e._tag)),
      [Identity.parent(none, "c1")!.id]
    )
    assert.deepStrictEqual(tags(planned(deleted(requested().s), observed(view({})))), [])
    assert.deepStrictEqual(tags(planned(base(["p1"], [["c1", "rfid48"]]), observed(view({})))), [])
  })

  it("at a replicating manager, waits while it lists the parent's copy or is not observed", () => {
    const s = deleted(seam())
    const listed = planned(s, seamObserved(seamView()), seamCtx())
    const unseen = planned(s, { managers: new Map(), acs: new Map() }, seamCtx())
    assert.deepStrictEqual([tags(listed), tags(unseen)], [[], []])
    const gone = planned(s, seamObserved(seamView([], { parents: [] })), seamCtx())
    assert.deepStrictEqual(tags(gone), ["ParentRemoved"])
  })

  it("at a replicating manager, waits out the lag of a create request that may still land", () => {
    const u = seam(false)
    const s = deleted(fold(u, [{ _tag: "ParentRemoteRequested", identity: u.id, at: 0, credentialId: Identity.parent(u, "c1")!.id }])!)
    const early = planned(s, seamObserved(seamView([], { parents: [] })), { now: 50, ...seamCtx(100) })
    assert.deepStrictEqual([tags(early), early.wakeAt], [[], 100])
    const late = planned(s, seamObserved(seamView([], { parents: [] })), { now: 100, ...seamCtx(100) })
    assert.deepStrictEqual(tags(late), ["ParentRemoved"])
  })
})
