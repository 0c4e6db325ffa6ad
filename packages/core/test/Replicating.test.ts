import { assert, describe, it } from "@effect/vitest"
import { fold } from "../src/Aggregate.js"
import type { ManagerView } from "../src/CredentialManager.js"
import * as Identity from "../src/Identity.js"
import { type Observed, plan } from "../src/Plan.js"
import { apply, ref, seam, seamIdentity } from "./planFixtures.js"

// A replicating manager (Seam): the engine creates the parent there and mirrors the copies it makes.
const ctx = (now: number) => ({ now, kind: () => "replicating" as const, capabilities: () => ({ asyncIssue: true, listingLag: 0 }), replicationBoundMs: 60_000 })

const view = (v: Partial<ManagerView>): ManagerView => ({ user: ref("ui1"), invitations: [], endpoints: [], credentials: [], ...v })
const obs = (v: ManagerView): Observed => ({ managers: new Map([[seam, v]]), acs: new Map() })
const copy = (r: string, endpoint: string, status: "issuing" | "active" = "active") => ({
  ref: ref(r),
  endpoint: ref(endpoint),
  cardFormat: "rfid48",
  facilityCode: "9",
  status,
  parent: ref("pc1")
})

describe("plan with a replicating manager", () => {
  it("creates the parent and launches the automation there, never invites or issues", () => {
    const p = plan(seamIdentity(), obs(view({})), ctx(0))
    assert.sameMembers(p.actions.map((a) => a._tag), ["CreateRemoteParent", "LaunchRemoteAutomation"])
    assert.includeMembers(p.events.map((e) => e._tag), ["ParentRemoteRequested", "AutomationRemoteRequested"])
  })

  it("adopts the manager's parent after a lost create response instead of creating another", () => {
    const s = fold(seamIdentity(), plan(seamIdentity(), obs(view({})), ctx(0)).events)!
    const p = plan(s, obs(view({ parents: [{ ref: ref("pc1"), cardFormat: "rfid48", facilityCode: "9" }], automations: [{ ref: ref("ea1") }] })), ctx(5))
    assert.deepStrictEqual(p.actions, [])
    assert.includeMembers(p.events.map((e) => e._tag), ["ParentBound"])
  })

  const bound = () =>
    fold(seamIdentity(), [
      { _tag: "ParentBound", identity: seamIdentity().id, at: 0, credentialId: Identity.parent(seamIdentity(), "c1")!.id, ref: ref("pc1") },
      { _tag: "AutomationBound", identity: seamIdentity().id, at: 0, automationId: Identity.automation(seamIdentity(), "a1")!.id, ref: ref("ea1") }
    ])!
  const listed = (credentials: ReturnType<typeof copy>[]) =>
    view({
      parents: [{ ref: ref("pc1"), cardFormat: "rfid48", facilityCode: "9" }],
      automations: [{ ref: ref("ea1") }],
      endpoints: [{ ref: ref("dev1"), status: "active" }],
      credentials
    })

  it("mirrors one copy per enrolled phone and revokes a second one", () => {
    const p = plan(bound(), obs(listed([copy("k1", "dev1"), copy("k2", "dev1")])), ctx(10))
    assert.includeMembers(p.events.map((e) => e._tag), ["PhoneEnrolled", "CredentialRequested", "CredentialIssued", "CredentialAssigned"])
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "Revoke" ? a.credential : a._tag)),
      [ref("k2")]
    )
  })

  it("reports a phone left without its copy past the bound", () => {
    const s = fold(bound(), plan(bound(), obs(listed([])), ctx(0)).events)!
    const early = plan(s, obs(listed([])), ctx(30_000))
    assert.deepStrictEqual(early.events, [])
    assert.strictEqual(early.wakeAt, 60_000)
    const late = plan(s, obs(listed([])), ctx(60_000))
    const failed = late.events.find((e) => e._tag === "CredentialFailed")
    assert.strictEqual(failed?._tag === "CredentialFailed" ? failed.error.code : undefined, "not_replicated")
  })

  it("deactivates the phone at the manager and revokes its copy, then forgets it", () => {
    let s = fold(bound(), plan(bound(), obs(listed([copy("k1", "dev1")])), ctx(0)).events)!
    s = apply(s, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "dev1" })
    const p = plan(s, obs(listed([copy("k1", "dev1")])), ctx(1))
    assert.sameMembers(p.actions.map((a) => a._tag), ["Revoke", "RemoveEndpoint"])
    s = fold(s, p.events)!
    const gone = plan(s, obs(listed([])), ctx(2))
    assert.includeMembers(gone.events.map((e) => e._tag), ["CredentialRevoked"])
  })
})

