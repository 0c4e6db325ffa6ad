/**
 * The planner's rules for a replicating manager (Seam style) at their edges: which automations and
 * parents are its own, when a parent counts as there, which copies mirror a phone credential and
 * when they change it, the bound on replication, copies nobody claims, and enrollment as the
 * manager reports it. Next to it a manager that does not replicate, to see that each is judged by
 * its own listing. Every event a plan emits must be a valid domain event.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import { decide, decodeCommand, fold } from "../src/Aggregate.js"
import type { Capabilities, ManagerCredential, ManagerKind, ManagerView } from "../src/CredentialManager.js"
import { DomainEvent } from "../src/Event.js"
import * as Identity from "../src/Identity.js"
import type { IdentityState } from "../src/Identity.js"
import { AcsSystemId, ProviderRef } from "../src/Ids.js"
import { type Observed, type Plan, type PlanContext, plan } from "../src/Plan.js"
import { seamIdentity } from "./planFixtures.js"

const seam = AcsSystemId.make("seam")
const cm = AcsSystemId.make("cm")
const acs = AcsSystemId.make("acs")
const ref = (s: string) => ProviderRef.make(s)
const capsOf =
  (lag = 0) =>
  (): Capabilities => ({ asyncIssue: true, listingLag: lag })
/** seam replicates; cm is issued at by the engine. */
const kindOf = (m: AcsSystemId): ManagerKind => (m === seam ? "replicating" : "issuing")
const ctx = (now: number, lag = 0): PlanContext => ({ now, kind: kindOf, capabilities: capsOf(lag) })

const apply = (s: IdentityState | undefined, input: Record<string, unknown>) =>
  fold(s, Result.getOrThrow(decide(s, Result.getOrThrow(decodeCommand(input)), { now: 0, managers: new Set([seam, cm]) })))!

const decodeEvent = Schema.decodeUnknownResult(DomainEvent)
const run = (s: IdentityState, o: Observed, c: PlanContext): Plan => {
  const p = plan(s, o, c)
  for (const e of p.events) {
    const decoded = decodeEvent(e)
    if (Result.isFailure(decoded)) assert.fail(`invalid ${e._tag}: ${decoded.failure.message}`)
  }
  return p
}

/** The parent and the automation bound at seam (pc1, ea1). */
const bound = () => {
  const s = seamIdentity()
  return fold(s, [
    { _tag: "ParentBound", identity: s.id, at: 0, credentialId: Identity.parent(s, "c1")!.id, ref: ref("pc1") },
    { _tag: "AutomationBound", identity: s.id, at: 0, automationId: Identity.automation(s, "a1")!.id, ref: ref("ea1") }
  ])!
}

const view = (v: Partial<ManagerView>): ManagerView => ({ user: ref("ui1"), invitations: [], endpoints: [], credentials: [], ...v })
const remoteParent = (r: string, cardFormat = "rfid48") => ({ ref: ref(r), cardFormat, facilityCode: "9" })
const obs = (v: ManagerView, more: ReadonlyArray<readonly [AcsSystemId, ManagerView]> = []): Observed => ({ managers: new Map([[seam, v], ...more]), acs: new Map() })
const copy = (r: string, endpoint: string, options: { readonly status?: ManagerCredential["status"]; readonly parent?: string; readonly cardNumber?: string } = {}): ManagerCredential => ({
  ref: ref(r),
  endpoint: ref(endpoint),
  cardFormat: "rfid48",
  facilityCode: "9",
  status: options.status ?? "active",
  parent: ref(options.parent ?? "pc1"),
  ...(options.cardNumber === undefined ? {} : { cardNumber: options.cardNumber })
})
/** What seam lists for the bound identity: its parent, its automation, dev1 enrolled, and these copies. */
const listed = (credentials: ReadonlyArray<ManagerCredential>, more: Partial<ManagerView> = {}) =>
  view({ parents: [remoteParent("pc1")], automations: [{ ref: ref("ea1") }], endpoints: [{ ref: ref("dev1"), status: "active" }], credentials, ...more })

