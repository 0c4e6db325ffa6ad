/** The replicating-manager conformance suite, through adapter-seam, against the Seam-compatible API. */
import { AccessControl, CredentialManager, Ids } from "@credsync/core"
import { Effect, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Started, start, until } from "./helpers.js"
import { replicatingManagerSuite } from "./ReplicatingManagerSuite.js"

let env: Started
let manager: CredentialManager.CredentialManagerShape
let acs: AccessControl.AccessControlShape
beforeAll(async () => {
  env = await start()
  const both = await Effect.runPromise(
    Effect.provide(
      Effect.all([CredentialManager.CredentialManager.useSync((x) => x), AccessControl.AccessControl.useSync((x) => x)]),
      Layer.merge(env.managerLayer, env.acsLayer)
    )
  )
  manager = both[0]
  acs = both[1]
})
afterAll(async () => {
  await env?.server.close()
})

replicatingManagerSuite("adapter-seam on the Seam-compatible API", () => ({
  manager,
  managerId: env.managerId,
  acsUserFor: async (_user, name) => (await Effect.runPromise(acs.createUser(env.acsSystemId, { fullName: name }))).id,
  createPhone: async (user) => (await env.seam.phones.simulate.createSandboxPhone({ user_identity_id: user })).device_id,
  until
}))

describe("SeamAccessControl", () => {
  it("creates and reads ACS users, observes the phone credentials Seam imported, refuses to import itself", async () => {
    const u = await Effect.runPromise(acs.createUser(env.acsSystemId, { fullName: "Ada", email: "ada@example.com" }))
    expect(u).toMatchObject({ acsSystemId: env.acsSystemId, fullName: "Ada", email: "ada@example.com" })
    expect(await Effect.runPromise(acs.getUser(env.acsSystemId, u.id))).toEqual(u)
    const missing = await Effect.runPromise(Effect.result(acs.getUser(env.acsSystemId, Ids.AcsUserId.make("nope"))))
    expect(missing._tag === "Failure" && missing.failure.reason).toBe("NotFound")
    const refused = await Effect.runPromise(
      Effect.result(acs.importCredential(env.acsSystemId, { cardNumber: "1", card: { cardFormat: "rfid48", facilityCode: "9" }, label: "x" }))
    )
    expect(refused._tag === "Failure" && refused.failure.reason).toBe("InvalidInput")

    // a user with a phone credential: observe lists it by user and by card number
    const identity = await env.seam.userIdentities.create({ user_identity_key: "acs-observe" })
    await env.seam.userIdentities.addAcsUser({ user_identity_id: identity.user_identity_id, acs_user_id: u.id })
    await env.seam.userIdentities.enrollmentAutomations.launch({
      user_identity_id: identity.user_identity_id,
      credential_manager_acs_system_id: env.managerId
    })
    const parentBody = {
      access_method: "mobile_key" as const,
      is_multi_phone_sync_credential: true,
      acs_user_id: u.id,
      credential_manager_acs_system_id: env.managerId,
      card_format: "rfid48",
      facility_code: "9"
    }
    await env.seam.acs.credentials.create(parentBody)
    await env.seam.phones.simulate.createSandboxPhone({ user_identity_id: identity.user_identity_id })
    const entries = await until("the phone credential in the ACS", async () => {
      const e = await Effect.runPromise(acs.observe(env.acsSystemId, { users: [u.id], cardNumbers: [] }))
      return e.length === 1 ? e : undefined
    })
    const entry = entries[0]!
    expect(entry.assignedTo).toBe(u.id)
    expect(entry.label.startsWith("credsync:")).toBe(false)
    const byCard = await Effect.runPromise(acs.observe(env.acsSystemId, { users: [], cardNumbers: [entry.cardNumber] }))
    expect(byCard.map((e) => e.ref)).toEqual([entry.ref])
  })
})