describe("plan with a replicating manager: copies and retries", () => {
  const bound = () =>
    fold(seamIdentity(), [
      { _tag: "ParentBound", identity: seamIdentity().id, at: 0, credentialId: Identity.parent(seamIdentity(), "c1")!.id, ref: ref("pc1") },
      { _tag: "AutomationBound", identity: seamIdentity().id, at: 0, automationId: Identity.automation(seamIdentity(), "a1")!.id, ref: ref("ea1") }
    ])!
  const listed = (credentials: ReadonlyArray<ReturnType<typeof copy> & { cardNumber?: string }>) =>
    view({
      parents: [{ ref: ref("pc1"), cardFormat: "rfid48", facilityCode: "9" }],
      automations: [{ ref: ref("ea1") }],
      endpoints: [{ ref: ref("dev1"), status: "active" }],
      credentials
    })

  it("keeps the copy it already mirrors, follows a reissued card number, and polls a copy still issuing", () => {
    const first = plan(bound(), obs(listed([{ ...copy("k1", "dev1"), cardNumber: "1" }])), ctx(0))
    let s = fold(bound(), first.events)!
    const child = () => s.children[0]!
    assert.strictEqual(child().ref, ref("k1"))
    // a second copy listed first: the mirrored one is kept, the other revoked as a duplicate
    const two = plan(s, obs(listed([{ ...copy("k0", "dev1"), cardNumber: "0" }, { ...copy("k1", "dev1"), cardNumber: "1" }])), ctx(1))
    assert.deepStrictEqual(
      two.actions.map((a) => (a._tag === "Revoke" ? [a.credential, a.why] : a._tag)),
      [[ref("k0"), "duplicate"]]
    )
    assert.isFalse(two.events.some((e) => e._tag === "CredentialIssued"))
    // reissued under the same id with a new card number
    const reissued = plan(s, obs(listed([{ ...copy("k1", "dev1"), cardNumber: "2" }])), ctx(2))
    const e = reissued.events.find((x) => x._tag === "CredentialIssued")
    assert.strictEqual(e?._tag === "CredentialIssued" ? e.cardNumber : undefined, "2")
    s = fold(s, reissued.events)!
    assert.strictEqual(child().cardNumber, "2")
    // a copy still issuing is looked at again after the poll interval
    const fresh = fold(bound(), [])!
    const issuing = plan(fresh, obs(listed([{ ...copy("k1", "dev1", "issuing") }])), { ...ctx(10), pollMs: 700 })
    assert.strictEqual(issuing.wakeAt, 710)
    assert.isFalse(issuing.events.some((x) => x._tag === "CredentialAssigned"), "assigned only once active")
  })

  it("forgets a copy the manager no longer holds, and waits for it again", () => {
    const s = fold(bound(), plan(bound(), obs(listed([copy("k1", "dev1")])), ctx(0)).events)!
    const gone = plan(s, obs(listed([])), ctx(5))
    const lost = gone.events.find((e) => e._tag === "CredentialLost")
    assert.strictEqual(lost?._tag === "CredentialLost" ? lost.reason : undefined, "the manager no longer holds its copy")
    assert.strictEqual(Identity.child(fold(s, gone.events)!, s.children[0]!.id)?.requestedAt, 5)
  })

  it("creates the parent and launches the automation again only after the lag, and deletes parents nobody holds", () => {
    const s = fold(seamIdentity(), plan(seamIdentity(), obs(view({})), ctx(0)).events)!
    const lagging = (now: number) => ({ now, kind: () => "replicating" as const, capabilities: () => ({ asyncIssue: true, listingLag: 1_000 }) })
    const early = plan(s, obs(view({})), lagging(500))
    assert.deepStrictEqual(early.actions, [])
    assert.strictEqual(early.wakeAt, 1_000)
    assert.sameMembers(
      plan(s, obs(view({})), lagging(1_000)).actions.map((a) => a._tag),
      ["CreateRemoteParent", "LaunchRemoteAutomation"]
    )
    // a parent of another card profile is not ours to adopt; once ours is bound, strays are deleted
    const stray = { ref: ref("px"), cardFormat: "h10301", facilityCode: "1" }
    const creating = plan(s, obs(view({ parents: [stray] })), lagging(500))
    assert.isFalse(creating.actions.some((a) => a._tag === "DeleteRemoteParent"), "not while ours is being created")
    assert.isFalse(creating.events.some((e) => e._tag === "ParentBound"))
    const b = bound()
    const p = plan(b, obs(view({ parents: [{ ref: ref("pc1"), cardFormat: "rfid48", facilityCode: "9" }, stray], automations: [{ ref: ref("ea1") }] })), ctx(1))
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "DeleteRemoteParent" ? a.parent : a._tag)),
      [ref("px")]
    )
  })
})
