import { createServer } from "node:http"
import { Ids, type Observation } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { OrigoClient, OrigoEvents } from "../src/index.js"
import { API_KEY, card, Fake, origoManager, stack, system } from "./harness.js"

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
  const cm = yield* origoManager
  const events = yield* OrigoEvents.OrigoEvents
  const rx = yield* receiver
  yield* OrigoEvents.subscribe(client, { url: rx.url, apiKey: Redacted.make(API_KEY) })
  const identity = Ids.UserIdentityId.make(`ident-ev-${Math.random().toString(36).slice(2)}`)
  const user = yield* cm.ensureUser(system, { id: identity })
  return { fake, client, cm, events, rx, identity, user }
})

const batch = (events: unknown, apiKey = API_KEY) => ({
  headers: { "content-type": "application/cloudevents-batch+json", "x-api-key": apiKey },
  body: JSON.stringify(events)
})

/** A CloudEvent as HID posts it (envelope of public receivers' DTOs). */
const event = (type: string, data: Record<string, unknown>) => ({
  specversion: "1.0",
  id: crypto.randomUUID(),
  type,
  source: "https://ma.api.assaabloy.com/credential-management/customer/1234567",
  time: "2026-11-28T10:00:00.000Z",
  datacontenttype: "application/json",
  data: { organizationId: "1234567", sourceTimestamp: "2026-11-28T10:00:00.000Z", ...data }
})

/**
 * Events shaped as public code that handles HID's callbacks reads them: ids as strings, the credential's `mid` and
 * `cardNumber` as numbers, statuses prefixed with the resource.
 */
const evidence = {
  invitationPending: event("com.origo.mi.invitation", {
    userId: "4711",
    invitationId: "16247463",
    invitationCode: "BPEX-LQTC-4E33-QT6N",
    invitationExpiryMin: 2880,
    status: "INVITATION_PENDING"
  }),
  invitationAcknowledged: event("com.origo.mi.invitation", { userId: "4711", invitationId: "16247463", status: "INVITATION_ACKNOWLEDGED" }),
  invitationExpired: event("com.origo.mi.invitation", { userId: "4711", invitationId: "16247463", status: "INVITATION_EXPIRED" }),
  endpointActive: event("com.origo.mi.endpoint", {
    userId: "4711",
    endpointId: "90210",
    invitationId: "16247463",
    invitationCode: "BPEX-LQTC-4E33-QT6N",
    invitationStatus: "INVITATION_ACKNOWLEDGED",
    osVersion: "17.4",
    endpointModel: "iPhone15,2",
    status: "ENDPOINT_ACTIVE"
  }),
  endpointInactive: event("com.origo.mi.endpoint", { userId: "4711", endpointId: "90210", status: "CREDENTIALCONTAINER_INACTIVE" }),
  credential: (status: string) =>
    event("com.origo.mi.credential", {
      userId: "4711",
      mid: 304530,
      endpointId: "90210",
      invitationId: "16247463",
      cardNumber: 56,
      midTypeId: "MID-SUB-CRD_FTPN_644245",
      orderId: "",
      status
    }),
  user: (status: string) => event("com.origo.mi.user", { userId: "4711", givenName: "Ana", familyName: "Example", status })
}

/** Ingests fixtures about HID user 4711, known locally as `ident-4711`, and checks HID was not asked anything. */
const ingestKnown = (events: ReadonlyArray<unknown>) =>
  Effect.gen(function* () {
    const fake = yield* Fake
    const client = yield* OrigoClient.OrigoClient
    const intake = yield* OrigoEvents.OrigoEvents
    client.users.remember("4711", "ident-4711")
    const before = fake.controls.stats().apiRequests
    const out = yield* intake.ingest(batch(events))
    assert.strictEqual(fake.controls.stats().apiRequests, before, "no call to HID")
    return out
  })

/** An observation without its manager and time, for comparing. */
const strip = (o: Observation.Observation): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([k]) => k !== "managerId" && k !== "at"))

