import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import { decide, decodeCommand, fold } from "../src/Aggregate.js"
import type { Command } from "../src/Command.js"
import * as Identity from "../src/Identity.js"
import type { IdentityState } from "../src/Identity.js"
import { AcsSystemId } from "../src/Ids.js"

const cm = AcsSystemId.make("cm")
const ctx = { now: 1_000, managers: new Set([cm]) }

const run = (commands: ReadonlyArray<Record<string, unknown>>): IdentityState => {
  let state: IdentityState | undefined
  for (const input of commands) {
    const command = Result.getOrThrow(decodeCommand(input))
    state = fold(state, Result.getOrThrow(decide(state, command, ctx)))
  }
  return state!
}

const base = [
  { _tag: "CreateUserIdentity", userIdentityId: "u1", email: "ana@example.com" },
  { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu1", acsSystemId: "acs" },
  { _tag: "PhoneOnline", userIdentityId: "u1", phoneId: "p1", deviceType: "ios_phone" }
]

const rejected = (state: IdentityState | undefined, input: Record<string, unknown>) => {
  const decoded = decodeCommand(input)
  if (Result.isFailure(decoded)) return decoded.failure
  const r = decide(state, decoded.success as Command, ctx)
  assert.isTrue(Result.isFailure(r), `expected ${JSON.stringify(input)} to be rejected`)
  return Result.isFailure(r) ? r.failure : undefined!
}

describe("decide", () => {
  it("accepts the seed flow and folds it into state", () => {
    const s = run([
      ...base,
      { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a1", managerId: "cm" },
      { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c1", acsUserId: "acsu1", managerId: "cm", cardFormat: "rfid48", facilityCode: "9" }
    ])
    assert.strictEqual(Identity.parent(s, "c1")?.card.facilityCode, "9")
    assert.strictEqual(Identity.parent(s, "c1")?.acsSystemId, "acs")
    assert.isTrue(Identity.phone(s, "p1")?.active)
  })

  it("rejects per-card values on a sync credential, naming the field", () => {
    const s = run(base)
    const e = rejected(s, {
      _tag: "CreateSyncCredential",
      userIdentityId: "u1",
      credentialId: "c1",
      acsUserId: "acsu1",
      managerId: "cm",
      cardFormat: "rfid48",
      facilityCode: "9",
      card_number: "1234"
    })
    assert.strictEqual(e.reason, "InvalidInput")
    assert.strictEqual(e.field, "card_number")
    assert.match(e.message, /per-card/)
  })

  it("rejects unknown keys and malformed values with the path", () => {
    const e1 = rejected(undefined, { _tag: "CreateUserIdentity", userIdentityId: "u1", colour: "red" })
    assert.strictEqual(e1.reason, "InvalidInput")
    assert.match(e1.message, /colour/)
    const e2 = rejected(undefined, { _tag: "CreateUserIdentity", userIdentityId: "u1", phoneNumber: "555" })
    assert.strictEqual(e2.field, "phoneNumber")
    const e3 = rejected(undefined, { _tag: "PhoneOnline", userIdentityId: "u1", phoneId: "p", deviceType: "tablet" })
    assert.strictEqual(e3.field, "deviceType")
  })

  it("rejects unknown ids with NotFound and the field", () => {
    const s = run(base)
    assert.strictEqual(rejected(undefined, { _tag: "PhoneOnline", userIdentityId: "nobody", phoneId: "p", deviceType: "ios_phone" }).reason, "NotFound")
    assert.strictEqual(rejected(s, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p9" }).field, "phoneId")
    assert.strictEqual(rejected(s, { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a", managerId: "nope" }).field, "managerId")
    const e = rejected(s, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c1", acsUserId: "other", managerId: "cm", cardFormat: "rfid48", facilityCode: "9" })
    assert.strictEqual(e.field, "acsUserId")
    assert.strictEqual(rejected(s, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c9" }).reason, "NotFound")
  })

  it("keeps one ACS user per ACS, one parent per card profile and manager, and never revives a deactivated phone", () => {
    const s = run([
      ...base,
      { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c1", acsUserId: "acsu1", managerId: "cm", cardFormat: "rfid48", facilityCode: "9" },
      { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p1" }
    ])
    assert.strictEqual(rejected(s, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu2", acsSystemId: "acs" }).reason, "Conflict")
    assert.strictEqual(
      rejected(s, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c2", acsUserId: "acsu1", managerId: "cm", cardFormat: "rfid48", facilityCode: "9" }).reason,
      "Conflict"
    )
    assert.strictEqual(rejected(s, { _tag: "PhoneOnline", userIdentityId: "u1", phoneId: "p1", deviceType: "ios_phone" }).reason, "Conflict")
    assert.strictEqual(rejected(s, { _tag: "CreateUserIdentity", userIdentityId: "u1" }).reason, "AlreadyExists")
  })

  it("is idempotent where a host would retry", () => {
    const s = run(base)
    for (const input of [
      { _tag: "PhoneOnline", userIdentityId: "u1", phoneId: "p1", deviceType: "ios_phone" },
      { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu1", acsSystemId: "acs" }
    ]) {
      const r = decide(s, Result.getOrThrow(decodeCommand(input)), ctx)
      assert.deepStrictEqual(Result.getOrThrow(r), [])
    }
  })

  it("names the reason, the field and the cause of every rejection", () => {
    const s = run([
      ...base,
      { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a1", managerId: "cm" },
      { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c1", acsUserId: "acsu1", managerId: "cm", cardFormat: "rfid48", facilityCode: "9" }
    ])
    const deleting = run([...base, { _tag: "DeleteUserIdentity", userIdentityId: "u1" }])
    const sync = { _tag: "CreateSyncCredential", userIdentityId: "u1", acsUserId: "acsu1", managerId: "cm", cardFormat: "h10301", facilityCode: "1" }
    const cases: ReadonlyArray<readonly [IdentityState | undefined, Record<string, unknown>, string, string | undefined, RegExp]> = [
      [s, { _tag: "CreateUserIdentity", userIdentityId: "u1" }, "AlreadyExists", "userIdentityId", /^user identity u1 already exists$/],
      [undefined, { _tag: "PhoneOnline", userIdentityId: "u9", phoneId: "p", deviceType: "ios_phone" }, "NotFound", "userIdentityId", /^user identity u9 not found$/],
      [deleting, { _tag: "PhoneOnline", userIdentityId: "u1", phoneId: "p2", deviceType: "ios_phone" }, "NotFound", "userIdentityId", /^user identity u1 not found$/],
      [s, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu2", acsSystemId: "acs" }, "Conflict", "acsUserId", /^user identity u1 already has ACS user acsu1 in ACS acs$/],
      [s, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p9" }, "NotFound", "phoneId", /^phone p9 not found$/],
      [s, { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a2", managerId: "nope" }, "NotFound", "managerId", /^credential manager nope not found$/],
      [s, { _tag: "DeleteAutomation", userIdentityId: "u1", automationId: "a9" }, "NotFound", "automationId", /^enrollment automation a9 not found$/],
      [s, { ...sync, credentialId: "c2", managerId: "nope" }, "NotFound", "managerId", /^credential manager nope not found$/],
      [s, { ...sync, credentialId: "c2", acsUserId: "x" }, "NotFound", "acsUserId", /^ACS user x is not linked to user identity u1$/],
      [s, { ...sync, credentialId: "c1" }, "AlreadyExists", "credentialId", /^credential c1 already exists$/],
      [s, { ...sync, credentialId: "c2", cardFormat: "rfid48", facilityCode: "9" }, "Conflict", "facilityCode", /^multi-phone sync credential c1 already issues rfid48\/9 through cm; a phone can hold one credential per card profile$/],
      [s, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c9" }, "NotFound", "credentialId", /^multi-phone sync credential c9 not found$/],
      [s, { ...sync, credentialId: "c2", pin: "1" }, "InvalidInput", "pin", /^pin is a per-card value: .* allocates pin for each phone$/]
    ]
    for (const [state, input, reason, field, message] of cases) {
      const e = rejected(state, input)
      assert.strictEqual(e.reason, reason, JSON.stringify(input))
      assert.strictEqual(e.field, field, JSON.stringify(input))
      assert.match(e.message, message)
    }
    // a deleted parent may be created again with its card profile, and no longer deleted twice
    const d = run([...base, { ...sync, credentialId: "c1" }, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" }])
    assert.strictEqual(rejected(d, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" }).field, "credentialId")
    assert.isTrue(Result.isSuccess(decide(d, Result.getOrThrow(decodeCommand({ ...sync, credentialId: "c3" })), ctx)))
  })

  it("records what each command says, with the time and the optional fields only when given", () => {
    const s = run([
      { _tag: "CreateUserIdentity", userIdentityId: "u1", email: "ana@example.com", fullName: "Ana" },
      { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu1", acsSystemId: "acs" },
      { _tag: "PhoneOnline", userIdentityId: "u1", phoneId: "p1", deviceType: "android_phone", metadata: { os: "15" } },
      { _tag: "PhoneOnline", userIdentityId: "u1", phoneId: "p2", deviceType: "ios_phone" },
      { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a1", managerId: "cm" },
      { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a2", managerId: "cm" },
      { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c1", acsUserId: "acsu1", managerId: "cm", cardFormat: "rfid48", facilityCode: "9", startsAt: "2026-01-01" },
      { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p2" },
      { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p2" }
    ])
    assert.deepStrictEqual(s.profile, { email: "ana@example.com", fullName: "Ana" })
    assert.deepStrictEqual(s.acsUsers, { acs: { acsUserId: "acsu1", acsSystemId: "acs" } } as never)
    assert.deepStrictEqual(Identity.phone(s, "p1"), { id: "p1", deviceType: "android_phone", active: true, createdAt: 1_000, metadata: { os: "15" } } as never)
    assert.deepStrictEqual(Identity.phone(s, "p2"), { id: "p2", deviceType: "ios_phone", active: false, createdAt: 1_000, deactivatedAt: 1_000 } as never)
    // one automation per manager: launching again for the same manager is a no-op
    assert.deepStrictEqual(s.automations.map((a) => a.id), ["a1"])
    assert.deepStrictEqual(Identity.automation(s, "a1"), { id: "a1", managerId: "cm", createdAt: 1_000 } as never)
    assert.deepStrictEqual(Identity.parent(s, "c1"), {
      id: "c1",
      acsUserId: "acsu1",
      acsSystemId: "acs",
      managerId: "cm",
      card: { cardFormat: "rfid48", facilityCode: "9", startsAt: "2026-01-01" },
      createdAt: 1_000,
      deleting: false
    } as never)
    const gone = run([...base, { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a1", managerId: "cm" }, { _tag: "DeleteAutomation", userIdentityId: "u1", automationId: "a1" }])
    assert.deepStrictEqual(gone.automations, [])
    assert.isTrue(run([...base, { _tag: "DeleteUserIdentity", userIdentityId: "u1" }]).deleting)
  })
})

describe("evolve", () => {
  const s0 = run([
    ...base,
    { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c1", acsUserId: "acsu1", managerId: "cm", cardFormat: "rfid48", facilityCode: "9" }
  ])
  const id = s0.id
  const child = {
    id: "k1",
    parentId: "c1",
    phoneId: "p1",
    managerId: "cm",
    endpoint: "ep",
    issue: "requested",
    requestedAt: 5,
    attempts: 1,
    assigned: false,
    retiring: false
  } as never as IdentityState["children"][number]
  const enrollment = { id: "e1", phoneId: "p1", managerId: "cm", generation: 1, status: "inviting", requestedAt: 5, attempts: 1 } as never as IdentityState["enrollments"][number]
  const ev = (e: Record<string, unknown>) => ({ identity: id, at: 9, ...e }) as never

  it("follows a phone credential through its life", () => {
    let s = fold(s0, [ev({ _tag: "CredentialRequested", child })])!
    assert.strictEqual(Identity.child(s, "k1")?.issue, "requested")
    s = fold(s, [ev({ _tag: "CredentialIssued", credentialId: "k1", ref: "r1", active: false })])!
    assert.deepStrictEqual([Identity.child(s, "k1")?.issue, Identity.child(s, "k1")?.ref, Identity.child(s, "k1")?.cardNumber, Identity.child(s, "k1")?.issuedAt], ["issuing", "r1", undefined, undefined])
    assert.isFalse("cardNumber" in Identity.child(s, "k1")!, "no card number until the manager gives one")
    assert.isFalse("issuedAt" in Identity.child(s, "k1")!)
    s = fold(s, [ev({ _tag: "CredentialIssued", credentialId: "k1", ref: "r1", active: false, cardNumber: "7" })])!
    assert.strictEqual(Identity.child(s, "k1")?.cardNumber, "7", "a card number may come before the phone has it")
    assert.isFalse("issuedAt" in Identity.child(s, "k1")!, "issued only once active")
    s = fold(s, [ev({ _tag: "CredentialIssued", credentialId: "k1", ref: "r1", active: true, cardNumber: "7" })])!
    assert.deepStrictEqual([Identity.child(s, "k1")?.issue, Identity.child(s, "k1")?.cardNumber, Identity.child(s, "k1")?.issuedAt], ["active", "7", 9])
    s = fold(s, [ev({ _tag: "CredentialImported", credentialId: "k1", acsRef: "acse" }), ev({ _tag: "CredentialAssigned", credentialId: "k1" })])!
    assert.deepStrictEqual([Identity.child(s, "k1")?.acsRef, Identity.child(s, "k1")?.assigned], ["acse", true])
    s = fold(s, [ev({ _tag: "CredentialAcsLost", credentialId: "k1" })])!
    assert.deepStrictEqual([Identity.child(s, "k1")?.acsRef, Identity.child(s, "k1")?.assigned], [undefined, false])
    s = fold(s, [ev({ _tag: "CredentialLost", credentialId: "k1", reason: "x" })])!
    assert.deepStrictEqual([Identity.child(s, "k1")?.issue, Identity.child(s, "k1")?.ref, Identity.child(s, "k1")?.cardNumber, Identity.child(s, "k1")?.requestedAt], ["pending", undefined, undefined, 9])
    s = fold(s, [ev({ _tag: "CredentialFailed", credentialId: "k1", error: { code: "c", message: "m", at: 9 } })])!
    assert.deepStrictEqual([Identity.child(s, "k1")?.issue, Identity.child(s, "k1")?.error?.code], ["failed", "c"])
    s = fold(s, [ev({ _tag: "CredentialIssued", credentialId: "k1", ref: "r2", active: true })])!
    assert.strictEqual(Identity.child(s, "k1")?.error, undefined, "a credential issued again carries no old error")
    assert.strictEqual(Identity.child(s, "k1")?.issuedAt, 9, "active without a card number is issued too")
    assert.isFalse("cardNumber" in Identity.child(s, "k1")!)
    s = fold(s, [ev({ _tag: "CredentialRetiring", credentialId: "k1", reason: "parent_deleted" })])!
    assert.isTrue(Identity.child(s, "k1")?.retiring)
    s = fold(s, [ev({ _tag: "CredentialRevoked", credentialId: "k1" })])!
    assert.deepStrictEqual(s.children, [])
    // events about what the state no longer holds change nothing
    for (const tag of ["CredentialIssued", "CredentialFailed", "CredentialLost", "CredentialImported", "CredentialAssigned", "CredentialAcsLost", "CredentialRetiring"]) {
      assert.strictEqual(fold(s, [ev({ _tag: tag, credentialId: "k1", ref: "r", active: true, acsRef: "a", reason: "x", error: { code: "c", message: "m", at: 1 } })]), s)
    }
  })

  it("removes only what an event names: an unknown id leaves each collection as it was", () => {
    const s = fold(s0, [ev({ _tag: "CredentialRequested", child }), ev({ _tag: "CredentialRequested", child: { ...child, id: "k2" } })])!
    assert.strictEqual(s.children.length, 2)
    assert.deepStrictEqual(fold(s, [ev({ _tag: "CredentialRevoked", credentialId: "k9" })])!.children, s.children)
    assert.deepStrictEqual(fold(s, [ev({ _tag: "ParentRemoved", credentialId: "c9" })])!.parents, s.parents)
    assert.deepStrictEqual(fold(s, [ev({ _tag: "CredentialRevoked", credentialId: "k1" })])!.children, [Identity.child(s, "k2")!])
    assert.deepStrictEqual(fold(s, [ev({ _tag: "ParentRemoved", credentialId: "c1" })])!.parents, [])
  })

  it("follows an enrollment, a parent and an automation", () => {
    let s = fold(s0, [ev({ _tag: "EnrollmentRequested", enrollment })])!
    assert.strictEqual(Identity.enrollmentByKey(s, "p1|cm")?.status, "inviting")
    s = fold(s, [ev({ _tag: "EnrollmentFailed", key: "p1|cm", error: { code: "c", message: "m", at: 9 } })])!
    assert.deepStrictEqual([Identity.enrollmentByKey(s, "p1|cm")?.status, Identity.enrollmentByKey(s, "p1|cm")?.error?.code], ["failed", "c"])
    s = fold(s, [ev({ _tag: "InvitationCreated", key: "p1|cm", invitation: "inv", code: "CODE", phoneId: "p1" })])!
    assert.deepStrictEqual([Identity.enrollmentByKey(s, "p1|cm")?.status, Identity.enrollmentByKey(s, "p1|cm")?.invitation, Identity.enrollmentByKey(s, "p1|cm")?.code, Identity.enrollmentByKey(s, "p1|cm")?.error], ["invited", "inv", "CODE", undefined])
    s = fold(s, [ev({ _tag: "PhoneEnrolled", key: "p1|cm", endpoint: "ep", phoneId: "p1" })])!
    assert.deepStrictEqual([Identity.enrollmentByKey(s, "p1|cm")?.status, Identity.enrollmentByKey(s, "p1|cm")?.endpoint], ["enrolled", "ep"])
    s = fold(s, [ev({ _tag: "EnrollmentEnded", key: "p1|cm", reason: "x" })])!
    assert.strictEqual(Identity.enrollmentByKey(s, "p1|cm")?.status, "ended")
    assert.strictEqual(fold(s, [ev({ _tag: "PhoneEnrolled", key: "p9|cm", endpoint: "ep", phoneId: "p9" })]), s)
    s = fold(s, [ev({ _tag: "ManagerUserBound", managerId: "cm", ref: "usr" })])!
    assert.deepStrictEqual(s.managerUsers.cm, { managerId: "cm", ref: "usr" } as never)
    s = fold(s, [ev({ _tag: "ParentRemoteRequested", credentialId: "c1" }), ev({ _tag: "ParentBound", credentialId: "c1", ref: "pr" })])!
    assert.deepStrictEqual([Identity.parent(s, "c1")?.remoteRequestedAt, Identity.parent(s, "c1")?.remote], [9, "pr"])
    s = fold(s, [ev({ _tag: "ParentDeleted", credentialId: "c1" })])!
    assert.isTrue(Identity.parent(s, "c1")?.deleting)
    s = fold(s, [ev({ _tag: "ParentRemoved", credentialId: "c1" })])!
    assert.deepStrictEqual(s.parents, [])
    for (const tag of ["ParentDeleted", "ParentRemoteRequested", "ParentBound"]) assert.strictEqual(fold(s, [ev({ _tag: tag, credentialId: "c1", ref: "x" })]), s)
    s = fold(s, [ev({ _tag: "AutomationLaunched", automation: { id: "a1", managerId: "cm", createdAt: 9 } })])!
    s = fold(s, [ev({ _tag: "AutomationRemoteRequested", automationId: "a1" }), ev({ _tag: "AutomationBound", automationId: "a1", ref: "ar" })])!
    assert.deepStrictEqual([Identity.automation(s, "a1")?.remoteRequestedAt, Identity.automation(s, "a1")?.remote], [9, "ar"])
    for (const tag of ["AutomationRemoteRequested", "AutomationBound"]) assert.strictEqual(fold(s, [ev({ _tag: tag, automationId: "a9", ref: "x" })]), s)
    assert.strictEqual(fold(s, [ev({ _tag: "PhoneDeactivated", phoneId: "p9" })]), s)
  })

  it("decodes what is not a command at all as a typed rejection, listing every problem", () => {
    for (const input of [null, "not even an object", 42, { _tag: "CreateSyncCredential" }]) {
      const r = decodeCommand(input)
      assert.isTrue(Result.isFailure(r), JSON.stringify(input))
      if (Result.isFailure(r)) assert.strictEqual(r.failure.reason, "InvalidInput")
    }
    // no field to name: none is set (not even as undefined)
    const whole = decodeCommand("not even an object")
    assert.isTrue(Result.isFailure(whole) && !("field" in whole.failure))
    const r = decodeCommand({ _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c1", acsUserId: "a", managerId: "cm", cardFormat: "", facilityCode: "" })
    assert.isTrue(Result.isFailure(r))
    // every problem, not only the first
    if (Result.isFailure(r)) {
      assert.match(r.failure.message, /cardFormat/)
      assert.match(r.failure.message, /facilityCode/)
    }
  })
})

describe("decide with two credential managers", () => {
  const cm2 = AcsSystemId.make("cm2")
  const two = { now: 1_000, managers: new Set([cm, cm2]) }
  const run2 = (commands: ReadonlyArray<Record<string, unknown>>): IdentityState => {
    let state: IdentityState | undefined
    for (const input of commands) state = fold(state, Result.getOrThrow(decide(state, Result.getOrThrow(decodeCommand(input)), two)))
    return state!
  }
  const sync = { _tag: "CreateSyncCredential", userIdentityId: "u1", acsUserId: "acsu1", cardFormat: "rfid48", facilityCode: "9" }

  it("keeps one automation per manager, and one parent per card profile per manager", () => {
    const s = run2([
      ...base,
      { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a1", managerId: "cm" },
      { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a2", managerId: "cm2" },
      { ...sync, credentialId: "c1", managerId: "cm" },
      { ...sync, credentialId: "c2", managerId: "cm2", endsAt: "2027-01-01" }
    ])
    assert.deepStrictEqual(s.automations.map((a) => a.id).sort(), ["a1", "a2"])
    assert.deepStrictEqual(Identity.parent(s, "c2")?.card, { cardFormat: "rfid48", facilityCode: "9", endsAt: "2027-01-01" } as never)
    const again = decide(s, Result.getOrThrow(decodeCommand({ _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a1", managerId: "cm2" })), two)
    assert.deepStrictEqual(Result.getOrThrow(again), [], "cm2 already has an automation")
  })

  it("refuses an automation id or a credential id already taken, and a phone that comes back", () => {
    const s = run2([...base, { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a1", managerId: "cm" }, { _tag: "DeactivatePhone", userIdentityId: "u1", phoneId: "p1" }])
    const taken = decide(s, Result.getOrThrow(decodeCommand({ _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a1", managerId: "cm2" })), two)
    assert.isTrue(Result.isFailure(taken))
    if (Result.isFailure(taken)) {
      assert.strictEqual(taken.failure.reason, "AlreadyExists")
      assert.strictEqual(taken.failure.field, "automationId")
      assert.strictEqual(taken.failure.message, "enrollment automation a1 already exists")
    }
    const back = rejected(s, { _tag: "PhoneOnline", userIdentityId: "u1", phoneId: "p1", deviceType: "ios_phone" })
    assert.deepStrictEqual([back.reason, back.field, back.message], ["Conflict", "phoneId", "phone p1 was deactivated and cannot come back"])
    // a phone credential's id is taken too
    const withChild = fold(s, [
      { _tag: "CredentialRequested", identity: s.id, at: 1, child: { id: "k1", parentId: "c0", phoneId: "p1", managerId: "cm", endpoint: "ep", issue: "requested", requestedAt: 1, attempts: 1, assigned: false, retiring: false } } as never
    ])!
    const child = decide(withChild, Result.getOrThrow(decodeCommand({ ...sync, credentialId: "k1", managerId: "cm" })), two)
    assert.isTrue(Result.isFailure(child) && child.failure.reason === "AlreadyExists" && child.failure.field === "credentialId")
  })
})

describe("IdentityState, the store row", () => {
  const phone1 = { id: "p1", deviceType: "ios_phone", active: true, createdAt: 1 }
  const phone2 = { id: "p2", deviceType: "android_phone", active: false, createdAt: 2, deactivatedAt: 3 }
  const automation = { id: "a1", managerId: "cm", createdAt: 1 }
  const enrollment = { id: "e1", phoneId: "p1", managerId: "cm", generation: 1, status: "enrolled", requestedAt: 1, endpoint: "ep", attempts: 1 }
  const parent = { id: "c1", acsUserId: "acsu1", acsSystemId: "acs", managerId: "cm", card: { cardFormat: "rfid48", facilityCode: "9" }, createdAt: 1, deleting: false }
  const child = { id: "k1", parentId: "c1", phoneId: "p1", managerId: "cm", endpoint: "ep", issue: "active", requestedAt: 1, attempts: 1, ref: "r1", assigned: false, retiring: false }
  const row = (collections: Record<string, unknown>) => ({
    id: "u1",
    createdAt: 1,
    profile: { email: "ana@example.com" },
    deleting: false,
    acsUsers: { acs: { acsUserId: "acsu1", acsSystemId: "acs" } },
    managerUsers: { cm: { managerId: "cm", ref: "usr" } },
    ...collections
  })
  const asArrays = row({ automations: [automation], phones: [phone1, phone2], enrollments: [enrollment], parents: [parent], children: [child] })

  it("reads a row written before 0.2, its collections keyed by id (enrollments by enrollment key), as arrays, and writes arrays", () => {
    const old = row({
      automations: { a1: automation },
      phones: { p1: phone1, p2: phone2 },
      enrollments: { "p1|cm": enrollment },
      parents: { c1: parent },
      children: { k1: child }
    })
    const s = Schema.decodeUnknownSync(Identity.IdentityState)(old)
    assert.deepStrictEqual(s, asArrays as never)
    assert.deepStrictEqual(Identity.enrollmentByKey(s, "p1|cm"), enrollment as never)
    assert.deepStrictEqual(Identity.phone(s, "p2"), phone2 as never)
    assert.deepStrictEqual(Schema.encodeSync(Identity.IdentityState)(s), asArrays as never)
    // a row written as arrays reads as it was
    assert.deepStrictEqual(Schema.decodeUnknownSync(Identity.IdentityState)(asArrays), asArrays as never)
  })
})
