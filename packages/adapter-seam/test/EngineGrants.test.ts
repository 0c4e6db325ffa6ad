/**
 * End to end in the Access Grants mode: the credsync engine (memory store) on adapter-seam with
 * `via: "access_grants"`, against the Seam-compatible API served on loopback. The outer engine
 * makes one access grant (mobile key) for the identity on the entrances of its ACS user's ACS,
 * mirrors exactly one phone credential per phone, revokes the credential of a deactivated phone,
 * revokes a planted duplicate, and revokes everything when the parent is deleted (the grant is then
 * gone). Every request the adapter makes goes through a loopback proxy that records its path: no
 * `/user_identities/enrollment_automations/*` route is called. Convergence is driven by bounded
 * loops of resync + drain; nothing asserts on timing.
 */
import { MemoryStore } from "@credsync/adapter-memory"
import { AccessControl, Command, Engine, Identity, Ids } from "@credsync/core"
import { isSeamHttpApiError } from "@seamapi/http/connect"
import { Effect, Layer, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SeamAccessControl, SeamClient, SeamCredentialManager } from "../src/index.js"
import * as DriftProxy from "./DriftProxy.js"
import { grantCard, managerOptions, type Started, start, until } from "./helpers.js"

let env: Started
let proxy: DriftProxy.DriftProxy

beforeAll(async () => {
  env = await start()
  proxy = await DriftProxy.start(env.server.url)
})
afterAll(async () => {
  await proxy?.close()
  await env?.server.close()
})

/** The engine (memory store) on adapter-seam via Access Grants, through the proxy. */
const setUp = async () => {
  const client = Layer.succeed(SeamClient.SeamClient)(SeamClient.make({ apiKey: Redacted.make(env.key), endpoint: proxy.url }))
  const ports = Layer.mergeAll(
    SeamCredentialManager.layer(managerOptions(env.managerId, "access_grants")),
    SeamAccessControl.layer({ systems: [{ id: env.acsSystemId }] })
  ).pipe(Layer.provideMerge(client))
  const acs = await Effect.runPromise(Effect.provide(AccessControl.AccessControl.useSync((x) => x), ports))
  const engine = await Effect.runPromise(
    Engine.make({ replicationBound: "400 millis", poll: "20 millis", backoff: { base: "10 millis", cap: "50 millis" } }).pipe(
      Effect.provide(Layer.mergeAll(ports, MemoryStore.layer()))
    )
  )
  const exec = (command: Command.Encoded) => Effect.runPromise(engine.execute(Command.make(command)))
  const who = Ids.UserIdentityId.make(`ui-${Math.random().toString(36).slice(2, 10)}`)
  const state = () => Effect.runPromise(engine.get(who))
  const converge = <A>(what: string, check: (s: Identity.IdentityState) => Promise<A | undefined> | A | undefined) =>
    until(
      what,
      async () => {
        await Effect.runPromise(Effect.andThen(engine.resyncAll, engine.drain))
        return check(await state())
      },
      200,
      20
    )

  return { acs, exec, who, state, converge }
}

