import { CredentialManager, Ids, type PortError } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Fiber, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { OrigoClient } from "../src/index.js"
import { card, clientLayer, Fake, fakeLayer, origoManager, stack, system } from "./harness.js"

const client = (options: Parameters<typeof clientLayer>[0] = {}, fake: Parameters<typeof fakeLayer>[0] = {}) =>
  clientLayer(options).pipe(Layer.provideMerge(fakeLayer(fake)))

const reasonOf = <A>(e: Effect.Effect<A, PortError.PortError, never>) => Effect.flip(e)

describe("OrigoClient", () => {
  it.effect("fetches one token, reuses it, and refreshes it before it expires", () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      const c = yield* OrigoClient.OrigoClient
      yield* c.listPartNumbers()
      yield* c.listPartNumbers()
      assert.strictEqual(fake.controls.stats().tokensIssued, 1)
      // 3600 s lifetime, 60 s skew: after 3550 s of the client's clock the cached token is too old.
      yield* TestClock.adjust("3550 seconds")
      yield* c.listPartNumbers()
      assert.strictEqual(fake.controls.stats().tokensIssued, 2)
    }).pipe(Effect.provide(client()))
  )

  it.live("a 401 refreshes the token once and retries; a second 401 is Unauthorized", () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      const c = yield* OrigoClient.OrigoClient
      yield* c.listPartNumbers()
      fake.controls.expireTokens()
      yield* c.listPartNumbers()
      assert.strictEqual(fake.controls.stats().tokensIssued, 2)
      // The fake's clock moving past the lifetime behaves the same.
      fake.controls.advance(3601_000)
      yield* c.listPartNumbers()
      assert.strictEqual(fake.controls.stats().tokensIssued, 3)
      fake.controls.injectFault({ kind: "status", status: 401, times: 2, match: { path: "/part-number" } })
      const err = yield* reasonOf(c.listPartNumbers())
      assert.strictEqual(err.reason, "Unauthorized")
    }).pipe(Effect.provide(client()))
  )

  it.live("wrong client secret is Unauthorized and the secret never appears in the error", () =>
    Effect.gen(function* () {
      const c = yield* OrigoClient.OrigoClient
      const err = yield* reasonOf(c.listPartNumbers())
      assert.strictEqual(err.reason, "Unauthorized")
      assert.notInclude(err.message, "not-the-secret")
      assert.notInclude(JSON.stringify(err.cause ?? null), "not-the-secret")
      assert.notInclude(String(err), "not-the-secret")
    }).pipe(Effect.provide(client({ clientSecret: Redacted.make("not-the-secret") })))
  )

  it.effect("HID's 403 rate limit is RateLimited with a retryAfter; nothing is sent until then; the limit resets", () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      const c = yield* OrigoClient.OrigoClient
      yield* c.listPartNumbers()
      yield* c.listPartNumbers()
      const err = yield* reasonOf(c.listPartNumbers())
      assert.strictEqual(err.reason, "RateLimited")
      const retryAfter = err.retryAfter ?? 0
      assert.isAbove(retryAfter, 0)
      // Other users of the same source may have spent HID's budget: the client holds back, whatever the priority.
      const sent = fake.controls.stats().apiRequests
      const held = yield* reasonOf(c.revokeCredential("1"))
      assert.strictEqual(held.reason, "RateLimited")
      assert.strictEqual(fake.controls.stats().apiRequests, sent)
      fake.controls.resetRateLimit()
      yield* TestClock.adjust(retryAfter)
      yield* c.listPartNumbers()
    }).pipe(Effect.provide(client({}, { rateLimit: { limit: 2, windowMs: 300_000 } })))
  )

  it.effect("HID's budget is spent by priority: polling stops first, the engine's reads next, issue and revoke last", () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      const c = yield* OrigoClient.OrigoClient
      const user = yield* c.createUser({ externalId: "budget" }) // high: 1 of 10
      // low (polling) may fill 70% of the window: 6 more
      for (let i = 0; i < 6; i++) yield* c.getUser(user.id, { priority: "low" })
      const sent = fake.controls.stats().apiRequests
      const low = yield* reasonOf(c.getUser(user.id, { priority: "low" }))
      assert.strictEqual(low.reason, "RateLimited")
      assert.isAbove(low.retryAfter ?? 0, 0)
      assert.strictEqual(fake.controls.stats().apiRequests, sent, "refused without calling HID")
      // normal (the engine's observe) may fill 90%: 2 more
      yield* c.getUser(user.id)
      yield* c.getUser(user.id)
      assert.strictEqual((yield* reasonOf(c.getUser(user.id))).reason, "RateLimited")
      // high (issue, revoke, invite...) gets the rest
      const inv = yield* c.createInvitation(user.id)
      assert.strictEqual(inv.status, "PENDING")
      assert.strictEqual(yield* c.budgetUsed, 10)
      assert.strictEqual((yield* reasonOf(c.createInvitation(user.id))).reason, "RateLimited")
      // the window slides: the oldest requests leave it and low priority may send again
      yield* TestClock.adjust("300 seconds")
      yield* c.getUser(user.id, { priority: "low" })
    }).pipe(Effect.provide(client({ rateLimit: { limit: 10, windowMs: 300_000 } })))
  )

  it.effect("the client-side limiter waits for a free slot (wait mode)", () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      const c = yield* OrigoClient.OrigoClient
      yield* c.getUser("1").pipe(Effect.ignore)
      const fiber = yield* Effect.forkChild(c.getUser("1").pipe(Effect.ignore))
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 50)))
      assert.strictEqual(fake.controls.stats().apiRequests, 1)
      yield* TestClock.adjust("60 seconds")
      yield* Fiber.join(fiber)
      assert.strictEqual(fake.controls.stats().apiRequests, 2)
    }).pipe(Effect.provide(client({ rateLimit: { limit: 1, windowMs: 60_000, onLimit: "wait" } })))
  )

  it.live("maps 5xx to Transient, a lost GET to Transient, 404 to NotFound, 409 to Conflict", () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      const c = yield* OrigoClient.OrigoClient
      fake.controls.injectFault({ kind: "status", status: 503 })
      assert.strictEqual((yield* reasonOf(c.listPartNumbers())).reason, "Transient")
      fake.controls.injectFault({ kind: "lostResponse" })
      assert.strictEqual((yield* reasonOf(c.listPartNumbers())).reason, "Transient")
      assert.strictEqual((yield* reasonOf(c.getUser("424242"))).reason, "NotFound")
      yield* c.createUser({ externalId: "dup", email: "dup@example.com" })
      const dup = yield* reasonOf(c.createUser({ externalId: "dup-2", email: "dup@example.com" }))
      assert.strictEqual(dup.reason, "Conflict")
      assert.include(dup.message, "DUPLICATE_USER")
      assert.include(JSON.stringify(dup.cause), "uniqueness", "the vendor error is kept as cause")
    }).pipe(Effect.provide(client()))
  )

  it.live("a connection refused before sending is Transient, even for a mutation", () =>
    Effect.gen(function* () {
      const c = yield* OrigoClient.OrigoClient
      const err = yield* reasonOf(c.createUser({ externalId: "x" }))
      assert.strictEqual(err.reason, "Transient")
    }).pipe(
      Effect.provide(
        Layer.effect(
          OrigoClient.OrigoClient,
          OrigoClient.make({
            clientId: "1-OSRV",
            clientSecret: Redacted.make("s"),
            applicationId: "a",
            applicationVersion: "1",
            environment: { idp: "http://127.0.0.1:9", mi: "http://127.0.0.1:9/credential-management" }
          })
        )
      )
    )
  )

  it.live("paginates user search (startIndex 0 read as 1) and walks every page", () =>
    Effect.gen(function* () {
      const c = yield* OrigoClient.OrigoClient
      for (let i = 0; i < 23; i++) yield* c.createUser({ externalId: `page-${i}`, email: `p${i}@example.com` })
      yield* c.createUser({ externalId: "other" })
      const first = yield* c.searchUsers(`externalId sw "page-"`, { startIndex: 0, count: 10 })
      assert.strictEqual(first.totalResults, 23)
      assert.strictEqual(first.startIndex, 1)
      assert.strictEqual(first.users.length, 10)
      const last = yield* c.searchUsers(`externalId sw "page-"`, { startIndex: 21, count: 10 })
      assert.strictEqual(last.users.length, 3)
      const all = yield* c.searchAllUsers(`externalId sw "page-"`, 7)
      assert.strictEqual(all.length, 23)
      assert.strictEqual(new Set(all.map((u) => u.id)).size, 23)
      assert.isTrue(all.every((u) => /^\d+$/.test(u.id)), "ids read from meta.location")
      const byEmail = yield* c.searchUsers(`emails eq "p3@example.com"`)
      assert.deepStrictEqual(byEmail.users.map((u) => u.externalId), ["page-3"])
      const bad = yield* reasonOf(c.searchUsers(`nickname eq "x"`))
      assert.strictEqual(bad.reason, "InvalidInput")
    }).pipe(Effect.provide(client()))
  )

  it.effect("environments: cert and production base URLs; layerConfig reads Config", () =>
    Effect.gen(function* () {
      assert.strictEqual(OrigoClient.environments.cert.mi, "https://cert.mi.api.origo.hidglobal.com/credential-management")
      assert.strictEqual(OrigoClient.environments.production.idp, "https://api.origo.hidglobal.com")
      const prod = yield* Effect.provide(
        Effect.gen(function* () {
          return yield* OrigoClient.OrigoClient
        }),
        OrigoClient.layerConfig().pipe(
          Layer.provide(
            ConfigProvider.layer(
              ConfigProvider.fromEnvRecord({
                HID_ORIGO_CLIENT_ID: "7654321-OSRV-x",
                HID_ORIGO_CLIENT_SECRET: "shh",
                HID_ORIGO_APPLICATION_ID: "HID-A-B",
                HID_ORIGO_APPLICATION_VERSION: "1",
                HID_ORIGO_ENVIRONMENT: "production"
              })
            )
          )
        )
      )
      assert.strictEqual(prod.organizationId, "7654321")
      assert.strictEqual(prod.endpoints.mi, OrigoClient.environments.production.mi)
      const custom = yield* Effect.provide(
        Effect.gen(function* () {
          return yield* OrigoClient.OrigoClient
        }),
        OrigoClient.layerConfig().pipe(
          Layer.provide(
            ConfigProvider.layer(
              ConfigProvider.fromEnvRecord({
                HID_ORIGO_CLIENT_ID: "7654321-OSRV-x",
                HID_ORIGO_CLIENT_SECRET: "shh",
                HID_ORIGO_APPLICATION_ID: "HID-A-B",
                HID_ORIGO_APPLICATION_VERSION: "1",
                HID_ORIGO_ENVIRONMENT: "custom",
                HID_ORIGO_IDP_URL: "http://127.0.0.1:1",
                HID_ORIGO_MI_URL: "http://127.0.0.1:1/credential-management"
              })
            )
          )
        )
      )
      assert.strictEqual(custom.endpoints.idp, "http://127.0.0.1:1")
      const missing = yield* Effect.flip(
        Effect.provide(
          Effect.gen(function* () {
          return yield* OrigoClient.OrigoClient
        }),
          OrigoClient.layerConfig().pipe(
            Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({ HID_ORIGO_CLIENT_ID: "1-x", HID_ORIGO_ENVIRONMENT: "custom" })))
          )
        )
      )
      assert.notInclude(String(missing), "shh")
    })
  )
})