describe("OrigoEvents: HID's events as public code shows them", () => {
  it.effect("com.origo.mi.invitation: INVITATION_PENDING and INVITATION_EXPIRED are reported, INVITATION_ACKNOWLEDGED waits for the endpoint", () =>
    Effect.gen(function* () {
      const out = yield* ingestKnown([evidence.invitationPending, evidence.invitationAcknowledged, evidence.invitationExpired])
      assert.deepStrictEqual(out.map(strip), [
        { _tag: "InvitationCreated", userIdentityId: "ident-4711", invitation: "16247463" },
        { _tag: "InvitationExpired", userIdentityId: "ident-4711", invitation: "16247463" }
      ])
    }).pipe(Effect.provide(stack()))
  )

  it.effect("com.origo.mi.endpoint: ENDPOINT_ACTIVE names the endpoint (endpointId) and its invitation; CREDENTIALCONTAINER_INACTIVE removes it", () =>
    Effect.gen(function* () {
      const out = yield* ingestKnown([evidence.endpointActive, evidence.endpointInactive])
      assert.deepStrictEqual(out.map(strip), [
        { _tag: "EndpointActive", userIdentityId: "ident-4711", endpoint: "90210", invitation: "16247463" },
        { _tag: "EndpointRemoved", userIdentityId: "ident-4711", endpoint: "90210" }
      ])
    }).pipe(Effect.provide(stack()))
  )

  it.effect("com.origo.mi.credential: the credential is `mid` (a number); CREDENTIAL_ISSUED is issued on endpointId, RESERVED and REVOKING say nothing new", () =>
    Effect.gen(function* () {
      const out = yield* ingestKnown(["CREDENTIAL_RESERVED", "CREDENTIAL_ISSUED", "CREDENTIAL_REVOKING", "CREDENTIAL_REVOKED"].map(evidence.credential))
      assert.deepStrictEqual(out.map(strip), [
        { _tag: "CredentialIssued", userIdentityId: "ident-4711", credential: "304530", endpoint: "90210" },
        { _tag: "CredentialRevoked", userIdentityId: "ident-4711", credential: "304530" }
      ])
    }).pipe(Effect.provide(stack()))
  )

  it.effect("com.origo.mi.credential: CREDENTIAL_UNBOUND and CREDENTIAL_CREATION_FAILURE are failures the engine repairs", () =>
    Effect.gen(function* () {
      const out = yield* ingestKnown([evidence.credential("CREDENTIAL_UNBOUND"), evidence.credential("CREDENTIAL_CREATION_FAILURE")])
      assert.deepStrictEqual(
        out.map((o) => o._tag),
        ["CredentialFailed", "CredentialFailed"]
      )
      assert.include(out[0]?._tag === "CredentialFailed" ? out[0].reason : "", "UNBOUND")
      assert.include(out[1]?._tag === "CredentialFailed" ? out[1].reason : "", "CREATION_FAILURE")
    }).pipe(Effect.provide(stack()))
  )

  it.effect("com.origo.mi.user: USER_DELETE_INITIATED and USER_DELETED make the engine look again; the user is then forgotten", () =>
    Effect.gen(function* () {
      const client = yield* OrigoClient.OrigoClient
      const out = yield* ingestKnown([evidence.user("USER_CREATED"), evidence.user("USER_DELETE_INITIATED"), evidence.user("USER_DELETED")])
      assert.deepStrictEqual(
        out.map((o) => o._tag),
        ["Changed", "Changed"]
      )
      assert.strictEqual(client.users.identityOf("4711"), undefined)
    }).pipe(Effect.provide(stack()))
  )

  it.effect("the guessed com.origo.mi.credentialcontainer type and wallet-pass events are ignored", () =>
    Effect.gen(function* () {
      const out = yield* ingestKnown([
        event("com.origo.mi.credentialcontainer", { userId: "4711", credentialContainerId: "90210", status: "ACTIVE" }),
        event("origo.credential-management.events.pass", { userId: "4711", id: "p1", status: "PASS_ACTIVE" })
      ])
      assert.deepStrictEqual(out, [])
    }).pipe(Effect.provide(stack()))
  )
})

