import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Simulator } from "@credsync/adapter-memory"
import { CredentialManager, Ids, PortError } from "@credsync/core"
import { SimClient, SimControls, SimServer } from "@credsync/sim-server"
import { accessControlSuite, credentialManagerSuite } from "@credsync/testkit"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"

const servers: Array<Promise<SimServer.RunningServer>> = []
const serve = (sim: Simulator.Simulator, options?: SimServer.Options) => {
  const s = SimServer.start(sim, options)
  servers.push(s)
  return s
}
afterAll(async () => {
  await Promise.all(servers.map(async (s) => (await s).close()))
})

const clientLayer = (server: Promise<SimServer.RunningServer>) =>
  Layer.unwrap(Effect.map(Effect.promise(() => server), (s) => SimClient.layer(s.url)))
const controls = (server: Promise<SimServer.RunningServer>) => Effect.map(Effect.promise(() => server), (s) => SimControls.make(s.url))

const cmHarness = (sim: Simulator.Simulator, settle: boolean) => {
  const server = serve(sim)
  return {
    layer: clientLayer(server),
    manager: Simulator.defaultManagerId,
    redeem: (code: string) => Effect.asVoid(Effect.flatMap(controls(server), (c) => c.redeem(code))),
    settle: () => (settle ? Effect.flatMap(controls(server), (c) => c.completeIssuances) : Effect.void)
  }
}

credentialManagerSuite("simulator over HTTP (immediate issuance)", cmHarness(Simulator.make({ seed: 11 }), false))
credentialManagerSuite(
  "simulator over HTTP (asynchronous issuance)",
  cmHarness(Simulator.make({ seed: 12, issueDelay: 60_000 }), true)
)
accessControlSuite("simulator over HTTP", {
  layer: clientLayer(serve(Simulator.make({ seed: 13 }))),
  acsSystemId: Simulator.defaultAcsId
})

const card = { cardFormat: "H10301", facilityCode: "7" }
const identity = Ids.UserIdentityId.make("uid-1")