/** dev1 enrolled, its phone credential mirrored as k1 (active, card 1), at time 0. */
const mirrored = () => {
  const s = bound()
  return fold(s, run(s, obs(listed([copy("k1", "dev1", { cardNumber: "1" })])), ctx(0)).events)!
}
const child = (s: IdentityState) => s.children[0]!
const tags = (p: Plan) => p.events.map((e) => e._tag)
const issuedRefs = (p: Plan) => p.events.flatMap((e) => (e._tag === "CredentialIssued" ? [[e.ref, e.active]] : []))

describe("a replicating manager: its own automations and parents", () => {
  /** seam as above, plus automation a2 and parent c2 (h10301) at cm, which does not replicate. */
  const twoManagers = () => {
    let s = seamIdentity()
    s = apply(s, { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a2", managerId: "cm" })
    s = apply(s, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c2", acsUserId: "acsu1", managerId: "cm", cardFormat: "h10301", facilityCode: "9" })
    return fold(s, [{ _tag: "ManagerUserBound", identity: s.id, at: 0, managerId: cm, ref: ref("usr") }])!
  }

  it("binds, launches and creates at seam only what belongs to seam", () => {
    const s = twoManagers()
    const p = run(s, obs(view({ automations: [{ ref: ref("ea1") }] })), ctx(0))
    assert.deepStrictEqual(
      p.events.flatMap((e): ReadonlyArray<ReadonlyArray<string>> =>
        e._tag === "AutomationBound" ? [[e.automationId, e.ref]] : e._tag === "ParentRemoteRequested" ? [[e.credentialId]] : []
      ),
      [[Identity.automation(s, "a1")!.id, ref("ea1")], [Identity.parent(s, "c1")!.id]]
    )
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "CreateRemoteParent" ? [a._tag, a.managerId, a.credentialId] : [a._tag])),
      // (cm invites the phone: that manager is not observed here, and does not replicate)
      [["CreateRemoteParent", seam, Identity.parent(s, "c1")!.id], ["Invite"]]
    )
    // nothing bound yet at seam: the automation is launched there, for a1 only
    const launch = run(s, obs(view({})), ctx(0))
    assert.deepStrictEqual(
      launch.actions.flatMap((a) => (a._tag === "LaunchRemoteAutomation" ? [[a.managerId, a.automationId]] : [])),
      [[seam, Identity.automation(s, "a1")!.id]]
    )
  })

  it("deletes a stray parent at seam while only another manager's parent awaits creation", () => {
    let s = twoManagers()
    s = fold(s, [{ _tag: "ParentBound", identity: s.id, at: 0, credentialId: Identity.parent(s, "c1")!.id, ref: ref("pc1") }])!
    const p = run(s, obs(view({ parents: [remoteParent("pc1"), remoteParent("px", "x")] })), ctx(1))
    assert.deepStrictEqual(
      p.actions.flatMap((a) => (a._tag === "DeleteRemoteParent" ? [a.parent] : [])),
      [ref("px")]
    )
  })

  it("does not delete strays while one of its parents awaits creation, though another is bound", () => {
    let s = bound()
    s = apply(s, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c3", acsUserId: "acsu1", managerId: "seam", cardFormat: "h10301", facilityCode: "9" })
    s = fold(s, [{ _tag: "ParentRemoteRequested", identity: s.id, at: 0, credentialId: Identity.parent(s, "c3")!.id }])!
    const p = run(s, obs(view({ parents: [remoteParent("pc1"), remoteParent("py", "x")] })), ctx(1, 100))
    assert.deepStrictEqual(p.actions, [])
  })

  it("creates its parent again when seam no longer lists it, and deletes what it lists instead", () => {
    const s = bound()
    const p = run(s, obs(view({ parents: [remoteParent("px", "h10301")], automations: [{ ref: ref("ea1") }] })), ctx(1))
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "DeleteRemoteParent" ? [a._tag, a.parent] : [a._tag])),
      [["CreateRemoteParent"], ["DeleteRemoteParent", ref("px")]]
    )
    // a listing without a parents field: nothing to delete
    const none = run(s, obs(view({ automations: [{ ref: ref("ea1") }] })), ctx(1))
    assert.deepStrictEqual(
      none.actions.map((a) => a._tag),
      ["CreateRemoteParent"]
    )
  })

  it("never adopts a parent a deleted parent of the same profile still holds there", () => {
    let s = apply(bound(), { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" })
    s = apply(s, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c2", acsUserId: "acsu1", managerId: "seam", cardFormat: "rfid48", facilityCode: "9" })
    const p = run(s, obs(view({ parents: [remoteParent("pc1")], automations: [{ ref: ref("ea1") }] })), ctx(1))
    assert.isFalse(p.events.some((e) => e._tag === "ParentBound"))
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "DeleteRemoteParent" ? [a._tag, a.parent] : a._tag === "CreateRemoteParent" ? [a._tag, a.credentialId] : [a._tag])),
      [
        ["DeleteRemoteParent", ref("pc1")],
        ["CreateRemoteParent", Identity.parent(s, "c2")!.id]
      ]
    )
  })

  it("deletes a deleted parent only while seam lists it", () => {
    const s = apply(bound(), { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" })
    const gone = run(s, obs(view({ parents: [] })), ctx(1))
    assert.deepStrictEqual(gone.actions, [])
    assert.deepStrictEqual(tags(gone), ["ParentRemoved"])
    // a listing without a parents field says it is gone too
    assert.deepStrictEqual(tags(run(s, obs(view({})), ctx(1))), ["ParentRemoved"])
  })
})

