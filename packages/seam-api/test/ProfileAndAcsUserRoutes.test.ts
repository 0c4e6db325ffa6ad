/**
 * Issue 12: the routes an app following Seam's flow calls that answered 404 —
 * `/user_identities/update`, `/user_identities/remove_acs_user`, `/acs/users/update|delete|suspend|unsuspend`,
 * `/acs/credentials/update` — driven with Seam's SDK. Each rejected request is checked to change nothing.
 */
import { isSeamHttpApiError, isSeamHttpInvalidInputError, type SeamHttp } from "@seamapi/http/connect"
import { Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Server } from "../src/index.js"
import { client, rejection, until } from "./helpers.js"

const A = { id: "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", key: "seam_issue12_a" }

let server: Server.Handle
let seam: SeamHttp
let acsSystemId: string
let managerId: string

beforeAll(async () => {
  server = await Server.start({ workspaces: [{ id: A.id, apiKeys: [Redacted.make(A.key)], tickMs: 20 }] })
  seam = client(A.key, server.url)
  const systems = await seam.acs.systems.list()
  acsSystemId = systems.find((s) => !s.is_credential_manager)!.acs_system_id
  managerId = systems.find((s) => s.is_credential_manager)!.acs_system_id
})
afterAll(async () => {
  await server.close()
})

