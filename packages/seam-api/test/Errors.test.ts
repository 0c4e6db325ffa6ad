/**
 * Bad requests get Seam-shaped errors and change nothing; workspaces are isolated; pagination
 * works with the SDK's paginator; injected faults reach the client as Seam errors.
 */
import { randomUUID } from "node:crypto"
import { isSeamHttpApiError, isSeamHttpInvalidInputError, isSeamHttpUnauthorizedError, type SeamHttp } from "@seamapi/http/connect"
import { openapi } from "@seamapi/types/connect"
import { Redacted, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Server } from "../src/index.js"
import { client, rejection, until } from "./helpers.js"

const A = { id: "7b1d2c3e-4f50-4a61-8b72-9c83d4e5f601", key: "seam_errors_a" }
const B = { id: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", key: "seam_errors_b" }
const P = { id: "9f8e7d6c-5b4a-4392-8172-6a5b4c3d2e1f", key: "seam_errors_production" }

let server: Server.Handle
let seam: SeamHttp
let fixture: { identityId: string; acsUserId: string; parentId: string; deviceId: string; acsSystemId: string; managerId: string }

beforeAll(async () => {
  server = await Server.start({
    workspaces: [
      { id: A.id, apiKeys: [Redacted.make(A.key)], tickMs: 20 },
      { id: B.id, apiKeys: [Redacted.make(B.key)], tickMs: 20 },
      { id: P.id, apiKeys: [Redacted.make(P.key)], sandbox: false, tickMs: 20 }
    ]
  })
  seam = client(A.key, server.url)
  const systems = await seam.acs.systems.list()
  const acs = systems.find((s) => !s.is_credential_manager)
  const manager = systems.find((s) => s.is_credential_manager)
  if (acs === undefined || manager === undefined) throw new Error("systems")
  const identity = await seam.userIdentities.create({ user_identity_key: "emp-1", full_name: "Ann" })
  const acsUser = await seam.acs.users.create({ acs_system_id: acs.acs_system_id, full_name: "Ann", user_identity_id: identity.user_identity_id })
  await seam.userIdentities.enrollmentAutomations.launch({
    user_identity_id: identity.user_identity_id,
    credential_manager_acs_system_id: manager.acs_system_id
  })
  const parentParams = { access_method: "mobile_key" as const, is_multi_phone_sync_credential: true, acs_user_id: acsUser.acs_user_id, facility_code: "7" }
  const parent = await seam.acs.credentials.create(parentParams)
  const phone = await seam.phones.simulate.createSandboxPhone({ user_identity_id: identity.user_identity_id })
  fixture = {
    identityId: identity.user_identity_id,
    acsUserId: acsUser.acs_user_id,
    parentId: parent.acs_credential_id,
    deviceId: phone.device_id,
    acsSystemId: acs.acs_system_id,
    managerId: manager.acs_system_id
  }
  await until("the fixture's child issued", async () =>
    (await seam.acs.credentials.list({ user_identity_id: identity.user_identity_id })).some((c) => c.is_issued) ? true : undefined
  )
})
afterAll(async () => {
  await server?.close()
})

const snapshot = async (s: SeamHttp) => ({
  identities: await s.userIdentities.list(),
  acsUsers: await s.acs.users.list(),
  credentials: await s.acs.credentials.list(),
  phones: await s.phones.list(),
  webhooks: await s.webhooks.list(),
  automations: await s.userIdentities.enrollmentAutomations.list({ user_identity_id: fixture.identityId })
})

const code = async (p: Promise<unknown>) => {
  const e = await rejection(p)
  if (!isSeamHttpApiError(e)) throw e
  return { code: e.code, status: e.statusCode }
}

describe("Seam-shaped errors", () => {
  it("unknown ids are 404 <resource>_not_found, invalid input is 400 naming the field, and nothing changes", async () => {
    const before = await snapshot(seam)
    const unknown = randomUUID()
    expect(await code(seam.userIdentities.get({ user_identity_id: unknown }))).toEqual({ code: "user_identity_not_found", status: 404 })
    expect(await code(seam.acs.credentials.get({ acs_credential_id: unknown }))).toEqual({ code: "acs_credential_not_found", status: 404 })
    expect(await code(seam.acs.credentials.delete({ acs_credential_id: unknown }))).toEqual({ code: "acs_credential_not_found", status: 404 })
    expect(await code(seam.phones.get({ device_id: unknown }))).toEqual({ code: "device_not_found", status: 404 })
    expect(await code(seam.phones.deactivate({ device_id: unknown }))).toEqual({ code: "device_not_found", status: 404 })
    expect(await code(seam.acs.users.get({ acs_user_id: unknown }))).toEqual({ code: "acs_user_not_found", status: 404 })
    expect(await code(seam.userIdentities.addAcsUser({ user_identity_id: fixture.identityId, acs_user_id: unknown }))).toEqual({
      code: "acs_user_not_found",
      status: 404
    })
    expect(await code(seam.userIdentities.enrollmentAutomations.get({ enrollment_automation_id: unknown }))).toEqual({
      code: "enrollment_automation_not_found",
      status: 404
    })
    expect(await code(seam.userIdentities.enrollmentAutomations.delete({ enrollment_automation_id: unknown }))).toEqual({
      code: "enrollment_automation_not_found",
      status: 404
    })
    expect(await code(seam.acs.systems.get({ acs_system_id: unknown }))).toEqual({ code: "acs_system_not_found", status: 404 })
    expect(await code(seam.events.get({ event_id: unknown }))).toEqual({ code: "event_not_found", status: 404 })
    expect(await code(seam.webhooks.delete({ webhook_id: unknown }))).toEqual({ code: "webhook_not_found", status: 404 })

    const invalid = async (p: Promise<unknown>, field: string) => {
      const e = await rejection(p)
      if (!isSeamHttpInvalidInputError(e)) throw e
      expect(e.statusCode).toBe(400)
      expect(e.getValidationErrorMessages(field).length).toBeGreaterThan(0)
    }
    await invalid(seam.userIdentities.create({ email_address: "not-an-email" }), "email_address")
    await invalid(seam.userIdentities.create({ phone_number: "555" }), "phone_number")
    await invalid(seam.userIdentities.create({ user_identity_key: "emp-1" }), "user_identity_key")
    const noFacility = { access_method: "mobile_key" as const, is_multi_phone_sync_credential: true, acs_user_id: fixture.acsUserId }
    await invalid(seam.acs.credentials.create(noFacility), "facility_code")
    const perCard = { ...noFacility, facility_code: "9", card_number: "123" }
    await invalid(seam.acs.credentials.create(perCard), "card_number")
    await invalid(seam.acs.credentials.create({ access_method: "code", acs_user_id: fixture.acsUserId, code: "1234" }), "is_multi_phone_sync_credential")
    await invalid(seam.acs.users.create({ acs_system_id: fixture.acsSystemId, full_name: "" }), "full_name")
    await invalid(seam.userIdentities.list({ limit: -1 }), "limit")
    await invalid(seam.webhooks.create({ url: "ftp://nope" }), "url")
    const missing = await fetch(`${server.url}/phones/deactivate`, {
      method: "POST",
      headers: { authorization: `Bearer ${A.key}`, "content-type": "application/json" },
      body: "{}"
    })
    expect(missing.status).toBe(400)
    expect(await missing.json()).toMatchObject({ error: { type: "invalid_input", validation_errors: { device_id: { _errors: [expect.any(String)] } } } })
    const notJson = await fetch(`${server.url}/user_identities/create`, {
      method: "POST",
      headers: { authorization: `Bearer ${A.key}`, "content-type": "application/json" },
      body: "{nope"
    })
    expect(notJson.status).toBe(400)
    // a conflicting twin of the parent (same card profile, same manager) is refused
    const twin = { access_method: "mobile_key" as const, is_multi_phone_sync_credential: true, acs_user_id: fixture.acsUserId, facility_code: "7" }
    expect((await code(seam.acs.credentials.create(twin))).status).toBe(409)
    // a child cannot be deleted on its own
    const child = (await seam.acs.credentials.list({ user_identity_id: fixture.identityId })).find((c) => c.parent_acs_credential_id !== undefined)
    if (child === undefined) throw new Error("no child")
    await invalid(seam.acs.credentials.delete({ acs_credential_id: child.acs_credential_id }), "acs_credential_id")

    expect(await snapshot(seam)).toEqual(before)
  })

  it("answers 401 unauthorized to a missing or wrong key, before touching anything", async () => {
    const before = await snapshot(seam)
    const wrong = await rejection(client("seam_not_a_real_key", server.url).userIdentities.create({ full_name: "Mallory" }))
    expect(isSeamHttpUnauthorizedError(wrong)).toBe(true)
    const none = await fetch(`${server.url}/user_identities/create`, { method: "POST", body: JSON.stringify({ full_name: "Mallory" }) })
    expect(none.status).toBe(401)
    expect(await none.json()).toEqual({ error: { type: "unauthorized", message: expect.any(String) } })
    expect(await snapshot(seam)).toEqual(before)
  })

  it("serves read routes over GET with query parameters", async () => {
    const r = await fetch(`${server.url}/phones/get?device_id=${fixture.deviceId}`, { headers: { authorization: `Bearer ${A.key}` } })
    expect(r.status).toBe(200)
    expect(await r.json()).toMatchObject({ ok: true, phone: { device_id: fixture.deviceId } })
    const write = await fetch(`${server.url}/user_identities/create?full_name=x`, { headers: { authorization: `Bearer ${A.key}` } })
    expect(write.status).toBe(405)
  })

  it("gives phones every field Seam's OpenAPI document requires", async () => {
    const Required = Schema.Struct({ required: Schema.Array(Schema.String) })
    const doc = Schema.decodeUnknownSync(
      Schema.Struct({ components: Schema.Struct({ schemas: Schema.Struct({ phone: Required, enrollment_automation: Required }) }) })
    )(openapi)
    const phone = await seam.phones.get({ device_id: fixture.deviceId })
    for (const field of doc.components.schemas.phone.required) expect(phone).toHaveProperty(field)
    const automations = await seam.userIdentities.enrollmentAutomations.list({ user_identity_id: fixture.identityId })
    for (const field of doc.components.schemas.enrollment_automation.required) expect(automations[0]).toHaveProperty(field)
  })
})

describe("workspaces", () => {
  it("share nothing: ids of one are unknown to the other", async () => {
    const other = client(B.key, server.url)
    expect(await code(other.userIdentities.get({ user_identity_id: fixture.identityId }))).toMatchObject({ code: "user_identity_not_found" })
    expect(await code(other.acs.credentials.get({ acs_credential_id: fixture.parentId }))).toMatchObject({ code: "acs_credential_not_found" })
    expect(await code(other.phones.deactivate({ device_id: fixture.deviceId }))).toMatchObject({ code: "device_not_found" })
    expect(await code(other.acs.users.get({ acs_user_id: fixture.acsUserId }))).toMatchObject({ code: "acs_user_not_found" })
    expect(await other.userIdentities.list()).toEqual([])
    expect(await other.acs.credentials.list()).toEqual([])
    expect(await other.events.list({ since: new Date(0).toISOString() })).toEqual([])
    const theirs = (await other.acs.systems.list()).map((s) => s.acs_system_id)
    expect(theirs).not.toContain(fixture.acsSystemId)
    expect(await code(other.acs.systems.get({ acs_system_id: fixture.acsSystemId }))).toMatchObject({ code: "acs_system_not_found" })
    // and the first workspace still has its phone
    expect((await seam.phones.get({ device_id: fixture.deviceId })).device_id).toBe(fixture.deviceId)
  })

  it("refuses sandbox simulation in a production workspace", async () => {
    const prod = client(P.key, server.url)
    const identity = await prod.userIdentities.create({ full_name: "Prod" })
    expect(await code(prod.phones.simulate.createSandboxPhone({ user_identity_id: identity.user_identity_id }))).toEqual({
      code: "workspace_not_sandbox",
      status: 400
    })
    expect(await prod.phones.list()).toEqual([])
  })
})

describe("pagination", () => {
  it("pages with next_page_cursor, and the SDK's paginator walks every page", async () => {
    const other = client(B.key, server.url)
    for (let i = 0; i < 5; i++) await other.userIdentities.create({ user_identity_key: `page-${i}` })
    const first = await fetch(`${server.url}/user_identities/list`, {
      method: "POST",
      headers: { authorization: `Bearer ${B.key}`, "content-type": "application/json" },
      body: JSON.stringify({ limit: 2 })
    })
    const body: unknown = await first.json()
    expect(body).toMatchObject({ ok: true, pagination: { has_next_page: true, next_page_cursor: expect.any(String), next_page_url: expect.any(String) } })
    const all = await other.createPaginator(other.userIdentities.list({ limit: 2 })).flattenToArray()
    expect(all.map((u) => u.user_identity_key).sort()).toEqual(["page-0", "page-1", "page-2", "page-3", "page-4"])
    expect(await code(other.userIdentities.list({ page_cursor: "garbage" }))).toEqual({ code: "invalid_input", status: 400 })
  })
})

describe("fault injection (for clients' tests)", () => {
  it("answers 429 with Retry-After, or 5xx after the request took effect", async () => {
    const other = client(B.key, server.url)
    server.injectFault({ path: "/user_identities/list", status: 429, retryAfterSeconds: 3, workspaceId: B.id })
    const raw = await fetch(`${server.url}/user_identities/list`, { method: "POST", headers: { authorization: `Bearer ${B.key}` }, body: "{}" })
    expect(raw.status).toBe(429)
    expect(raw.headers.get("retry-after")).toBe("3")
    expect(await raw.json()).toMatchObject({ error: { type: "rate_limited" } })
    await other.userIdentities.list() // the fault was used up

    server.injectFault({ path: "/user_identities/create", status: 503, afterHandling: true })
    expect(await code(other.userIdentities.create({ user_identity_key: "lost-response" }))).toMatchObject({ status: 503 })
    // the response was lost but the request took effect
    expect((await other.userIdentities.get({ user_identity_key: "lost-response" })).user_identity_key).toBe("lost-response")

    server.injectFault({ path: /^\/acs\//, status: 500, times: 2 })
    expect((await code(other.acs.systems.list())).status).toBe(500)
    expect((await code(other.acs.users.list())).status).toBe(500)
    expect((await other.acs.systems.list()).length).toBeGreaterThan(0)
    server.clearFaults()
  })
})