describe("the engine on adapter-seam through Access Grants", () => {
  it("issues one credential per phone through a grant, revokes on phone deactivation and parent deletion, never calls an enrollment automation route", async () => {
    const { acs, exec, who, state, converge } = await setUp()
    await exec({ _tag: "CreateUserIdentity", userIdentityId: who, fullName: "Grace Hopper", email: `${who}@example.com` })
    const acsUser = await Effect.runPromise(acs.createUser(env.acsSystemId, { fullName: "Grace Hopper" }))
    await exec({ _tag: "LinkAcsUser", userIdentityId: who, acsUserId: acsUser.id, acsSystemId: env.acsSystemId })
    await exec({ _tag: "LaunchAutomation", userIdentityId: who, automationId: "automation-1", managerId: env.managerId })
    await exec({
      _tag: "CreateSyncCredential",
      userIdentityId: who,
      credentialId: "parent-1",
      acsUserId: acsUser.id,
      managerId: env.managerId,
      ...grantCard
    })

    // the parent is an access grant (mobile key) on the entrances of the ACS user's ACS
    const bound = await converge("parent and automation bound", (s) =>
      Identity.parent(s, "parent-1")?.remote !== undefined && Identity.automation(s, "automation-1")?.remote !== undefined ? s : undefined
    )
    const seamUser = await env.seam.userIdentities.get({ user_identity_key: who })
    expect(seamUser.acs_user_ids).toEqual([acsUser.id])
    const grantId = Identity.parent(bound, "parent-1")!.remote!
    const grant = await env.seam.accessGrants.get({ access_grant_id: grantId })
    const entrances = await env.seam.acs.entrances.list({ acs_system_id: env.acsSystemId })
    expect(grant.user_identity_id).toBe(seamUser.user_identity_id)
    expect(grant.requested_access_methods.map((m) => m.mode)).toEqual(["mobile_key"])
    expect((await env.seam.accessGrants.list({ acs_entrance_id: entrances[0]!.acs_entrance_id })).map((g) => g.access_grant_id)).toEqual([grantId])
    expect(Identity.automation(bound, "automation-1")?.remote).toBe(`access_grants:${seamUser.user_identity_id}`)
    const [parentCredential] = await env.seam.acs.credentials.list({ user_identity_id: seamUser.user_identity_id, is_multi_phone_sync_credential: true })
    expect(parentCredential).toMatchObject({ acs_user_id: acsUser.id, card_format: grantCard.cardFormat })

    // three phones come online at Seam; the grant enrols them, Seam issues one credential each
    const phones: Array<string> = []
    for (const os of ["android", "ios", "android"] as const) {
      const p = await env.seam.phones.simulate.createSandboxPhone({ user_identity_id: seamUser.user_identity_id, phone_metadata: { operating_system: os } })
      phones.push(p.device_id)
      await exec({ _tag: "PhoneOnline", userIdentityId: who, phoneId: p.device_id, deviceType: os === "ios" ? "ios_phone" : "android_phone" })
    }
    const seamChildren = async () =>
      (await env.seam.acs.credentials.list({ user_identity_id: seamUser.user_identity_id })).filter(
        (c) => c.parent_acs_credential_id === parentCredential!.acs_credential_id && !c.warnings.some((w) => w.warning_code === "being_deleted")
      )
    const activeChildren = (s: Identity.IdentityState) => s.children.filter((c) => c.issue === "active" && !c.retiring)
    const mirrored = await converge("one active credential per phone", (s) => (activeChildren(s).length === 3 ? s : undefined))
    expect(activeChildren(mirrored).map((c) => c.phoneId).sort()).toEqual([...phones].sort())
    expect(activeChildren(mirrored).every((c) => c.assigned)).toBe(true)
    expect(activeChildren(mirrored).map((c) => c.ref).sort()).toEqual((await seamChildren()).map((c) => c.acs_credential_id).sort())
    const method = await env.seam.accessMethods.get({ access_method_id: grant.access_method_ids[0]! })
    expect(method.is_issued).toBe(true)

    // a phone deactivated in the engine: the engine deactivates it at Seam, its credential is revoked, the others stay
    const [lost, second, third] = phones as [string, string, string]
    await exec({ _tag: "DeactivatePhone", userIdentityId: who, phoneId: lost })
    const afterLoss = await converge("the lost phone's credential revoked", async (s) => {
      const left = s.children
      return left.length === 2 && !left.some((c) => c.phoneId === lost) && (await seamChildren()).length === 2 ? s : undefined
    })
    expect(activeChildren(afterLoss).map((c) => c.phoneId).sort()).toEqual([second, third].sort())
    expect(proxy.paths).toContain("/phones/deactivate")

    // a duplicate copy for the second phone appears at Seam: the engine revokes it, keeps its own
    const own = activeChildren(afterLoss).find((c) => c.phoneId === second)!
    proxy.planted.set("planted-duplicate", {
      acs_credential_id: "planted-duplicate",
      user_identity_id: seamUser.user_identity_id,
      acs_user_id: acsUser.id,
      acs_system_id: env.acsSystemId,
      parent_acs_credential_id: parentCredential!.acs_credential_id,
      device_id: second,
      is_issued: true,
      card_number: "424242",
      is_multi_phone_sync_credential: false,
      credential_manager_acs_system_id: env.managerId,
      access_method: "mobile_key",
      errors: [],
      warnings: []
    })
    await converge("the duplicate revoked", () => (proxy.deleted.includes("planted-duplicate") ? true : undefined))
    expect(Identity.child(await state(), own.id)).toMatchObject({ ref: own.ref, issue: "active" })

    // the parent deleted: the grant goes, every credential is revoked, the parent leaves the engine
    await exec({ _tag: "DeleteSyncCredential", userIdentityId: who, credentialId: "parent-1" })
    await converge("everything gone", async (s) => {
      const seam = await env.seam.acs.credentials.list({ user_identity_id: seamUser.user_identity_id })
      return seam.length === 0 && s.children.length === 0 && s.parents.length === 0 ? true : undefined
    })
    const gone = await env.seam.accessGrants.get({ access_grant_id: grantId }).then(
      () => undefined,
      (e: unknown) => (isSeamHttpApiError(e) ? e.statusCode : e)
    )
    expect(gone).toBe(404)
    expect(env.server.workspace(env.workspaceId).simulator.truthUnsafe().credentials.filter((c) => c.live)).toEqual([])

    // the routes the adapter called: grants, never an enrollment automation
    expect(proxy.paths.filter((p) => p.startsWith("/user_identities/enrollment_automations/"))).toEqual([])
    expect(proxy.paths.filter((p) => p === "/access_grants/create")).toHaveLength(1)
    expect(proxy.paths).toContain("/access_grants/delete")
    expect(proxy.paths).not.toContain("/acs/credentials/create")
  })

  it("a grant whose create response was lost is adopted, not made twice", async () => {
    const { acs, exec, who, converge } = await setUp()
    await exec({ _tag: "CreateUserIdentity", userIdentityId: who, fullName: "Lost Response" })
    const acsUser = await Effect.runPromise(acs.createUser(env.acsSystemId, { fullName: "Lost Response" }))
    await exec({ _tag: "LinkAcsUser", userIdentityId: who, acsUserId: acsUser.id, acsSystemId: env.acsSystemId })
    await exec({ _tag: "LaunchAutomation", userIdentityId: who, automationId: "automation-1", managerId: env.managerId })
    // the grant is made, then the answer is lost (502)
    env.server.injectFault({ path: "/access_grants/create", workspaceId: env.workspaceId, status: 502, afterHandling: true, times: 1 })
    const before = proxy.answered.filter((a) => a.path === "/access_grants/create").length
    await exec({ _tag: "CreateSyncCredential", userIdentityId: who, credentialId: "parent-1", acsUserId: acsUser.id, managerId: env.managerId, ...grantCard })
    const bound = await converge("the parent bound", (s) => Identity.parent(s, "parent-1")?.remote)
    const seamUser = await env.seam.userIdentities.get({ user_identity_key: who })
    const grants = await env.seam.accessGrants.list({ user_identity_id: seamUser.user_identity_id })
    expect(grants.map((g) => g.access_grant_id)).toEqual([bound])
    const creates = proxy.answered.filter((a) => a.path === "/access_grants/create")
    expect(creates.slice(before).map((a) => a.status)).toEqual([502])
  })
})
