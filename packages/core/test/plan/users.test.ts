/** Step 1: a manager user at each manager the identity needs (its automations' and its live parents'). */
import { assert, describe, it } from "@effect/vitest"
import { users } from "../../src/internal/plan/users.js"
import { apply, base, cm, cm2, observed, view } from "../planFixtures.js"
import { acts, start } from "./fixtures.js"

const ensured = (run: ReturnType<typeof start>) => run.actions.flatMap((a) => (a._tag === "EnsureManagerUser" ? [a.managerId] : []))

describe("users", () => {
  it("asks for a manager user at each automation's manager and each live parent's manager, once each", () => {
    let s = apply(undefined, { _tag: "CreateUserIdentity", userIdentityId: "u1" })
    s = apply(s, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu1", acsSystemId: "acs" })
    s = apply(s, { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a1", managerId: "cm" })
    for (const [id, m, format] of [
      ["c1", "cm", "rfid48"],
      ["c2", "cm2", "rfid48"],
      ["c3", "cm2", "h10301"]
    ]) {
      s = apply(s, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: id, acsUserId: "acsu1", managerId: m, cardFormat: format, facilityCode: "9" })
    }
    const run = start(s, observed(view({})))
    users(run)
    assert.deepStrictEqual(ensured(run), [cm, cm2])
  })

  it("asks nothing where the manager user is bound, nor for a deleted parent's manager", () => {
    let s = base([], [["c1", "rfid48"]])
    s = apply(s, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c2", acsUserId: "acsu1", managerId: "cm2", cardFormat: "h10301", facilityCode: "9" })
    s = apply(s, { _tag: "DeleteSyncCredential", userIdentityId: "u1", credentialId: "c2" })
    const run = start(s, observed(view({})))
    users(run)
    assert.deepStrictEqual(acts(run), [])
  })

  it("asks nothing for an identity being deleted", () => {
    const s = apply(base([], [["c1", "rfid48"]]), { _tag: "DeleteUserIdentity", userIdentityId: "u1" })
    const run = start({ ...s, managerUsers: {} }, observed(view({})))
    users(run)
    assert.deepStrictEqual(acts(run), [])
  })
})
