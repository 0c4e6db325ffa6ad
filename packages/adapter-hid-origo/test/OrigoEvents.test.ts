import { createServer } from "node:http"
import { CredentialManager, Ids } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { OrigoClient, OrigoEvents } from "../src/index.js"
import { card, Fake, stack, system } from "./harness.js"

interface Captured {
  readonly headers: Record<string, string | ReadonlyArray<string> | undefined>
  readonly body: string
}

/** A loopback receiver that records HID's deliveries verbatim and answers 200. */
const receiver = Effect.acquireRelease(
  Effect.promise(
    () =>
      new Promise<{ url: string; captured: Array<Captured>; close: () => Promise<void> }>((resolve) => {
        const captured: Array<Captured> = []
        const server = createServer((req, res) => {
          const chunks: Array<Buffer> = []
          req.on("data", (c: Buffer) => chunks.push(c))
          req.on("end", () => {
            captured.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") })
            res.writeHead(200).end()
          })
        })
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          const port = typeof address === "object" && address !== null ? address.port : 0
          resolve({
            url: `http://127.0.0.1:${port}/hid`,
            captured,
            close: () => new Promise<void>((r) => server.close(() => r()))
          })
        })
      })
  ),
  (r) => Effect.promise(() => r.close())
)

const setup = Effect.gen(function* () {
  const fake = yield* Fake
  const client = yield* OrigoClient.OrigoClient
  const cm = yield* CredentialManager.CredentialManager
  const events = yield* OrigoEvents.OrigoEvents
  const rx = yield* receiver
  yield* client.registerCallback({ url: rx.url, header: { name: "X-Callback-Secret", value: Redacted.make("callback-secret") } })
  const identity = Ids.UserIdentityId.make(`ident-ev-${Math.random().toString(36).slice(2)}`)
  const user = yield* cm.ensureUser(system, { id: identity })
  return { fake, client, cm, events, rx, identity, user }
})

const batch = (events: unknown, secret = "callback-secret") => ({
  headers: { "content-type": "application/cloudevents-batch+json", "x-callback-secret": secret },
  body: JSON.stringify(events)
})

describe("OrigoEvents", () => {
  it.live("turns delivered CloudEvents batches into observations for the user's identity", () =>
    Effect.gen(function* () {
      const { fake, cm, events, rx, identity, user } = yield* setup
      const inv = yield* cm.invite(system, user)
      const { containerId } = fake.controls.redeem(inv.code)
      const endpoint = Ids.ProviderRef.make(containerId)
      const cred = yield* cm.issue(system, { user, endpoint, card })
      fake.controls.settle()
      yield* Effect.promise(() => fake.controls.callbacksIdle())
      const observations = []
      for (const delivery of rx.captured) observations.push(...(yield* events.ingest(delivery)))
      assert.isTrue(observations.every((o) => "userIdentityId" in o && o.userIdentityId === identity))
      const tags = observations.map((o) => o._tag)
      assert.includeMembers(tags, ["InvitationCreated", "EndpointActive", "CredentialIssued"])
      const active = observations.find((o) => o._tag === "EndpointActive")
      assert.deepInclude(active, { endpoint, invitation: inv.ref })
      const issued = observations.find((o) => o._tag === "CredentialIssued")
      assert.deepInclude(issued, { credential: cred.ref, endpoint })
    }).pipe(Effect.provide(stack()))
  )

  it.live("rejects unauthenticated, mistyped and malformed callbacks, naming the field", () =>
    Effect.gen(function* () {
      const { fake, cm, events, user } = yield* setup
      yield* cm.invite(system, user)
      const good = fake.controls.events().filter((e) => e.type === "com.origo.mi.invitation")
      assert.isAbove(good.length, 0)
      const wrong = yield* Effect.flip(events.ingest(batch(good, "nope")))
      assert.deepInclude(wrong, { _tag: "CallbackRejected", reason: "Unauthenticated" })
      const missing = yield* Effect.flip(events.ingest({ headers: { "content-type": "application/cloudevents-batch+json" }, body: JSON.stringify(good) }))
      assert.strictEqual(missing.reason, "Unauthenticated")
      const mistyped = yield* Effect.flip(events.ingest({ ...batch(good), headers: { ...batch(good).headers, "content-type": "text/plain" } }))
      assert.strictEqual(mistyped.reason, "UnsupportedMediaType")
      const notJson = yield* Effect.flip(events.ingest({ ...batch(good), body: "{" }))
      assert.deepInclude(notJson, { reason: "Malformed", field: "body" })
      const noData = good.map((e) => ({ ...e, data: { ...e.data, invitationId: undefined } }))
      const bad = yield* Effect.flip(events.ingest(batch(noData)))
      assert.strictEqual(bad.reason, "Malformed")
      assert.include(bad._tag === "CallbackRejected" ? (bad.field ?? "") : "", "invitationId")
      const noType = good.map(({ type: _type, ...rest }) => rest)
      const bad2 = yield* Effect.flip(events.ingest(batch(noType)))
      assert.strictEqual(bad2.reason, "Malformed")
      assert.include(bad2._tag === "CallbackRejected" ? (bad2.field ?? "") : "", "type")
      // Unknown event types are ignored rather than rejected.
      const ignored = yield* events.ingest(batch([{ ...good[0], type: "com.origo.mi.pass" }]))
      assert.deepStrictEqual(ignored, [])
    }).pipe(Effect.provide(stack()))
  )

  it.live("dropped and duplicated deliveries: duplicates are harmless, polling recovers what was dropped", () =>
    Effect.gen(function* () {
      const { fake, cm, events, rx, user } = yield* setup
      yield* Effect.promise(() => fake.controls.callbacksIdle())
      const base = rx.captured.length
      fake.controls.setCallbackDelivery("duplicate")
      const inv = yield* cm.invite(system, user)
      yield* Effect.promise(() => fake.controls.callbacksIdle())
      assert.strictEqual(rx.captured.length, base + 2)
      const a = yield* events.ingest(rx.captured[base]!)
      const b = yield* events.ingest(rx.captured[base + 1]!)
      assert.strictEqual(a[0]?._tag, "InvitationCreated")
      assert.deepStrictEqual(a, b)

      fake.controls.setCallbackDelivery("drop")
      const endpoint = Ids.ProviderRef.make(fake.controls.redeem(inv.code).containerId)
      yield* cm.issue(system, { user, endpoint, card })
      fake.controls.settle()
      yield* Effect.promise(() => fake.controls.callbacksIdle())
      assert.strictEqual(rx.captured.length, base + 2, "nothing more was delivered")
      const first = yield* events.poll([user])
      const tags = first.map((o) => o._tag)
      assert.includeMembers(tags, ["EndpointActive", "CredentialIssued"])
      const second = yield* events.poll([user])
      assert.deepStrictEqual(second, [], "a second poll reports only changes")
      fake.controls.terminateContainer(endpoint)
      const third = yield* events.poll([user])
      assert.includeMembers(third.map((o) => o._tag), ["EndpointRemoved", "CredentialRevoked"])
    }).pipe(Effect.provide(stack()))
  )
})
