/**
 * Two instances of one workspace on one store (two servers in this process, as behind a load
 * balancer): requests alternate between them, and each webhook event is delivered exactly once in
 * total — also when one instance dies right after recording an event, before delivering it (the
 * other takes the delivery over once the dead one's claim is older than `takeoverAfter`).
 *
 * Two instances each with its own in-process simulator would be two different providers: here both
 * are given the same Simulator object, standing for the one provider real instances share (HID
 * Origo, or the simulator served over HTTP by @credsync/sim-server).
 */
import { randomUUID } from "node:crypto"
import { Simulator } from "@credsync/adapter-memory"
import { Records, Store } from "@credsync/core"
import { PostgresStore } from "@credsync/store-postgres"
import { Postgres } from "@credsync/testkit"
import type { SeamHttp } from "@seamapi/http/connect"
import { Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Persistence, Server } from "../src/index.js"
import { addPerson, converged, deliveredOnce, systemsOf, troubles } from "./durable.js"
import { client, receiver, until } from "./helpers.js"

const workspace = { id: "3f7e9d1c-2b4a-4e6f-8a0c-1d2e3f4a5b6c", key: "seam_test_instances" }

/**
 * Records that stop answering once `armed`, at the first write that claims a recorded event's
 * delivery: the instance has recorded the event (and its outbox entry) and never delivers it.
 */
const dying = (inner: Records.RecordsShape) => {
  const state = { armed: false, hung: false }
  const records: Records.RecordsShape = {
    ...inner,
    put: (kind, key, value, expected) =>
      Effect.suspend(() => {
        if (state.armed && kind === "seam-event" && expected > 0) {
          state.hung = true
          return Effect.never
        }
        return inner.put(kind, key, value, expected)
      })
  }
  return { records, state }
}

const pg = Postgres.setup()

/** Two handles on one store: the same objects in memory, or two connection pools on one database. */
type Shared = () => Promise<{ readonly a: Persistence.Persistence; readonly b: Persistence.Persistence; readonly close: () => Promise<void> }>

const inMemory: Shared = async () => {
  const kept = Persistence.memory()
  return { a: kept, b: kept, close: async () => {} }
}

const onPostgres: Shared = async () => {
  const scope = await Effect.runPromise(Scope.make())
  const open = async () => {
    const context = await Effect.runPromise(
      Layer.buildWithScope(PostgresStore.layer({ connection: pg.url(), workspace: workspace.id, maxConnections: 4 }), scope)
    )
    return { store: Context.get(context, Store.Store), records: Context.get(context, Records.Records) }
  }
  return { a: await open(), b: await open(), close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

let hooks: Awaited<ReturnType<typeof receiver>>
beforeAll(async () => {
  hooks = await receiver()
})
afterAll(async () => {
  await hooks?.close()
})

describe.each([
  ["in memory", inMemory],
  ["Postgres (a pool each)", onPostgres]
] as const)("two instances of one workspace on one store: %s", (_name, shared) => {
  it("serve it together; every event is delivered once, also when an instance dies before delivering", async () => {
    hooks.received.length = 0
    const handles = await shared()
    const kept = handles.a
    const b = dying(handles.b.records)
    const provider = Simulator.make({
      managers: [{ id: randomUUID(), name: "Simulated HID Origo" }],
      acsSystems: [{ id: randomUUID(), name: "Simulated PTI site" }]
    })
    const lines: Array<string> = []
    const instance = (persistence: Persistence.Persistence, name: string): Server.Options => ({
      log: (line) => lines.push(`${name}: ${line}`),
      workspaces: [
        {
          id: workspace.id,
          apiKeys: [Redacted.make(workspace.key)],
          tickMs: 20,
          persistence: Persistence.layer(persistence),
          sharedSimulator: provider,
          webhookDelivery: { takeoverAfter: "1 second", sweepEvery: "100 millis" },
          // the receiver is on loopback
          webhooks: { allowPrivateUrls: true }
        }
      ]
    })
    const serverA = await Server.start(instance(kept, "A"))
    const serverB = await Server.start(instance({ store: handles.b.store, records: b.records }, "B"))
    const a = client(workspace.key, serverA.url)
    const bClient = client(workspace.key, serverB.url)
    let turn = 0
    let alive: ReadonlyArray<SeamHttp> = [a, bClient]
    const next = () => alive[turn++ % alive.length] ?? a

    // both serve the workspace: what one records, the other reads
    const webhook = await next().webhooks.create({ url: hooks.url })
    expect((await next().webhooks.get({ webhook_id: webhook.webhook_id })).secret).toBe(webhook.secret)
    const systems = await systemsOf(next())
    const ana = await addPerson(next, systems, "Ana", 2)
    const anaCards = await converged(next, ana)
    await expect(next().userIdentities.create({ email_address: "ana@example.com" })).rejects.toThrow(/email_address/)
    await expect(next().userIdentities.create({ email_address: "ana@example.com" })).rejects.toThrow(/email_address/)
    await deliveredOnce(next, hooks.received, 300)

    // B records an event (an ACS user it creates) and dies before delivering it
    b.state.armed = true
    const orphan = await bClient.acs.users.create({ acs_system_id: systems.acs, full_name: "Orphan" })
    await until("B stuck after recording", async () => (b.state.hung ? true : undefined))
    const orphanEvent = (await a.events.list({ event_type: "acs_user.created", acs_user_id: orphan.acs_user_id }))[0]
    expect(orphanEvent).toBeDefined()
    await serverB.close()
    alive = [a]

    // A goes on alone: a new person converges, and the orphaned delivery is taken over
    const bo = await addPerson(next, systems, "Bo", 2)
    const boCards = await converged(next, bo)
    expect(new Set([...anaCards, ...boCards]).size).toBe(4)
    const delivered = await deliveredOnce(next, hooks.received, 1500)
    expect(delivered).toContain(orphanEvent?.event_id)
    const truth = provider.truthUnsafe()
    expect(truth.credentials.filter((c) => c.live)).toHaveLength(4)
    expect(troubles(lines)).toEqual([])
    await serverA.close()
    await handles.close()
  }, 60_000)
})
