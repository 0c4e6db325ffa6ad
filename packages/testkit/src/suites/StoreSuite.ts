/**
 * Conformance suite for `Store` implementations: the contract in `@credsync/core`'s Store.ts.
 *
 * @since 0.1.0
 */
import { type Event, type Identity, Ids, Store } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer, Option } from "effect"
import { expectConflict } from "./expect.js"

const phoneId = Ids.PhoneId.make("phone-1")
const managerId = Ids.AcsSystemId.make("cm_suite")
const acsSystemId = Ids.AcsSystemId.make("acs_suite")
const acsUserId = Ids.AcsUserId.make("acs-user-1")
const parentId = Ids.CredentialId.make("parent-1")
const childId = Ids.CredentialId.make("child-1")

/**
 * A valid identity state with every collection filled (phones, enrollment, automation, parent,
 * child), so a round trip through a store exercises nested and optional fields.
 *
 * @since 0.1.0
 */
export const sampleState = (id: Ids.UserIdentityId, at = 1_700_000_000_000): Identity.IdentityState => ({
  id,
  createdAt: at,
  profile: { key: `key-${id}`, email: "jane@example.com", fullName: "Jane Doe" },
  deleting: false,
  acsUsers: { [acsSystemId]: { acsUserId, acsSystemId } },
  managerUsers: { [managerId]: { managerId, ref: Ids.ProviderRef.make("usr_1") } },
  automations: [{ id: Ids.AutomationId.make("auto-1"), managerId, createdAt: at }],
  phones: [
    {
      id: phoneId,
      deviceType: "ios_phone",
      active: true,
      createdAt: at,
      metadata: { model: "iPhone", primary: true }
    }
  ],
  enrollments: [
    {
      id: Ids.EnrollmentId.make("enr-1"),
      phoneId,
      managerId,
      generation: 1,
      status: "enrolled",
      requestedAt: at,
      invitation: Ids.ProviderRef.make("inv_2"),
      code: "ABCD-EFGH-JKLM-NPQR",
      endpoint: Ids.ProviderRef.make("ep_3"),
      attempts: 1
    }
  ],
  parents: [
    {
      id: parentId,
      acsUserId,
      acsSystemId,
      managerId,
      card: { cardFormat: "H10301", facilityCode: "42", startsAt: "2025-01-01T00:00:00Z" },
      createdAt: at,
      deleting: false
    }
  ],
  children: [
    {
      id: childId,
      parentId,
      phoneId,
      managerId,
      endpoint: Ids.ProviderRef.make("ep_3"),
      issue: "active",
      requestedAt: at,
      attempts: 1,
      ref: Ids.ProviderRef.make("cred_4"),
      cardNumber: "100000",
      acsRef: Ids.ProviderRef.make("acse_5"),
      assigned: true,
      retiring: false,
      issuedAt: at + 10,
      error: { code: "none", message: "cleared", at: at + 5 }
    }
  ]
})

/**
 * A few valid domain events for `id`.
 *
 * @since 0.1.0
 */
export const sampleEvents = (id: Ids.UserIdentityId, at = 1_700_000_000_000): ReadonlyArray<Event.DomainEvent> => [
  { _tag: "IdentityCreated", identity: id, at, profile: { email: "jane@example.com" } },
  {
    _tag: "PhoneRegistered",
    identity: id,
    at: at + 1,
    phone: { id: phoneId, deviceType: "android_phone", active: true, createdAt: at + 1 }
  },
  { _tag: "PhoneDeactivated", identity: id, at: at + 2, phoneId }
]

let counter = 0
const freshId = (label: string): Ids.UserIdentityId => Ids.UserIdentityId.make(`${label}-${++counter}`)

/**
 * Register the Store conformance tests under `describe(name)`. `makeLayer` is called once per test
 * and must return an empty store.
 *
 * @since 0.1.0
 */
