/**
 * End to end: the credsync engine (memory store) on adapter-seam, against the Seam-compatible API
 * served on loopback, whose own engine replicates. The outer engine creates the identity's Seam
 * user, the automation and the multi-phone sync credential at Seam, mirrors exactly one child per
 * phone, follows a deactivated phone, revokes a planted duplicate, reports a copy that vanished
 * behind its back (and adopts it again when it reappears), and removes everything with the parent.
 * Webhooks from the server are verified and ingested. Convergence is driven by bounded loops of
 * resync + drain; nothing asserts on timing.
 */
import { createServer, type IncomingHttpHeaders } from "node:http"
import { MemoryStore } from "@credsync/adapter-memory"
import { AccessControl, Command, CredentialManager, Engine, Identity, Ids } from "@credsync/core"
import { Effect, Layer, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SeamAccessControl, SeamClient, SeamCredentialManager, SeamWebhooks } from "../src/index.js"
import * as DriftProxy from "./DriftProxy.js"
import { type Started, start, until } from "./helpers.js"

let env: Started
let proxy: DriftProxy.DriftProxy
let hooks: { url: string; received: Array<{ body: string; headers: IncomingHttpHeaders }>; close: () => Promise<void> }

beforeAll(async () => {
  env = await start()
  proxy = await DriftProxy.start(env.server.url)
  const received: Array<{ body: string; headers: IncomingHttpHeaders }> = []
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      received.push({ body: Buffer.concat(chunks).toString("utf8"), headers: req.headers })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  const a = server.address()
  hooks = {
    url: `http://127.0.0.1:${typeof a === "object" && a !== null ? a.port : 0}/seam`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r()))
  }
})
afterAll(async () => {
  await proxy?.close()
  await hooks?.close()
  await env?.server.close()
})