describe("a replicating manager: enrollment as it reports it", () => {
  it("enrolls an active phone of an automation's manager only when seam lists its endpoint active", () => {
    const s = bound()
    assert.isFalse(tags(run(s, obs(listed([], { endpoints: [{ ref: ref("dev1"), status: "removed" }] })), ctx(1))).includes("PhoneEnrolled"))
    assert.includeMembers(tags(run(s, obs(listed([])), ctx(1))), ["EnrollmentRequested", "PhoneEnrolled"])
    // no automation at seam any more: not enrolled there, though listed
    const noAutomation = apply(s, { _tag: "DeleteAutomation", userIdentityId: "u1", automationId: "a1" })
    assert.isFalse(tags(run(noAutomation, obs(listed([])), ctx(1))).includes("PhoneEnrolled"))
    // a deactivated phone is not enrolled: its endpoint is removed at seam
    const off = apply(s, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "dev1" })
    const p = run(off, obs(listed([])), ctx(1))
    assert.isFalse(tags(p).includes("PhoneEnrolled"))
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "RemoveEndpoint" ? [a._tag, a.endpoint] : [a._tag])),
      [["RemoveEndpoint", ref("dev1")]]
    )
  })

  it("ends the enrollment when seam stops listing the endpoint, and enrolls again as the next generation", () => {
    const s = mirrored()
    const first = Identity.enrollmentByKey(s, "dev1|seam")!
    assert.strictEqual(first.generation, 1)
    const gone = run(s, obs(listed([copy("k1", "dev1", { cardNumber: "1" })], { endpoints: [] })), ctx(1))
    assert.deepStrictEqual(
      gone.events.flatMap((e) => (e._tag === "EnrollmentEnded" ? [[e.key, e.reason]] : [])),
      [["dev1|seam", "endpoint_removed"]]
    )
    const ended = fold(s, gone.events)!
    const again = run(ended, obs(listed([])), ctx(2))
    const e = Identity.enrollmentByKey(again.state, "dev1|seam")!
    assert.strictEqual(e.generation, 2)
    assert.strictEqual(e.status, "enrolled")
    assert.notStrictEqual(e.id, first.id)
  })
})

