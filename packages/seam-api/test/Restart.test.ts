/**
 * A restart on the same store: only the store survives — the same in-memory Store + Records handed
 * to a fresh server after the first one is closed, or the same SQLite file or Postgres database
 * opened again.
 * Converge, stop, start again, add a person, converge again: the sandbox simulator continues (no
 * card number handed out twice, so nothing stalls), ACS users, webhooks, phones and events are all
 * still there, and each webhook event is delivered once across the restart.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Postgres } from "@credsync/testkit"
import { Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Persistence, Server, ServerConfig } from "../src/index.js"
import { addPerson, converged, deliveredOnce, systemsOf, troubles } from "./durable.js"
import { client, receiver } from "./helpers.js"

const workspace = { id: "8c1d2f3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f", key: "seam_test_restart" }

const pg = Postgres.setup()
let hooks: Awaited<ReturnType<typeof receiver>>
let dir = ""
beforeAll(async () => {
  hooks = await receiver()
  dir = mkdtempSync(join(tmpdir(), "credsync-seam-restart-"))
})
afterAll(async () => {
  await hooks?.close()
  rmSync(dir, { recursive: true, force: true })
})

const stores: ReadonlyArray<readonly [string, () => Persistence.Source]> = [
  ["in memory (kept across the restart)", () => Persistence.layer(Persistence.memory())],
  ["SQLite", () => ServerConfig.defaultBackends.sqlite({ filename: join(dir, "restart.db"), workspaceId: workspace.id })],
  ["Postgres", () => ServerConfig.defaultBackends.postgres({ url: pg.url(), workspaceId: workspace.id })]
]

describe.each(stores)("a restart on the same store: %s", (_name, store) => {
  it("continues: same records, the simulator goes on, every event delivered once", async () => {
    hooks.received.length = 0
    const persistence = store()
    const lines: Array<string> = []
    const options: Server.Options = {
      log: (line) => lines.push(line),
      workspaces: [
        {
          id: workspace.id,
          apiKeys: [Redacted.make(workspace.key)],
          tickMs: 20,
          persistence,
          webhookDelivery: { takeoverAfter: "1 second", sweepEvery: "100 millis" },
          // the receiver is on loopback
          webhooks: { allowPrivateUrls: true }
        }
      ]
    }

    // --- the first run
    let server = await Server.start(options)
    let seam = client(workspace.key, server.url)
    const webhook = await seam.webhooks.create({ url: hooks.url })
    const systems = await systemsOf(seam)
    const ana = await addPerson(() => seam, systems, "Ana", 2)
    const cardsBefore = await converged(() => seam, ana)
    await deliveredOnce(() => seam, hooks.received, 300)
    const before = {
      systems: await seam.acs.systems.list(),
      acsUsers: await seam.acs.users.list(),
      webhooks: await seam.webhooks.list(),
      phones: await seam.phones.list({ owner_user_identity_id: ana.identityId }),
      events: await seam.events.list({ limit: 10_000 })
    }
    const truthBefore = server.workspace(workspace.id).simulator.truthUnsafe()
    await server.close()

    // --- the second run, on the same store only
    server = await Server.start(options)
    seam = client(workspace.key, server.url)
    expect(await seam.acs.systems.list()).toEqual(before.systems)
    expect(await seam.acs.users.list()).toEqual(before.acsUsers)
    expect(await seam.webhooks.list()).toEqual(before.webhooks)
    expect((await seam.webhooks.get({ webhook_id: webhook.webhook_id })).secret).toBe(webhook.secret)
    const phonesAfter = await seam.phones.list({ owner_user_identity_id: ana.identityId })
    expect(phonesAfter.map((p) => [p.device_id, p.display_name]).sort()).toEqual(before.phones.map((p) => [p.device_id, p.display_name]).sort())
    expect(phonesAfter.map((p) => p.display_name).sort()).toEqual(["Ana's phone 1", "Ana's phone 2"])
    expect(await seam.events.list({ limit: 10_000 })).toEqual(before.events)
    const first = before.events[0]
    if (first === undefined) throw new Error("no events before the restart")
    expect((await seam.events.get({ event_id: first.event_id })).event_id).toBe(first.event_id)
    // the simulator behind the sandbox is the same provider (continued, not started over)
    const { calls: _before, at: _atBefore, ...sameTruth } = truthBefore
    const { calls: _after, at: _atAfter, ...restored } = server.workspace(workspace.id).simulator.truthUnsafe()
    expect(restored).toEqual(sameTruth)
    // an ACS user and an email remembered across the restart
    const existing = await seam.acs.users.get({ acs_user_id: ana.acsUserId })
    expect(existing.user_identity_id).toBe(ana.identityId)
    await expect(seam.userIdentities.create({ email_address: "ana@example.com" })).rejects.toThrow(/email_address/)

    // a new person after the restart: new card numbers, nothing stalls
    const bo = await addPerson(() => seam, systems, "Bo", 2)
    const cardsAfter = await converged(() => seam, bo)
    expect(new Set([...cardsBefore, ...cardsAfter]).size).toBe(4)
    expect(await converged(() => seam, ana)).toEqual(cardsBefore)
    const truth = server.workspace(workspace.id).simulator.truthUnsafe()
    expect(truth.credentials.filter((c) => c.live)).toHaveLength(4)
    expect(truth.acsEntries.filter((e) => e.assignedTo !== undefined)).toHaveLength(4)

    // every event of both runs reached the webhook exactly once (none replayed by the restart)
    const delivered = await deliveredOnce(() => seam, hooks.received, 1500)
    expect(delivered.length).toBeGreaterThan(before.events.length)
    expect(troubles(lines)).toEqual([])
    await server.close()
  }, 60_000)
})

describe("a store holding another workspace", () => {
  it("refuses a store that holds another workspace", async () => {
    const kept = Persistence.memory()
    const first = await Server.start({ workspaces: [{ id: workspace.id, apiKeys: [Redacted.make(workspace.key)], persistence: Persistence.layer(kept) }] })
    await first.close()
    const other = { id: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", apiKeys: [Redacted.make("seam_test_other")], persistence: Persistence.layer(kept) }
    await expect(Server.start({ workspaces: [other] })).rejects.toThrow(`holds workspace ${workspace.id}`)
  })
})