describe("OrigoEvents: HID's budget", () => {
  it.effect("a batch of 320 events about HID users credsync does not manage costs no HID call and reports nothing", () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      const intake = yield* OrigoEvents.OrigoEvents
      const foreign = Array.from({ length: 320 }, (_, i) => {
        const userId = String(500_000 + (i % 280))
        return i % 2 === 0
          ? event("com.origo.mi.user", { userId, status: "USER_CREATED" })
          : event("com.origo.mi.credential", { userId, mid: 900_000 + i, endpointId: String(800_000 + i), cardNumber: i, status: "CREDENTIAL_ISSUED" })
      })
      const before = fake.controls.stats()
      const out = yield* intake.ingest(batch(foreign))
      assert.deepStrictEqual(out, [])
      assert.strictEqual(fake.controls.stats().apiRequests, before.apiRequests)
      assert.strictEqual(fake.controls.stats().tokensIssued, before.tokensIssued)
    }).pipe(Effect.provide(stack()))
  )

  it.effect("a user the directory does not know is resolved through the host's lookup (the engine's store), never through HID", () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      const client = yield* OrigoClient.OrigoClient
      const asked: Array<string> = []
      const intake = yield* OrigoEvents.make(client, {
        system,
        authentication: { _tag: "ApiKey", apiKey: Redacted.make(API_KEY) },
        lookup: (hidUser) =>
          Effect.sync(() => {
            asked.push(hidUser)
            return hidUser === "4711" ? Ids.UserIdentityId.make("ident-4711") : undefined
          })
      })
      const before = fake.controls.stats().apiRequests
      const first = yield* intake.ingest(batch([evidence.endpointActive, evidence.user("USER_CREATED"), event("com.origo.mi.user", { userId: "1", status: "USER_CREATED" })]))
      assert.deepStrictEqual(first.map((o) => o._tag), ["EndpointActive"])
      // one lookup per user and batch; a known user is then remembered
      assert.deepStrictEqual(asked, ["4711", "1"])
      yield* intake.ingest(batch([evidence.credential("CREDENTIAL_ISSUED")]))
      assert.deepStrictEqual(asked, ["4711", "1"])
      assert.strictEqual(client.users.identityOf("4711"), "ident-4711")
      assert.strictEqual(fake.controls.stats().apiRequests, before)
    }).pipe(Effect.provide(stack()))
  )

  it.effect("polling skips users credsync does not manage without a call", () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      const client = yield* OrigoClient.OrigoClient
      const intake = yield* OrigoEvents.OrigoEvents
      const stranger = yield* client.createUser({ externalId: "someone-elses" })
      const before = fake.controls.stats().apiRequests
      assert.deepStrictEqual(yield* intake.poll([Ids.ProviderRef.make(stranger.id)]), [])
      assert.strictEqual(fake.controls.stats().apiRequests, before)
    }).pipe(Effect.provide(stack()))
  )
})

