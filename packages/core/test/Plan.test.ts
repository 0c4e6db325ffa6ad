import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { decide, decodeCommand, fold } from "../src/Aggregate.js"
import type { ManagerView } from "../src/CredentialManager.js"
import * as Identity from "../src/Identity.js"
import type { IdentityState } from "../src/Identity.js"
import { AcsSystemId, ProviderRef } from "../src/Ids.js"
import { type Observed, plan } from "../src/Plan.js"
import { issuingKind } from "./planFixtures.js"

const cm = AcsSystemId.make("cm")
const acs = AcsSystemId.make("acs")
const ref = (s: string) => ProviderRef.make(s)
const caps = (lag: number) => () => ({ asyncIssue: true, listingLag: lag })

const setup = (): IdentityState => {
  let s: IdentityState | undefined
  for (const input of [
    { _tag: "CreateUserIdentity", userIdentityId: "u1" },
    { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu1", acsSystemId: "acs" },
    { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a1", managerId: "cm" },
    { _tag: "PhoneOnline", userIdentityId: "u1", phoneId: "p1", deviceType: "ios_phone" },
    { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c1", acsUserId: "acsu1", managerId: "cm", cardFormat: "rfid48", facilityCode: "9" }
  ]) {
    s = fold(s, Result.getOrThrow(decide(s, Result.getOrThrow(decodeCommand(input)), { now: 0, managers: new Set([cm]) })))
  }
  return s!
}

const view = (v: Partial<ManagerView>): ManagerView => ({ user: ref("usr"), invitations: [], endpoints: [], credentials: [], ...v })
const observed = (v: ManagerView): Observed => ({ managers: new Map([[cm, v]]), acs: new Map([[acs, []]]) })

/** Drive the pure planner by hand: bind the manager user, invite, redeem, and request the credential. */
const enrolled = () => {
  let s = setup()
  const p0 = plan(s, { managers: new Map(), acs: new Map() }, { now: 0, kind: issuingKind, capabilities: caps(0) })
  assert.deepStrictEqual(p0.actions.map((a) => a._tag), ["EnsureManagerUser"])
  s = fold(s, [{ _tag: "ManagerUserBound", identity: s.id, at: 0, managerId: cm, ref: ref("usr") }])!
  const p1 = plan(s, observed(view({})), { now: 0, kind: issuingKind, capabilities: caps(0) })
  assert.deepStrictEqual(p1.actions.map((a) => a._tag), ["Invite"])
  s = fold(s, p1.events)!
  s = fold(s, [{ _tag: "InvitationCreated", identity: s.id, at: 0, key: "p1|cm", invitation: ref("inv"), code: "AAAA-BBBB-CCCC-DDDD", phoneId: Identity.phone(s, "p1")!.id }])!
  const v = view({
    invitations: [{ ref: ref("inv"), code: "AAAA-BBBB-CCCC-DDDD", status: "redeemed" }],
    endpoints: [{ ref: ref("ep"), invitation: ref("inv"), status: "active" }]
  })
  const p2 = plan(s, observed(v), { now: 0, kind: issuingKind, capabilities: caps(0) })
  assert.deepStrictEqual(p2.actions.map((a) => a._tag), ["Issue"])
  assert.deepStrictEqual(p2.events.map((e) => e._tag), ["PhoneEnrolled", "CredentialRequested"])
  return { s: fold(s, p2.events)!, v }
}

describe("plan", () => {
  it("asks for exactly one issue per (parent, enrolled phone), recording the intent first", () => {
    enrolled()
  })

  it("adopts what the manager shows after a lost response instead of issuing again", () => {
    const { s, v } = enrolled()
    const issued = { ...v, credentials: [{ ref: ref("cr"), endpoint: ref("ep"), cardFormat: "rfid48", facilityCode: "9", status: "active" as const, cardNumber: "7" }] }
    const p = plan(s, observed(issued), { now: 5, kind: issuingKind, capabilities: caps(0) })
    assert.deepStrictEqual(p.events.map((e) => e._tag), ["CredentialIssued"])
    assert.isFalse(p.actions.some((a) => a._tag === "Issue" || a._tag === "Revoke"))
  })

  it("waits out the listing lag before concluding a request did not take effect", () => {
    const { s, v } = enrolled()
    const early = plan(s, observed(v), { now: 100, kind: issuingKind, capabilities: caps(1_000) })
    assert.deepStrictEqual(early.actions, [])
    assert.strictEqual(early.wakeAt, 1_000)
    const late = plan(s, observed(v), { now: 1_000, kind: issuingKind, capabilities: caps(1_000) })
    assert.deepStrictEqual(late.events.map((e) => e._tag), ["CredentialLost", "CredentialRequested"])
    assert.deepStrictEqual(late.actions.map((a) => a._tag), ["Issue"])
  })

  it("revokes duplicates and orphans it does not claim", () => {
    const { s, v } = enrolled()
    const cred = (r: string, n: string) => ({ ref: ref(r), endpoint: ref("ep"), cardFormat: "rfid48", facilityCode: "9", status: "active" as const, cardNumber: n })
    const p = plan(s, observed({ ...v, credentials: [cred("a", "1"), cred("b", "2")] }), { now: 5, kind: issuingKind, capabilities: caps(0) })
    const revokes = p.actions.filter((a) => a._tag === "Revoke")
    assert.strictEqual(revokes.length, 1)
    assert.strictEqual(revokes[0]?._tag === "Revoke" ? revokes[0].credential : undefined, ref("b"))
  })

  it("is idempotent: planning the same inputs twice asks for nothing new", () => {
    const { s, v } = enrolled()
    const again = plan(s, observed(v), { now: 0, kind: issuingKind, capabilities: caps(10) })
    assert.deepStrictEqual(again.events, [])
    assert.deepStrictEqual(again.actions, [])
  })

  it("does not perform anything: actions are plain data", () => {
    const { s, v } = enrolled()
    const p = plan(s, observed(v), { now: 0, kind: issuingKind, capabilities: caps(0) })
    assert.deepStrictEqual(JSON.parse(JSON.stringify(p.actions)), p.actions)
  })

  it("ends an enrollment whose redeemed endpoint was removed before the engine saw it (found by the property)", () => {
    let s = setup()
    s = fold(s, [{ _tag: "ManagerUserBound", identity: s.id, at: 0, managerId: cm, ref: ref("usr") }])!
    s = fold(s, plan(s, observed(view({})), { now: 0, kind: issuingKind, capabilities: caps(0) }).events)!
    s = fold(s, [{ _tag: "InvitationCreated", identity: s.id, at: 0, key: "p1|cm", invitation: ref("inv"), code: "AAAA-BBBB-CCCC-DDDD", phoneId: Identity.phone(s, "p1")!.id }])!
    const v = view({
      invitations: [{ ref: ref("inv"), code: "AAAA-BBBB-CCCC-DDDD", status: "redeemed" }],
      endpoints: [{ ref: ref("ep"), invitation: ref("inv"), status: "removed" }]
    })
    const p = plan(s, observed(v), { now: 5, kind: issuingKind, capabilities: caps(0) })
    assert.deepStrictEqual(p.events.map((e) => e._tag), ["EnrollmentEnded", "EnrollmentRequested"])
    assert.strictEqual(Identity.enrollmentByKey(p.state, "p1|cm")?.generation, 2)
    assert.deepStrictEqual(p.actions.map((a) => a._tag), ["Invite"])
  })

  it("removes a second ACS entry of the same card, keeping the one it imported (found by the property)", () => {
    const { s, v } = enrolled()
    const cred = { ref: ref("cr"), endpoint: ref("ep"), cardFormat: "rfid48", facilityCode: "9", status: "active" as const, cardNumber: "7" }
    const active = fold(s, [{ _tag: "CredentialIssued", identity: s.id, at: 1, credentialId: s.children[0]?.id as never, ref: ref("cr"), active: true, cardNumber: "7" }])!
    const entry = (r: string) => ({ ref: ref(r), cardNumber: "7", cardFormat: "rfid48", facilityCode: "9", label: "credsync:x", assignedTo: "acsu1" as never })
    const withAcs = (entries: ReadonlyArray<ReturnType<typeof entry>>): Observed => ({ managers: new Map([[cm, { ...v, credentials: [cred] }]]), acs: new Map([[acs, entries]]) })
    const first = plan(active, withAcs([entry("e1")]), { now: 2, kind: issuingKind, capabilities: caps(0) })
    const imported = first.state
    assert.strictEqual(imported.children[0]?.acsRef, ref("e1"))
    const p = plan(imported, withAcs([entry("e0"), entry("e1")]), { now: 3, kind: issuingKind, capabilities: caps(0) })
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "RemoveFromAcs" ? [a.entry, a.why] : a._tag)),
      [[ref("e0"), "duplicate"]]
    )
  })
})
