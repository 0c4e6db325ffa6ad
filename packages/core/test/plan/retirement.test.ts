/**
 * Step 5: a phone credential nobody wants is marked retiring with its reason, then revoked at the
 * manager (also when a lagging listing does not show it yet), taken out of the ACS, and forgotten
 * only once neither holds it.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Observed, PlanContext } from "../../src/Plan.js"
import type { IdentityState } from "../../src/Identity.js"
import { retire, retirement } from "../../src/internal/plan/retirement.js"
import { acs, apply, caps, cm, cred, entry, observed, ref, view } from "../planFixtures.js"
import { acts, copy, issuedAs, mirrored, requested, seamCtx, seamObserved, seamView, start, tags, withFacts } from "./fixtures.js"

/** k1 issued as x1 (active, card 77) and then retiring; k2 requested. */
const retiring = () => {
  const { s, v, k1, k2 } = requested()
  return { s: withFacts(issuedAs(s, k1.id, "x1", true, "77"), k1.id, "retiring"), v, k1, k2 }
}
const retireWith = (s: IdentityState, o: Observed, ctx: Partial<PlanContext> = {}) => {
  const run = start(s, o, ctx)
  retirement(run)
  return run
}
const revokes = (run: ReturnType<typeof start>) => run.actions.flatMap((a) => (a._tag === "Revoke" ? [[a.credential, a.why]] : []))

describe("retire", () => {
  it("marks each unwanted phone credential retiring, with why", () => {
    const { s, k1, k2 } = requested()
    const run = start(s, observed(view({})))
    retire(run, new Set())
    assert.deepStrictEqual(
      run.events.flatMap((e) => (e._tag === "CredentialRetiring" ? [[e.credentialId, e.reason]] : [])),
      [
        [k1.id, "endpoint_removed"],
        [k2.id, "endpoint_removed"]
      ]
    )
    const off = start(apply(s, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p1" }), observed(view({})))
    retire(off, new Set([k2.id]))
    const gone = start(apply(s, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" }), observed(view({})))
    retire(gone, new Set())
    assert.deepStrictEqual(
      [...off.events, ...gone.events].flatMap((e) => (e._tag === "CredentialRetiring" ? [e.reason] : [])),
      ["phone_deactivated", "parent_deleted", "parent_deleted"]
    )
    // marked once
    const again = start(off.state, observed(view({})))
    retire(again, new Set())
    assert.deepStrictEqual(
      again.events.flatMap((e) => (e._tag === "CredentialRetiring" ? [e.credentialId] : [])),
      [k2.id]
    )
  })
})

describe("retirement", () => {
  it("revokes a live credential and removes its ACS entry before forgetting it", () => {
    const { s, v } = retiring()
    const run = retireWith(s, observed({ ...v, credentials: [cred("x1", "ep1", "77")] }, [entry("e1", "77")]))
    assert.deepStrictEqual(revokes(run), [[ref("x1"), "retiring"]])
    assert.deepStrictEqual(run.actions[1], { _tag: "RemoveFromAcs", acsSystemId: acs, entry: ref("e1"), why: "retiring" })
    assert.deepStrictEqual(tags(run), [])
    const inAcs = retireWith(s, observed({ ...v, credentials: [cred("x1", "ep1", "77", "revoked")] }, [entry("e1", "77")]))
    assert.deepStrictEqual([acts(inAcs), tags(inAcs)], [["RemoveFromAcs"], []])
    const done = retireWith(s, observed({ ...v, credentials: [cred("x1", "ep1", "77", "revoked")] }))
    assert.deepStrictEqual([acts(done), tags(done)], [[], ["CredentialRevoked"]])
  })

  it("takes a credential missing from a lagging listing as live until the lag has passed", () => {
    const { s, v } = retiring()
    const early = retireWith(s, observed(v), { now: 50, capabilities: caps(100) })
    assert.deepStrictEqual([revokes(early), tags(early), early.wakeAt], [[[ref("x1"), "retiring"]], [], 100])
    const late = retireWith(s, observed(v), { now: 100, capabilities: caps(100) })
    assert.deepStrictEqual([acts(late), tags(late)], [[], ["CredentialRevoked"]])
  })

  it("is unsure of a request without response until the lag has passed", () => {
    const { s: req, v, k2 } = requested()
    const s = withFacts(req, k2.id, "retiring")
    const early = retireWith(s, observed(v), { now: 50, capabilities: caps(100) })
    assert.deepStrictEqual([acts(early), tags(early)], [[], []])
    const late = retireWith(s, observed(v), { now: 100, capabilities: caps(100) })
    assert.deepStrictEqual(tags(late), ["CredentialRevoked"])
  })

  it("waits while the manager or the parent's ACS is not observed", () => {
    const { s, v } = retiring()
    const noAcs = retireWith(s, { managers: new Map([[cm, v]]), acs: new Map() })
    const noManager = retireWith(s, { managers: new Map(), acs: new Map([[acs, []]]) })
    assert.deepStrictEqual([noAcs.actions, noAcs.events, noManager.actions, noManager.events], [[], [], [], []])
  })

  it("at a replicating manager, revokes the copy without looking at the ACS (the manager removes it there)", () => {
    const s = mirrored()
    const k1 = s.children[0]!
    const r = withFacts(s, k1.id, "retiring")
    const run = retireWith(r, seamObserved(seamView([copy("k1", "dev1", "active", "1")])), seamCtx())
    assert.deepStrictEqual(revokes(run), [[ref("k1"), "retiring"]])
    const gone = retireWith(r, seamObserved(seamView([copy("k1", "dev1", "revoked", "1")])), seamCtx())
    assert.deepStrictEqual(tags(gone), ["CredentialRevoked"])
  })
})