describe("OrigoCredentialManager on the fake", () => {
  it.live("ensureUser finds the identity's user by externalId before creating one", () =>
    Effect.gen(function* () {
      const cm = yield* origoManager
      const c = yield* OrigoClient.OrigoClient
      const existing = yield* c.createUser({ externalId: "ident-1" })
      const ref = yield* cm.ensureUser(system, { id: Ids.UserIdentityId.make("ident-1") })
      assert.strictEqual(ref, existing.id)
      assert.strictEqual(c.users.identityOf(existing.id), "ident-1", "remembered for the event intake")
    }).pipe(Effect.provide(stack()))
  )

  it.live("HID does not keep externalId unique: ensuring a user again (e.g. after a lost answer) never makes a second one", () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      const cm = yield* origoManager
      const id = Ids.UserIdentityId.make("ident-twice")
      fake.controls.injectFault({ kind: "lostResponse", match: { method: "POST", path: /\/users$/ } })
      // no email: nothing else would make HID refuse the second create
      const first = yield* cm.ensureUser(system, { id })
      const second = yield* cm.ensureUser(system, { id })
      assert.strictEqual(first, second)
      assert.strictEqual(fake.controls.snapshot().users.filter((u) => u.externalId === id).length, 1)
    }).pipe(Effect.provide(stack()))
  )

  it.live("409 DUPLICATE_USER is about the email: another system's user with it is not adopted, the identity gets a Conflict", () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      const cm = yield* origoManager
      const c = yield* OrigoClient.OrigoClient
      yield* c.createUser({ externalId: "someone-else", email: "ana@example.com" })
      const err = yield* Effect.flip(cm.ensureUser(system, { id: Ids.UserIdentityId.make("ident-ana"), email: "Ana@example.com" }))
      assert.strictEqual(err.reason, "Conflict")
      assert.include(err.message, "DUPLICATE_USER")
      assert.include(err.message, "credsync did not create")
      assert.notInclude(err.message, "ana@example.com")
      assert.deepStrictEqual(
        fake.controls.snapshot().users.map((u) => u.externalId),
        ["someone-else"]
      )
      // the engine asks again every round: HID is not asked again until the clash is old or the email changes
      const sent = fake.controls.stats().apiRequests
      const again = yield* Effect.flip(cm.ensureUser(system, { id: Ids.UserIdentityId.make("ident-ana"), email: "Ana@example.com" }))
      assert.strictEqual(again.reason, "Conflict")
      assert.strictEqual(fake.controls.stats().apiRequests, sent)
      const other = yield* cm.ensureUser(system, { id: Ids.UserIdentityId.make("ident-ana"), email: "ana.work@example.com" })
      assert.isAbove(fake.controls.stats().apiRequests, sent)
      assert.isString(other)
    }).pipe(Effect.provide(stack()))
  )

  it.live("a user being deleted (USER_DELETE_INITIATED) is not adopted; the identity gets a new user", () =>
    Effect.gen(function* () {
      const cm = yield* origoManager
      const c = yield* OrigoClient.OrigoClient
      const id = Ids.UserIdentityId.make("ident-deleting")
      const old = yield* cm.ensureUser(system, { id })
      yield* c.deleteUser(old)
      assert.strictEqual((yield* c.getUser(old)).status, "DELETE_INITIATED")
      const fresh = yield* cm.ensureUser(system, { id })
      assert.notStrictEqual(fresh, old)
    }).pipe(Effect.provide(stack()))
  )

  it.live("ISSUED is the issued end state; UNBOUND and CREATION_FAILURE read as no longer live, with HID's reason", () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      const cm = yield* origoManager
      const user = yield* cm.ensureUser(system, { id: Ids.UserIdentityId.make("ident-states") })
      const endpointFor = () =>
        Effect.map(cm.invite(system, user), (inv) => Ids.ProviderRef.make(fake.controls.redeem(inv.code).containerId))
      const a = yield* cm.issue(system, { user, endpoint: yield* endpointFor(), card })
      assert.strictEqual(a.status, "issuing")
      const b = yield* cm.issue(system, { user, endpoint: yield* endpointFor(), card })
      fake.controls.failCredential(b.ref)
      fake.controls.settle()
      const c = yield* cm.issue(system, { user, endpoint: yield* endpointFor(), card })
      fake.controls.settle()
      fake.controls.unbindCredential(c.ref)
      const rest = new Map(fake.controls.snapshot().credentials.map((x) => [x.id, x.status]))
      assert.deepStrictEqual([rest.get(a.ref), rest.get(b.ref), rest.get(c.ref)], ["ISSUED", "CREATION_FAILURE", "UNBOUND"])
      const view = yield* cm.observe(system, user)
      const byRef = new Map(view.credentials.map((x) => [x.ref, x]))
      assert.strictEqual(byRef.get(a.ref)?.status, "active")
      assert.strictEqual(byRef.get(b.ref)?.status, "revoked")
      assert.include(byRef.get(b.ref)?.error ?? "", "CREATION_FAILURE")
      assert.strictEqual(byRef.get(c.ref)?.status, "revoked")
      assert.include(byRef.get(c.ref)?.error ?? "", "UNBOUND")
    }).pipe(Effect.provide(stack()))
  )

  it.live("a repeat issue to the same container is a Conflict (412); observing shows one credential", () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      const cm = yield* origoManager
      const user = yield* cm.ensureUser(system, { id: Ids.UserIdentityId.make("ident-412") })
      const inv = yield* cm.invite(system, user)
      const { containerId } = fake.controls.redeem(inv.code)
      const endpoint = Ids.ProviderRef.make(containerId)
      yield* cm.issue(system, { user, endpoint, card })
      const again = yield* Effect.flip(cm.issue(system, { user, endpoint, card }))
      assert.strictEqual(again.reason, "Conflict")
      const view = yield* cm.observe(system, user)
      assert.strictEqual(view.credentials.filter(CredentialManager.isLive).length, 1)
      assert.strictEqual(view.endpoints[0]?.invitation, inv.ref)
    }).pipe(Effect.provide(stack()))
  )

  it.live("a lost response after a successful issue is Ambiguous; observe shows exactly one credential", () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      const cm = yield* origoManager
      const user = yield* cm.ensureUser(system, { id: Ids.UserIdentityId.make("ident-lost") })
      const inv = yield* cm.invite(system, user)
      const endpoint = Ids.ProviderRef.make(fake.controls.redeem(inv.code).containerId)
      fake.controls.injectFault({ kind: "lostResponse", match: { method: "POST", path: "/credential" } })
      const err = yield* Effect.flip(cm.issue(system, { user, endpoint, card }))
      assert.strictEqual(err.reason, "Ambiguous")
      fake.controls.settle()
      const view = yield* cm.observe(system, user)
      assert.strictEqual(view.credentials.length, 1)
      assert.strictEqual(view.credentials[0]?.status, "active")
      assert.strictEqual(view.credentials[0]?.cardFormat, "H10301")
      assert.strictEqual(view.credentials[0]?.facilityCode, "99")
      assert.strictEqual(fake.controls.snapshot().credentials.length, 1)
    }).pipe(Effect.provide(stack()))
  )

  it.live("an unknown card profile is InvalidInput and nothing is issued", () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      const cm = yield* origoManager
      const user = yield* cm.ensureUser(system, { id: Ids.UserIdentityId.make("ident-profile") })
      const inv = yield* cm.invite(system, user)
      const endpoint = Ids.ProviderRef.make(fake.controls.redeem(inv.code).containerId)
      const err = yield* Effect.flip(cm.issue(system, { user, endpoint, card: { cardFormat: "H10301", facilityCode: "7" } }))
      assert.strictEqual(err.reason, "InvalidInput")
      assert.strictEqual(fake.controls.snapshot().credentials.length, 0)
    }).pipe(Effect.provide(stack()))
  )

  it.live("expired invitations and containers terminated behind the adapter's back are observed", () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      const cm = yield* origoManager
      const user = yield* cm.ensureUser(system, { id: Ids.UserIdentityId.make("ident-drift") })
      const a = yield* cm.invite(system, user)
      const b = yield* cm.invite(system, user)
      const endpoint = Ids.ProviderRef.make(fake.controls.redeem(a.code).containerId)
      const cred = yield* cm.issue(system, { user, endpoint, card })
      fake.controls.advance(49 * 3600_000)
      fake.controls.terminateContainer(endpoint)
      const view = yield* cm.observe(system, user)
      assert.strictEqual(view.invitations.find((i) => i.ref === b.ref)?.status, "expired")
      assert.strictEqual(view.endpoints.find((e) => e.ref === endpoint)?.status, "removed")
      assert.strictEqual(view.credentials.find((c) => c.ref === cred.ref)?.status, "revoked")
    }).pipe(Effect.provide(stack()))
  )
})