describe("OrigoEvents over the fake", () => {
  it.live("subscribes with a filter and an X-API-Key, and turns HID's deliveries into observations for the user's identity", () =>
    Effect.gen(function* () {
      const { fake, cm, events, rx, identity, user } = yield* setup
      const inv = yield* cm.invite(system, user)
      const { containerId } = fake.controls.redeem(inv.code)
      const endpoint = Ids.ProviderRef.make(containerId)
      const cred = yield* cm.issue(system, { user, endpoint, card })
      fake.controls.settle()
      yield* Effect.promise(() => fake.controls.callbacksIdle())
      assert.isAbove(rx.captured.length, 0)
      assert.isTrue(rx.captured.every((d) => d.headers["x-api-key"] === API_KEY))
      const observations = []
      for (const delivery of rx.captured) observations.push(...(yield* events.ingest(delivery)))
      assert.isTrue(observations.every((o) => "userIdentityId" in o && o.userIdentityId === identity))
      const tags = observations.map((o) => o._tag)
      assert.includeMembers(tags, ["InvitationCreated", "EndpointActive", "CredentialIssued"])
      const active = observations.find((o) => o._tag === "EndpointActive")
      assert.deepInclude(active, { endpoint, invitation: inv.ref })
      const issued = observations.find((o) => o._tag === "CredentialIssued")
      assert.deepInclude(issued, { credential: cred.ref, endpoint })
      // the registration references a filter of the statuses the engine acts on
      const [registration] = fake.controls.registrations()
      assert.strictEqual(registration?.apiKey, API_KEY)
      const filter = fake.controls.filters().find((f) => f.id === registration?.filterId)
      assert.deepStrictEqual(filter?.filterSet, [...OrigoEvents.defaultFilterSet])
    }).pipe(Effect.provide(stack()))
  )

  it.live("registrations can be listed and removed; subscribing again replaces the one for the same URL", () =>
    Effect.gen(function* () {
      const { fake, client, rx } = yield* setup
      const [first] = yield* client.listCallbacks()
      assert.strictEqual(first?.url, rx.url)
      assert.strictEqual(first?.authenticationType, "X-API-Key")
      const again = yield* OrigoEvents.subscribe(client, { url: rx.url, apiKey: Redacted.make("a-new-key"), filterSet: ["CREDENTIAL_ISSUED"] })
      const listed = yield* client.listCallbacks()
      assert.deepStrictEqual(listed.map((r) => r.id), [again.callback.id])
      assert.deepStrictEqual(fake.controls.filters().map((f) => f.filterSet), [["CREDENTIAL_ISSUED"]])
      yield* client.deleteCallback(again.callback.id)
      assert.deepStrictEqual(yield* client.listCallbacks(), [])
      // removing what is gone is done
      yield* client.deleteCallback(again.callback.id)
    }).pipe(Effect.provide(stack()))
  )

  it.live("rejects unauthenticated, mistyped and malformed callbacks, naming the field", () =>
    Effect.gen(function* () {
      const { events } = yield* setup
      const good = [evidence.credential("CREDENTIAL_ISSUED")]
      const wrong = yield* Effect.flip(events.ingest(batch(good, "nope")))
      assert.deepInclude(wrong, { _tag: "CallbackRejected", reason: "Unauthenticated" })
      const missing = yield* Effect.flip(events.ingest({ headers: { "content-type": "application/cloudevents-batch+json" }, body: JSON.stringify(good) }))
      assert.strictEqual(missing.reason, "Unauthenticated")
      const mistyped = yield* Effect.flip(events.ingest({ ...batch(good), headers: { ...batch(good).headers, "content-type": "text/plain" } }))
      assert.strictEqual(mistyped.reason, "UnsupportedMediaType")
      const notJson = yield* Effect.flip(events.ingest({ ...batch(good), body: "{" }))
      assert.deepInclude(notJson, { reason: "Malformed", field: "body" })
      const noMid = good.map((e) => ({ ...e, data: { ...e.data, mid: undefined } }))
      const bad = yield* Effect.flip(events.ingest(batch(noMid)))
      assert.strictEqual(bad.reason, "Malformed")
      assert.include(bad._tag === "CallbackRejected" ? (bad.field ?? "") : "", "mid")
      const noType = good.map(({ type: _type, ...rest }) => rest)
      const bad2 = yield* Effect.flip(events.ingest(batch(noType)))
      assert.strictEqual(bad2.reason, "Malformed")
      assert.include(bad2._tag === "CallbackRejected" ? (bad2.field ?? "") : "", "type")
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
      const cred = yield* cm.issue(system, { user, endpoint, card })
      fake.controls.settle()
      yield* Effect.promise(() => fake.controls.callbacksIdle())
      assert.strictEqual(rx.captured.length, base + 2, "nothing more was delivered")
      const first = yield* events.poll([user])
      const tags = first.map((o) => o._tag)
      assert.includeMembers(tags, ["EndpointActive", "CredentialIssued"])
      const second = yield* events.poll([user])
      assert.deepStrictEqual(second, [], "a second poll reports only changes")
      fake.controls.unbindCredential(cred.ref)
      assert.deepStrictEqual((yield* events.poll([user])).map((o) => o._tag), ["CredentialFailed"])
      fake.controls.terminateContainer(endpoint)
      const fourth = yield* events.poll([user])
      assert.includeMembers(fourth.map((o) => o._tag), ["EndpointRemoved"])
    }).pipe(Effect.provide(stack()))
  )
})
