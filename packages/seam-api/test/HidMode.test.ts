/**
 * The server backed by HID Origo (adapter-hid-origo) against the local HID Origo fake, both on
 * 127.0.0.1 port 0, driven through the official `@seamapi/http` client: the multi-phone sync credential
 * is issued at HID from the card profile's part number, one credential per sandbox phone, revoked at HID
 * when a phone is deactivated and when the parent is deleted. HID's callbacks reach the server's
 * `/hid/callbacks/:workspace_id` route (registered with the fake at start).
 */
import { HidOrigoFake } from "@credsync/hid-origo-fake"
import { isSeamHttpApiError } from "@seamapi/http/connect"
import { schemas } from "@seamapi/types/connect"
import { Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Server } from "../src/index.js"
import { client, rejection, until } from "./helpers.js"

const A = { id: "7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f", key: "seam_test_hid_workspace" }
/** A second workspace on the same HID organization whose HID side is not told about the fake's controls. */
const B = { id: "8d2f3e40-5b6c-4d7e-9fa0-1b2c3d4e5f60", key: "seam_test_hid_no_controls" }
const PART = "MID-SUB-CRD_FTPN_644245"
const CALLBACK_SECRET = "hid-callback-test-secret"

let fake: HidOrigoFake.RunningFake
let server: Server.Handle
const lines: Array<string> = []

beforeAll(async () => {
  fake = await HidOrigoFake.start({ host: "127.0.0.1", port: 0 })
  const backend = (fakeControlUrl: string | undefined) => ({
    _tag: "hid-origo" as const,
    client: {
      clientId: fake.account.clientId,
      clientSecret: Redacted.make(fake.account.clientSecret),
      applicationId: "HID-CREDSYNC-TEST",
      applicationVersion: "0.1.0",
      environment: fake.environment,
      timeoutMs: 5_000
    },
    partNumbers: { "H10301/99": PART },
    callbacks: { apiKey: Redacted.make(CALLBACK_SECRET), register: {} },
    pollMs: 500,
    fakeControlUrl
  })
  server = await Server.start({
    log: (line) => lines.push(line),
    workspaces: [
      { id: A.id, apiKeys: [Redacted.make(A.key)], tickMs: 20, engine: { poll: "200 millis" }, backend: backend(fake.url) },
      { id: B.id, apiKeys: [Redacted.make(B.key)], tickMs: 20, engine: { poll: "200 millis" }, backend: backend(undefined) }
    ]
  })
})
afterAll(async () => {
  await server?.close()
  await fake?.stop()
})

const live = (status: string) => status === "ISSUE_INITIATED" || status === "ISSUED"

