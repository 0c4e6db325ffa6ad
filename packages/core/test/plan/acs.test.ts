/**
 * Step 6: in the ACS, each active phone credential imported once (by card number) and assigned to
 * its parent's ACS user; a second managed entry of a card and managed entries nobody claims removed;
 * entries not made by the engine left alone; a replicating manager's copies left to the manager.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Entry } from "../planFixtures.js"
import type { IdentityState } from "../../src/Identity.js"
import { acs as acsPhase } from "../../src/internal/plan/acs.js"
import { AcsUserId } from "../../src/Ids.js"
import { acs, cm2, entry, observed, ref } from "../planFixtures.js"
import { acts, copy, issuedAs, mirrored, requested, seamCtx, seamView, start, tags, withFacts } from "./fixtures.js"

/** k1 active with card 77; k2 still requested. */
const active = () => {
  const { s, v, k1 } = requested()
  return { s: issuedAs(s, k1.id, "x1", true, "77"), v, k1 }
}
const inAcs = (s: IdentityState, entries: ReadonlyArray<Entry>) => {
  const run = start(s, observed(requested().v, entries))
  acsPhase(run)
  return run
}
const removals = (run: ReturnType<typeof start>) => run.actions.flatMap((a) => (a._tag === "RemoveFromAcs" ? [[a.entry, a.why]] : []))

describe("acs", () => {
  it("imports an active phone credential missing from the ACS", () => {
    const { s, k1 } = active()
    const run = inAcs(s, [])
    assert.deepStrictEqual(
      run.actions.map((a) => (a._tag === "Import" ? [a.credentialId, a.cardNumber, a.card.cardFormat] : [a._tag])),
      [[k1.id, "77", "rfid48"]]
    )
    assert.deepStrictEqual(tags(run), [])
  })

  it("records the entry and assigns it to the parent's ACS user, or records the assignment it finds", () => {
    const { s, k1 } = active()
    const unassigned = inAcs(s, [entry("e1", "77")])
    assert.deepStrictEqual(tags(unassigned), ["CredentialImported"])
    assert.deepStrictEqual(unassigned.actions, [{ _tag: "Assign", acsSystemId: acs, credentialId: k1.id, entry: ref("e1"), acsUserId: AcsUserId.make("acsu1") }])
    const elsewhere = inAcs(s, [entry("e1", "77", "credsync:x", "someone")])
    assert.deepStrictEqual(acts(elsewhere), ["Assign"])
    const assigned = inAcs(s, [entry("e1", "77", "credsync:x", "acsu1")])
    assert.deepStrictEqual([acts(assigned), tags(assigned)], [[], ["CredentialImported", "CredentialAssigned"]])
    const settled = inAcs(assigned.state, [entry("e1", "77", "credsync:x", "acsu1")])
    assert.deepStrictEqual([acts(settled), tags(settled)], [[], []])
  })

  it("imports again an entry that disappeared from the ACS", () => {
    const { s } = active()
    const imported = inAcs(s, [entry("e1", "77", "credsync:x", "acsu1")]).state
    const run = inAcs(imported, [])
    assert.deepStrictEqual([acts(run), tags(run)], [["Import"], ["CredentialAcsLost"]])
  })

  it("keeps the entry it recorded of a card and removes other managed ones, never an entry it did not make", () => {
    const { s } = active()
    const imported = inAcs(s, [entry("e1", "77", "credsync:x", "acsu1")]).state
    const run = inAcs(imported, [entry("e0", "77"), entry("e1", "77", "credsync:x", "acsu1"), entry("e2", "77", "hand-made")])
    assert.deepStrictEqual(removals(run), [[ref("e0"), "duplicate"]])
  })

  it("removes managed entries no phone credential claims; a retiring one's card is still claimed", () => {
    const { s, k1 } = active()
    const entries = [entry("e1", "77"), entry("e9", "99"), entry("e8", "88", "hand-made")]
    assert.deepStrictEqual(removals(inAcs(s, entries)), [[ref("e9"), "unclaimed"]])
    const retiring = inAcs(withFacts(s, k1.id, "retiring"), entries)
    assert.deepStrictEqual(removals(retiring), [[ref("e9"), "unclaimed"]])
    assert.deepStrictEqual(tags(retiring), [], "a retiring credential is not imported nor recorded")
  })

  it("asks nothing of an ACS that was not observed", () => {
    const { s, v } = active()
    const run = start(s, { managers: observed(v).managers, acs: new Map() })
    acsPhase(run)
    assert.deepStrictEqual([run.actions, run.events], [[], []])
  })

  it("leaves a replicating manager's copies to it", () => {
    const s = mirrored()
    const run = start(s, { managers: new Map([[cm2, seamView([copy("k1", "dev1", "active", "1")])]]), acs: new Map([[acs, []]]) }, seamCtx())
    acsPhase(run)
    assert.deepStrictEqual([run.actions, run.events], [[], []])
  })
})