describe("a replicating manager: mirroring copies", () => {
  it("mirrors nothing while seam is not observed or its parent is not bound there", () => {
    const s = mirrored()
    assert.deepStrictEqual(run(s, { managers: new Map(), acs: new Map() }, ctx(5)).events, [])
    // enrolled, but the parent is not created at seam yet: no phone credential to wait for
    const unbound = seamIdentity()
    const p = run(unbound, obs(view({ endpoints: [{ ref: ref("dev1"), status: "active" }] })), ctx(1))
    assert.includeMembers(tags(p), ["PhoneEnrolled"])
    assert.isFalse(tags(p).includes("CredentialRequested"))
  })

  it("takes as the phone's copy only a live copy of its parent on its endpoint", () => {
    const s = bound()
    const p = run(s, obs(listed([copy("a", "dev1", { parent: "pc2" }), copy("b", "dev2"), copy("c", "dev1", { status: "revoked" })])), ctx(1))
    assert.includeMembers(tags(p), ["CredentialRequested"])
    assert.deepStrictEqual(issuedRefs(p), [])
  })

  it("changes the phone credential only when its copy changed: another copy, its status, its card number", () => {
    const s = mirrored()
    assert.strictEqual(child(s).issue, "active")
    // the same copy, listed without a card number: nothing changed
    assert.deepStrictEqual(run(s, obs(listed([copy("k1", "dev1")])), ctx(1)).events, [])
    // only another copy now: that one is the phone's
    assert.deepStrictEqual(issuedRefs(run(s, obs(listed([copy("k2", "dev1", { cardNumber: "1" })])), ctx(1))), [[ref("k2"), true]])
    // issuing, then active
    const b = bound()
    const issuing = fold(b, run(b, obs(listed([copy("k1", "dev1", { status: "issuing" })])), ctx(0)).events)!
    assert.strictEqual(child(issuing).issue, "issuing")
    assert.deepStrictEqual(run(issuing, obs(listed([copy("k1", "dev1", { status: "issuing" })])), ctx(1)).events, [])
    const active = run(issuing, obs(listed([copy("k1", "dev1", { cardNumber: "1" })])), ctx(2))
    assert.deepStrictEqual(tags(active), ["CredentialIssued", "CredentialAssigned"])
  })

  it("looks again only at a copy still issuing", () => {
    assert.isUndefined(run(mirrored(), obs(listed([copy("k1", "dev1", { cardNumber: "1" })])), { ...ctx(5), pollMs: 700 }).wakeAt)
  })

  it("reports a phone without its copy after the default bound of 60 s, once", () => {
    const b = bound()
    // the phone credential is requested at 10 s
    const s = fold(b, run(b, obs(listed([])), ctx(10_000)).events)!
    assert.strictEqual(run(s, obs(listed([])), ctx(69_999)).wakeAt, 70_000)
    const late = run(s, obs(listed([])), ctx(70_000))
    const failed = late.events.find((e) => e._tag === "CredentialFailed")
    assert.deepStrictEqual(failed?._tag === "CredentialFailed" ? [failed.error.code, failed.error.message] : [], [
      "not_replicated",
      "the credential manager has not copied the parent onto this phone after 60 s"
    ])
    const after = fold(s, late.events)!
    assert.deepStrictEqual(run(after, obs(listed([])), ctx(200_000)).events, [])
  })
})

describe("a replicating manager: copies nobody claims", () => {
  it("revokes a live copy of its parent that no phone credential claims, and nothing else", () => {
    const s = mirrored()
    const p = run(
      s,
      obs(listed([copy("k1", "dev1", { cardNumber: "1" }), copy("k9", "dev9"), copy("x9", "dev9", { parent: "other" }), copy("r9", "dev9", { status: "revoked" })])),
      ctx(1)
    )
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "Revoke" ? [a._tag, a.credential, a.why] : [a._tag])),
      [["Revoke", ref("k9"), "unclaimed"]]
    )
  })

  it("revokes a deactivated phone's copy as unclaimed, and does not touch the ACS for it", () => {
    const s = apply(mirrored(), { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "dev1" })
    const retiring = fold(s, run(s, obs(listed([copy("k1", "dev1", { cardNumber: "1" })])), ctx(1)).events)!
    assert.isTrue(child(retiring).retiring)
    // the ACS happens to be observed and holds an entry of that card (not one credsync manages)
    const p = run(
      retiring,
      { managers: new Map([[seam, listed([copy("k1", "dev1", { cardNumber: "1" })])]]), acs: new Map([[acs, [{ ref: ref("e1"), cardNumber: "1", cardFormat: "rfid48", facilityCode: "9", label: "door" }]]]) },
      ctx(2)
    )
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "Revoke" ? [a._tag, a.credential, a.why] : [a._tag])),
      [["RemoveEndpoint"], ["Revoke", ref("k1"), "unclaimed"]]
    )
  })

  it("does not revoke at a manager that does not replicate what seam's rules would", () => {
    const s = mirrored()
    const other = view({ user: ref("usr"), credentials: [copy("k9", "dev9")] })
    const p = run(s, obs(listed([copy("k1", "dev1", { cardNumber: "1" })]), [[cm, other]]), ctx(1))
    // cm's listing is judged by cm's rules: an unclaimed credential there is revoked once, as unclaimed
    assert.deepStrictEqual(
      p.actions.flatMap((a) => (a._tag === "Revoke" ? [[a.managerId, a.credential]] : [])),
      [[cm, ref("k9")]]
    )
  })
})

