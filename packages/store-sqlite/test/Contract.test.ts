/**
 * The Store port's contract, checked against the SQLite store on a temp file. (Kept alongside the
 * shared testkit suite: these were written before it existed and pin the SQLite behaviour.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Option } from "effect"
import { SqliteStore } from "../src/index.js"
import { identityId, phoneDeactivated, phoneRegistered, stateOf, tempFile } from "./fixtures.js"

const open = (options: Partial<SqliteStore.Options> = {}) =>
  Effect.flatMap(tempFile, (filename) => SqliteStore.make({ filename, ...options }))

const a = identityId("id-a")
const b = identityId("id-b")
const idList = (...xs: ReadonlyArray<string>) => xs.map((x) => identityId(x))

const failureReason = <A, E extends { readonly reason: string; readonly message: string }>(exit: Exit.Exit<A, E>) => {
  if (Exit.isSuccess(exit)) return assert.fail("expected a failure")
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (error === undefined || error._tag !== "Fail") return assert.fail(`expected a typed failure, got ${String(exit.cause)}`)
  return error.error
}

describe("SqliteStore contract", () => {
  it.effect("load of an unknown identity is none", () =>
    Effect.gen(function* () {
      const store = yield* open()
      assert.isTrue(Option.isNone(yield* store.load(a)))
      assert.isTrue(Option.isNone(yield* store.lookup("nothing")))
    })
  )

  it.effect("save from version 0 creates, then each save bumps the version", () =>
    Effect.gen(function* () {
      const store = yield* open()
      assert.strictEqual(yield* store.save({ id: a, expected: 0, state: stateOf("id-a"), events: [], keys: [] }), 1)
      assert.strictEqual(yield* store.save({ id: a, expected: 1, state: stateOf("id-a", 1), events: [], keys: [] }), 2)
      const loaded = yield* store.load(a)
      assert.isTrue(Option.isSome(loaded))
      if (Option.isSome(loaded)) {
        assert.strictEqual(loaded.value.version, 2)
        assert.deepStrictEqual(loaded.value.state, stateOf("id-a", 1))
      }
    })
  )

  it.effect("a stale expected version is a Conflict and writes nothing", () =>
    Effect.gen(function* () {
      const store = yield* open()
      yield* store.save({ id: a, expected: 0, state: stateOf("id-a"), events: [phoneRegistered("id-a", 0)], keys: ["k1"] })
      for (const expected of [0, 2, 7]) {
        const exit = yield* Effect.exit(
          store.save({
            id: a,
            expected,
            state: stateOf("id-a", 9),
            events: [phoneRegistered("id-a", 9)],
            keys: ["k9"]
          })
        )
        const error = failureReason(exit)
        assert.strictEqual(error.reason, "Conflict")
        assert.include(error.message, "version 1")
      }
      const loaded = yield* store.load(a)
      assert.strictEqual(Option.getOrThrow(loaded).version, 1)
      assert.deepStrictEqual(Option.getOrThrow(loaded).state, stateOf("id-a"))
      assert.strictEqual((yield* store.events({ after: 0, limit: 100 })).length, 1)
      assert.isTrue(Option.isNone(yield* store.lookup("k9")))
      assert.isTrue(Option.isSome(yield* store.lookup("k1")))
    })
  )

  it.effect("a save with an expected version for a missing identity is a Conflict", () =>
    Effect.gen(function* () {
      const store = yield* open()
      const error = failureReason(
        yield* Effect.exit(store.save({ id: a, expected: 3, state: stateOf("id-a"), events: [], keys: [] }))
      )
      assert.strictEqual(error.reason, "Conflict")
      assert.isTrue(Option.isNone(yield* store.load(a)))
    })
  )

  it.effect("keys: replaced on every save, looked up, and a clash is InvalidInput naming the key", () =>
    Effect.gen(function* () {
      const store = yield* open()
      yield* store.save({ id: a, expected: 0, state: stateOf("id-a"), events: [], keys: ["phone-1", "email-a"] })
      yield* store.save({ id: a, expected: 1, state: stateOf("id-a"), events: [], keys: ["phone-2", "email-a", "phone-2"] })
      assert.isTrue(Option.isNone(yield* store.lookup("phone-1")))
      assert.deepStrictEqual(yield* store.lookup("phone-2"), Option.some(a))
      assert.deepStrictEqual(yield* store.lookup("email-a"), Option.some(a))

      const error = failureReason(
        yield* Effect.exit(
          store.save({ id: b, expected: 0, state: stateOf("id-b"), events: [phoneRegistered("id-b", 0)], keys: ["b-own", "phone-2"] })
        )
      )
      assert.strictEqual(error.reason, "InvalidInput")
      assert.include(error.message, "phone-2")
      // nothing of b was written
      assert.isTrue(Option.isNone(yield* store.load(b)))
      assert.isTrue(Option.isNone(yield* store.lookup("b-own")))
      assert.deepStrictEqual(yield* store.lookup("phone-2"), Option.some(a))
      assert.deepStrictEqual(yield* store.events({ after: 0, limit: 10 }), [])

      // once a releases the key, b can take it
      yield* store.save({ id: a, expected: 2, state: stateOf("id-a"), events: [], keys: ["email-a"] })
      yield* store.save({ id: b, expected: 0, state: stateOf("id-b"), events: [], keys: ["phone-2"] })
      assert.deepStrictEqual(yield* store.lookup("phone-2"), Option.some(b))
    })
  )

  it.effect("list: id order, paginated with after and limit", () =>
    Effect.gen(function* () {
      const store = yield* open()
      const ids = ["id-c", "id-a", "id-e", "id-b", "id-d"]
      for (const id of ids) yield* store.save({ id: identityId(id), expected: 0, state: stateOf(id), events: [], keys: [] })
      assert.deepStrictEqual(yield* store.list({ limit: 100 }), idList(...[...ids].sort()))
      assert.deepStrictEqual(yield* store.list({ limit: 2 }), idList("id-a", "id-b"))
      assert.deepStrictEqual(yield* store.list({ after: identityId("id-b"), limit: 2 }), idList("id-c", "id-d"))
      assert.deepStrictEqual(yield* store.list({ after: identityId("id-e"), limit: 2 }), idList())
      assert.deepStrictEqual(yield* store.list({ limit: 0 }), idList())
    })
  )

  it.effect("due-queue: earliest request wins, claim removes and leases what it returns, nextDue", () =>
    Effect.gen(function* () {
      const store = yield* open()
      const c = identityId("id-c")
      for (const id of [a, b, c]) yield* store.save({ id, expected: 0, state: stateOf(id), events: [], keys: [] })
      const lease = { owner: "r1", ttl: 10_000, grace: 1_000 }
      const claimed = (now: number, limit: number) => Effect.map(store.claim(lease, now, limit), (cs) => cs.map((x) => x.id))
      assert.isTrue(Option.isNone(yield* store.nextDue("r1", 0)))
      yield* store.schedule(a, 500)
      yield* store.schedule(a, 300)
      yield* store.schedule(a, 900)
      yield* store.schedule(b, 400)
      yield* store.schedule(c, 2_000)
      assert.deepStrictEqual(yield* store.nextDue("r1", 0), Option.some(300))
      assert.deepStrictEqual(yield* claimed(100, 10), idList())
      assert.deepStrictEqual(yield* claimed(1_000, 1), idList("id-a"))
      assert.deepStrictEqual(yield* claimed(1_000, 10), idList("id-b"))
      assert.deepStrictEqual(yield* claimed(1_000, 10), idList())
      assert.deepStrictEqual(yield* store.nextDue("r1", 0), Option.some(2_000))
      yield* store.schedule(a, 50)
      assert.deepStrictEqual(yield* claimed(3_000, 10), idList("id-a", "id-c"))
      assert.isTrue(Option.isNone(yield* store.nextDue("r1", 0)))
    })
  )

  it.effect("claim drops queue entries of identities never saved, and still fills its limit", () =>
    Effect.gen(function* () {
      const store = yield* open()
      const lease = { owner: "r1", ttl: 10_000, grace: 1_000 }
      for (let i = 0; i < 5; i++) yield* store.schedule(identityId(`ghost-${i}`), i)
      yield* store.save({ id: a, expected: 0, state: stateOf("id-a"), events: [], keys: [], due: 10 })
      yield* store.save({ id: b, expected: 0, state: stateOf("id-b"), events: [], keys: [], due: 11 })
      assert.deepStrictEqual(yield* store.nextDue("r1", 0), Option.some(0))
      assert.deepStrictEqual(
        (yield* store.claim(lease, 100, 2)).map((c) => c.id),
        idList("id-a", "id-b")
      )
      assert.isTrue(Option.isNone(yield* store.nextDue("r1", 0)), "the ghosts' entries are gone")
    })
  )

  it.effect("a save fenced by an owner needs that owner's lease; nextDue waits out another owner's lease", () =>
    Effect.gen(function* () {
      const store = yield* open()
      const one = { owner: "r1", ttl: 1_000, grace: 100 }
      yield* store.save({ id: a, expected: 0, state: stateOf("id-a"), events: [], keys: [] })
      yield* store.save({ id: b, expected: 0, state: stateOf("id-b"), events: [], keys: [] })
      const fenced = failureReason(
        yield* Effect.exit(store.save({ id: a, expected: 1, state: stateOf("id-a"), events: [], keys: [], owner: "r1" }))
      )
      assert.strictEqual(fenced.reason, "Conflict")
      assert.include(fenced.message, "lease")
      assert.isTrue(Option.isSome(yield* store.acquire(one, 0, a)))
      assert.strictEqual(yield* store.save({ id: a, expected: 1, state: stateOf("id-a"), events: [], keys: [], owner: "r1" }), 2)
      yield* store.schedule(a, 10)
      assert.deepStrictEqual(yield* store.nextDue("r2", 20), Option.some(1_000), "a is r2's when r1's lease runs out")
      assert.deepStrictEqual(yield* store.nextDue("r1", 20), Option.some(10), "and r1's at once")
      yield* store.schedule(b, 500)
      assert.deepStrictEqual(yield* store.nextDue("r2", 20), Option.some(500), "b is due before r1's lease on a runs out")
      yield* store.release("r1", a)
      assert.deepStrictEqual(yield* store.nextDue("r2", 20), Option.some(10), "released: a is claimable at its due time")
    })
  )

  it.effect("events: a global seq from 1, in commit order, paged by after/limit", () =>
    Effect.gen(function* () {
      const store = yield* open()
      yield* store.save({
        id: a,
        expected: 0,
        state: stateOf("id-a"),
        events: [phoneRegistered("id-a", 1), phoneRegistered("id-a", 2)],
        keys: []
      })
      yield* store.save({ id: b, expected: 0, state: stateOf("id-b"), events: [phoneRegistered("id-b", 3)], keys: [] })
      yield* store.save({ id: a, expected: 1, state: stateOf("id-a"), events: [phoneDeactivated("id-a", 1)], keys: [] })
      const all = yield* store.events({ after: 0, limit: 100 })
      assert.deepStrictEqual(
        all.map((e) => e.seq),
        [1, 2, 3, 4]
      )
      assert.deepStrictEqual(all[0]?.event, phoneRegistered("id-a", 1))
      assert.deepStrictEqual(all[3]?.event, phoneDeactivated("id-a", 1))
      assert.deepStrictEqual(
        (yield* store.events({ after: 1, limit: 2 })).map((e) => e.seq),
        [2, 3]
      )
      assert.deepStrictEqual(yield* store.events({ after: 4, limit: 10 }), [])
    })
  )

  it.effect("retention keeps the newest events and never reuses a seq", () =>
    Effect.gen(function* () {
      const store = yield* open({ retainEvents: 10 })
      let version = 0
      for (let i = 0; i < 600; i++) {
        version = yield* store.save({ id: a, expected: version, state: stateOf("id-a"), events: [phoneRegistered("id-a", i)], keys: [] })
      }
      const left = yield* store.events({ after: 0, limit: 10_000 })
      assert.isAtMost(left.length, 10 + 256)
      assert.strictEqual(left.at(-1)?.seq, 600)
      yield* store.save({ id: a, expected: version, state: stateOf("id-a"), events: [phoneRegistered("id-a", 600)], keys: [] })
      assert.deepStrictEqual(
        (yield* store.events({ after: 600, limit: 10 })).map((e) => e.seq),
        [601]
      )
    })
  )
})
