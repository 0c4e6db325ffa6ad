/**
 * Seam webhooks through the Promise facade (no Effect in the host): verified by
 * `SeamWebhooks.intakeLayer` (Svix signature and timestamp), routed to the credsync identity and
 * handed to the engine; forged, tampered and stale deliveries refused with a typed error and
 * changing nothing; no Seam API key or webhook secret in any log line.
 */
import { MemoryStore } from "@credsync/adapter-memory"
import { Client, Engine, Identity, Ids, Store } from "@credsync/core"
import { Webhooks } from "@credsync/seam-api"
import { Cause, Effect, Layer, Logger, Redacted, References } from "effect"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { SeamAccessControl, SeamClient, SeamCredentialManager, SeamWebhooks } from "../src/index.js"
import { type Started, start } from "./helpers.js"

let env: Started
beforeAll(async () => {
  env = await start()
})
afterAll(async () => {
  await env?.server.close()
})

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e
  )

describe("Seam webhooks through the Promise facade", () => {
  it("a signed webhook queues its identity; forged, tampered and stale ones are refused and change nothing; no secret is logged", async () => {
    const secret = Webhooks.newSecret()
    const lines: Array<string> = []
    const logger = Logger.make((o) => {
      lines.push(JSON.stringify({ message: o.message, annotations: o.fiber.getRef(References.CurrentLogAnnotations), cause: Cause.pretty(o.cause) }))
    })
    const store = MemoryStore.make()
    const client = SeamClient.layer({ apiKey: Redacted.make(env.key), endpoint: env.server.url })
    const engine = Engine.layer().pipe(
      Layer.provide(
        Layer.mergeAll(
          SeamCredentialManager.layer({ system: env.managerId }),
          SeamAccessControl.layer({ systems: [{ id: env.acsSystemId }] }),
          Layer.succeed(Store.Store, Store.Store.of(store))
        )
      ),
      Layer.provide(client)
    )
    const credsync = Client.make(
      Layer.mergeAll(
        SeamWebhooks.intakeLayer({ secret, system: env.managerId }).pipe(Layer.provideMerge(engine), Layer.provide(client)),
        Logger.layer([logger]),
        Layer.succeed(References.MinimumLogLevel, "All")
      ),
      { observability: false }
    )
    const ana = await credsync.createUserIdentity({ userIdentityId: "seam-facade-ana" })
    await credsync.launchEnrollmentAutomation({ userIdentityId: ana.id, managerId: env.managerId, automationId: "auto-1" })
    await credsync.drain()
    const remote = Identity.automation(await credsync.get(ana.id), "auto-1")?.remote
    assert.isDefined(remote)

    const now = new Date().toISOString()
    const body = JSON.stringify({
      event_id: "evt-1",
      event_type: "enrollment_automation.deleted",
      workspace_id: env.workspaceId,
      created_at: now,
      occurred_at: now,
      enrollment_automation_id: remote
    })
    const signed = (b: string, s: Redacted.Redacted<string> = secret, at = Date.now()) => ({ body: b, headers: Webhooks.headers(s, `msg_${Math.random()}`, b, at) })
    const nextDue = () => Effect.runPromise(store.nextDue("any", Number.MAX_SAFE_INTEGER))
    const quiet = await nextDue()
    const eventsBefore = (await credsync.events({ limit: 1_000 })).events.length

    const refused = [
      ["forged", signed(body, Webhooks.newSecret()), "Unauthenticated"],
      ["tampered", { ...signed(body), body: body.replace("evt-1", "evt-2") }, "Unauthenticated"],
      ["stale", signed(body, secret, Date.now() - 10 * 60_000), "Stale"],
      ["unsigned", { body, headers: {} }, "Unauthenticated"]
    ] as const
    for (const [what, request, reason] of refused) {
      const e = await rejection(credsync.ingestSeamWebhook(request))
      assert.deepInclude(e, { _tag: "CallbackRejected", provider: "seam", reason }, what)
      assert.deepStrictEqual(await nextDue(), quiet, `${what}: nothing queued`)
    }
    assert.strictEqual((await credsync.events({ limit: 1_000 })).events.length, eventsBefore)

    const taken = await credsync.ingestSeamWebhook(signed(body))
    assert.deepStrictEqual(taken, { observations: 1, identities: [Ids.UserIdentityId.make(ana.id)], ignored: 0 })
    const queued = await nextDue()
    assert.isTrue(queued._tag === "Some" && (quiet._tag === "None" || queued.value <= quiet.value))

    // an event type that needs no reconcile is taken and ignored (and logged)
    const other = await credsync.ingestSeamWebhook(signed(JSON.stringify({ ...JSON.parse(body), event_type: "acs_user.created", acs_user_id: "x" })))
    assert.deepStrictEqual(other, { observations: 0, identities: [], ignored: 0 })
    assert.isTrue(lines.some((l) => l.includes("Seam webhook acs_user.created ignored")))

    // a client given no HID intake says so
    const hid = await rejection(credsync.ingestHidOrigo({ headers: {}, body: "[]" }))
    assert.deepInclude(hid, { _tag: "CallbackRejected", provider: "hid-origo", reason: "NotConfigured" })

    assert.isAbove(lines.length, 0)
    for (const line of lines) {
      assert.notInclude(line, env.key)
      assert.notInclude(line, Redacted.value(secret))
    }
    await credsync.close()
  })
})
