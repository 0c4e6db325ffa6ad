/**
 * The hostile-input property: for every route, a request the server rejects (any 4xx or 5xx) leaves
 * every list unchanged — user identities (the engine's whole state of each), ACS users, webhooks,
 * client sessions, phones' names, access grants and their records, Seam events, and the simulated
 * provider's ground truth.
 *
 * Bodies are generated from the fields the routes know, with values that are right (ids of a
 * settled fixture), wrong (other ids) or malformed (wrong types, bad emails, URLs, dates), plus
 * bodies that are not objects or not JSON. A request that is accepted becomes the new baseline.
 * Routes whose acceptance starts background work at the provider (issue, revoke, delete) never get
 * the fixture's ids, so that every change seen is the request's own.
 *
 * `CREDSYNC_PROP_RUNS` scales the number of requests (default 1,000).
 */
import { Effect, Redacted } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Routes, Server } from "../src/index.js"
import { client, until } from "./helpers.js"

const A = { id: "8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d", key: "seam_hostile" }
const runs = Math.max(1000, Number(process.env.CREDSYNC_PROP_RUNS ?? 0))

let server: Server.Handle
let fixture: Record<string, string>

// accepted with the fixture's ids, these start background work (issue / revoke / delete at the provider)
const background = new Set([
  "/user_identities/delete",
  "/user_identities/enrollment_automations/launch",
  "/user_identities/enrollment_automations/delete",
  "/acs/credentials/create",
  "/acs/credentials/delete",
  "/phones/deactivate",
  "/phones/simulate/create_sandbox_phone",
  "/access_grants/create",
  "/access_grants/delete",
  "/access_methods/delete"
])

beforeAll(async () => {
  server = await Server.start({ workspaces: [{ id: A.id, apiKeys: [Redacted.make(A.key)], tickMs: 20 }] })
  const seam = client(A.key, server.url)
  const systems = await seam.acs.systems.list()
  const acs = systems.find((s) => !s.is_credential_manager)
  const manager = systems.find((s) => s.is_credential_manager)
  if (acs === undefined || manager === undefined) throw new Error("systems")
  const identity = await seam.userIdentities.create({ user_identity_key: "fixture", email_address: "fixture@example.com" })
  const acsUser = await seam.acs.users.create({ acs_system_id: acs.acs_system_id, full_name: "Fixture", user_identity_id: identity.user_identity_id })
  const automation = await seam.userIdentities.enrollmentAutomations.launch({
    user_identity_id: identity.user_identity_id,
    credential_manager_acs_system_id: manager.acs_system_id
  })
  const params = { access_method: "mobile_key" as const, is_multi_phone_sync_credential: true, acs_user_id: acsUser.acs_user_id, facility_code: "5" }
  const parent = await seam.acs.credentials.create(params)
  const phone = await seam.phones.simulate.createSandboxPhone({ user_identity_id: identity.user_identity_id })
  const session = await seam.clientSessions.create({ user_identity_id: identity.user_identity_id })
  const entrance = (await seam.acs.entrances.list())[0]
  if (entrance === undefined) throw new Error("entrance")
  // an access grant: a second parent (another card profile) and its child on the same phone
  const grant = await seam.accessGrants.create({
    user_identity_id: identity.user_identity_id,
    acs_entrance_ids: [entrance.acs_entrance_id],
    requested_access_methods: [{ mode: "mobile_key" }],
    access_grant_key: "fixture-grant"
  })
  const child = await until("the fixture settled", async () => {
    const all = await seam.acs.credentials.list({ user_identity_id: identity.user_identity_id })
    const c = all.find((x) => x.parent_acs_credential_id === parent.acs_credential_id)
    const children = all.filter((x) => x.parent_acs_credential_id !== undefined && x.parent_acs_credential_id !== null)
    const truth = server.workspace(A.id).simulator.truthUnsafe()
    const settled = children.length === 2 && children.every((x) => x.is_issued && x.is_latest_desired_state_synced_with_provider)
    return c !== undefined && settled && truth.acsEntries.filter((e) => e.assignedTo !== undefined).length === 2 ? c : undefined
  })
  fixture = {
    user_identity_id: identity.user_identity_id,
    user_identity_key: "fixture",
    acs_user_id: acsUser.acs_user_id,
    acs_system_id: acs.acs_system_id,
    credential_manager_acs_system_id: manager.acs_system_id,
    enrollment_automation_id: automation.enrollment_automation_id,
    acs_credential_id: parent.acs_credential_id,
    child_acs_credential_id: child.acs_credential_id,
    device_id: phone.device_id,
    client_session_id: session.client_session_id,
    email_address: "fixture@example.com",
    access_grant_id: grant.access_grant_id,
    access_grant_key: "fixture-grant",
    access_method_id: grant.access_method_ids[0] ?? "",
    acs_entrance_id: entrance.acs_entrance_id
  }
})
afterAll(async () => {
  await server?.close()
})

/** Everything a request could change, read in-process. */
const snapshot = async () => {
  const ws = server.workspace(A.id)
  const kinds = [
    "seam-client-session",
    "seam-phone",
    "seam-profile",
    "seam-acs-user",
    "seam-access-grant",
    "seam-access-method",
    "seam-access-grant-parent",
    "seam-access-grant-key"
  ]
  return Effect.runPromise(
    Effect.gen(function* () {
      const records = yield* Effect.forEach(kinds, (k) => ws.records.list(k, { limit: 10_000 }))
      return {
        identities: yield* ws.identities,
        acsUsers: yield* ws.acsUsers.list,
        webhooks: (yield* ws.webhooks.list).map((w) => ({ ...w, secret: Redacted.value(w.secret) })),
        events: yield* ws.events,
        records,
        // the provider's state (not its clock or call counters: the engine reads on its own)
        truth: (({ at: _at, calls: _calls, ...state }) => state)(ws.simulator.truthUnsafe())
      }
    })
  )
}

