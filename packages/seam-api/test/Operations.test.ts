/**
 * The operator endpoints (`/health`, `/ready`, `/metrics`) and stuck identities in Seam's errors,
 * on loopback with memory stores.
 */
import { MemoryRecords, MemoryStore } from "@credsync/adapter-memory"
import { PortError, type Store } from "@credsync/core"
import { Effect, Redacted, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Persistence, Server } from "../src/index.js"
import { client, until } from "./helpers.js"

const A = { id: "5b1f0e0a-8c3d-4a55-9c61-3f2d7e0b9a11", key: "seam_test_operations_a" }
const B = { id: "9e2c4d6b-1a7f-4e83-b5d0-6c8a2f4e1b22", key: "seam_test_operations_b" }

// workspace B's store can be taken away
let storeGone = false
const gone = <A>(eff: Effect.Effect<A, PortError.PortError>) =>
  Effect.suspend(() =>
    storeGone ? Effect.fail(new PortError.PortError({ reason: "Transient", port: "Store", method: "query", message: "the database is unreachable" })) : eff
  )
const memory = MemoryStore.make()
const breakable: Store.StoreShape = {
  ...memory,
  load: (id) => gone(memory.load(id)),
  claim: (lease, now, limit) => gone(memory.claim(lease, now, limit)),
  nextDue: (owner, now) => gone(memory.nextDue(owner, now)),
  list: (options) => gone(memory.list(options))
}

let server: Server.Handle
const serverLog: Array<string> = []
beforeAll(async () => {
  server = await Server.start({
    log: (line) => serverLog.push(line),
    workspaces: [
      {
        id: A.id,
        apiKeys: [Redacted.make(A.key)],
        tickMs: 20,
        // every issue is refused: the identity gets stuck after two reconciles
        simulator: { faults: { ops: { issue: { rateLimited: 1, retryAfter: 10 } } } },
        engine: { stuckAfter: 2, backoff: { base: "10 millis", cap: "20 millis" } }
      },
      { id: B.id, apiKeys: [Redacted.make(B.key)], tickMs: 20, persistence: Persistence.layer({ store: breakable, records: MemoryRecords.make() }) }
    ]
  })
})
afterAll(async () => {
  await server?.close()
})

const get = async (path: string) => {
  const res = await fetch(`${server.url}${path}`)
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() }
}

/** Prometheus text: every line a comment (HELP / TYPE) or `name{labels} value`; returns the samples. */
const parsePrometheus = (text: string): Map<string, number> => {
  const samples = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (line === "") continue
    if (line.startsWith("#")) {
      expect(line).toMatch(/^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))$/)
      continue
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?) (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(line)
    expect(m, line).not.toBeNull()
    if (m?.[1] !== undefined && m[2] !== undefined) samples.set(m[1], Number(m[2]))
  }
  return samples
}

const sum = (samples: Map<string, number>, prefix: string) =>
  [...samples].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0)

describe("operator endpoints", () => {
  it("/health answers while the process runs; /ready while every store answers and every loop runs", async () => {
    expect(await get("/health")).toMatchObject({ status: 200, text: JSON.stringify({ ok: true, status: "alive" }) })
    const ready = await until("ready", async () => {
      const r = await get("/ready")
      return r.status === 200 ? r : undefined
    })
    const body: unknown = JSON.parse(ready.text)
    expect(body).toMatchObject({ ready: true, workspaces: [{ workspace_id: A.id, loop: "running", store: "reachable" }, { workspace_id: B.id }] })
    expect((await fetch(`${server.url}/ready`, { method: "POST" })).status).toBe(405)
  })

  it("/ready turns false when a workspace's store is gone, and true again when it is back", async () => {
    storeGone = true
    try {
      const down = await get("/ready")
      expect(down.status).toBe(503)
      expect(JSON.parse(down.text)).toMatchObject({ ready: false, workspaces: [{ workspace_id: A.id, ready: true }, { workspace_id: B.id, ready: false, store: "unreachable" }] })
      // no error text (a store's may name its file): states only
      expect(down.text).not.toContain("unreachable database")
      expect(down.text).not.toContain("the database is unreachable")
    } finally {
      storeGone = false
    }
    await until("ready again", async () => ((await get("/ready")).status === 200 ? true : undefined))
  })

  it("/metrics is Prometheus text whose counters move with work; a stuck identity shows in Seam's errors", async () => {
    const before = parsePrometheus((await get("/metrics")).text)
    const seam = client(A.key, server.url)
    const systems = await seam.acs.systems.list()
    const manager = systems.find((s) => s.is_credential_manager)
    const acs = systems.find((s) => !s.is_credential_manager)
    if (manager === undefined || acs === undefined) throw new Error("expected an ACS and a credential manager")
    const identity = await seam.userIdentities.create({ full_name: "Stuck Sam" })
    const acsUser = await seam.acs.users.create({ acs_system_id: acs.acs_system_id, full_name: "Stuck Sam" })
    await seam.userIdentities.addAcsUser({ user_identity_id: identity.user_identity_id, acs_user_id: acsUser.acs_user_id })
    await seam.userIdentities.enrollmentAutomations.launch({ user_identity_id: identity.user_identity_id, credential_manager_acs_system_id: manager.acs_system_id })
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
    await seam.phones.simulate.createSandboxPhone({ user_identity_id: identity.user_identity_id })

    const stuck = await until("the identity shows it is stuck", async () => {
      const u = await seam.userIdentities.get({ user_identity_id: identity.user_identity_id })
      return u.errors.length > 0 ? u.errors : undefined
    })
    expect(stuck[0]).toMatchObject({ error_code: "reconcile_failing" })
    expect(stuck[0]?.message).toMatch(/reconciles in a row failed; last: CredentialManager\.issue RateLimited/)
    const p = await seam.acs.credentials.get({ acs_credential_id: parent.acs_credential_id })
    expect(p.errors.map((e) => e.error_code)).toContain("reconcile_failing")
    const readiness = Schema.decodeUnknownSync(
      Schema.fromJsonString(Schema.Struct({ workspaces: Schema.Array(Schema.Struct({ workspace_id: Schema.String, stuck: Schema.Number })) }))
    )((await get("/ready")).text)
    expect(readiness.workspaces.find((w) => w.workspace_id === A.id)?.stuck).toBeGreaterThanOrEqual(1)

    const metrics = await get("/metrics")
    expect(metrics.status).toBe(200)
    expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/)
    const after = parsePrometheus(metrics.text)
    expect(sum(after, "credsync_reconciles_total")).toBeGreaterThan(sum(before, "credsync_reconciles_total"))
    expect(sum(after, 'credsync_port_calls_total{port="CredentialManager",action="Issue",outcome="RateLimited"}')).toBeGreaterThan(
      sum(before, 'credsync_port_calls_total{port="CredentialManager",action="Issue",outcome="RateLimited"}')
    )
    expect(after.get("credsync_stuck_identities")).toBeGreaterThanOrEqual(1)
    for (const name of ["credsync_backoffs_total", "credsync_events_committed_total", "credsync_lease_changes_total", "credsync_due_lag_seconds"]) {
      expect([...after.keys()].some((k) => k.startsWith(name)), name).toBe(true)
    }
    // the server's own lines (one per request) never carry an API key
    expect(serverLog.length).toBeGreaterThan(0)
    for (const line of serverLog) for (const key of [A.key, B.key]) expect(line).not.toContain(key)
  })
})