describe("seam-api backed by HID Origo (the local fake)", () => {
  it("issues one HID credential per sandbox phone from the part number, revokes on deactivation and on delete", async () => {
    const seam = client(A.key, server.url)
    const systems = await seam.acs.systems.list()
    for (const s of systems) schemas.acs_system.parse(s)
    const manager = systems.find((s) => s.is_credential_manager)
    const acs = systems.find((s) => !s.is_credential_manager)
    if (manager === undefined || acs === undefined) throw new Error("expected an ACS and a credential manager")
    expect(manager.external_type).toBe("hid_credential_manager_organization")
    expect(systems.filter((s) => s.is_credential_manager)).toHaveLength(1)

    const identity = await seam.userIdentities.create({ email_address: "hid@example.com", full_name: "Hid Holder" })
    const acsUser = await seam.acs.users.create({ acs_system_id: acs.acs_system_id, full_name: "Hid Holder", email_address: "hid@example.com" })
    await seam.userIdentities.addAcsUser({ user_identity_id: identity.user_identity_id, acs_user_id: acsUser.acs_user_id })
    await seam.userIdentities.enrollmentAutomations.launch({
      user_identity_id: identity.user_identity_id,
      credential_manager_acs_system_id: manager.acs_system_id
    })
    // card_format and facility_code are not in the SDK's types: pass them as Seam's guide does
    const createParams = {
      access_method: "mobile_key" as const,
      is_multi_phone_sync_credential: true,
      acs_user_id: acsUser.acs_user_id,
      credential_manager_acs_system_id: manager.acs_system_id,
      card_format: "H10301",
      facility_code: "99"
    }
    const parent = await seam.acs.credentials.create(createParams)
    expect(parent.is_multi_phone_sync_credential).toBe(true)
    // a card profile without a part number is refused before anything is created
    const unmappedParams = { ...createParams, facility_code: "7" }
    const unmapped = await rejection(seam.acs.credentials.create(unmappedParams))
    expect(isSeamHttpApiError(unmapped) && unmapped.code).toBe("invalid_input")
    expect(await seam.acs.credentials.list({ user_identity_id: identity.user_identity_id })).toHaveLength(1)

    const phones = []
    for (const model of ["Pixel 8", "iPhone 15", "Galaxy S10"]) {
      phones.push(
        await seam.phones.simulate.createSandboxPhone({
          user_identity_id: identity.user_identity_id,
          phone_metadata: { operating_system: model.startsWith("iPhone") ? "ios" : "android", device_model: model }
        })
      )
    }

    const childrenOf = async () =>
      (await seam.acs.credentials.list({ user_identity_id: identity.user_identity_id })).filter(
        (c) => c.parent_acs_credential_id === parent.acs_credential_id
      )
    const deviceOf = (c: object) => ("device_id" in c ? c.device_id : undefined)
    const issued = await until(
      "three children issued at HID",
      async () => {
        const children = await childrenOf()
        return children.length === 3 && children.every((c) => c.is_issued) ? children : undefined
      },
      600
    )
    expect(issued.map(deviceOf).sort()).toEqual(phones.map((p) => p.device_id).sort())

    // HID's own records: one user for the identity, three containers, one credential each from the part number
    const atHid = fake.controls.snapshot()
    const hidUser = atHid.users.find((u) => u.externalId === identity.user_identity_id)
    if (hidUser === undefined) throw new Error("no HID user for the identity")
    const liveAtHid = atHid.credentials.filter((c) => c.userId === hidUser.id && live(c.status))
    expect(liveAtHid).toHaveLength(3)
    expect(liveAtHid.every((c) => c.partNumber === PART)).toBe(true)
    expect(new Set(liveAtHid.map((c) => c.containerId)).size).toBe(3)
    expect(issued.map((c) => c.card_number).sort()).toEqual(liveAtHid.map((c) => c.cardNumber).sort())

    // a lost phone: its credential is revoked at HID, the others stay
    const lost = phones[0]
    if (lost === undefined) throw new Error("no phone")
    const lostChild = issued.find((c) => deviceOf(c) === lost.device_id)
    await seam.phones.deactivate({ device_id: lost.device_id })
    await until("the lost phone's child gone", async () => {
      const children = await childrenOf()
      return children.length === 2 && !children.some((c) => deviceOf(c) === lost.device_id) ? true : undefined
    })
    const revoked = fake.controls.snapshot().credentials.find((c) => c.cardNumber === lostChild?.card_number && c.userId === hidUser.id)
    expect(revoked?.status === "REVOKE_INITIATED" || revoked?.status === "REVOKED").toBe(true)
    expect(fake.controls.snapshot().credentials.filter((c) => c.userId === hidUser.id && live(c.status))).toHaveLength(2)

    // the parent deleted: every credential revoked at HID
    await seam.acs.credentials.delete({ acs_credential_id: parent.acs_credential_id })
    await until("all credentials gone", async () =>
      (await seam.acs.credentials.list({ user_identity_id: identity.user_identity_id })).length === 0 ? true : undefined
    )
    await until("nothing live at HID", async () =>
      fake.controls.snapshot().credentials.some((c) => c.userId === hidUser.id && live(c.status)) ? undefined : true
    )

    // HID's callbacks reached the server and were taken
    await fake.controls.callbacksIdle()
    const deliveries = fake.controls.deliveries().filter((d) => d.url === `${server.url}/hid/callbacks/${A.id}`)
    expect(deliveries.length).toBeGreaterThan(0)
    expect(deliveries.every((d) => d.outcome === "delivered" && d.status === 200)).toBe(true)
    expect(lines.filter((l) => /HID callbacks failed|HID callback failed|HID poll|event tail|fake (redeem|settle) failed/.test(l))).toEqual([])
    expect(lines.join("\n")).not.toContain(CALLBACK_SECRET)
    expect(lines.join("\n")).not.toContain(fake.account.clientSecret)
  })

  it("without the fake's controls a sandbox phone shows its invitation code and waits for an app to redeem it", async () => {
    const seam = client(B.key, server.url)
    const manager = (await seam.acs.systems.list()).find((s) => s.is_credential_manager)
    if (manager === undefined) throw new Error("no credential manager")
    const identity = await seam.userIdentities.create({ email_address: "app@example.com" })
    await seam.userIdentities.enrollmentAutomations.launch({
      user_identity_id: identity.user_identity_id,
      credential_manager_acs_system_id: manager.acs_system_id
    })
    const phone = await seam.phones.simulate.createSandboxPhone({ user_identity_id: identity.user_identity_id })
    const codeOf = async (): Promise<string | undefined> => {
      const raw: unknown = await seam.client.post("/phones/get", { device_id: phone.device_id }).then((r) => r.data)
      const invitations = pick(pick(pick(raw, "phone"), "properties"), "pending_invitations")
      const first = Array.isArray(invitations) ? pick(invitations[0], "invitation_code") : undefined
      return typeof first === "string" ? first : undefined
    }
    const code = await until("an invitation code on the phone", codeOf)
    expect(fake.controls.snapshot().invitations.find((i) => i.code === code)?.status).toBe("PENDING")

    // the app redeems it with HID's SDK: the callback moves the engine on
    fake.controls.redeem(code)
    await until("the phone enrolled", async () => {
      const p = await seam.phones.get({ device_id: phone.device_id })
      return p.properties.assa_abloy_credential_service_metadata?.has_active_endpoint === true ? true : undefined
    })
    expect(await codeOf()).toBeUndefined()
  })

  it("refuses a callback without the secret and changes nothing", async () => {
    const before = fake.controls.snapshot()
    const res = await fetch(`${server.url}/hid/callbacks/${A.id}`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents-batch+json", "x-api-key": "wrong" },
      body: "[]"
    })
    expect(res.status).toBe(401)
    const unknown = await fetch(`${server.url}/hid/callbacks/00000000-0000-4000-8000-000000000000`, { method: "POST", body: "[]" })
    expect(unknown.status).toBe(404)
    const malformed = await fetch(`${server.url}/hid/callbacks/${A.id}`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents-batch+json", "x-api-key": CALLBACK_SECRET },
      body: JSON.stringify([{ specversion: "1.0", id: "1", type: "com.origo.mi.credential", source: "hid", data: { userId: 1 } }])
    })
    expect(malformed.status).toBe(400)
    expect(fake.controls.snapshot()).toEqual(before)
  })
})

const pick = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null && key in value ? Reflect.get(value, key) : undefined