const fields = [
  "user_identity_id",
  "user_identity_ids",
  "user_identity_key",
  "acs_user_id",
  "acs_system_id",
  "acs_system_ids",
  "credential_manager_acs_system_id",
  "enrollment_automation_id",
  "acs_credential_id",
  "device_id",
  "client_session_id",
  "webhook_id",
  "event_id",
  "email_address",
  "phone_number",
  "full_name",
  "url",
  "event_types",
  "facility_code",
  "card_format",
  "is_multi_phone_sync_credential",
  "access_method",
  "limit",
  "page_cursor",
  "expires_at",
  "starts_at",
  "ends_at",
  "since",
  "access_schedule",
  "user_identifier_key",
  "access_grant_id",
  "access_grant_key",
  "access_method_id",
  "acs_entrance_id",
  "acs_entrance_ids",
  "requested_access_methods",
  "user_identity",
  "name",
  "unstable_offset"
] as const

const malformed = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, "", " ", "not-an-email", "555", "ftp://x", "http://127.0.0.1/h", "yesterday", "garbage"),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
  fc.uuid()
)

// plausible values, so that requests get past decoding into the handlers' own checks
const plausible: Record<string, fc.Arbitrary<unknown>> = {
  full_name: fc.constantFrom("Ann", "Bob"),
  email_address: fc.constantFrom("fixture@example.com", "new@example.com"),
  phone_number: fc.constantFrom("+15555550100", "+15555550101"),
  user_identity_key: fc.constantFrom("fixture", "other-key"),
  url: fc.constantFrom("https://93.184.215.14/hook", "http://127.0.0.1/hook", "http://169.254.169.254/"),
  event_types: fc.constant(["phone.deactivated"]),
  facility_code: fc.constantFrom("5", "6"),
  is_multi_phone_sync_credential: fc.boolean(),
  access_method: fc.constantFrom("mobile_key", "card"),
  limit: fc.constantFrom(1, 2),
  requested_access_methods: fc.constantFrom([{ mode: "mobile_key" }], [{ mode: "code" }], []),
  name: fc.constantFrom("Front door", null),
  unstable_offset: fc.constantFrom(0, 1),
  expires_at: fc.constantFrom(new Date(Date.now() + 3_600_000).toISOString(), new Date(0).toISOString())
}

const body = (path: string) => {
  const safe = !background.has(path)
  const own = Routes.routes[path]?.fields ?? []
  const value = (field: string): fc.Arbitrary<unknown> => {
    const options: Array<fc.Arbitrary<unknown>> = [malformed, fc.uuid()]
    const good = fixture[field]
    if (safe && good !== undefined) options.push(fc.constant(good), fc.constant(good), fc.constant(good), fc.constant(good))
    if (safe && field.endsWith("_id") && fixture.child_acs_credential_id !== undefined) options.push(fc.constant(fixture.child_acs_credential_id))
    const p = plausible[field]
    if (p !== undefined) options.push(p, p, p, p)
    if (field.endsWith("_ids") && safe) {
      const one = fixture[field.slice(0, -1)]
      if (one !== undefined) options.push(fc.constant([one]))
    }
    return fc.oneof(...options)
  }
  // mostly the route's own fields, sometimes others
  // a field with a plausible value is usually sent; one with only malformed values seldom (else
  // nearly every request would stop at decoding)
  const known = (k: string) => plausible[k] !== undefined || (safe && (fixture[k] !== undefined || fixture[k.slice(0, -1)] !== undefined))
  const ownKeys = fc
    .tuple(...own.map((k) => fc.oneof({ weight: known(k) ? 6 : 1, arbitrary: fc.constant([k]) }, { weight: known(k) ? 1 : 4, arbitrary: fc.constant([]) })))
    .map((xs) => xs.flat())
  const keys = fc.tuple(ownKeys, fc.uniqueArray(fc.constantFrom(...fields), { maxLength: 1 })).map(([a, b]) => [...new Set([...a, ...b])])
  const record = keys
    .chain((ks) => fc.tuple(...ks.map((k) => value(k).map((v) => [k, v] as const))))
    .map((entries) => JSON.stringify(Object.fromEntries(entries)))
  return fc.oneof(
    { weight: 8, arbitrary: record },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }) }
  )
}

const paths = Object.keys(Routes.routes)

describe("hostile input", () => {
  it(`a rejected request leaves every list unchanged, for every route (${runs} requests)`, async () => {
    let baseline = await snapshot()
    let rejected = 0
    const seen = new Set<string>()
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths).chain((path) => fc.tuple(fc.constant(path), body(path))),
        async ([path, text]) => {
          seen.add(path)
          const response = await fetch(`${server.url}${path}`, {
            method: "POST",
            headers: { authorization: `Bearer ${A.key}`, "content-type": "application/json" },
            body: text
          })
          const answer: unknown = await response.json()
          const after = await snapshot()
          if (response.status >= 400) {
            rejected++
            expect(answer).toMatchObject({ error: { type: expect.any(String), message: expect.any(String) } })
            expect(after).toEqual(baseline)
          } else baseline = after
        }
      ),
      { numRuns: runs, seed: Number(process.env.CREDSYNC_PROP_SEED ?? 12), endOnFailure: true }
    )
    expect(seen.size).toBe(paths.length)
    expect(rejected).toBeGreaterThan(runs / 2)
    // the fixture was never disturbed from outside: still its two live children (the parent's, the grant's)
    const truth = server.workspace(A.id).simulator.truthUnsafe()
    expect(truth.credentials.filter((c) => c.live)).toHaveLength(2)
  }, 120_000)
})
