import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { decide, decodeCommand, fold } from "../src/Aggregate.js"
import type { Command } from "../src/Command.js"
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
    assert.strictEqual(s.parents.c1?.card.facilityCode, "9")
    assert.strictEqual(s.parents.c1?.acsSystemId, "acs")
    assert.isTrue(s.phones.p1?.active)
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
})
