/**
 * The replicating-manager conformance suite, through adapter-seam, against the Seam-compatible API,
 * in both ways of driving Seam; the manager's requests go through a loopback proxy that records
 * their paths, so the Access Grants run also shows it calls no enrollment automation route.
 */
import { AccessControl, CredentialManager, Ids } from "@credsync/core"
import { replicatingManagerSuite } from "@credsync/testkit"
import { Effect, Layer, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SeamClient, SeamCredentialManager } from "../src/index.js"
import * as DriftProxy from "./DriftProxy.js"
import { grantCard, managerOptions, type Started, start, until } from "./helpers.js"

let env: Started
let acs: AccessControl.AccessControlShape
beforeAll(async () => {
  env = await start()
  acs = await Effect.runPromise(Effect.provide(AccessControl.AccessControl.useSync((x) => x), env.acsLayer))
})
afterAll(async () => {
  await env?.server.close()
})

for (const via of ["enrollment_automations", "access_grants"] as const) {
  describe(`via ${via}`, () => {
    let proxy: DriftProxy.DriftProxy
    let manager: CredentialManager.ReplicatingManagerShape
    beforeAll(async () => {
      proxy = await DriftProxy.start(env.server.url)
      const client = SeamClient.make({ apiKey: Redacted.make(env.key), endpoint: proxy.url })
      manager = Effect.runSync(Effect.provideService(SeamCredentialManager.make(managerOptions(env.managerId, via)), SeamClient.SeamClient, client))
    })
    afterAll(async () => {
      await proxy?.close()
    })

    // read when each test runs: the server and the proxy start in beforeAll
    replicatingManagerSuite(`adapter-seam via ${via} on the Seam-compatible API`, () => ({
      layer: Layer.succeed(CredentialManager.CredentialManager, manager),
      manager: env.managerId,
      acsUserFor: (_user, name) => Effect.map(acs.createUser(env.acsSystemId, { fullName: name }), (u) => u.id),
      createPhone: (user) =>
        Effect.map(
          Effect.promise(() => env.seam.phones.simulate.createSandboxPhone({ user_identity_id: user })),
          (p) => Ids.ProviderRef.make(p.device_id)
        ),
      ...(via === "access_grants" ? { card: grantCard } : {})
    }))

    it(via === "access_grants" ? "calls Access Grant routes and no enrollment automation route" : "calls enrollment automation routes and no Access Grant route", () => {
      const automations = proxy.paths.filter((p) => p.startsWith("/user_identities/enrollment_automations/"))
      const grants = proxy.paths.filter((p) => p.startsWith("/access_grants/") || p.startsWith("/access_methods/"))
      if (via === "access_grants") {
        expect(automations).toEqual([])
        expect(new Set(grants)).toEqual(new Set(["/access_grants/create", "/access_grants/list", "/access_grants/delete", "/access_methods/get_related"]))
      } else {
        expect(grants).toEqual([])
        expect(automations.length).toBeGreaterThan(0)
      }
    })
  })
}

describe("the Access Grants mode maps only its own live grants", () => {
  let proxy: DriftProxy.DriftProxy
  let manager: CredentialManager.ReplicatingManagerShape
  beforeAll(async () => {
    proxy = await DriftProxy.start(env.server.url)
    const client = SeamClient.make({ apiKey: Redacted.make(env.key), endpoint: proxy.url })
    manager = Effect.runSync(Effect.provideService(SeamCredentialManager.make(managerOptions(env.managerId, "access_grants")), SeamClient.SeamClient, client))
  })
  afterAll(async () => {
    await proxy?.close()
  })
  const withGrant = async (name: string) => {
    const user = await Effect.runPromise(manager.ensureUser(env.managerId, { id: Ids.UserIdentityId.make(`${name}-${Date.now()}`) }))
    const acsUser = await Effect.runPromise(acs.createUser(env.acsSystemId, { fullName: name }))
    const grant = await Effect.runPromise(manager.createParent(env.managerId, { user, acsUserId: acsUser.id, card: grantCard }))
    await env.seam.phones.simulate.createSandboxPhone({ user_identity_id: user })
    const view = await until("the phone's copy issued", async () => {
      const v = await Effect.runPromise(manager.observe(env.managerId, user))
      return v.credentials.some((c) => c.status === "active") ? v : undefined
    })
    expect(view).toMatchObject({ parents: [{ ref: grant, ...grantCard }], automations: [{ ref: `access_grants:${user}` }] })
    expect(view.credentials.map((c) => c.parent)).toEqual([grant])
    return { user, grant }
  }

  it("a grant whose mobile key was deleted is no parent, and its copies are being revoked", async () => {
    const { user, grant } = await withGrant("method-deleted")
    const [method] = (await env.seam.accessGrants.get({ access_grant_id: grant })).access_method_ids
    await env.seam.accessMethods.delete({ access_method_id: method! })
    const view = await Effect.runPromise(manager.observe(env.managerId, user))
    expect(view).toMatchObject({ parents: [], automations: [] })
    expect(view.credentials.every((c) => c.status !== "active" && c.status !== "issuing")).toBe(true)
  })

  it("a grant whose credential another credential manager holds is no parent here", async () => {
    const { user } = await withGrant("other-manager")
    const [parentCredential] = await env.seam.acs.credentials.list({ user_identity_id: user, is_multi_phone_sync_credential: true })
    proxy.patched.set(parentCredential!.acs_credential_id, { credential_manager_acs_system_id: "7f0e4c1a-6b2d-4e3f-9a8b-1c2d3e4f5a6b" })
    const view = await Effect.runPromise(manager.observe(env.managerId, user))
    expect(view).toMatchObject({ parents: [], automations: [] })
  })
})

describe("the Access Grants mode refuses what a grant cannot give", () => {
  it("a card profile other than grantCard is InvalidInput naming the card, and nothing is created at Seam", async () => {
    const manager = await Effect.runPromise(Effect.provide(SeamCredentialManager.make(managerOptions(env.managerId, "access_grants")), env.clientLayer))
    const user = await Effect.runPromise(manager.ensureUser(env.managerId, { id: Ids.UserIdentityId.make(`other-card-${Date.now()}`) }))
    const acsUser = await Effect.runPromise(acs.createUser(env.acsSystemId, { fullName: "Other card" }))
    const r = await Effect.runPromise(
      Effect.result(manager.createParent(env.managerId, { user, acsUserId: acsUser.id, card: { cardFormat: "h10301", facilityCode: "42" } }))
    )
    expect(r._tag === "Failure" && [r.failure.reason, r.failure.message.startsWith("card:")]).toEqual(["InvalidInput", true])
    expect(await env.seam.accessGrants.list({ user_identity_id: user })).toEqual([])
    expect(await Effect.runPromise(manager.observe(env.managerId, user))).toMatchObject({ parents: [], automations: [], credentials: [] })
  })
})

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