describe("SimClient errors", () => {
  it.effect("a provider error comes back with the same reason", () =>
    Effect.gen(function* () {
      const server = serve(Simulator.make({ seed: 21 }))
      const { manager } = yield* Effect.flatMap(Effect.promise(() => server), (s) => SimClient.make(s.url))
      const e = yield* Effect.flip(manager.ensureUser(Ids.AcsSystemId.make("nope"), { id: identity }))
      assert.strictEqual(e.reason, "NotFound")
      assert.strictEqual(e.port, "CredentialManager")
      assert.strictEqual(e.method, "ensureUser")
    })
  )

  it.effect("transient and rate-limit faults keep their reason and retryAfter", () =>
    Effect.gen(function* () {
      const sim = Simulator.make({ seed: 22 })
      const s = yield* Effect.promise(() => serve(sim))
      const { manager } = yield* SimClient.make(s.url)
      const c = SimControls.make(s.url)
      yield* c.setFaults({ ops: { ensureUser: { transient: 1 } } })
      assert.strictEqual((yield* Effect.flip(manager.ensureUser(Simulator.defaultManagerId, { id: identity }))).reason, "Transient")
      yield* c.setFaults({ ops: { ensureUser: { rateLimited: 1, retryAfter: 1234 } } })
      const limited = yield* Effect.flip(manager.ensureUser(Simulator.defaultManagerId, { id: identity }))
      assert.strictEqual(limited.reason, "RateLimited")
      assert.strictEqual(limited.retryAfter, 1234)
    })
  )

  it.effect("a lost response to a mutating call is Ambiguous, and the change did happen", () =>
    Effect.gen(function* () {
      const sim = Simulator.make({ seed: 23 })
      const s = yield* Effect.promise(() => serve(sim))
      const { manager } = yield* SimClient.make(s.url)
      const c = SimControls.make(s.url)
      const m = Simulator.defaultManagerId
      const user = yield* manager.ensureUser(m, { id: identity })
      const inv = yield* manager.invite(m, user)
      const endpoint = Ids.ProviderRef.make(yield* c.redeem(inv.code))
      yield* c.setFaults({ ops: { issue: { lostResponse: 1 } } })
      const e = yield* Effect.flip(manager.issue(m, { user, endpoint, card }))
      assert.strictEqual(e.reason, "Ambiguous")
      yield* c.setFaults({})
      const view = yield* manager.observe(m, user)
      assert.strictEqual(view.credentials.filter(CredentialManager.isLive).length, 1)
      const truth = yield* c.truth
      assert.strictEqual(truth.calls.issue, 1)
      assert.strictEqual(truth.credentials.length, 1)
    })
  )

  it.effect("the lost response can also be served as an Ambiguous envelope", () =>
    Effect.gen(function* () {
      const sim = Simulator.make({ seed: 24, faults: { ops: { ensureUser: { lostResponse: 1 } } } })
      const s = yield* Effect.promise(() => serve(sim, { dropLostResponses: false }))
      const { manager } = yield* SimClient.make(s.url)
      const e = yield* Effect.flip(manager.ensureUser(Simulator.defaultManagerId, { id: identity }))
      assert.strictEqual(e.reason, "Ambiguous")
      assert.match(e.message, /lost|ambiguous/i)
    })
  )

  it.effect("no server: Transient (nothing was sent), for reads and writes alike", () =>
    Effect.gen(function* () {
      const sim = Simulator.make({ seed: 25 })
      const s = yield* Effect.promise(() => SimServer.start(sim))
      const { manager, acs } = yield* SimClient.make(s.url)
      yield* Effect.promise(() => s.close())
      const m = Simulator.defaultManagerId
      // the read goes first: it may meet the pooled keep-alive connection the server just closed
      // (a write would then be Ambiguous: it cannot know the request did not arrive)
      const r = yield* Effect.flip(acs.observe(Simulator.defaultAcsId, { users: [], cardNumbers: [] }))
      assert.strictEqual(r.reason, "Transient")
      const w = yield* Effect.flip(manager.ensureUser(m, { id: identity }))
      assert.strictEqual(w.reason, "Transient", w.message)
      const made = yield* Effect.flip(SimClient.make(s.url))
      assert.strictEqual(made.reason, "Transient")
    })
  )

  it.effect("responses are decoded: a malformed one is Ambiguous for a write, Unknown for a read", () =>
    Effect.gen(function* () {
      // a server that answers every route with an envelope whose value fits none of them
      const bogus = createServer((req, res) => {
        const systems = req.url === "/v1/managerSystems" || req.url === "/v1/acsSystems"
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify({ ok: true, value: systems ? [] : { surprise: 1 } }))
      })
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((resolve) => bogus.listen(0, "127.0.0.1", () => resolve()))),
        () => Effect.promise(() => new Promise<void>((resolve) => bogus.close(() => resolve())))
      )
      const address: AddressInfo | string | null = bogus.address()
      assert(typeof address === "object" && address !== null)
      const { manager } = yield* SimClient.make(`http://127.0.0.1:${address.port}`)
      const m = Simulator.defaultManagerId
      const ref = Ids.ProviderRef.make("u1")
      const write = yield* Effect.flip(manager.invite(m, ref))
      assert.strictEqual(write.reason, "Ambiguous")
      const read = yield* Effect.flip(manager.observe(m, ref))
      assert.strictEqual(read.reason, "Unknown")
      assert.instanceOf(read, PortError.PortError)
    }).pipe(Effect.scoped)
  )

  it.effect("the server refuses a request body that does not match the route", () =>
    Effect.gen(function* () {
      const s = yield* Effect.promise(() => serve(Simulator.make({ seed: 26 })))
      const res = yield* Effect.promise(() =>
        fetch(`${s.url}/v1/issue`, { method: "POST", body: JSON.stringify({ manager: "cm_sim" }) }).then((r) =>
          r.json().then((body: unknown) => ({ status: r.status, body }))
        )
      )
      assert.strictEqual(res.status, 400)
      assert.deepInclude(res.body, { ok: false })
    })
  )
})
