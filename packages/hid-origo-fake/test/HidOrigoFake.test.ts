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
    // HID deletes users asynchronously: DELETE_INITIATED now (the cascade started), DELETED after the phones sync.
    expect((await mi(`/users/${user.id}`, { method: "DELETE" })).status).toBe(204)
    const deleting = await mi(`/users/${user.id}`)
    expect(deleting.status).toBe(200)
    expect(dig(await deleting.json(), "status")).toBe("DELETE_INITIATED")
    let snap = fake.controls.snapshot()
    expect(snap.containers.find((c) => c.id === containerId)?.status).toBe("INACTIVE")
    expect(snap.credentials.filter((c) => c.containerId === containerId).map((c) => c.status)).toEqual(["REVOKE_INITIATED"])
    expect((await mi(`/users/${user.id}/invitation`, { method: "POST", body: { "urn:hid:scim:api:ma:2.2:UserAction": { createInvitationCode: "Y" } } })).status).toBe(412)
    fake.controls.settle()
    expect((await mi(`/users/${user.id}`)).status).toBe(404)
    snap = fake.controls.snapshot()
    expect(snap.credentials.filter((c) => c.containerId === containerId).map((c) => c.status)).toEqual(["REVOKED"])
    const userEvents = fake.controls
      .events()
      .filter((e) => e.type === "com.origo.mi.user" && e.data.userId === String(user.id))
      .map((e) => e.data.status)
    expect(userEvents).toEqual(["USER_CREATED", "USER_DELETE_INITIATED", "USER_DELETED"])
  })

  it("refuses a second user with the same email (409 DUPLICATE_USER), not one with the same externalId", async () => {
    const first = await mi("/users", { method: "POST", body: { externalId: "dup-1", emails: [{ value: "Dup@Example.com" }] } })
    expect(first.status).toBe(201)
    const sameEmail = await mi("/users", { method: "POST", body: { externalId: "dup-2", emails: [{ value: "dup@example.com" }] } })
    expect(sameEmail.status).toBe(409)
    expect(await sameEmail.json()).toMatchObject({ status: 409, scimType: "uniqueness", detail: expect.stringContaining("DUPLICATE_USER") })
    const sameExternalId = await mi("/users", { method: "POST", body: { externalId: "dup-1", emails: [{ value: "other@example.com" }] } })
    expect(sameExternalId.status).toBe(201)
  })

  it("pages SCIM searches from startIndex 1", async () => {
    for (const n of [1, 2, 3]) await mi("/users", { method: "POST", body: { externalId: `page-${n}` } })
    const page = async (startIndex: number) => {
      const res = await mi("/users/.search", { method: "POST", body: { filter: 'externalId sw "page-"', startIndex, count: 2, sortOrder: "ascending" } })
      const json: unknown = await res.json()
      const items = dig(json, "Resources")
      return {
        total: dig(json, "totalResults"),
        start: dig(json, "startIndex"),
        ids: Array.isArray(items) ? items.map((u: unknown) => dig(u, "externalId")) : []
      }
    }
    expect(await page(1)).toEqual({ total: 3, start: 1, ids: ["page-1", "page-2"] })
    expect(await page(3)).toEqual({ total: 3, start: 3, ids: ["page-3"] })
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

describe("HidOrigoFake events and callbacks (as HID sends them)", () => {
  const json = (url: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(url, {
      method: init.method ?? "GET",
      headers: {
        authorization: `Bearer ${token}`,
        "application-id": "HID-T-T",
        "application-version": "1",
        "content-type": "application/json"
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) })
    })

  it("registers a callback on a filter with an X-API-Key, delivers only the filter's statuses, lists and removes it", async () => {
    const received: Array<{ apiKey: string | undefined; events: unknown }> = []
    const { createServer } = await import("node:http")
    const server = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const key = req.headers["x-api-key"]
        received.push({ apiKey: typeof key === "string" ? key : undefined, events: JSON.parse(Buffer.concat(chunks).toString("utf8")) })
        res.writeHead(200).end()
      })
    })
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    try {
      const events = `${fake.environment.events}/organization/${fake.organizationId}/events/filter`
      const callbacks = `${fake.environment.callbacks}/organization/${fake.organizationId}/callback`
      const filter = await json(events, { method: "POST", body: { filterSet: ["ENDPOINT_ACTIVE", "CREDENTIAL_ISSUED"] } })
      expect(filter.status).toBe(201)
      const filterId = String(dig(await filter.json(), "id"))
      // no inline filterSet: a registration names a filter
      expect((await json(callbacks, { method: "POST", body: { url: `http://127.0.0.1:${port}/cb`, filterSet: ["CREDENTIAL_ISSUED"] } })).status).toBe(400)
      const reg = await json(callbacks, {
        method: "POST",
        body: { url: `http://127.0.0.1:${port}/cb`, filterId, authenticationType: "X-API-Key", apiKey: "the-api-key" }
      })
      expect(reg.status).toBe(201)
      const registration = await reg.json()
      expect(registration).toMatchObject({ filterId, authenticationType: "X-API-Key" })
      expect(JSON.stringify(registration)).not.toContain("the-api-key")

      const user = Number(dig(await (await mi("/users", { method: "POST", body: { externalId: "cb-user" } })).json(), "id"))
      const inv = await mi(`/users/${user}/invitation`, { method: "POST", body: { "urn:hid:scim:api:ma:2.2:UserAction": { createInvitationCode: "Y" } } })
      const invitation = dig(await inv.json(), "urn:hid:scim:api:ma:2.2:UserInvitation", 0)
      const { containerId } = fake.controls.redeem(String(dig(invitation, "invitationCode")))
      await mi(`/credential-container/${containerId}/credential`, {
        method: "POST",
        body: { "urn:hid:scim:api:ma:2.2:UserAction": { assignCredential: "Y", partNumber: "MID-SUB-CRD_FTPN_644245" } }
      })
      fake.controls.settle()
      await fake.controls.callbacksIdle()
      expect(received.every((r) => r.apiKey === "the-api-key")).toBe(true)
      const delivered = received.flatMap((r) => (Array.isArray(r.events) ? r.events : []))
      expect(delivered.map((e: unknown) => [dig(e, "type"), dig(e, "data", "status")])).toEqual([
        ["com.origo.mi.endpoint", "ENDPOINT_ACTIVE"],
        ["com.origo.mi.credential", "CREDENTIAL_ISSUED"]
      ])
      const [endpoint, credential] = delivered
      expect(dig(endpoint, "data")).toMatchObject({
        userId: String(user),
        endpointId: containerId,
        invitationId: String(dig(invitation, "id")),
        invitationCode: dig(invitation, "invitationCode"),
        invitationStatus: "INVITATION_ACKNOWLEDGED",
        osVersion: expect.any(String)
      })
      expect(dig(credential, "data")).toMatchObject({
        userId: String(user),
        mid: expect.any(Number),
        endpointId: containerId,
        invitationId: String(dig(invitation, "id")),
        cardNumber: expect.any(Number)
      })

      const listed = await (await json(callbacks)).json()
      expect(Array.isArray(listed) ? listed.map((r: unknown) => dig(r, "id")) : []).toContain(dig(registration, "id"))
      expect((await json(`${callbacks}/${String(dig(registration, "id"))}`, { method: "DELETE" })).status).toBe(204)
      expect(fake.controls.registrations()).toEqual([])
    } finally {
      await new Promise<void>((r) => server.close(() => r()))
    }
  })

  it("reports the whole credential life cycle with prefixed statuses (RESERVED, ISSUED, REVOKING, REVOKED, CREATION_FAILURE, UNBOUND)", async () => {
    const user = Number(dig(await (await mi("/users", { method: "POST", body: { externalId: "life" } })).json(), "id"))
    const newContainer = async () => {
      const inv = await mi(`/users/${user}/invitation`, { method: "POST", body: { "urn:hid:scim:api:ma:2.2:UserAction": { createInvitationCode: "Y" } } })
      return fake.controls.redeem(String(dig(await inv.json(), "urn:hid:scim:api:ma:2.2:UserInvitation", 0, "invitationCode"))).containerId
    }
    const issue = async (containerId: string) => {
      const res = await mi(`/credential-container/${containerId}/credential`, {
        method: "POST",
        body: { "urn:hid:scim:api:ma:2.2:UserAction": { assignCredential: "Y", partNumber: "MID-SUB-CRD_FTPN_644246" } }
      })
      return String(dig(await res.json(), "urn:hid:scim:api:ma:2.2:Credential", 0, "id"))
    }
    const rest = async (id: string) => dig(await (await mi(`/credential/${id}`)).json(), "urn:hid:scim:api:ma:2.2:Credential", 0, "status")
    const statuses = (id: string) =>
      fake.controls
        .events()
        .filter((e) => e.type === "com.origo.mi.credential" && e.data.mid === Number(id))
        .map((e) => e.data.status)

    const a = await issue(await newContainer())
    expect(await rest(a)).toBe("ISSUE_INITIATED")
    fake.controls.settle()
    expect(await rest(a)).toBe("ISSUED")
    expect((await mi(`/credential/${a}`, { method: "DELETE" })).status).toBe(204)
    expect(await rest(a)).toBe("REVOKE_INITIATED")
    expect((await mi(`/credential/${a}`, { method: "DELETE" })).status).toBe(412)
    fake.controls.settle()
    expect(statuses(a)).toEqual(["CREDENTIAL_RESERVED", "CREDENTIAL_ISSUED", "CREDENTIAL_REVOKING", "CREDENTIAL_REVOKED"])

    const failingContainer = await newContainer()
    const b = await issue(failingContainer)
    fake.controls.failCredential(b)
    expect(await rest(b)).toBe("CREATION_FAILURE")
    expect(statuses(b)).toEqual(["CREDENTIAL_RESERVED", "CREDENTIAL_CREATION_FAILURE"])
    // a failed credential does not hold the container: a new one can be issued
    const b2 = await issue(failingContainer)
    expect(await rest(b2)).toBe("ISSUE_INITIATED")

    const c = await issue(await newContainer())
    fake.controls.settle()
    fake.controls.unbindCredential(c)
    expect(await rest(c)).toBe("UNBOUND")
    expect(statuses(c)).toEqual(["CREDENTIAL_RESERVED", "CREDENTIAL_ISSUED", "CREDENTIAL_UNBOUND"])

    const terminated = await newContainer()
    fake.controls.terminateContainer(terminated)
    const endpointStatuses = fake.controls
      .events()
      .filter((e) => e.type === "com.origo.mi.endpoint" && e.data.endpointId === terminated)
      .map((e) => e.data.status)
    expect(endpointStatuses).toEqual(["ENDPOINT_ACTIVE", "CREDENTIALCONTAINER_INACTIVE"])
    expect(fake.controls.snapshot().containers.find((x) => x.id === terminated)?.status).toBe("INACTIVE")
    const invitationStatuses = fake.controls
      .events()
      .filter((e) => e.type === "com.origo.mi.invitation" && e.data.userId === String(user))
      .map((e) => e.data.status)
    expect(new Set(invitationStatuses)).toEqual(new Set(["INVITATION_PENDING", "INVITATION_ACKNOWLEDGED"]))
    expect(fake.controls.events().some((e) => /credentialcontainer$/.test(e.type))).toBe(false)
  })
})