export const storeSuite = <E>(name: string, makeLayer: () => Layer.Layer<Store.Store, E>): void => {
  const run = <A, E2>(body: Effect.Effect<A, E2, Store.Store>): Effect.Effect<A, E | E2> =>
    Effect.suspend(() => Effect.provide(body, makeLayer()))

  const allEvents = (store: Store.StoreShape) => store.events({ after: 0, limit: 1_000_000 })
  const lease = (owner: string): Store.Lease => ({ owner, ttl: 10_000, grace: 3_000 })
  const ids = (claimed: ReadonlyArray<Store.Claimed>) => claimed.map((c) => c.id)
  /** `n` stored identities (leases are only taken on identities that exist). */
  const saved = (store: Store.StoreShape, label: string, n: number) =>
    Effect.forEach(Array.from({ length: n }, () => freshId(label)), (id) =>
      Effect.as(store.save({ id, expected: 0, state: sampleState(id), events: [], keys: [] }), id)
    )

  describe(`Store conformance: ${name}`, () => {
    it.effect("load of a missing identity is none", () =>
      run(
        Effect.gen(function* () {
          const store = yield* Store.Store
          assert.isTrue(Option.isNone(yield* store.load(freshId("missing"))))
          assert.isTrue(Option.isNone(yield* store.lookup("no-such-key")))
        })
      )
    )

    it.effect("save from version 0 returns 1 and load returns an equal state", () =>
      run(
        Effect.gen(function* () {
          const store = yield* Store.Store
          const id = freshId("save")
          const state = sampleState(id)
          const version = yield* store.save({ id, expected: 0, state, events: sampleEvents(id), keys: [] })
          assert.strictEqual(version, 1)
          const loaded = yield* store.load(id)
          assert.isTrue(Option.isSome(loaded))
          const stored = Option.getOrThrow(loaded)
          assert.strictEqual(stored.version, 1)
          assert.deepStrictEqual(stored.state, state)
          const next = { ...state, deleting: true }
          assert.strictEqual(yield* store.save({ id, expected: 1, state: next, events: [], keys: [] }), 2)
          const reloaded = Option.getOrThrow(yield* store.load(id))
          assert.strictEqual(reloaded.version, 2)
          assert.deepStrictEqual(reloaded.state, next)
        })
      )
    )

    it.effect("a stale version fails with Conflict and writes nothing (state, events, keys)", () =>
      run(
        Effect.gen(function* () {
          const store = yield* Store.Store
          const id = freshId("stale")
          const state = sampleState(id)
          yield* store.save({ id, expected: 0, state, events: sampleEvents(id), keys: ["k:stale:1"] })
          const eventsBefore = yield* allEvents(store)
          const changed = { ...state, deleting: true }
          yield* expectConflict(
            store.save({ id, expected: 0, state: changed, events: sampleEvents(id), keys: ["k:stale:2"] })
          )
          yield* expectConflict(
            store.save({ id, expected: 5, state: changed, events: sampleEvents(id), keys: ["k:stale:2"] })
          )
          const stored = Option.getOrThrow(yield* store.load(id))
          assert.strictEqual(stored.version, 1)
          assert.deepStrictEqual(stored.state, state)
          assert.deepStrictEqual(yield* allEvents(store), eventsBefore)
          assert.deepStrictEqual(yield* store.lookup("k:stale:1"), Option.some(id))
          assert.isTrue(Option.isNone(yield* store.lookup("k:stale:2")))
        })
      )
    )

    it.effect("save with `due` queues the identity in the same write; a failed save queues nothing", () =>
      run(
        Effect.gen(function* () {
          const store = yield* Store.Store
          const id = freshId("due")
          yield* expectConflict(store.save({ id, expected: 3, state: sampleState(id), events: [], keys: [], due: 5 }))
          assert.isTrue(Option.isNone(yield* store.nextDue("r1", 0)))
          yield* store.save({ id, expected: 0, state: sampleState(id), events: sampleEvents(id), keys: [], due: 7 })
          assert.deepStrictEqual(yield* store.nextDue("r1", 0), Option.some(7))
          assert.deepStrictEqual(ids(yield* store.claim(lease("r1"), 7, 10)), [id])
        })
      )
    )

    it.effect("a new identity saved with expected > 0 fails with Conflict", () =>
      run(
        Effect.gen(function* () {
          const store = yield* Store.Store
          const id = freshId("new")
          yield* expectConflict(store.save({ id, expected: 1, state: sampleState(id), events: [], keys: [] }))
          assert.isTrue(Option.isNone(yield* store.load(id)))
        })
      )
    )

    it.effect("keys: lookup, replaced by the next save, released keys can be taken", () =>
      run(
        Effect.gen(function* () {
          const store = yield* Store.Store
          const a = freshId("keys-a")
          const b = freshId("keys-b")
          yield* store.save({ id: a, expected: 0, state: sampleState(a), events: [], keys: ["k1", "k2"] })
          assert.deepStrictEqual(yield* store.lookup("k1"), Option.some(a))
          assert.deepStrictEqual(yield* store.lookup("k2"), Option.some(a))
          yield* store.save({ id: a, expected: 1, state: sampleState(a), events: [], keys: ["k2", "k3"] })
          assert.isTrue(Option.isNone(yield* store.lookup("k1")))
          assert.deepStrictEqual(yield* store.lookup("k2"), Option.some(a))
          assert.deepStrictEqual(yield* store.lookup("k3"), Option.some(a))
          yield* store.save({ id: b, expected: 0, state: sampleState(b), events: [], keys: ["k1"] })
          assert.deepStrictEqual(yield* store.lookup("k1"), Option.some(b))
        })
      )
    )

    it.effect("a key held by another identity fails the save with InvalidInput naming the key, and writes nothing", () =>
      run(
        Effect.gen(function* () {
          const store = yield* Store.Store
          const a = freshId("owner")
          const b = freshId("taker")
          yield* store.save({ id: a, expected: 0, state: sampleState(a), events: [], keys: ["phone:1"] })
          const eventsBefore = yield* allEvents(store)
          const error = yield* Effect.flip(
            store.save({ id: b, expected: 0, state: sampleState(b), events: sampleEvents(b), keys: ["b:own", "phone:1"] })
          )
          assert.strictEqual(error.reason, "InvalidInput", error.message)
          assert.include(error.message, "phone:1")
          assert.isTrue(Option.isNone(yield* store.load(b)))
          assert.isTrue(Option.isNone(yield* store.lookup("b:own")))
          assert.deepStrictEqual(yield* store.lookup("phone:1"), Option.some(a))
          assert.deepStrictEqual(yield* allEvents(store), eventsBefore)
          // the owner itself may keep its key
          assert.strictEqual(
            yield* store.save({ id: a, expected: 1, state: sampleState(a), events: [], keys: ["phone:1"] }),
            2
          )
        })
      )
    )

    it.effect("list returns identity ids in id order, after `after`, at most `limit`", () =>
      run(
        Effect.gen(function* () {
          const store = yield* Store.Store
          const ids = ["list-c", "list-a", "list-d", "list-b"].map((s) => Ids.UserIdentityId.make(s))
          for (const id of ids) yield* store.save({ id, expected: 0, state: sampleState(id), events: [], keys: [] })
          const sorted = [...ids].sort()
          assert.deepStrictEqual(yield* store.list({ limit: 10 }), sorted)
          assert.deepStrictEqual(yield* store.list({ limit: 2 }), sorted.slice(0, 2))
          assert.deepStrictEqual(yield* store.list({ after: sorted[1]!, limit: 10 }), sorted.slice(2))
          assert.deepStrictEqual(yield* store.list({ after: sorted[0]!, limit: 1 }), [sorted[1]!])
          assert.deepStrictEqual(yield* store.list({ after: sorted[3]!, limit: 10 }), [])
          assert.deepStrictEqual(
            yield* store.list({ after: Ids.UserIdentityId.make("list-bb"), limit: 10 }),
            sorted.slice(2),
            "after need not be a stored id"
          )
        })
      )
    )

    it.effect("schedule / nextDue / claim: earliest wins, a claim removes, not yet due stays", () =>
      run(
        Effect.gen(function* () {
          const store = yield* Store.Store
          const [a, b, c] = (yield* saved(store, "due", 3)) as [Ids.UserIdentityId, Ids.UserIdentityId, Ids.UserIdentityId]
          const r = lease("r1")
          assert.isTrue(Option.isNone(yield* store.nextDue("r1", 0)))
          assert.deepStrictEqual(yield* store.claim(r, 10_000, 10), [])
          yield* store.schedule(a, 2000)
          yield* store.schedule(a, 1000)
          yield* store.schedule(a, 3000)
          assert.deepStrictEqual(yield* store.nextDue("r1", 0), Option.some(1000), "an earlier request wins")
          yield* store.schedule(b, 1500)
          yield* store.schedule(c, 5000)
          assert.deepStrictEqual(yield* store.claim(r, 999, 10), [], "nothing due yet")
          assert.deepStrictEqual(ids(yield* store.claim(r, 1000, 10)), [a])
          assert.deepStrictEqual(yield* store.nextDue("r1", 0), Option.some(1500))
          assert.deepStrictEqual(ids(yield* store.claim(r, 1000, 10)), [], "claimed ids are removed")
          assert.deepStrictEqual(ids(yield* store.claim(r, 4000, 10)), [b])
          assert.deepStrictEqual(yield* store.nextDue("r1", 0), Option.some(5000))
          yield* store.schedule(a, 4500)
          assert.deepStrictEqual(yield* store.nextDue("r1", 0), Option.some(4500), "a claimed id can be scheduled again")
          assert.deepStrictEqual([...ids(yield* store.claim(r, 10_000, 10))].sort(), [a, c].sort())
          assert.isTrue(Option.isNone(yield* store.nextDue("r1", 0)))
        })
      )
    )

    it.effect("claim honours limit and returns the earliest first", () =>
      run(
        Effect.gen(function* () {
          const store = yield* Store.Store
          const list = yield* saved(store, "lim", 3)
          const r = lease("r1")
          yield* store.schedule(list[0]!, 300)
          yield* store.schedule(list[1]!, 100)
          yield* store.schedule(list[2]!, 200)
          assert.deepStrictEqual(ids(yield* store.claim(r, 1000, 2)), [list[1]!, list[2]!])
          assert.deepStrictEqual(ids(yield* store.claim(r, 1000, 2)), [list[0]!])
          assert.deepStrictEqual(ids(yield* store.claim(r, 1000, 2)), [])
        })
      )
    )

    it.effect("leases: one owner at a time; others skip the identity until it is released", () =>
      run(
        Effect.gen(function* () {
          const store = yield* Store.Store
          const [x, y] = (yield* saved(store, "lease", 2)) as [Ids.UserIdentityId, Ids.UserIdentityId]
          const one = lease("replica-1")
          const two = lease("replica-2")
          yield* store.schedule(x, 100)
          assert.deepStrictEqual(yield* store.claim(one, 100, 10), [{ id: x, holdUntil: 0 }])
          // queued again while replica-1 works it: replica-2 must leave it, and learns when to look again
          yield* store.schedule(x, 200)
          yield* store.schedule(y, 200)
          assert.deepStrictEqual(ids(yield* store.claim(two, 300, 10)), [y], "replica-2 takes only what nobody holds")
          assert.deepStrictEqual(yield* store.nextDue(two.owner, 300), Option.some(100 + one.ttl), "x is claimable when replica-1's lease runs out")
          assert.deepStrictEqual(yield* store.nextDue(one.owner, 300), Option.some(200), "its holder may claim it at once")
          assert.isTrue(Option.isNone(yield* store.acquire(two, 300, x)))
          assert.deepStrictEqual(yield* store.acquire(one, 300, x), Option.some({ id: x, holdUntil: 0 }), "the holder may acquire again")
          // released with a due time in the same write: replica-2 takes it over at once, nothing in flight
          yield* store.release(one.owner, x, 400)
          assert.deepStrictEqual(yield* store.claim(two, 400, 10), [{ id: x, holdUntil: 0 }])
          assert.deepStrictEqual(yield* store.renew(one, 450, [x]), [], "a released lease is not renewed")
          assert.deepStrictEqual(yield* store.renew(two, 450, [x, y]), [x, y])
          assert.isTrue(Option.isNone(yield* store.acquire(lease("replica-3"), 450, Ids.UserIdentityId.make("never-saved"))))
        })
      )
    )

    it.effect("leases: an expired lease is taken over, the old holder is fenced off, in-flight calls are waited out", () =>
      run(
        Effect.gen(function* () {
          const store = yield* Store.Store
          const [x] = (yield* saved(store, "takeover", 1)) as [Ids.UserIdentityId]
          const one = lease("replica-1")
          const two = lease("replica-2")
          assert.isTrue(Option.isSome(yield* store.acquire(one, 1000, x)))
          assert.strictEqual(yield* store.save({ id: x, expected: 1, state: sampleState(x), events: [], keys: [], owner: one.owner }), 2)
          yield* expectConflict(store.save({ id: x, expected: 2, state: sampleState(x), events: [], keys: [], owner: two.owner }))
          assert.isTrue(Option.isNone(yield* store.acquire(two, 1000 + one.ttl - 1, x)), "not before expiry")
          // replica-1 stalled and its lease ran out: replica-2 takes over, but replica-1's calls may
          // still land until its expiry plus the grace
          assert.deepStrictEqual(
            yield* store.acquire(two, 1000 + one.ttl, x),
            Option.some({ id: x, holdUntil: 1000 + one.ttl + two.grace })
          )
          assert.deepStrictEqual(yield* store.renew(one, 1000 + one.ttl, [x]), [], "the old holder cannot renew")
          yield* expectConflict(store.save({ id: x, expected: 2, state: sampleState(x), events: [], keys: [], owner: one.owner }))
          assert.strictEqual(yield* store.save({ id: x, expected: 2, state: sampleState(x), events: [], keys: [], owner: two.owner }), 3)
          assert.strictEqual(yield* store.save({ id: x, expected: 3, state: sampleState(x), events: [], keys: [] }), 4, "commands need no lease")
          // the hold survives a release, so the next holder still waits it out
          yield* store.release(two.owner, x)
          yield* store.release(one.owner, x)
          assert.deepStrictEqual(
            yield* store.acquire(one, 1000 + one.ttl + 1, x),
            Option.some({ id: x, holdUntil: 1000 + one.ttl + two.grace })
          )
        })
      )
    )

    it.effect("events: appended with increasing seq, read with after / limit", () =>
      run(
        Effect.gen(function* () {
          const store = yield* Store.Store
          const a = freshId("ev-a")
          const b = freshId("ev-b")
          const evA = sampleEvents(a)
          const evB = sampleEvents(b).slice(0, 1)
          yield* store.save({ id: a, expected: 0, state: sampleState(a), events: evA, keys: [] })
          yield* store.save({ id: b, expected: 0, state: sampleState(b), events: evB, keys: [] })
          yield* store.save({ id: a, expected: 1, state: sampleState(a), events: [], keys: [] })
          const all = yield* allEvents(store)
          assert.deepStrictEqual(
            all.map((e) => e.event),
            [...evA, ...evB]
          )
          for (let i = 0; i < all.length; i++) {
            assert.isAbove(all[i]!.seq, i === 0 ? 0 : all[i - 1]!.seq, "seq increases")
          }
          const first = all[0]!.seq
          assert.deepStrictEqual(yield* store.events({ after: first, limit: 100 }), all.slice(1))
          assert.deepStrictEqual(yield* store.events({ after: first, limit: 2 }), all.slice(1, 3))
          assert.deepStrictEqual(yield* store.events({ after: all[all.length - 1]!.seq, limit: 10 }), [])
        })
      )
    )
  })
}
