/**
 * Conformance suite for `Store` implementations: the contract in `@credsync/core`'s Store.ts.
 *
 * @since 0.1.0
 */
import { type Event, type Identity, Ids, PortError, Store } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer, Option } from "effect"

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
  automations: {
    [managerId]: { id: Ids.AutomationId.make("auto-1"), managerId, createdAt: at }
  },
  phones: {
    [phoneId]: {
      id: phoneId,
      deviceType: "ios_phone",
      active: true,
      createdAt: at,
      metadata: { model: "iPhone", primary: true }
    }
  },
  enrollments: {
    [`${phoneId}|${managerId}`]: {
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
  },
  parents: {
    [parentId]: {
      id: parentId,
      acsUserId,
      acsSystemId,
      managerId,
      card: { cardFormat: "H10301", facilityCode: "42", startsAt: "2025-01-01T00:00:00Z" },
      createdAt: at,
      deleting: false
    }
  },
  children: {
    [childId]: {
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
  }
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

  const expectConflict = <A>(effect: Effect.Effect<A, PortError.PortError>) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(effect)
      assert.instanceOf(error, PortError.PortError)
      assert.strictEqual(error.reason, "Conflict", error.message)
      assert.strictEqual(error.port, "Store")
      return error
    })

  const allEvents = (store: Store.StoreShape) => store.events({ after: 0, limit: 1_000_000 })

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
          assert.isTrue(Option.isNone(yield* store.nextDue))
          yield* store.save({ id, expected: 0, state: sampleState(id), events: sampleEvents(id), keys: [], due: 7 })
          assert.deepStrictEqual(yield* store.nextDue, Option.some(7))
          assert.deepStrictEqual(yield* store.takeDue(7, 10), [id])
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

    it.effect("a key held by another identity fails the save with Conflict and writes nothing", () =>
      run(
        Effect.gen(function* () {
          const store = yield* Store.Store
          const a = freshId("owner")
          const b = freshId("taker")
          yield* store.save({ id: a, expected: 0, state: sampleState(a), events: [], keys: ["phone:1"] })
          const eventsBefore = yield* allEvents(store)
          yield* expectConflict(
            store.save({ id: b, expected: 0, state: sampleState(b), events: sampleEvents(b), keys: ["b:own", "phone:1"] })
          )
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

    it.effect("schedule / nextDue / takeDue: earliest wins, take removes, not yet due stays", () =>
      run(
        Effect.gen(function* () {
          const store = yield* Store.Store
          const a = freshId("due-a")
          const b = freshId("due-b")
          const c = freshId("due-c")
          assert.isTrue(Option.isNone(yield* store.nextDue))
          assert.deepStrictEqual(yield* store.takeDue(10_000, 10), [])
          yield* store.schedule(a, 2000)
          yield* store.schedule(a, 1000)
          yield* store.schedule(a, 3000)
          assert.deepStrictEqual(yield* store.nextDue, Option.some(1000), "an earlier request wins")
          yield* store.schedule(b, 1500)
          yield* store.schedule(c, 5000)
          assert.deepStrictEqual(yield* store.takeDue(999, 10), [], "nothing due yet")
          assert.deepStrictEqual(yield* store.takeDue(1000, 10), [a])
          assert.deepStrictEqual(yield* store.nextDue, Option.some(1500))
          assert.deepStrictEqual(yield* store.takeDue(1000, 10), [], "taken ids are removed")
          assert.deepStrictEqual(yield* store.takeDue(4000, 10), [b])
          assert.deepStrictEqual(yield* store.nextDue, Option.some(5000))
          yield* store.schedule(a, 4500)
          assert.deepStrictEqual(yield* store.nextDue, Option.some(4500), "a taken id can be scheduled again")
          assert.deepStrictEqual([...(yield* store.takeDue(10_000, 10))].sort(), [a, c].sort())
          assert.isTrue(Option.isNone(yield* store.nextDue))
        })
      )
    )

    it.effect("takeDue honours limit and returns the earliest first", () =>
      run(
        Effect.gen(function* () {
          const store = yield* Store.Store
          const ids = [freshId("lim"), freshId("lim"), freshId("lim")]
          yield* store.schedule(ids[0]!, 300)
          yield* store.schedule(ids[1]!, 100)
          yield* store.schedule(ids[2]!, 200)
          assert.deepStrictEqual(yield* store.takeDue(1000, 2), [ids[1]!, ids[2]!])
          assert.deepStrictEqual(yield* store.takeDue(1000, 2), [ids[0]!])
          assert.deepStrictEqual(yield* store.takeDue(1000, 2), [])
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
