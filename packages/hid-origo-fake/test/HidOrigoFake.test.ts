import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { HidOrigoFake } from "../src/index.js"

const MT = "application/vnd.assaabloy.ma.credential-management-2.2+json"
/** Reads a nested field of a JSON answer without casting. */
const dig = (v: unknown, ...keys: Array<string | number>): unknown =>
  keys.reduce<unknown>((acc, k) => (typeof acc === "object" && acc !== null ? Reflect.get(acc, k) : undefined), v)

let fake: HidOrigoFake.RunningFake
let token = ""

const mi = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  fetch(`${fake.environment.mi}/customer/${fake.organizationId}${path}`, {
    method: init.method ?? "GET",
    headers: {
      authorization: `Bearer ${token}`,
      "application-id": "HID-T-T",
      "application-version": "1",
      accept: MT,
      ...(init.body === undefined ? {} : { "content-type": `${MT}; charset=utf-8` }),
      ...init.headers
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) })
  })

beforeAll(async () => {
  fake = await HidOrigoFake.start()
  const res = await fetch(`${fake.url}/authentication/customer/${fake.organizationId}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: fake.account.clientId, client_secret: fake.account.clientSecret, grant_type: "client_credentials" })
  })
  const json: unknown = await res.json()
  expect(dig(json, "expires_in")).toBe(3600)
  token = String(dig(json, "access_token"))
})
afterAll(() => fake.stop())

describe("HidOrigoFake", () => {
  it("binds tokens to the organization and requires the application headers and media type", async () => {
    const wrongOrg = await fetch(`${fake.url}/authentication/customer/999/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: fake.account.clientId, client_secret: fake.account.clientSecret, grant_type: "client_credentials" })
    })
    expect(wrongOrg.status).toBe(401)
    expect((await mi("/part-number", { headers: { "application-id": "" } })).status).toBe(400)
    expect((await mi("/part-number", { headers: { authorization: "Bearer nope" } })).status).toBe(401)
    expect((await mi("/users", { method: "POST", body: { externalId: "m" }, headers: { "content-type": "application/json" } })).status).toBe(415)
    expect((await mi("/users", { method: "POST", body: { externalId: "m" } })).status).toBe(201)
  })

  it("cascades a user delete, pools card numbers and answers SCIM errors", async () => {
    const created = await mi("/users", { method: "POST", body: { externalId: "cascade" } })
    const user = { id: Number(dig(await created.json(), "id")) }
    const inv = await mi(`/users/${user.id}/invitation`, {
      method: "POST",
      body: { "urn:hid:scim:api:ma:2.2:UserAction": { createInvitationCode: "Y" } }
    })
    expect(inv.status).toBe(201)
    const code = String(dig(await inv.json(), "urn:hid:scim:api:ma:2.2:UserInvitation", 0, "invitationCode"))
    expect(code).toMatch(/^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$/)
    const { containerId } = fake.controls.redeem(code)
    const before = fake.controls.snapshot().partNumbers[0]!
    const issue = () =>
      mi(`/credential-container/${containerId}/credential`, {
        method: "POST",
        body: { "urn:hid:scim:api:ma:2.2:UserAction": { assignCredential: "Y", partNumber: before.partNumber } }
      })
    expect((await issue()).status).toBe(200)
    const repeat = await issue()
    expect(repeat.status).toBe(412)
    expect(await repeat.json()).toMatchObject({ status: 412, detail: "This credential is already delivered to this credentialContainer." })
    const after = fake.controls.snapshot().partNumbers[0]!
    expect([after.availableQty, after.nextNumber]).toEqual([before.availableQty - 1, before.nextNumber + 1])
    expect((await mi(`/users/${user.id}`, { method: "DELETE" })).status).toBe(204)
    expect((await mi(`/users/${user.id}`)).status).toBe(404)
    const snap = fake.controls.snapshot()
    expect(snap.containers.find((c) => c.id === containerId)?.status).toBe("DELETED")
    expect(snap.credentials.filter((c) => c.containerId === containerId).map((c) => c.status)).toEqual(["REVOKED"])
  })

  it("expires tokens with the clock", async () => {
    fake.controls.advance(3600_001)
    expect((await mi("/part-number")).status).toBe(401)
  })

  it("hits a probabilistic fault on about its share of requests (seeded) and revokes from the back office", async () => {
    fake.controls.injectFault({ kind: "status", status: 503, probability: 0.3, times: Number.POSITIVE_INFINITY, match: { path: "/part-number" } })
    const before = fake.controls.stats().faultsInjected
    let failed = 0
    for (let i = 0; i < 40; i++) if ((await mi("/part-number")).status === 503) failed++
    fake.controls.clearFaults()
    expect(fake.controls.stats().faultsInjected - before).toBe(failed)
    expect(failed).toBeGreaterThan(0)
    expect(failed).toBeLessThan(40)

    // the test before moved the fake's clock past the token's hour
    const res = await fetch(`${fake.url}/authentication/customer/${fake.organizationId}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: fake.account.clientId, client_secret: fake.account.clientSecret, grant_type: "client_credentials" })
    })
    token = String(dig(await res.json(), "access_token"))
    const user = Number(dig(await (await mi("/users", { method: "POST", body: { externalId: "back-office" } })).json(), "id"))
    const inv = await mi(`/users/${user}/invitation`, { method: "POST", body: { "urn:hid:scim:api:ma:2.2:UserAction": { createInvitationCode: "Y" } } })
    const code = String(dig(await inv.json(), "urn:hid:scim:api:ma:2.2:UserInvitation", 0, "invitationCode"))
    const { containerId } = fake.controls.redeem(code)
    const issued = await mi(`/credential-container/${containerId}/credential`, {
      method: "POST",
      body: { "urn:hid:scim:api:ma:2.2:UserAction": { assignCredential: "Y", partNumber: "MID-SUB-CRD_FTPN_644245" } }
    })
    const credentialId = String(dig(await issued.json(), "urn:hid:scim:api:ma:2.2:Credential", 0, "id"))
    fake.controls.revokeCredential(credentialId)
    expect(fake.controls.snapshot().credentials.find((c) => c.id === credentialId)?.status).toBe("REVOKE_INITIATED")
    fake.controls.settle()
    expect(fake.controls.snapshot().credentials.find((c) => c.id === credentialId)?.status).toBe("REVOKED")
  })
})
