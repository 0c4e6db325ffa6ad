/**
 * The flow of Seam's guide to issuing mobile credentials (docs/design.md, "The flows"), end to end through the official `@seamapi/http` client against the
 * server on loopback: identity, ACS user, automation, multi-phone sync credential, three sandbox
 * phones, one child each, deactivation, deletion, events and a verified webhook.
 */
import { Redacted } from "effect"
import { isSeamHttpApiError } from "@seamapi/http/connect"
import { schemas } from "@seamapi/types/connect"
import { SeamWebhook } from "@seamapi/webhook"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Server } from "../src/index.js"
import { client, receiver, rejection, until } from "./helpers.js"

const A = { id: "0d9f7a52-5b8e-4a57-9d0c-0a3f1c2e4b61", key: "seam_test_workspace_a" }

let server: Server.Handle
let hooks: Awaited<ReturnType<typeof receiver>>

beforeAll(async () => {
  hooks = await receiver()
  server = await Server.start({ workspaces: [{ id: A.id, apiKeys: [Redacted.make(A.key)], tickMs: 20, webhooks: { allowPrivateUrls: true } }] })
})
afterAll(async () => {
  await server?.close()
  await hooks?.close()
})

describe("Seam's mobile-credential flow through SeamHttp", () => {
  it("issues one child per phone, revokes on deactivation, removes all on delete; events and a verified webhook", async () => {
    const seam = client(A.key, server.url)
    const since = new Date(Date.now() - 1000).toISOString()
    const webhook = await seam.webhooks.create({ url: hooks.url })
    expect(webhook.secret).toMatch(/^whsec_/)
    expect(schemas.webhook.parse(webhook)).toBeTruthy()

    const systems = await seam.acs.systems.list()
    const manager = systems.find((s) => s.is_credential_manager)
    const acs = systems.find((s) => !s.is_credential_manager)
    if (manager === undefined || acs === undefined) throw new Error("expected an ACS and a credential manager")
    for (const s of systems) schemas.acs_system.parse(s)
    expect(acs.default_credential_manager_acs_system_id).toBe(manager.acs_system_id)

    const identity = await seam.userIdentities.create({ email_address: "jane@example.com", full_name: "Jane Doe" })
    schemas.user_identity.parse(identity)
    const acsUser = await seam.acs.users.create({ acs_system_id: acs.acs_system_id, full_name: "Jane Doe", email_address: "jane@example.com" })
    schemas.acs_user.parse(acsUser)
    await seam.userIdentities.addAcsUser({ user_identity_id: identity.user_identity_id, acs_user_id: acsUser.acs_user_id })
    expect((await seam.userIdentities.get({ user_identity_id: identity.user_identity_id })).acs_user_ids).toEqual([acsUser.acs_user_id])
    expect((await seam.userIdentities.listAcsUsers({ user_identity_id: identity.user_identity_id })).map((u) => u.acs_user_id)).toEqual([
      acsUser.acs_user_id
    ])

    const automation = await seam.userIdentities.enrollmentAutomations.launch({
      user_identity_id: identity.user_identity_id,
      credential_manager_acs_system_id: manager.acs_system_id
    })
    expect(automation.credential_manager_acs_system_id).toBe(manager.acs_system_id)
    expect((await seam.userIdentities.enrollmentAutomations.get({ enrollment_automation_id: automation.enrollment_automation_id })).user_identity_id).toBe(
      identity.user_identity_id
    )

    // the seed's snippet: shared card details only (card_format, facility_code are not in the SDK's types)
    const createParams = {
      access_method: "mobile_key" as const,
      is_multi_phone_sync_credential: true,
      acs_user_id: acsUser.acs_user_id,
      credential_manager_acs_system_id: manager.acs_system_id,
      card_format: "rfid48",
      facility_code: "9"
    }
    const parent = await seam.acs.credentials.create(createParams)
    schemas.acs_credential.parse(parent)
    expect(parent).toMatchObject({ is_multi_phone_sync_credential: true, acs_user_id: acsUser.acs_user_id, access_method: "mobile_key" })
    expect(parent.warnings.map((w) => w.warning_code)).toContain("waiting_to_be_issued")

    const phones = []
    for (const model of ["Pixel 8", "iPhone 15", "Galaxy S10"]) {
      const phone = await seam.phones.simulate.createSandboxPhone({
        user_identity_id: identity.user_identity_id,
        phone_metadata: { operating_system: model.startsWith("iPhone") ? "ios" : "android", device_model: model }
      })
      phones.push(phone)
    }
    expect(new Set(phones.map((p) => p.device_id)).size).toBe(3)

    const childrenOf = async () =>
      (await seam.acs.credentials.list({ user_identity_id: identity.user_identity_id })).filter(
        (c) => c.parent_acs_credential_id === parent.acs_credential_id
      )
    const issued = await until("three issued children", async () => {
      const children = await childrenOf()
      return children.length === 3 && children.every((c) => c.is_issued) ? children : undefined
    })
    for (const c of issued) {
      schemas.acs_credential.parse(c)
      expect(c.card_number).toMatch(/^\d+$/)
      expect(c.issued_at).not.toBeNull()
      expect(c.acs_user_id).toBe(acsUser.acs_user_id)
    }
    const deviceOf = (c: object) => ("device_id" in c ? c.device_id : undefined)
    expect(issued.map(deviceOf).sort()).toEqual(phones.map((p) => p.device_id).sort())
    expect(new Set(issued.map((c) => c.card_number)).size).toBe(3)
    const settledParent = await seam.acs.credentials.get({ acs_credential_id: parent.acs_credential_id })
    expect(settledParent.warnings).toEqual([])
    expect(settledParent.is_issued).toBe(true)
    expect((await seam.acs.credentials.list({ is_multi_phone_sync_credential: true })).map((c) => c.acs_credential_id)).toEqual([parent.acs_credential_id])

    // the ground truth agrees: three live credentials at the manager, three ACS entries assigned
    const truth = await until("ACS assignment", async () => {
      const t = server.workspace(A.id).simulator.truthUnsafe()
      return t.acsEntries.filter((e) => e.assignedTo !== undefined).length === 3 ? t : undefined
    })
    expect(truth.credentials.filter((c) => c.live)).toHaveLength(3)

    const listed = await seam.phones.list({ owner_user_identity_id: identity.user_identity_id })
    expect(listed).toHaveLength(3)
    for (const p of listed) expect(p.properties.assa_abloy_credential_service_metadata?.has_active_endpoint).toBe(true)
    expect((await seam.phones.list({ acs_credential_id: parent.acs_credential_id })).length).toBe(3)

    // a lost phone: its child is revoked, the others stay
    const lost = phones[0]
    if (lost === undefined) throw new Error("no phone")
    await seam.phones.deactivate({ device_id: lost.device_id })
    const remaining = await until("the lost phone's child revoked", async () => {
      const children = await childrenOf()
      return children.length === 2 && !children.some((c) => deviceOf(c) === lost.device_id) ? children : undefined
    })
    expect(remaining.every((c) => c.is_issued)).toBe(true)
    expect(await seam.phones.list({ owner_user_identity_id: identity.user_identity_id })).toHaveLength(2)
    const gone = await rejection(seam.phones.get({ device_id: lost.device_id }))
    expect(isSeamHttpApiError(gone) && gone.code).toBe("device_not_found")

    // deleting the parent removes every child
    await seam.acs.credentials.delete({ acs_credential_id: parent.acs_credential_id })
    await until("all credentials gone", async () =>
      (await seam.acs.credentials.list({ user_identity_id: identity.user_identity_id })).length === 0 ? true : undefined
    )
    const deleted = await rejection(seam.acs.credentials.get({ acs_credential_id: parent.acs_credential_id }))
    expect(isSeamHttpApiError(deleted) && deleted.code).toBe("acs_credential_not_found")
    const after = await until("nothing live at the manager or the ACS", async () => {
      const t = server.workspace(A.id).simulator.truthUnsafe()
      return t.credentials.every((c) => !c.live) && t.acsEntries.length === 0 ? t : undefined
    })
    expect(after.acsEntries).toEqual([])

    // events
    const events = await until("events", async () => {
      const list = await seam.events.list({ since })
      return list.filter((e) => e.event_type === "acs_credential.deleted").length >= 4 ? list : undefined
    })
    const types = events.map((e) => e.event_type)
    expect(types.filter((t) => t === "acs_credential.issued")).toHaveLength(3)
    expect(types).toContain("phone.deactivated")
    expect(types).toContain("acs_user.created")
    for (const e of events) schemas.seam_event.parse(e)
    const deactivated = events.find((e) => e.event_type === "phone.deactivated")
    expect(deactivated && "device_id" in deactivated ? deactivated.device_id : undefined).toBe(lost.device_id)
    const first = events[0]
    if (first === undefined) throw new Error("no events")
    expect((await seam.events.get({ event_id: first.event_id })).event_id).toBe(first.event_id)

    // the webhook received them, signed so that SeamWebhook verifies each delivery
    const verifier = new SeamWebhook(webhook.secret ?? "")
    const delivered = await until("webhook deliveries", async () => {
      const verified = hooks.received.map((r) => verifier.verify(r.body, r.headers))
      return verified.some((e) => e.event_type === "phone.deactivated") &&
        verified.filter((e) => e.event_type === "acs_credential.issued").length === 3
        ? verified
        : undefined
    })
    expect(delivered.map((e) => e.event_id)).toContain(deactivated?.event_id)
    const tampered = hooks.received[0]
    if (tampered === undefined) throw new Error("no delivery")
    expect(() => verifier.verify(`${tampered.body} `, tampered.headers)).toThrow()

    // the automation can be deleted and reports so
    await seam.userIdentities.enrollmentAutomations.delete({ enrollment_automation_id: automation.enrollment_automation_id })
    expect(await seam.userIdentities.enrollmentAutomations.list({ user_identity_id: identity.user_identity_id })).toEqual([])
    await until("enrollment_automation.deleted", async () =>
      (await seam.events.list({ since, event_type: "enrollment_automation.deleted" })).length === 1 ? true : undefined
    )
  })
})
