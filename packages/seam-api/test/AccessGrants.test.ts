/**
 * Seam's Access Grants through the official `@seamapi/http` client, against the server on loopback:
 * a grant for an identity with two sandbox phones issues one phone credential per phone under one
 * multi-phone sync credential, its mobile-key access method becomes issued; a deactivated phone
 * loses only its credential; deleting the access method or the grant revokes every credential;
 * every response and event parses with `@seamapi/types`' schemas; rejected requests are 400 / 404
 * naming the field and change nothing.
 */
import { randomUUID } from "node:crypto"
import { Simulator } from "@credsync/adapter-memory"
import { isSeamHttpApiError, isSeamHttpInvalidInputError, type SeamHttp } from "@seamapi/http/connect"
import { schemas } from "@seamapi/types/connect"
import { SeamWebhook } from "@seamapi/webhook"
import { Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Persistence, Server } from "../src/index.js"
import { client, receiver, rejection, until } from "./helpers.js"

const A = { id: "5c4b3a29-1807-4f6e-9d5c-4b3a29180706", key: "seam_test_access_grants" }

let server: Server.Handle
let hooks: Awaited<ReturnType<typeof receiver>>
let seam: SeamHttp

beforeAll(async () => {
  hooks = await receiver()
  server = await Server.start({ workspaces: [{ id: A.id, apiKeys: [Redacted.make(A.key)], tickMs: 20, webhooks: { allowPrivateUrls: true } }] })
  seam = client(A.key, server.url)
})
afterAll(async () => {
  await server?.close()
  await hooks?.close()
})

const invalidField = async (p: Promise<unknown>, field: string) => {
  const e = await rejection(p)
  if (!isSeamHttpInvalidInputError(e)) throw e
  expect(e.statusCode).toBe(400)
  expect(e.getValidationErrorMessages(field).length).toBeGreaterThan(0)
}

const notFound = async (p: Promise<unknown>, code: string) => {
  const e = await rejection(p)
  if (!isSeamHttpApiError(e)) throw e
  expect(e.statusCode).toBe(404)
  expect(e.code).toBe(code)
  return e
}

/** Everything a rejected grant request could have changed. */
const lists = async () => ({
  grants: await seam.accessGrants.list(),
  methods: await seam.accessMethods.list(),
  credentials: await seam.acs.credentials.list(),
  identities: await seam.userIdentities.list(),
  acsUsers: await seam.acs.users.list(),
  sessions: await seam.clientSessions.list(),
  providerCredentials: server.workspace(A.id).simulator.truthUnsafe().credentials.length
})

// @seamapi/types' `schemas` has no access_grant / access_method of its own: they are in its `batch`
const accessGrantSchema = { parse: (x: unknown) => schemas.batch.parse({ access_grants: [x] }) }
const accessMethodSchema = { parse: (x: unknown) => schemas.batch.parse({ access_methods: [x] }) }

const deviceOf = (c: object) => ("device_id" in c && typeof c.device_id === "string" ? c.device_id : undefined)