describe("the engine on adapter-seam against the Seam-compatible API", () => {
  it("mirrors one child per phone and repairs or reports what breaks the invariant", async () => {
    const webhook = await env.seam.webhooks.create({ url: hooks.url })
    // one client instance for the ports and the webhooks: they share what it has seen
    const client = Layer.succeed(SeamClient.SeamClient)(SeamClient.make({ apiKey: Redacted.make(env.key), endpoint: proxy.url }))
    const ports = Layer.mergeAll(
      SeamCredentialManager.layer({ system: env.managerId }),
      SeamAccessControl.layer({ systems: [{ id: env.acsSystemId }] })
    ).pipe(Layer.provideMerge(client))
    const services = await Effect.runPromise(
      Effect.provide(
        Effect.all([CredentialManager.CredentialManager.useSync((x) => x), AccessControl.AccessControl.useSync((x) => x)]),
        ports
      )
    )
    const [cm, acs] = services
    const engine = await Effect.runPromise(
      Engine.make({ replicationBound: "400 millis", poll: "20 millis", backoff: { base: "10 millis", cap: "50 millis" } }).pipe(
        Effect.provide(Layer.mergeAll(ports, MemoryStore.layer()))
      )
    )
    const webhooks = await Effect.runPromise(
      Effect.provide(
        SeamWebhooks.make({ secret: Redacted.make(webhook.secret ?? ""), system: env.managerId, lookup: engine.lookup }),
        client
      )
    )
    const exec = (command: Command.Encoded) => Effect.runPromise(engine.execute(Command.make(command)))
    const state = () => Effect.runPromise(engine.get(who))
    /** Resync and drain until `check` holds (bounded). */
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

    const who = Ids.UserIdentityId.make(`ui-${Math.random().toString(36).slice(2, 10)}`)
    await exec({ _tag: "CreateUserIdentity", userIdentityId: who, fullName: "Jane Doe", email: `${who}@example.com` })
    const acsUser = await Effect.runPromise(acs.createUser(env.acsSystemId, { fullName: "Jane Doe" }))
    await exec({ _tag: "LinkAcsUser", userIdentityId: who, acsUserId: acsUser.id, acsSystemId: env.acsSystemId })
    await exec({ _tag: "LaunchAutomation", userIdentityId: who, automationId: "automation-1", managerId: env.managerId })
    await exec({
      _tag: "CreateSyncCredential",
      userIdentityId: who,
      credentialId: "parent-1",
      acsUserId: acsUser.id,
      managerId: env.managerId,
      cardFormat: "rfid48",
      facilityCode: "9"
    })

    // the engine made the Seam user (keyed by the identity id), the automation and the parent there
    const bound = await converge("parent and automation at Seam", (s) =>
      Identity.parent(s, "parent-1")?.remote !== undefined && Identity.automation(s, "automation-1")?.remote !== undefined ? s : undefined
    )
    const seamUser = await env.seam.userIdentities.get({ user_identity_key: who })
    expect(bound.managerUsers[env.managerId]?.ref).toBe(seamUser.user_identity_id)
    expect(seamUser.acs_user_ids).toEqual([acsUser.id])
    const parentRef = Identity.parent(bound, "parent-1")!.remote!
    const atSeam = await env.seam.acs.credentials.list({ user_identity_id: seamUser.user_identity_id })
    expect(atSeam.map((c) => c.acs_credential_id)).toEqual([parentRef])
    expect(atSeam[0]).toMatchObject({ is_multi_phone_sync_credential: true, acs_user_id: acsUser.id })
    expect(await env.seam.userIdentities.enrollmentAutomations.list({ user_identity_id: seamUser.user_identity_id })).toHaveLength(1)

    // three phones come online at Seam; the host tells the engine with Seam's device ids
    const phones: Array<string> = []
    for (const os of ["android", "ios", "android"] as const) {
      const p = await env.seam.phones.simulate.createSandboxPhone({
        user_identity_id: seamUser.user_identity_id,
        phone_metadata: { operating_system: os }
      })
      phones.push(p.device_id)
      await exec({ _tag: "PhoneOnline", userIdentityId: who, phoneId: p.device_id, deviceType: os === "ios" ? "ios_phone" : "android_phone" })
    }
    const seamChildren = async () =>
      (await env.seam.acs.credentials.list({ user_identity_id: seamUser.user_identity_id })).filter(
        (c) => c.parent_acs_credential_id === parentRef && !c.warnings.some((w) => w.warning_code === "being_deleted")
      )
    const activeChildren = (s: Identity.IdentityState) => s.children.filter((c) => c.issue === "active" && !c.retiring)
    const mirrored = await converge("one active child per phone", (s) => (activeChildren(s).length === 3 ? s : undefined))
    const children = activeChildren(mirrored)
    expect(children.map((c) => c.phoneId).sort()).toEqual([...phones].sort())
    expect(children.every((c) => c.assigned)).toBe(true)
    const listed = await seamChildren()
    expect(listed).toHaveLength(3)
    expect(children.map((c) => c.ref).sort()).toEqual(listed.map((c) => c.acs_credential_id).sort())

    // a phone deactivated (at Seam, then in the engine): its child is gone, the others stay
    const [lost, second, third] = phones as [string, string, string]
    await Effect.runPromise(cm.removeEndpoint(env.managerId, Ids.ProviderRef.make(lost)))
    await exec({ _tag: "DeactivatePhone", userIdentityId: who, phoneId: lost })
    const afterLoss = await converge("the lost phone's child gone", async (s) => {
      const left = s.children
      const seam = await seamChildren()
      return left.length === 2 && !left.some((c) => c.phoneId === lost) && seam.length === 2 ? s : undefined
    })
    expect(activeChildren(afterLoss).map((c) => c.phoneId).sort()).toEqual([second, third].sort())

    // a duplicate copy for the second phone appears at Seam: the engine revokes it, keeps its own
    const own = activeChildren(afterLoss).find((c) => c.phoneId === second)!
    proxy.planted.set("planted-duplicate", {
      acs_credential_id: "planted-duplicate",
      user_identity_id: seamUser.user_identity_id,
      acs_user_id: acsUser.id,
      acs_system_id: env.acsSystemId,
      parent_acs_credential_id: parentRef,
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
    expect(proxy.planted.size).toBe(0)
    expect(Identity.child(await state(), own.id)).toMatchObject({ ref: own.ref, issue: "active" })

    // the third phone's copy vanishes behind the engine's back: reported past the bound, then
    // adopted again when Seam shows it
    const thirds = activeChildren(afterLoss).find((c) => c.phoneId === third)!
    proxy.hidden.add(thirds.ref!)
    const reported = await converge("the missing copy reported", (s) => {
      const c = Identity.child(s, thirds.id)
      return c?.issue === "failed" ? c : undefined
    })
    expect(reported.error?.code).toBe("not_replicated")
    proxy.hidden.clear()
    await converge("the copy adopted again", (s) => (Identity.child(s, thirds.id)?.issue === "active" ? true : undefined))
    expect(Identity.child(await state(), thirds.id)?.ref).toBe(thirds.ref)

    // the parent deleted: every copy and the parent go, at Seam and in the engine
    await exec({ _tag: "DeleteSyncCredential", userIdentityId: who, credentialId: "parent-1" })
    await converge("everything gone", async (s) => {
      const seam = await env.seam.acs.credentials.list({ user_identity_id: seamUser.user_identity_id })
      return seam.length === 0 && s.children.length === 0 && s.parents.length === 0 ? true : undefined
    })
    const truth = env.server.workspace(env.workspaceId).simulator.truthUnsafe()
    expect(truth.credentials.filter((c) => c.live)).toEqual([])

    // the server's webhooks, verified, route to this identity through engine.ingest
    const deliveries = await until("webhook deliveries", async () => {
      const types = hooks.received.map((r) => String(JSON.parse(r.body).event_type))
      return types.includes("phone.deactivated") && types.filter((t) => t === "acs_credential.issued").length >= 3 ? hooks.received : undefined
    })
    // (read after the parent is gone: the credentials are resolved from what the client saw)
    const routed = new Map<string, Set<string>>()
    for (const d of deliveries) {
      const type = String(JSON.parse(d.body).event_type)
      const observations = await Effect.runPromise(webhooks.intake(d.body, d.headers))
      for (const o of observations) {
        const id = await Effect.runPromise(engine.ingest(o))
        routed.set(type, (routed.get(type) ?? new Set()).add(`${o._tag}:${id}`))
      }
    }
    expect(routed.get("phone.deactivated")).toEqual(new Set([`EndpointRemoved:${who}`]))
    expect([...(routed.get("acs_credential.issued") ?? [])].every((x) => x.endsWith(`:${who}`))).toBe(true)
    expect(routed.get("acs_credential.issued")?.size).toBeGreaterThan(0)
    expect(routed.get("acs_credential.deleted")).toEqual(new Set([`CredentialRevoked:${who}`]))
  })
})