const raw = (path: string, body: unknown) =>
  fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${A.key}`, "content-type": "application/json" },
    body: JSON.stringify(body)
  })

const errorOf = async (p: Promise<unknown>) => {
  const e = await rejection(p)
  if (!isSeamHttpApiError(e)) throw e
  return { status: e.statusCode, type: e.code, message: e.message }
}

/** A multi-phone sync credential for `acsUserId` at the manager. card_format and facility_code are
 *  not in the SDK's request type; passed as a call's result (not a literal), they need no cast. */
const syncCredential = (acsUserId: string, extra: { readonly starts_at?: string } = {}) => ({
  access_method: "mobile_key" as const,
  is_multi_phone_sync_credential: true,
  acs_user_id: acsUserId,
  credential_manager_acs_system_id: managerId,
  card_format: "rfid48",
  facility_code: "9",
  ...extra
})

describe("/user_identities/update", () => {
  it("changes the profile: given fields replace, null clears, absent ones stay", async () => {
    const u = await seam.userIdentities.create({ user_identity_key: "upd-1", email_address: "upd1@example.com", phone_number: "+15550100001", full_name: "Ana" })
    await seam.userIdentities.update({ user_identity_id: u.user_identity_id, full_name: "Ana Lima", phone_number: null, email_address: "ana.lima@example.com" })
    const after = await seam.userIdentities.get({ user_identity_id: u.user_identity_id })
    expect(after).toMatchObject({ user_identity_key: "upd-1", full_name: "Ana Lima", email_address: "ana.lima@example.com", phone_number: null })
    // the key follows: found by the new one, not by the old
    await seam.userIdentities.update({ user_identity_id: u.user_identity_id, user_identity_key: "upd-1b" })
    expect((await seam.userIdentities.get({ user_identity_key: "upd-1b" })).user_identity_id).toBe(u.user_identity_id)
    expect((await errorOf(seam.userIdentities.get({ user_identity_key: "upd-1" }))).status).toBe(404)
    // the old email is free for another identity now; the new one is not
    await seam.userIdentities.create({ email_address: "upd1@example.com" })
    const dup = await rejection(seam.userIdentities.create({ email_address: "ana.lima@example.com" }))
    expect(isSeamHttpInvalidInputError(dup) && dup.getValidationErrorMessages("email_address").length > 0).toBe(true)
  })

  it("refuses a key, email or phone number another identity holds, naming the field, and changes nothing", async () => {
    await seam.userIdentities.create({ user_identity_key: "upd-held", email_address: "held@example.com", phone_number: "+15550100002" })
    const u = await seam.userIdentities.create({ user_identity_key: "upd-2", email_address: "upd2@example.com", full_name: "Bo" })
    const before = await seam.userIdentities.get({ user_identity_id: u.user_identity_id })
    for (const [field, value] of [
      ["user_identity_key", "upd-held"],
      ["email_address", "held@example.com"],
      ["phone_number", "+15550100002"]
    ] as const) {
      // with a change that would be accepted alone: nothing of it may be applied either
      const answer = await raw("/user_identities/update", { user_identity_id: u.user_identity_id, full_name: "Changed", phone_number: "+15550100003", [field]: value })
      expect(answer.status, field).toBe(400)
      const body = (await answer.json()) as { error: { type: string; validation_errors?: Record<string, unknown> } }
      expect(body.error.type).toBe("invalid_input")
      expect(Object.keys(body.error.validation_errors ?? {}), field).toEqual([field])
      expect(await seam.userIdentities.get({ user_identity_id: u.user_identity_id })).toEqual(before)
    }
    // the phone number the refused requests asked for was given back
    await seam.userIdentities.create({ phone_number: "+15550100003" })
  })

  it("400 naming a malformed field, 404 for an unknown identity", async () => {
    const u = await seam.userIdentities.create({ email_address: "upd3@example.com" })
    const bad = await raw("/user_identities/update", { user_identity_id: u.user_identity_id, email_address: "not-an-email" })
    expect(bad.status).toBe(400)
    expect(Object.keys(((await bad.json()) as { error: { validation_errors: object } }).error.validation_errors)).toEqual(["email_address"])
    const missing = await errorOf(seam.userIdentities.update({ user_identity_id: "00000000-0000-4000-8000-000000000000", full_name: "x" }))
    expect([missing.status, missing.type]).toEqual([404, "user_identity_not_found"])
    expect((await seam.userIdentities.get({ user_identity_id: u.user_identity_id })).email_address).toBe("upd3@example.com")
  })
})

describe("/user_identities/remove_acs_user", () => {
  it("unlinks the ACS user, which can then be linked to another identity", async () => {
    const u = await seam.userIdentities.create({ email_address: "rm1@example.com" })
    const acsUser = await seam.acs.users.create({ acs_system_id: acsSystemId, full_name: "Rm One", user_identity_id: u.user_identity_id })
    await seam.userIdentities.removeAcsUser({ user_identity_id: u.user_identity_id, acs_user_id: acsUser.acs_user_id })
    expect((await seam.userIdentities.get({ user_identity_id: u.user_identity_id })).acs_user_ids).toEqual([])
    expect(await seam.userIdentities.listAcsUsers({ user_identity_id: u.user_identity_id })).toEqual([])
    const acsUserNow = await seam.acs.users.get({ acs_user_id: acsUser.acs_user_id })
    expect(acsUserNow.user_identity_id).toBeUndefined()
    const other = await seam.userIdentities.create({ email_address: "rm1b@example.com" })
    await seam.userIdentities.addAcsUser({ user_identity_id: other.user_identity_id, acs_user_id: acsUser.acs_user_id })
    expect((await seam.userIdentities.get({ user_identity_id: other.user_identity_id })).acs_user_ids).toEqual([acsUser.acs_user_id])
  })

  it("404 for an ACS user that is not the identity's, or unknown", async () => {
    const u = await seam.userIdentities.create({ email_address: "rm2@example.com" })
    const stranger = await seam.acs.users.create({ acs_system_id: acsSystemId, full_name: "Stranger" })
    const e1 = await errorOf(seam.userIdentities.removeAcsUser({ user_identity_id: u.user_identity_id, acs_user_id: stranger.acs_user_id }))
    expect([e1.status, e1.type]).toEqual([404, "acs_user_not_found"])
    const e2 = await errorOf(seam.userIdentities.removeAcsUser({ user_identity_id: u.user_identity_id, acs_user_id: "00000000-0000-4000-8000-000000000001" }))
    expect([e2.status, e2.type]).toEqual([404, "acs_user_not_found"])
  })

  it("409 while a credential is assigned to the ACS user; accepted once the credential is gone", async () => {
    const u = await seam.userIdentities.create({ email_address: "rm3@example.com" })
    const acsUser = await seam.acs.users.create({ acs_system_id: acsSystemId, full_name: "Rm Three", user_identity_id: u.user_identity_id })
    const parent = await seam.acs.credentials.create(syncCredential(acsUser.acs_user_id))
    const e = await errorOf(seam.userIdentities.removeAcsUser({ user_identity_id: u.user_identity_id, acs_user_id: acsUser.acs_user_id }))
    expect([e.status, e.type]).toEqual([409, "conflict"])
    expect(e.message).toContain(parent.acs_credential_id)
    expect((await seam.userIdentities.get({ user_identity_id: u.user_identity_id })).acs_user_ids).toEqual([acsUser.acs_user_id])
    await seam.acs.credentials.delete({ acs_credential_id: parent.acs_credential_id })
    // the parent leaves once the engine has removed what it made (no phone: at the next reconcile)
    await until("the unlink accepted once the parent is gone", async () => {
      const answer = await raw("/user_identities/remove_acs_user", { user_identity_id: u.user_identity_id, acs_user_id: acsUser.acs_user_id })
      expect([200, 409]).toContain(answer.status)
      return answer.status === 200 ? true : undefined
    })
    expect((await seam.userIdentities.get({ user_identity_id: u.user_identity_id })).acs_user_ids).toEqual([])
  })
})

describe("/acs/users/update|suspend|unsuspend", () => {
  it("changes the recorded profile, by id or by identity and ACS", async () => {
    const u = await seam.userIdentities.create({ email_address: "au1@example.com" })
    const acsUser = await seam.acs.users.create({ acs_system_id: acsSystemId, full_name: "Au One", user_identity_id: u.user_identity_id })
    await seam.acs.users.update({
      acs_user_id: acsUser.acs_user_id,
      full_name: "Au Uno",
      email_address: "au.uno@example.com",
      phone_number: "+15550100010",
      access_schedule: { starts_at: "2026-01-01T00:00:00.000Z", ends_at: "2026-12-31T00:00:00.000Z" }
    })
    expect(await seam.acs.users.get({ acs_user_id: acsUser.acs_user_id })).toMatchObject({
      full_name: "Au Uno",
      display_name: "Au Uno",
      email_address: "au.uno@example.com",
      phone_number: "+15550100010",
      access_schedule: { starts_at: "2026-01-01T00:00:00.000Z", ends_at: "2026-12-31T00:00:00.000Z" },
      acs_system_id: acsSystemId,
      user_identity_id: u.user_identity_id
    })
    // by identity and ACS; null clears the schedule, absent fields stay
    await seam.acs.users.update({ user_identity_id: u.user_identity_id, acs_system_id: acsSystemId, access_schedule: null })
    const after = await seam.acs.users.get({ acs_user_id: acsUser.acs_user_id })
    expect(after.access_schedule).toBeUndefined()
    expect(after.full_name).toBe("Au Uno")
  })

  it("suspends and unsuspends (the flag only)", async () => {
    const acsUser = await seam.acs.users.create({ acs_system_id: acsSystemId, full_name: "Au Two" })
    expect(acsUser.is_suspended).toBe(false)
    await seam.acs.users.suspend({ acs_user_id: acsUser.acs_user_id })
    expect((await seam.acs.users.get({ acs_user_id: acsUser.acs_user_id })).is_suspended).toBe(true)
    expect((await seam.acs.users.list({ acs_system_id: acsSystemId })).find((x) => x.acs_user_id === acsUser.acs_user_id)?.is_suspended).toBe(true)
    await seam.acs.users.unsuspend({ acs_user_id: acsUser.acs_user_id })
    expect((await seam.acs.users.get({ acs_user_id: acsUser.acs_user_id })).is_suspended).toBe(false)
  })

  it("400 naming the field for malformed values or no way to find the user, 404 for an unknown one; nothing changes", async () => {
    const acsUser = await seam.acs.users.create({ acs_system_id: acsSystemId, full_name: "Au Three" })
    for (const [body, field] of [
      [{ acs_user_id: acsUser.acs_user_id, email_address: "nope", full_name: "Changed" }, "email_address"],
      [{ acs_user_id: acsUser.acs_user_id, full_name: "" }, "full_name"],
      [{ acs_user_id: acsUser.acs_user_id, access_schedule: { starts_at: "soon", ends_at: "2026-12-31T00:00:00.000Z" } }, "access_schedule"],
      [{ full_name: "Changed" }, "acs_user_id"]
    ] as const) {
      const answer = await raw("/acs/users/update", body)
      expect(answer.status, field).toBe(400)
      const errors = ((await answer.json()) as { error: { validation_errors?: Record<string, unknown> } }).error.validation_errors ?? {}
      expect(Object.keys(errors)[0]?.split(".")[0], JSON.stringify(body)).toBe(field)
    }
    expect(await seam.acs.users.get({ acs_user_id: acsUser.acs_user_id })).toEqual(acsUser)
    for (const path of ["/acs/users/update", "/acs/users/suspend", "/acs/users/unsuspend", "/acs/users/delete"]) {
      const answer = await raw(path, { acs_user_id: "00000000-0000-4000-8000-000000000002", full_name: "x" })
      expect(answer.status, path).toBe(404)
      expect(((await answer.json()) as { error: { type: string } }).error.type).toBe("acs_user_not_found")
    }
  })
})

describe("/acs/users/delete", () => {
  it("unlinks the user from its identity, forgets it and emits acs_user.deleted", async () => {
    const u = await seam.userIdentities.create({ email_address: "ad1@example.com" })
    const acsUser = await seam.acs.users.create({ acs_system_id: acsSystemId, full_name: "Ad One", user_identity_id: u.user_identity_id })
    await seam.acs.users.delete({ acs_user_id: acsUser.acs_user_id })
    expect((await errorOf(seam.acs.users.get({ acs_user_id: acsUser.acs_user_id }))).status).toBe(404)
    expect((await seam.acs.users.list({ acs_system_id: acsSystemId })).map((x) => x.acs_user_id)).not.toContain(acsUser.acs_user_id)
    expect((await seam.userIdentities.get({ user_identity_id: u.user_identity_id })).acs_user_ids).toEqual([])
    const events = await seam.events.list({ event_type: "acs_user.deleted", acs_user_id: acsUser.acs_user_id } as Parameters<SeamHttp["events"]["list"]>[0])
    expect(events.map((e) => [e.event_type, "acs_user_id" in e ? e.acs_user_id : undefined, "user_identity_id" in e ? e.user_identity_id : undefined])).toEqual([
      ["acs_user.deleted", acsUser.acs_user_id, u.user_identity_id]
    ])
    // the identity may get another ACS user in that ACS
    await seam.acs.users.create({ acs_system_id: acsSystemId, full_name: "Ad One again", user_identity_id: u.user_identity_id })
  })

  it("409 while a credential is assigned to the user: nothing is unlinked or forgotten", async () => {
    const u = await seam.userIdentities.create({ email_address: "ad2@example.com" })
    const acsUser = await seam.acs.users.create({ acs_system_id: acsSystemId, full_name: "Ad Two", user_identity_id: u.user_identity_id })
    await seam.acs.credentials.create(syncCredential(acsUser.acs_user_id))
    const e = await errorOf(seam.acs.users.delete({ acs_user_id: acsUser.acs_user_id }))
    expect([e.status, e.type]).toEqual([409, "conflict"])
    expect((await seam.acs.users.get({ acs_user_id: acsUser.acs_user_id })).user_identity_id).toBe(u.user_identity_id)
    expect((await seam.userIdentities.get({ user_identity_id: u.user_identity_id })).acs_user_ids).toEqual([acsUser.acs_user_id])
    const deleted = await seam.events.list({ event_type: "acs_user.deleted", acs_user_id: acsUser.acs_user_id } as Parameters<SeamHttp["events"]["list"]>[0])
    expect(deleted).toEqual([])
  })
})

describe("/acs/credentials/update", () => {
  it("changes a parent's ends_at; its phone credentials show it; refusals change nothing", async () => {
    const u = await seam.userIdentities.create({ email_address: "cu1@example.com" })
    const acsUser = await seam.acs.users.create({ acs_system_id: acsSystemId, full_name: "Cu One", user_identity_id: u.user_identity_id })
    await seam.userIdentities.enrollmentAutomations.launch({ user_identity_id: u.user_identity_id, credential_manager_acs_system_id: managerId })
    const parent = await seam.acs.credentials.create(syncCredential(acsUser.acs_user_id, { starts_at: "2026-01-01T00:00:00.000Z" }))
    await seam.phones.simulate.createSandboxPhone({ user_identity_id: u.user_identity_id })
    const child = await until("the phone credential", async () =>
      (await seam.acs.credentials.list({ user_identity_id: u.user_identity_id })).find((c) => c.parent_acs_credential_id === parent.acs_credential_id)
    )

    await seam.acs.credentials.update({ acs_credential_id: parent.acs_credential_id, ends_at: "2026-06-30T00:00:00.000Z" })
    expect(await seam.acs.credentials.get({ acs_credential_id: parent.acs_credential_id })).toMatchObject({
      starts_at: "2026-01-01T00:00:00.000Z",
      ends_at: "2026-06-30T00:00:00.000Z"
    })
    // the route answers with the parent, as Seam's does
    const answer = await raw("/acs/credentials/update", { acs_credential_id: parent.acs_credential_id, ends_at: "2026-06-30T00:00:00.000Z" })
    expect(((await answer.json()) as { acs_credential: { ends_at: string } }).acs_credential.ends_at).toBe("2026-06-30T00:00:00.000Z")
    expect((await seam.acs.credentials.get({ acs_credential_id: child.acs_credential_id })).ends_at).toBe("2026-06-30T00:00:00.000Z")

    const before = await seam.acs.credentials.list({ user_identity_id: u.user_identity_id })
    for (const [body, status, field] of [
      [{ acs_credential_id: parent.acs_credential_id, ends_at: "2025-12-31T00:00:00.000Z" }, 400, "ends_at"],
      [{ acs_credential_id: parent.acs_credential_id, ends_at: "tomorrow" }, 400, "ends_at"],
      [{ acs_credential_id: parent.acs_credential_id, code: "1234" }, 400, "code"],
      [{ acs_credential_id: child.acs_credential_id, ends_at: "2026-07-30T00:00:00.000Z" }, 400, "acs_credential_id"],
      [{ acs_credential_id: "00000000-0000-4000-8000-000000000003", ends_at: "2026-07-30T00:00:00.000Z" }, 404, undefined]
    ] as const) {
      const answer = await raw("/acs/credentials/update", body)
      expect(answer.status, JSON.stringify(body)).toBe(status)
      const error = ((await answer.json()) as { error: { type: string; validation_errors?: Record<string, unknown> } }).error
      if (field === undefined) expect(error.type).toBe("acs_credential_not_found")
      else expect(Object.keys(error.validation_errors ?? {}), JSON.stringify(body)).toEqual([field])
    }
    const unchanged = await seam.acs.credentials.list({ user_identity_id: u.user_identity_id })
    const times = (cs: typeof before) => cs.map((c) => [c.acs_credential_id, c.starts_at, c.ends_at])
    expect(times(unchanged)).toEqual(times(before))
  })

  it("refuses an Access Grant's parent (its times are the grant's)", async () => {
    const u = await seam.userIdentities.create({ email_address: "cu2@example.com" })
    const entrance = (await seam.acs.entrances.list())[0]!
    const grant = await seam.accessGrants.create({
      user_identity_id: u.user_identity_id,
      acs_entrance_ids: [entrance.acs_entrance_id],
      requested_access_methods: [{ mode: "mobile_key" }]
    })
    const parent = (await seam.acs.credentials.list({ user_identity_id: u.user_identity_id })).find((c) => c.is_multi_phone_sync_credential)!
    const answer = await raw("/acs/credentials/update", { acs_credential_id: parent.acs_credential_id, ends_at: "2030-01-01T00:00:00.000Z" })
    expect(answer.status).toBe(400)
    const error = ((await answer.json()) as { error: { message: string; validation_errors?: Record<string, unknown> } }).error
    expect(Object.keys(error.validation_errors ?? {})).toEqual(["acs_credential_id"])
    expect(error.message).toContain(grant.access_grant_id)
    expect((await seam.acs.credentials.get({ acs_credential_id: parent.acs_credential_id })).ends_at).toBe(parent.ends_at)
  })
})