describe("Access Grants through SeamHttp", () => {
  it("a mobile-key grant: one credential per phone, the method issued, revoked by phone, by method and by grant; rejections change nothing", async () => {
    const since = new Date(Date.now() - 1000).toISOString()
    const webhook = await seam.webhooks.create({ url: hooks.url })

    // entrances: one per ACS
    const entrances = await seam.acs.entrances.list()
    expect(entrances).toHaveLength(1)
    for (const e of entrances) schemas.acs_entrance.parse(e)
    const entrance = entrances[0]
    if (entrance === undefined) throw new Error("no entrance")
    expect(await seam.acs.entrances.get({ acs_entrance_id: entrance.acs_entrance_id })).toEqual(entrance)
    await notFound(seam.acs.entrances.get({ acs_entrance_id: randomUUID() }), "acs_entrance_not_found")

    const identity = await seam.userIdentities.create({ email_address: "grace@example.com", full_name: "Grace Hopper" })
    const phones = []
    for (const model of ["Pixel 8", "iPhone 15"]) {
      phones.push(
        await seam.phones.simulate.createSandboxPhone({
          user_identity_id: identity.user_identity_id,
          phone_metadata: { operating_system: model.startsWith("iPhone") ? "ios" : "android", device_model: model }
        })
      )
    }
    const mobileKey = [{ mode: "mobile_key" as const }]
    const body = { user_identity_id: identity.user_identity_id, acs_entrance_ids: [entrance.acs_entrance_id], requested_access_methods: mobileKey }

    // rejected requests: 400 / 404 naming the field, nothing changes
    const before = await lists()
    const unknownIdentity = await notFound(seam.accessGrants.create({ ...body, user_identity_id: randomUUID() }), "user_identity_not_found")
    expect(unknownIdentity.message).toContain("user_identity_id")
    await invalidField(seam.accessGrants.create({ ...body, requested_access_methods: [{ mode: "code" }] }), "requested_access_methods")
    await invalidField(seam.accessGrants.create({ ...body, acs_entrance_ids: [randomUUID()] }), "acs_entrance_ids")
    await invalidField(seam.accessGrants.create({ ...body, acs_entrance_ids: [] }), "acs_entrance_ids")
    await invalidField(seam.accessGrants.create({ ...body, space_ids: [randomUUID()] }), "space_ids")
    await invalidField(
      seam.accessGrants.create({ ...body, starts_at: new Date(Date.now() + 7_200_000).toISOString(), ends_at: new Date(Date.now() + 3_600_000).toISOString() }),
      "ends_at"
    )
    await invalidField(
      seam.accessGrants.create({
        user_identity: { email_address: "grace@example.com" },
        acs_entrance_ids: [entrance.acs_entrance_id],
        requested_access_methods: mobileKey
      }),
      "user_identity.email_address"
    )
    expect(await lists()).toEqual(before)

    // the grant
    const endsAt = new Date(Date.now() + 30 * 86_400_000).toISOString()
    const grant = await seam.accessGrants.create({ ...body, name: "Office", ends_at: endsAt })
    accessGrantSchema.parse(grant)
    expect(grant).toMatchObject({ user_identity_id: identity.user_identity_id, name: "Office", ends_at: endsAt, space_ids: [] })
    expect(grant.access_method_ids).toHaveLength(1)
    expect(grant.client_session_token).toMatch(/^seam_cst/)
    const methodId = grant.access_method_ids[0] ?? ""
    expect(await seam.accessGrants.get({ access_grant_id: grant.access_grant_id })).toEqual(grant)
    expect((await seam.accessGrants.list({ user_identity_id: identity.user_identity_id })).map((g) => g.access_grant_id)).toEqual([grant.access_grant_id])
    expect(await seam.accessGrants.list({ acs_entrance_id: randomUUID() })).toEqual([])

    // one multi-phone sync credential with the grant's times, one issued credential per phone
    const parents = await seam.acs.credentials.list({ user_identity_id: identity.user_identity_id, is_multi_phone_sync_credential: true })
    expect(parents).toHaveLength(1)
    const parent = parents[0]
    if (parent === undefined) throw new Error("no parent")
    expect(parent.ends_at).toBe(endsAt)
    expect(parent.acs_system_id).toBe(entrance.acs_system_id)
    const childrenOf = async () =>
      (await seam.acs.credentials.list({ user_identity_id: identity.user_identity_id })).filter((c) => c.parent_acs_credential_id === parent.acs_credential_id)
    const issued = await until("one issued credential per phone", async () => {
      const children = await childrenOf()
      return children.length === 2 && children.every((c) => c.is_issued) ? children : undefined
    })
    expect(issued.map(deviceOf).sort()).toEqual(phones.map((p) => p.device_id).sort())

    // the access method is issued (the first child's time)
    const method = await seam.accessMethods.get({ access_method_id: methodId })
    accessMethodSchema.parse(method)
    expect(method).toMatchObject({ mode: "mobile_key", is_issued: true, client_session_token: grant.client_session_token })
    const firstIssued = issued.map((c) => c.issued_at ?? "").sort()[0]
    expect(method.issued_at).toBe(firstIssued)
    expect(await seam.accessMethods.list({ access_grant_id: grant.access_grant_id })).toEqual([method])
    expect((await seam.accessMethods.list({ device_id: phones[1]?.device_id ?? "" })).map((m) => m.access_method_id)).toEqual([methodId])

    // get_related: the method, its grant and the credentials it stands for (the parent and one per phone)
    const related = await seam.accessMethods.getRelated({ access_method_ids: [methodId, randomUUID()] })
    schemas.batch.parse(related)
    expect(related.access_methods?.map((m) => m.access_method_id)).toEqual([methodId])
    expect(related.access_grants?.map((g) => g.access_grant_id)).toEqual([grant.access_grant_id])
    expect(related.acs_credentials?.map((c) => c.acs_credential_id).sort()).toEqual([parent.acs_credential_id, ...issued.map((c) => c.acs_credential_id)].sort())
    const onlyCredentials = await seam.accessMethods.getRelated({ access_method_ids: [methodId], include: ["acs_credentials"] })
    expect(Object.keys(onlyCredentials)).toEqual(["acs_credentials"])
    expect((await seam.accessMethods.getRelated({ access_method_ids: [methodId], exclude: ["acs_credentials"] })).acs_credentials).toBeUndefined()

    // a second grant of the same card profile for the same identity: 409, nothing changes
    const settled = await lists()
    const twin = await rejection(seam.accessGrants.create(body))
    expect(isSeamHttpApiError(twin) && [twin.statusCode, twin.code]).toEqual([409, "conflict"])
    expect(await lists()).toEqual(settled)

    // update: a name, then new times, which the grant's credential takes too; bad times change nothing
    await seam.accessGrants.update({ access_grant_id: grant.access_grant_id, name: "Front office" })
    expect((await seam.accessGrants.get({ access_grant_id: grant.access_grant_id })).name).toBe("Front office")
    const unchanged = await lists()
    await invalidField(seam.accessGrants.update({ access_grant_id: grant.access_grant_id, ends_at: new Date(Date.parse(grant.starts_at) - 1_000).toISOString() }), "ends_at")
    await invalidField(seam.accessGrants.update({ access_grant_id: grant.access_grant_id, ends_at: new Date(Date.now() - 60_000).toISOString() }), "ends_at")
    expect(await lists()).toEqual(unchanged)
    const laterEnd = new Date(Date.parse(endsAt) + 86_400_000).toISOString()
    await seam.accessGrants.update({ access_grant_id: grant.access_grant_id, ends_at: laterEnd })
    const moved = await seam.accessGrants.get({ access_grant_id: grant.access_grant_id })
    accessGrantSchema.parse(moved)
    expect(moved).toMatchObject({ name: "Front office", ends_at: laterEnd, starts_at: grant.starts_at })
    expect((await seam.acs.credentials.get({ acs_credential_id: parent.acs_credential_id })).ends_at).toBe(laterEnd)
    const timesChanged = await seam.events.list({ event_type: "access_grant.access_times_changed" })
    expect(timesChanged.map((e) => [e.event_type, "access_grant_id" in e ? e.access_grant_id : undefined, "ends_at" in e ? e.ends_at : undefined])).toEqual([
      ["access_grant.access_times_changed", grant.access_grant_id, laterEnd]
    ])
    // the same times again: nothing to change, no second event
    await seam.accessGrants.update({ access_grant_id: grant.access_grant_id, ends_at: laterEnd })
    expect(await seam.events.list({ event_type: "access_grant.access_times_changed" })).toHaveLength(1)

    // a lost phone: only its credential is revoked
    const lost = phones[0]
    const kept = phones[1]
    if (lost === undefined || kept === undefined) throw new Error("phones")
    await seam.phones.deactivate({ device_id: lost.device_id })
    const remaining = await until("the lost phone's credential revoked", async () => {
      const children = await childrenOf()
      return children.length === 1 ? children : undefined
    })
    expect(remaining.map(deviceOf)).toEqual([kept.device_id])
    expect((await seam.accessMethods.get({ access_method_id: methodId })).is_issued).toBe(true)

    // a grant that creates its identity, with a key; deleting its access method revokes its credential
    const other = await seam.accessGrants.create({
      user_identity: { email_address: "ada@example.com", full_name: "Ada Lovelace" },
      access_grant_key: "booking-42",
      acs_entrance_ids: [entrance.acs_entrance_id],
      requested_access_methods: [{ mode: "mobile_key" }]
    })
    accessGrantSchema.parse(other)
    expect((await seam.accessGrants.get({ access_grant_key: "booking-42" })).access_grant_id).toBe(other.access_grant_id)
    await invalidField(seam.accessGrants.create({ ...body, access_grant_key: "booking-42" }), "access_grant_key")
    const ada = await seam.userIdentities.get({ user_identity_id: other.user_identity_id })
    expect(ada.email_address).toBe("ada@example.com")
    expect(ada.acs_user_ids).toHaveLength(1)
    await seam.phones.simulate.createSandboxPhone({ user_identity_id: ada.user_identity_id })
    const otherMethodId = other.access_method_ids[0] ?? ""
    await until("Ada's mobile key issued", async () => ((await seam.accessMethods.get({ access_method_id: otherMethodId })).is_issued ? true : undefined))
    await seam.accessMethods.delete({ access_method_id: otherMethodId })
    await until("Ada's credentials revoked", async () =>
      (await seam.acs.credentials.list({ user_identity_id: ada.user_identity_id })).length === 0 ? true : undefined
    )
    await notFound(seam.accessMethods.get({ access_method_id: otherMethodId }), "access_method_not_found")
    expect((await seam.accessGrants.get({ access_grant_id: other.access_grant_id })).access_method_ids).toEqual([])

    // deleting the grant revokes every credential of it
    await seam.accessGrants.delete({ access_grant_id: grant.access_grant_id })
    await until("every credential of the grant revoked", async () =>
      (await seam.acs.credentials.list({ user_identity_id: identity.user_identity_id })).length === 0 ? true : undefined
    )
    await notFound(seam.accessGrants.get({ access_grant_id: grant.access_grant_id }), "access_grant_not_found")
    await notFound(seam.accessMethods.get({ access_method_id: methodId }), "access_method_not_found")
    await notFound(seam.accessGrants.delete({ access_grant_id: grant.access_grant_id }), "access_grant_not_found")
    expect((await seam.accessGrants.list()).map((g) => g.access_grant_id)).toEqual([other.access_grant_id])
    const truth = await until("nothing live at the manager or the ACS", async () => {
      const t = server.workspace(A.id).simulator.truthUnsafe()
      return t.credentials.every((c) => !c.live) && t.acsEntries.length === 0 ? t : undefined
    })
    expect(truth.acsEntries).toEqual([])

    // events: the grants', and the access methods' from their credentials' (one per phone)
    const events = await until("grant and access method events", async () => {
      const list = await seam.events.list({ since })
      const count = (t: string) => list.filter((e) => e.event_type === t).length
      return count("access_method.revoked") >= 3 && count("access_grant.deleted") === 1 ? list : undefined
    })
    const count = (t: string) => events.filter((e) => e.event_type === t).length
    expect(count("access_grant.created")).toBe(2)
    expect(count("access_grant.deleted")).toBe(1)
    expect(count("access_method.issued")).toBe(3)
    // the lost phone's, Ada's, and the kept phone's at the grant's deletion
    expect(count("access_method.revoked")).toBe(3)
    for (const e of events) schemas.seam_event.parse(e)
    const ofGrant = await seam.events.list({ since, access_grant_id: grant.access_grant_id })
    expect(ofGrant.map((e) => e.event_type).sort()).toEqual([
      "access_grant.access_times_changed",
      "access_grant.created",
      "access_grant.deleted",
      "access_method.issued",
      "access_method.issued",
      "access_method.revoked",
      "access_method.revoked"
    ])
    for (const e of ofGrant) {
      if (e.event_type.startsWith("access_method.")) expect("access_method_id" in e && e.access_method_id).toBe(methodId)
    }

    // and the webhook got them, signed
    const verifier = new SeamWebhook(webhook.secret ?? "")
    await until("grant events delivered", async () => {
      const delivered = hooks.received.map((r) => verifier.verify(r.body, r.headers))
      return delivered.some((e) => e.event_type === "access_grant.created") && delivered.some((e) => e.event_type === "access_method.revoked")
        ? true
        : undefined
    })
  }, 60_000)

  it("a restart on the same store keeps grants and access methods; a delete after it still reports the revocations", async () => {
    const kept = Persistence.memory()
    const W = { id: "6d5c4b3a-2918-4f07-8e6d-5c4b3a291807", key: "seam_test_grants_restart" }
    const options: Server.Options = { workspaces: [{ id: W.id, apiKeys: [Redacted.make(W.key)], tickMs: 20, persistence: Persistence.layer(kept) }] }
    let first: Server.Handle | undefined = await Server.start(options)
    let second: Server.Handle | undefined
    try {
      let api = client(W.key, first.url)
      const since = new Date(Date.now() - 1000).toISOString()
      const entrance = (await api.acs.entrances.list())[0]
      if (entrance === undefined) throw new Error("no entrance")
      const identity = await api.userIdentities.create({ full_name: "Katherine Johnson" })
      const phone = await api.phones.simulate.createSandboxPhone({ user_identity_id: identity.user_identity_id })
      const grant = await api.accessGrants.create({
        user_identity_id: identity.user_identity_id,
        acs_entrance_ids: [entrance.acs_entrance_id],
        requested_access_methods: [{ mode: "mobile_key" }],
        access_grant_key: "stay-1"
      })
      const methodId = grant.access_method_ids[0] ?? ""
      const current = api
      await until("issued", async () => ((await current.accessMethods.get({ access_method_id: methodId })).is_issued ? true : undefined))
      const before = { grant: await api.accessGrants.get({ access_grant_id: grant.access_grant_id }), method: await api.accessMethods.get({ access_method_id: methodId }) }
      await first.close()
      first = undefined

      second = await Server.start(options)
      api = client(W.key, second.url)
      expect(await api.accessGrants.get({ access_grant_key: "stay-1" })).toEqual(before.grant)
      expect(await api.accessMethods.get({ access_method_id: methodId })).toEqual(before.method)
      expect(await api.acs.entrances.list()).toEqual([entrance])
      await api.accessGrants.delete({ access_grant_id: grant.access_grant_id })
      const after = api
      const events = await until("the revocation reported", async () => {
        const list = await after.events.list({ since, access_grant_id: grant.access_grant_id })
        return list.some((e) => e.event_type === "access_method.revoked") ? list : undefined
      })
      expect(events.map((e) => e.event_type).sort()).toEqual(["access_grant.created", "access_grant.deleted", "access_method.issued", "access_method.revoked"])
      // the grant went, the phone stays
      expect((await api.phones.list({ owner_user_identity_id: identity.user_identity_id })).map((p) => p.device_id)).toEqual([phone.device_id])
    } finally {
      await first?.close()
      await second?.close()
    }
  }, 60_000)

  it("two instances on one store serve the same grants; each access method event is recorded once", async () => {
    const kept = Persistence.memory()
    const W = { id: "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918", key: "seam_test_grants_instances" }
    // one provider both instances share (as HID Origo or the simulator over HTTP would be)
    const provider = Simulator.make({ managers: [{ id: randomUUID(), name: "Simulated HID Origo" }], acsSystems: [{ id: randomUUID(), name: "Simulated PTI site" }] })
    const options: Server.Options = {
      workspaces: [{ id: W.id, apiKeys: [Redacted.make(W.key)], tickMs: 20, persistence: Persistence.layer(kept), sharedSimulator: provider }]
    }
    const serverA = await Server.start(options)
    const serverB = await Server.start(options)
    try {
      const a = client(W.key, serverA.url)
      const b = client(W.key, serverB.url)
      const since = new Date(Date.now() - 1000).toISOString()
      const entrance = (await b.acs.entrances.list())[0]
      if (entrance === undefined) throw new Error("no entrance")
      expect(await a.acs.entrances.list()).toEqual([entrance])
      const grant = await a.accessGrants.create({
        user_identity: { full_name: "Dorothy Vaughan", email_address: "dorothy@example.com" },
        acs_entrance_ids: [entrance.acs_entrance_id],
        requested_access_methods: [{ mode: "mobile_key" }],
        access_grant_key: "shared-1"
      })
      // the key is claimed in the store: the other instance refuses it too
      await invalidField(
        b.accessGrants.create({
          user_identity_id: grant.user_identity_id,
          access_grant_key: "shared-1",
          acs_entrance_ids: [entrance.acs_entrance_id],
          requested_access_methods: [{ mode: "mobile_key" }]
        }),
        "access_grant_key"
      )
      expect(await b.accessGrants.get({ access_grant_key: "shared-1" })).toEqual(await a.accessGrants.get({ access_grant_key: "shared-1" }))
      for (const api of [a, b]) await api.phones.simulate.createSandboxPhone({ user_identity_id: grant.user_identity_id })
      const methodId = grant.access_method_ids[0] ?? ""
      await until("both phones hold the mobile key", async () => {
        const children = (await b.acs.credentials.list({ user_identity_id: grant.user_identity_id })).filter((c) => !c.is_multi_phone_sync_credential)
        return children.length === 2 && children.every((c) => c.is_issued) ? true : undefined
      })
      expect((await a.accessMethods.get({ access_method_id: methodId })).is_issued).toBe(true)
      await b.accessGrants.delete({ access_grant_id: grant.access_grant_id })
      await notFound(a.accessGrants.get({ access_grant_id: grant.access_grant_id }), "access_grant_not_found")
      const events = await until("the revocations reported", async () => {
        const list = await a.events.list({ since, access_grant_id: grant.access_grant_id })
        return list.filter((e) => e.event_type === "access_method.revoked").length >= 2 ? list : undefined
      })
      // both instances translate the same feed: every event once
      expect(new Set(events.map((e) => e.event_id)).size).toBe(events.length)
      expect(events.map((e) => e.event_type).sort()).toEqual([
        "access_grant.created",
        "access_grant.deleted",
        "access_method.issued",
        "access_method.issued",
        "access_method.revoked",
        "access_method.revoked"
      ])
      expect(await b.events.list({ since, access_grant_id: grant.access_grant_id })).toEqual(events)
    } finally {
      await serverA.close()
      await serverB.close()
    }
  }, 60_000)
})
