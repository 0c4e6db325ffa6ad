/**
 * `UpdateUserIdentity`, `UnlinkAcsUser` and `UpdateSyncCredential`: what `decide` says (events, exact; refusals with reason,
 * field and message), what `evolve` makes of it, and what `plan` then asks for. Unlinking is refused
 * while a multi-phone sync credential is assigned to the ACS user, so the plan never has an ACS
 * entry of a parent whose ACS user the identity no longer has.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { decide, decodeCommand, evolve, fold } from "../src/Aggregate.js"
import type { ManagerCredential, ManagerView } from "../src/CredentialManager.js"
import type { DomainEvent } from "../src/Event.js"
import * as Identity from "../src/Identity.js"
import type { IdentityState } from "../src/Identity.js"
import { AcsSystemId, ProviderRef } from "../src/Ids.js"
import { type Observed, plan } from "../src/Plan.js"
import { issuingKind } from "./planFixtures.js"

const cm = AcsSystemId.make("cm")
const acs = AcsSystemId.make("acs")
const ref = (s: string) => ProviderRef.make(s)
const ctx = { now: 7, managers: new Set([cm]) }
const caps = () => ({ asyncIssue: true, listingLag: 0 })

const decided = (s: IdentityState | undefined, input: Record<string, unknown>) => decide(s, Result.getOrThrow(decodeCommand(input)), ctx)
const events = (s: IdentityState | undefined, input: Record<string, unknown>) => Result.getOrThrow(decided(s, input))
const apply = (s: IdentityState | undefined, input: Record<string, unknown>) => fold(s, events(s, input))!
const rejected = (s: IdentityState | undefined, input: Record<string, unknown>) => {
  const decoded = decodeCommand(input)
  if (Result.isFailure(decoded)) return decoded.failure
  const r = decide(s, decoded.success, ctx)
  if (Result.isSuccess(r)) return assert.fail(`expected ${JSON.stringify(input)} to be rejected`)
  return r.failure
}

const created = () =>
  apply(undefined, { _tag: "CreateUserIdentity", userIdentityId: "u1", key: "k1", email: "ana@example.com", phoneNumber: "+15550001", fullName: "Ana" })
const update = (fields: Record<string, unknown>) => ({ _tag: "UpdateUserIdentity", userIdentityId: "u1", ...fields })
const unlink = (acsUserId = "acsu1") => ({ _tag: "UnlinkAcsUser", userIdentityId: "u1", acsUserId })

describe("UpdateUserIdentity", () => {
  it("records the whole new profile: given fields replace, null removes, absent ones stay", () => {
    const s = created()
    assert.deepStrictEqual(events(s, update({ email: "bo@example.com", phoneNumber: null })), [
      { _tag: "ProfileUpdated", identity: s.id, at: 7, profile: { key: "k1", email: "bo@example.com", fullName: "Ana" } }
    ] as never)
    const after = apply(s, update({ key: "k2", fullName: null }))
    assert.deepStrictEqual(after.profile, { key: "k2", email: "ana@example.com", phoneNumber: "+15550001" })
    // everything else is untouched
    assert.deepStrictEqual({ ...after, profile: s.profile }, s)
    const cleared = apply(s, update({ key: null, email: null, phoneNumber: null, fullName: null }))
    assert.deepStrictEqual(cleared.profile, {})
  })

  it("says nothing when nothing changes (a retried update)", () => {
    const s = created()
    assert.deepStrictEqual(events(s, update({})), [])
    assert.deepStrictEqual(events(s, update({ key: "k1", fullName: "Ana" })), [])
    const bare = apply(undefined, { _tag: "CreateUserIdentity", userIdentityId: "u1" })
    assert.deepStrictEqual(events(bare, update({ email: null })), [])
    // one field differing is a change, whichever it is
    for (const field of [{ key: "k9" }, { email: "x@y" }, { phoneNumber: "+15550002" }, { fullName: "Bo" }]) {
      assert.strictEqual(events(s, update(field)).length, 1, JSON.stringify(field))
    }
  })

  it("refuses an unknown or deleted identity and malformed fields, naming the field", () => {
    const s = created()
    const deleting = apply(s, { _tag: "DeleteUserIdentity", userIdentityId: "u1" })
    const cases: ReadonlyArray<readonly [IdentityState | undefined, Record<string, unknown>, string, string, RegExp]> = [
      [undefined, update({ fullName: "Bo" }), "NotFound", "userIdentityId", /^user identity u1 not found$/],
      [deleting, update({ fullName: "Bo" }), "NotFound", "userIdentityId", /^user identity u1 not found$/],
      [s, update({ email: "nope" }), "InvalidInput", "email", /email/],
      [s, update({ phoneNumber: "555" }), "InvalidInput", "phoneNumber", /phoneNumber/],
      [s, update({ key: "" }), "InvalidInput", "key", /key/],
      [s, update({ colour: "red" }), "InvalidInput", "colour", /colour/]
    ]
    for (const [state, input, reason, field, message] of cases) {
      const e = rejected(state, input)
      assert.strictEqual(e.reason, reason, JSON.stringify(input))
      assert.strictEqual(e.field, field, JSON.stringify(input))
      assert.match(e.message, message)
    }
  })

  it("ProfileUpdated replaces the profile when folded", () => {
    const s = created()
    const e: DomainEvent = { _tag: "ProfileUpdated", identity: s.id, at: 9, profile: { fullName: "Bo" } }
    assert.deepStrictEqual(evolve(s, e).profile, { fullName: "Bo" })
  })

  it("changes nothing the plan asks for", () => {
    const { s, v } = withIssuedCredential()
    const after = apply(s, update({ fullName: "Someone else", email: null }))
    const o = observedWith(v, [entry("e1", "11", "acsu1")])
    const before = plan(s, o, { now: 10, kind: issuingKind, capabilities: caps })
    const now = plan(after, o, { now: 10, kind: issuingKind, capabilities: caps })
    assert.deepStrictEqual(now.actions, before.actions)
    assert.deepStrictEqual(now.events, before.events)
  })
})

const view = (v: Partial<ManagerView>): ManagerView => ({ user: ref("usr"), invitations: [], endpoints: [], credentials: [], ...v })
const observedWith = (v: ManagerView, entries: ReadonlyArray<ReturnType<typeof entry>>): Observed => ({
  managers: new Map([[cm, v]]),
  acs: new Map([[acs, entries]])
})
const cred = (r: string, endpoint: string, cardNumber: string): ManagerCredential => ({
  ref: ref(r),
  endpoint: ref(endpoint),
  cardFormat: "rfid48",
  facilityCode: "9",
  status: "active",
  cardNumber
})
const entry = (r: string, cardNumber: string, assignedTo?: string) => ({
  ref: ref(r),
  cardNumber,
  cardFormat: "rfid48",
  facilityCode: "9",
  label: "credsync:x",
  ...(assignedTo === undefined ? {} : { assignedTo: assignedTo as never })
})

/** One phone enrolled at ep1, parent c1 for acsu1, its phone credential issued (card 11), imported as e1 and assigned. */
const withIssuedCredential = () => {
  let s = created()
  s = apply(s, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu1", acsSystemId: "acs" })
  s = apply(s, { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a1", managerId: "cm" })
  s = apply(s, { _tag: "PhoneOnline", userIdentityId: "u1", phoneId: "p1", deviceType: "ios_phone" })
  s = apply(s, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c1", acsUserId: "acsu1", managerId: "cm", cardFormat: "rfid48", facilityCode: "9" })
  s = fold(s, [{ _tag: "ManagerUserBound", identity: s.id, at: 0, managerId: cm, ref: ref("usr") }])!
  s = fold(s, plan(s, observedWith(view({}), []), { now: 0, kind: issuingKind, capabilities: caps }).events)!
  s = fold(s, [{ _tag: "InvitationCreated", identity: s.id, at: 0, key: "p1|cm", invitation: ref("i1"), code: "CODE", phoneId: Identity.phone(s, "p1")!.id }])!
  const v = view({
    invitations: [{ ref: ref("i1"), code: "CODE", status: "redeemed" }],
    endpoints: [{ ref: ref("ep1"), invitation: ref("i1"), status: "active" }]
  })
  s = fold(s, plan(s, observedWith(v, []), { now: 1, kind: issuingKind, capabilities: caps }).events)!
  const child = s.children[0]!
  s = fold(s, [
    { _tag: "CredentialIssued", identity: s.id, at: 2, credentialId: child.id, ref: ref("k1"), active: true, cardNumber: "11" },
    { _tag: "CredentialImported", identity: s.id, at: 2, credentialId: child.id, acsRef: ref("e1") },
    { _tag: "CredentialAssigned", identity: s.id, at: 2, credentialId: child.id }
  ])!
  return { s, v: { ...v, credentials: [cred("k1", "ep1", "11")] }, child }
}

describe("UnlinkAcsUser", () => {
  it("removes the link and gives up its lookup key, with exactly one event", () => {
    let s = created()
    s = apply(s, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu1", acsSystemId: "acs" })
    s = apply(s, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu2", acsSystemId: "acs2" })
    assert.deepStrictEqual(events(s, unlink()), [{ _tag: "AcsUserUnlinked", identity: s.id, at: 7, acsUserId: "acsu1", acsSystemId: "acs" }] as never)
    const after = apply(s, unlink())
    assert.deepStrictEqual(after.acsUsers, { acs2: { acsUserId: "acsu2", acsSystemId: "acs2" } } as never)
    // the ACS may get another ACS user for this identity now
    assert.strictEqual(events(after, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu3", acsSystemId: "acs" }).length, 1)
  })

  it("folds a late or foreign unlink as a no-op", () => {
    let s = created()
    s = apply(s, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu1", acsSystemId: "acs" })
    const other: DomainEvent = { _tag: "AcsUserUnlinked", identity: s.id, at: 9, acsUserId: "acsu9" as never, acsSystemId: acs }
    assert.strictEqual(evolve(s, other), s)
    const elsewhere: DomainEvent = { _tag: "AcsUserUnlinked", identity: s.id, at: 9, acsUserId: "acsu1" as never, acsSystemId: AcsSystemId.make("acs9") }
    assert.strictEqual(evolve(s, elsewhere), s)
  })

  it("refuses an ACS user the identity does not have, and an unknown or deleted identity", () => {
    let s = created()
    s = apply(s, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu1", acsSystemId: "acs" })
    const deleting = apply(s, { _tag: "DeleteUserIdentity", userIdentityId: "u1" })
    const cases: ReadonlyArray<readonly [IdentityState | undefined, Record<string, unknown>, string, string, RegExp]> = [
      [s, unlink("acsu9"), "NotFound", "acsUserId", /^ACS user acsu9 is not linked to user identity u1$/],
      [undefined, unlink(), "NotFound", "userIdentityId", /^user identity u1 not found$/],
      [deleting, unlink(), "NotFound", "userIdentityId", /^user identity u1 not found$/],
      [s, { _tag: "UnlinkAcsUser", userIdentityId: "u1" }, "InvalidInput", "acsUserId", /acsUserId/]
    ]
    for (const [state, input, reason, field, message] of cases) {
      const e = rejected(state, input)
      assert.strictEqual(e.reason, reason, JSON.stringify(input))
      assert.strictEqual(e.field, field, JSON.stringify(input))
      assert.match(e.message, message)
    }
  })

  it("is refused while a credential is assigned to the ACS user, deleted or not, until the plan has removed it", () => {
    const { s, v, child } = withIssuedCredential()
    const conflict = /^multi-phone sync credential c1 is assigned to ACS user acsu1; delete it \(and wait until it is gone\) before unlinking$/
    let e = rejected(s, unlink())
    assert.deepStrictEqual([e.reason, e.field], ["Conflict", "acsUserId"])
    assert.match(e.message, conflict)

    // deleted: the plan still has its phone credential to revoke and its entry to remove
    let st = apply(s, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" })
    e = rejected(st, unlink())
    assert.deepStrictEqual([e.reason, e.field], ["Conflict", "acsUserId"])
    assert.match(e.message, conflict)
    const retiring = plan(st, observedWith(v, [entry("e1", "11", "acsu1")]), { now: 10, kind: issuingKind, capabilities: caps })
    assert.deepStrictEqual(retiring.events.map((x) => x._tag), ["CredentialRetiring"])
    assert.deepStrictEqual(retiring.actions, [
      { _tag: "Revoke", managerId: cm, credential: ref("k1"), why: "retiring" },
      { _tag: "RemoveFromAcs", acsSystemId: acs, entry: ref("e1"), why: "retiring" }
    ])
    st = retiring.state
    // revoked and removed: the child goes, then the parent
    const gone = plan(st, observedWith({ ...v, credentials: [] }, []), { now: 11, kind: issuingKind, capabilities: caps })
    assert.deepStrictEqual(
      gone.events.map((x) => x._tag),
      ["CredentialRevoked", "ParentRemoved"]
    )
    assert.deepStrictEqual(gone.actions, [])
    st = gone.state
    assert.isUndefined(Identity.child(st, child.id))

    // now nothing is assigned to acsu1: unlinking is accepted, and the plan has nothing to do for it
    assert.deepStrictEqual(events(st, unlink()), [{ _tag: "AcsUserUnlinked", identity: st.id, at: 7, acsUserId: "acsu1", acsSystemId: "acs" }] as never)
    const unlinked = apply(st, unlink())
    const after = plan(unlinked, observedWith({ ...v, credentials: [] }, []), { now: 12, kind: issuingKind, capabilities: caps })
    assert.deepStrictEqual(after.events, [])
    assert.deepStrictEqual(after.actions, [])
    // an entry of ours still assigned to that ACS user (a removal the ACS lost) is removed as unclaimed
    const left = plan(unlinked, observedWith({ ...v, credentials: [] }, [entry("e1", "11", "acsu1")]), { now: 12, kind: issuingKind, capabilities: caps })
    assert.deepStrictEqual(left.actions, [{ _tag: "RemoveFromAcs", acsSystemId: acs, entry: ref("e1"), why: "unclaimed" }])
  })

  it("a credential of another ACS user of the identity does not hold the unlink back", () => {
    let s = created()
    s = apply(s, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu1", acsSystemId: "acs" })
    s = apply(s, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu2", acsSystemId: "acs2" })
    s = apply(s, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c2", acsUserId: "acsu2", managerId: "cm", cardFormat: "rfid48", facilityCode: "9" })
    assert.deepStrictEqual(events(s, unlink()).map((x) => x._tag), ["AcsUserUnlinked"])
    assert.strictEqual(rejected(s, unlink("acsu2")).reason, "Conflict")
  })
})

describe("UpdateSyncCredential", () => {
  const withParent = () => {
    let s = created()
    s = apply(s, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu1", acsSystemId: "acs" })
    return apply(s, {
      _tag: "CreateSyncCredential",
      userIdentityId: "u1",
      credentialId: "c1",
      acsUserId: "acsu1",
      managerId: "cm",
      cardFormat: "rfid48",
      facilityCode: "9",
      startsAt: "2026-01-01T00:00:00.000Z"
    })
  }
  const times = (fields: Record<string, unknown>) => ({ _tag: "UpdateSyncCredential", userIdentityId: "u1", credentialId: "c1", ...fields })

  it("changes the parent's times: given ones replace, null removes, absent ones stay; the card profile stays", () => {
    const s = withParent()
    assert.deepStrictEqual(events(s, times({ endsAt: "2026-12-31T00:00:00.000Z" })), [
      { _tag: "ParentTimesChanged", identity: s.id, at: 7, credentialId: "c1", startsAt: "2026-01-01T00:00:00.000Z", endsAt: "2026-12-31T00:00:00.000Z" }
    ] as never)
    assert.deepStrictEqual(events(s, times({ startsAt: null })), [{ _tag: "ParentTimesChanged", identity: s.id, at: 7, credentialId: "c1" }] as never)
    const after = apply(s, times({ startsAt: null, endsAt: "2027-01-01T00:00:00.000Z" }))
    assert.deepStrictEqual(Identity.parent(after, "c1")?.card, { cardFormat: "rfid48", facilityCode: "9", endsAt: "2027-01-01T00:00:00.000Z" })
    assert.deepStrictEqual({ ...Identity.parent(after, "c1"), card: Identity.parent(s, "c1")?.card }, Identity.parent(s, "c1"))
  })

  it("keeps the time not named, and folds each time given into the card", () => {
    const s = apply(withParent(), times({ endsAt: "2026-12-31T00:00:00.000Z" }))
    const later = apply(s, times({ startsAt: "2026-02-01T00:00:00.000Z" }))
    assert.deepStrictEqual(Identity.parent(later, "c1")?.card, {
      cardFormat: "rfid48",
      facilityCode: "9",
      startsAt: "2026-02-01T00:00:00.000Z",
      endsAt: "2026-12-31T00:00:00.000Z"
    })
    // no time left: the card has neither key
    const none = apply(later, times({ startsAt: null, endsAt: null }))
    assert.deepStrictEqual(Object.keys(Identity.parent(none, "c1")!.card), ["cardFormat", "facilityCode"])
    const startOnly = apply(none, times({ startsAt: "2026-03-01T00:00:00.000Z" }))
    assert.deepStrictEqual(Object.keys(Identity.parent(startOnly, "c1")!.card), ["cardFormat", "facilityCode", "startsAt"])
  })

  it("says nothing when the times do not change", () => {
    const s = withParent()
    assert.deepStrictEqual(events(s, times({})), [])
    assert.deepStrictEqual(events(s, times({ startsAt: "2026-01-01T00:00:00.000Z", endsAt: null })), [])
    assert.strictEqual(events(s, times({ startsAt: "2026-01-02T00:00:00.000Z" })).length, 1)
  })

  it("refuses an unknown or deleted parent, a phone credential and a per-card field, naming the field", () => {
    const s = withParent()
    const deleted = apply(s, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" })
    const cases: ReadonlyArray<readonly [IdentityState | undefined, Record<string, unknown>, string, string, RegExp]> = [
      [s, times({ credentialId: "c9", endsAt: "x" }), "NotFound", "credentialId", /^multi-phone sync credential c9 not found$/],
      [deleted, times({ endsAt: "x" }), "NotFound", "credentialId", /^multi-phone sync credential c1 not found$/],
      [undefined, times({ endsAt: "x" }), "NotFound", "userIdentityId", /^user identity u1 not found$/],
      [s, times({ code: "1234" }), "InvalidInput", "code", /code/]
    ]
    for (const [state, input, reason, field, message] of cases) {
      const e = rejected(state, input)
      assert.strictEqual(e.reason, reason, JSON.stringify(input))
      assert.strictEqual(e.field, field, JSON.stringify(input))
      assert.match(e.message, message)
    }
  })

  it("folds a change about a parent that is gone as a no-op", () => {
    const s = withParent()
    const e: DomainEvent = { _tag: "ParentTimesChanged", identity: s.id, at: 9, credentialId: "c9" as never, endsAt: "x" }
    assert.strictEqual(evolve(s, e), s)
  })

  it("the plan issues phone credentials with the times current at issue", () => {
    const { s, v } = withIssuedCredential()
    const st = apply(s, { _tag: "UpdateSyncCredential", userIdentityId: "u1", credentialId: "c1", endsAt: "2027-01-01T00:00:00.000Z" })
    // the issued one is untouched (no action), a second phone's is issued with the new times
    const two = apply(st, { _tag: "PhoneOnline", userIdentityId: "u1", phoneId: "p2", deviceType: "ios_phone" })
    const invited = fold(two, plan(two, observedWith(v, [entry("e1", "11", "acsu1")]), { now: 10, kind: issuingKind, capabilities: caps }).events)!
    const enrolled = fold(invited, [
      { _tag: "InvitationCreated", identity: s.id, at: 10, key: "p2|cm", invitation: ref("i2"), code: "CODE2", phoneId: Identity.phone(invited, "p2")!.id }
    ])!
    const v2 = {
      ...v,
      invitations: [...v.invitations, { ref: ref("i2"), code: "CODE2", status: "redeemed" as const }],
      endpoints: [...v.endpoints, { ref: ref("ep2"), invitation: ref("i2"), status: "active" as const }]
    }
    const p = plan(enrolled, observedWith(v2, [entry("e1", "11", "acsu1")]), { now: 11, kind: issuingKind, capabilities: caps })
    assert.deepStrictEqual(
      p.actions.map((a) => (a._tag === "Issue" ? [a._tag, a.endpoint, a.card] : [a._tag])),
      [["Issue", ref("ep2"), { cardFormat: "rfid48", facilityCode: "9", endsAt: "2027-01-01T00:00:00.000Z" }]]
    )
  })
})
