/**
 * HID Origo through the Promise facade (no Effect in the host): callbacks verified by
 * `OrigoEvents.intakeLayer` and handed to the engine; a forged one refused and changing nothing;
 * wrong HID credentials visible in the logs and on the identity; no secret in any log line.
 */
import { MemoryAccessControl, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { Client, Engine, Identity, Ids, Store } from "@credsync/core"
import { HidOrigoFake } from "@credsync/hid-origo-fake"
import { Cause, Effect, Layer, Logger, Redacted, References, Schedule } from "effect"
import { afterEach, assert, beforeEach, describe, it } from "vitest"
import { OrigoClient, OrigoCredentialManager, OrigoEvents } from "../src/index.js"
import { card, configFor, partNumbers, system } from "./harness.js"

const callbackSecret = "callback-secret-4f1d9a"
const acs = Simulator.defaultAcsId

let fake: HidOrigoFake.RunningFake
beforeEach(async () => {
  fake = await HidOrigoFake.start()
})
afterEach(async () => {
  await fake.stop()
})

/** Every log line, whole (message, annotations, cause), as text. */
const capture = () => {
  const lines: Array<{ readonly level: string; readonly text: string }> = []
  const logger = Logger.make((o) => {
    lines.push({
      level: o.logLevel,
      text: JSON.stringify({ message: o.message, annotations: o.fiber.getRef(References.CurrentLogAnnotations), cause: Cause.pretty(o.cause) })
    })
  })
  return { lines, layer: Layer.mergeAll(Logger.layer([logger]), Layer.succeed(References.MinimumLogLevel, "All")) }
}

/** The host's setup: HID Origo as the credential manager, its callbacks taken by the facade. */
const host = (clientSecret: string, logs: ReturnType<typeof capture>) => {
  const sim = Simulator.make() // plays the ACS only
  const store = MemoryStore.make()
  const origo = OrigoClient.layer(configFor(fake, { clientSecret: Redacted.make(clientSecret) }))
  const engine = Engine.layer({ retry: Schedule.recurs(1), stuckAfter: 2 }).pipe(
    Layer.provide(Layer.mergeAll(OrigoCredentialManager.layer({ system, partNumbers }), MemoryAccessControl.layer(sim), Layer.succeed(Store.Store, Store.Store.of(store)))),
    Layer.provide(origo)
  )
  const intake = OrigoEvents.intakeLayer({
    system,
    authentication: { _tag: "Header", name: "X-Callback-Secret", secret: Redacted.make(callbackSecret) }
  }).pipe(Layer.provide(origo))
  const credsync = Client.make(Layer.mergeAll(engine, intake, logs.layer), { observability: false })
  return { sim, store, credsync }
}

const delivery = (events: ReadonlyArray<unknown>, secret = callbackSecret) => ({
  headers: { "content-type": "application/cloudevents-batch+json", "x-callback-secret": secret },
  body: JSON.stringify(events)
})

const setUp = async (h: ReturnType<typeof host>, name: string) => {
  const acsUser = await Effect.runPromise(h.sim.acs.createUser(acs, { fullName: name }))
  const person = await h.credsync.createUserIdentity({ userIdentityId: `hid-${name}` })
  await h.credsync.linkAcsUser({ userIdentityId: person.id, acsUserId: acsUser.id, acsSystemId: acs })
  await h.credsync.launchEnrollmentAutomation({ userIdentityId: person.id, managerId: system })
  await h.credsync.createSyncCredential({ userIdentityId: person.id, acsUserId: acsUser.id, managerId: system, ...card })
  await h.credsync.phoneOnline({ userIdentityId: person.id, phoneId: `${name}-phone`, deviceType: "ios_phone" })
  return person.id
}

const due = (store: Store.StoreShape) => Effect.runPromise(Effect.map(store.nextDue("any", Number.MAX_SAFE_INTEGER), (o) => o._tag))

describe("HID Origo through the Promise facade", () => {
  it("takes verified callbacks, refuses forged ones (changing nothing), and logs no secret", async () => {
    const logs = capture()
    const h = host(fake.account.clientSecret, logs)
    const id = await setUp(h, "ana")
    await h.credsync.drain()
    const code = Identity.enrollmentByKey(await h.credsync.get(id), `ana-phone|${system}`)?.code
    assert.isDefined(code)
    fake.controls.redeem(code ?? "")
    await fake.controls.callbacksIdle()
    const events = fake.controls.events()
    assert.isAbove(events.length, 0)

    const before = await h.credsync.events({ limit: 1_000 })
    assert.strictEqual(await due(h.store), "None")
    const forged = await h.credsync.ingestHidOrigo(delivery(events, "not-the-secret")).then(
      () => undefined,
      (e: unknown) => e
    )
    assert.deepInclude(forged, { _tag: "CallbackRejected", provider: "hid-origo", reason: "Unauthenticated" })
    // nothing changed: no reconcile queued, no event
    assert.strictEqual(await due(h.store), "None")
    assert.strictEqual((await h.credsync.events({ limit: 1_000 })).events.length, before.events.length)

    const taken = await h.credsync.ingestHidOrigo(delivery(events))
    assert.deepStrictEqual(taken.identities, [Ids.UserIdentityId.make(id)])
    assert.strictEqual(await due(h.store), "Some")
    await h.credsync.drain()
    assert.isTrue((await h.credsync.get(id)).enrollments.some((e) => e.status === "enrolled"))

    const malformed = await h.credsync.ingestHidOrigo({ ...delivery(events), body: "{" }).then(
      () => undefined,
      (e: unknown) => e
    )
    assert.deepInclude(malformed, { _tag: "CallbackRejected", reason: "Malformed", field: "body" })

    assert.isAbove(logs.lines.length, 0)
    for (const line of logs.lines) {
      assert.notInclude(line.text, fake.account.clientSecret)
      assert.notInclude(line.text, callbackSecret)
    }
    await h.credsync.close()
  })

  it("wrong HID credentials: visible as warnings, then a stuck identity with the cause; no secret in any line", async () => {
    const logs = capture()
    const wrong = "wrong-client-secret-77c2"
    const h = host(wrong, logs)
    const id = await setUp(h, "ben")
    for (let i = 0; i < 3; i++) await h.credsync.reconcile(Ids.UserIdentityId.make(id))
    assert.isTrue(logs.lines.some((l) => l.level === "Warn" && l.text.includes("Unauthorized")))
    const [stuck] = await h.credsync.stuck()
    assert.strictEqual(stuck?.id, id)
    assert.match(stuck?.cause.message ?? "", /Unauthorized/)
    assert.deepStrictEqual(
      (await h.credsync.get(id)).stuck?.cause.code,
      "reconcile_failing"
    )
    for (const line of logs.lines) {
      assert.notInclude(line.text, wrong)
      assert.notInclude(line.text, fake.account.clientSecret)
    }
    await h.credsync.close()
  })
})
