/**
 * Conformance suite for `Records` implementations: the contract in `@credsync/core`'s Records.ts.
 *
 * @since 0.2.0
 */
import { Records } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer, Option } from "effect"
import { expectConflict } from "./expect.js"

/**
 * Register the Records conformance tests under `describe(name)`. `makeLayer` is called once per
 * test and must return empty records.
 *
 * @since 0.2.0
 */
export const recordsSuite = <E>(name: string, makeLayer: () => Layer.Layer<Records.Records, E>): void => {
  const run = <A, E2>(body: Effect.Effect<A, E2, Records.Records>): Effect.Effect<A, E | E2> =>
    Effect.suspend(() => Effect.provide(body, makeLayer()))

  describe(`Records conformance: ${name}`, () => {
    it.effect("put creates at version 1, replaces with the current version, get reads it back", () =>
      run(
        Effect.gen(function* () {
          const records = yield* Records.Records
          assert.isTrue(Option.isNone(yield* records.get("acs_user", "u1")))
          const value = { name: "Jane", tags: ["a", "b"], nested: { n: 1.5, yes: true, none: null } }
          assert.strictEqual(yield* records.put("acs_user", "u1", value, 0), 1)
          assert.deepStrictEqual(yield* records.get("acs_user", "u1"), Option.some({ kind: "acs_user", key: "u1", version: 1, value }))
          assert.strictEqual(yield* records.put("acs_user", "u1", { name: "Jane Doe" }, 1), 2)
          assert.deepStrictEqual(Option.map(yield* records.get("acs_user", "u1"), (r) => r.value), Option.some({ name: "Jane Doe" }))
          assert.isTrue(Option.isNone(yield* records.get("webhook", "u1")), "kinds are separate")
        })
      )
    )

    it.effect("a stale or premature version fails with Conflict and writes nothing", () =>
      run(
        Effect.gen(function* () {
          const records = yield* Records.Records
          yield* expectConflict(records.put("k", "x", 1, 1))
          assert.isTrue(Option.isNone(yield* records.get("k", "x")))
          yield* records.put("k", "x", "first", 0)
          yield* expectConflict(records.put("k", "x", "second", 0))
          yield* expectConflict(records.put("k", "x", "second", 2))
          assert.deepStrictEqual(Option.map(yield* records.get("k", "x"), (r) => [r.version, r.value]), Option.some([1, "first"]))
        })
      )
    )

    it.effect("remove needs the current version; a removed key can be created again", () =>
      run(
        Effect.gen(function* () {
          const records = yield* Records.Records
          yield* expectConflict(records.remove("k", "gone", 1))
          yield* records.put("k", "x", 1, 0)
          yield* records.put("k", "x", 2, 1)
          yield* expectConflict(records.remove("k", "x", 1))
          yield* records.remove("k", "x", 2)
          assert.isTrue(Option.isNone(yield* records.get("k", "x")))
          assert.strictEqual(yield* records.put("k", "x", 3, 0), 1)
        })
      )
    )

    it.effect("list: key order, after, prefix, limit; one kind only", () =>
      run(
        Effect.gen(function* () {
          const records = yield* Records.Records
          for (const key of ["b/2", "a/1", "b/1", "c", "a/2"]) yield* records.put("item", key, { key }, 0)
          yield* records.put("other", "a/0", {}, 0)
          const keys = (rs: ReadonlyArray<Records.Record>) => rs.map((r) => r.key)
          assert.deepStrictEqual(keys(yield* records.list("item", { limit: 10 })), ["a/1", "a/2", "b/1", "b/2", "c"])
          assert.deepStrictEqual(keys(yield* records.list("item", { limit: 2 })), ["a/1", "a/2"])
          assert.deepStrictEqual(keys(yield* records.list("item", { after: "a/2", limit: 10 })), ["b/1", "b/2", "c"])
          assert.deepStrictEqual(keys(yield* records.list("item", { prefix: "b/", limit: 10 })), ["b/1", "b/2"])
          assert.deepStrictEqual(keys(yield* records.list("item", { prefix: "b/", after: "b/1", limit: 10 })), ["b/2"])
          assert.deepStrictEqual(keys(yield* records.list("item", { prefix: "a%", limit: 10 })), [], "prefix is literal, not a pattern")
          assert.deepStrictEqual(keys(yield* records.list("none", { limit: 10 })), [])
          assert.deepStrictEqual((yield* records.list("item", { prefix: "c", limit: 1 }))[0]?.value, { key: "c" })
        })
      )
    )
  })
}
