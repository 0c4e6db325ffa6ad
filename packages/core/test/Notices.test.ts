import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { decide, decodeCommand, fold } from "../src/Aggregate.js"
import * as Identity from "../src/Identity.js"
import type { IdentityState } from "../src/Identity.js"
import { AcsSystemId, CredentialId, PhoneId, ProviderRef } from "../src/Ids.js"
import * as Notices from "../src/Notices.js"

const cm = AcsSystemId.make("cm")
const apply = (s: IdentityState | undefined, input: Record<string, unknown>) =>
  fold(s, Result.getOrThrow(decide(s, Result.getOrThrow(decodeCommand(input)), { now: 0, managers: new Set([cm]) })))!

describe("Notices", () => {
  it("a parent waits to be issued until a phone holds it, and shows its copies' errors", () => {
    let s = apply(undefined, { _tag: "CreateUserIdentity", userIdentityId: "u1" })
    s = apply(s, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "a1", acsSystemId: "acs" })
    s = apply(s, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c1", acsUserId: "a1", managerId: "cm", cardFormat: "rfid48", facilityCode: "9" })
    const parent = Identity.parent(s, "c1")!
    assert.deepStrictEqual(Notices.parent(s, parent).warnings.map((n) => n.code), ["waiting_to_be_issued"])
    const id = CredentialId.make("k1")
    s = fold(s, [
      {
        _tag: "CredentialRequested",
        identity: s.id,
        at: 1,
        child: { id, parentId: parent.id, phoneId: PhoneId.make("p1"), managerId: cm, endpoint: ProviderRef.make("ep"), issue: "requested", requestedAt: 1, attempts: 1, assigned: false, retiring: false }
      },
      { _tag: "CredentialFailed", identity: s.id, at: 2, credentialId: id, error: { code: "failed_to_issue", message: "pool exhausted", at: 2 } }
    ])!
    assert.deepStrictEqual(Notices.parent(s, parent).errors.map((n) => n.code), ["failed_to_issue"])
    assert.deepStrictEqual(Notices.child(Identity.child(s, id)!).errors.map((n) => n.message), ["pool exhausted"])
    s = fold(s, [{ _tag: "CredentialIssued", identity: s.id, at: 3, credentialId: id, ref: ProviderRef.make("r"), active: true, cardNumber: "7" }])!
    assert.deepStrictEqual(Notices.parent(s, parent), { errors: [], warnings: [] })
    s = apply(s, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c1" })
    assert.deepStrictEqual(Notices.parent(s, Identity.parent(s, "c1")!).warnings.map((n) => n.code), ["being_deleted"])
  })
})