describe("a replicating manager: deleted parents and several at once", () => {
  const removed = (p: Plan) => p.events.flatMap((e) => (e._tag === "ParentRemoved" ? [e.credentialId] : []))

  it("forgets a deleted parent seam no longer lists, though it lists another", () => {
    const s = apply(bound(), { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" })
    assert.deepStrictEqual(removed(run(s, obs(view({ parents: [remoteParent("px", "h10301")] })), ctx(1))), [Identity.parent(s, "c1")!.id])
  })

  it("forgets a deleted parent bound there at once once unlisted, and one never requested there", () => {
    // requested at 0 and bound: the lag (100) does not matter any more
    let s = seamIdentity()
    s = fold(s, [
      { _tag: "ParentRemoteRequested", identity: s.id, at: 0, credentialId: Identity.parent(s, "c1")!.id },
      { _tag: "ParentBound", identity: s.id, at: 0, credentialId: Identity.parent(s, "c1")!.id, ref: ref("pc1") }
    ])!
    const deleted = apply(s, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" })
    assert.deepStrictEqual(removed(run(deleted, obs(view({ parents: [] })), ctx(50, 100))), [Identity.parent(s, "c1")!.id])
    const never = apply(seamIdentity(), { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" })
    assert.deepStrictEqual(removed(run(never, obs(view({ parents: [] })), ctx(50, 100))), [Identity.parent(never, "c1")!.id])
  })

  it("creates two parents at once, and launches at two replicating managers at once", () => {
    let s = apply(seamIdentity(), { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c2", acsUserId: "acsu1", managerId: "seam", cardFormat: "h10301", facilityCode: "9" })
    const p = run(s, obs(view({})), ctx(0))
    assert.deepStrictEqual(
      p.actions.flatMap((a) => (a._tag === "CreateRemoteParent" ? [a.credentialId] : [])),
      [Identity.parent(s, "c1")!.id, Identity.parent(s, "c2")!.id]
    )
    // cm replicates too here: one launch at each manager
    s = apply(s, { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a2", managerId: "cm" })
    s = fold(s, [{ _tag: "ManagerUserBound", identity: s.id, at: 0, managerId: cm, ref: ref("usr") }])!
    const both = run(s, { managers: new Map([[seam, view({})], [cm, view({ user: ref("usr") })]]), acs: new Map() }, { now: 0, kind: () => "replicating", capabilities: () => ({ asyncIssue: true, listingLag: 0 }) })
    assert.deepStrictEqual(
      both.actions.flatMap((a) => (a._tag === "LaunchRemoteAutomation" ? [[a.managerId, a.automationId]] : [])),
      [
        [seam, Identity.automation(s, "a1")!.id],
        [cm, Identity.automation(s, "a2")!.id]
      ]
    )
  })

  it("leaves the ACS to seam: no import, no assignment, no fact about an entry of a copy's card", () => {
    const s = mirrored()
    const p = run(
      s,
      { managers: new Map([[seam, listed([copy("k1", "dev1", { cardNumber: "1" })])]]), acs: new Map([[acs, [{ ref: ref("e1"), cardNumber: "1", cardFormat: "rfid48", facilityCode: "9", label: "door" }]]]) },
      ctx(1)
    )
    assert.deepStrictEqual(p.actions, [])
    assert.deepStrictEqual(p.events, [])
  })
})
