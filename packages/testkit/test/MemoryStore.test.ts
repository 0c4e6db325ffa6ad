import { MemoryStore } from "@credsync/adapter-memory"
import { Ids, PortError } from "@credsync/core"
import { sampleEvents, sampleState } from "../src/index.js"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"

const id = (s: string) => Ids.UserIdentityId.make(s)

describe("MemoryStore", () => {
  it.effect("rejections name the identity (version conflict) and the key (held by another identity)", () =>
    Effect.gen(function* () {
      const store = MemoryStore.make()
      const a = id("alice")
      const b = id("bob")
      yield* store.save({ id: a, expected: 0, state: sampleState(a), events: [], keys: ["phone:p1"] })
      const stale = yield* Effect.flip(store.save({ id: a, expected: 0, state: sampleState(a), events: [], keys: [] }))
      assert.strictEqual(stale.reason, "Conflict")
      assert.include(stale.message, "alice")
      const taken = yield* Effect.flip(
        store.save({ id: b, expected: 0, state: sampleState(b), events: [], keys: ["phone:p1"] })
      )
      assert.strictEqual(taken.reason, "InvalidInput", "a held key is no race: saving again cannot succeed")
      assert.include(taken.message, "phone:p1")
    })
  )

  it.effect("queueDepth counts the identities due now, not those due later or taken", () =>
    Effect.gen(function* () {
      const store = MemoryStore.make()
      for (const [name, due] of [["a", 10], ["b", 20], ["c", 100]] as const) {
        yield* store.save({ id: id(name), expected: 0, state: sampleState(id(name)), events: [], keys: [], due })
      }
      const depth = (now: number) => store.queueDepth?.(now) ?? Effect.succeed(-1)
      assert.strictEqual(yield* depth(50), 2)
      yield* store.claim({ owner: "r1", ttl: 1_000, grace: 0 }, 50, 1)
      assert.strictEqual(yield* depth(50), 1)
      assert.strictEqual(yield* depth(5), 0)
    })
  )

  it.effect("a state saved under another identity's id is InvalidInput", () =>
    Effect.gen(function* () {
      const store = MemoryStore.make()
      const error = yield* Effect.flip(
        store.save({ id: id("a"), expected: 0, state: sampleState(id("b")), events: [], keys: [] })
      )
      assert.instanceOf(error, PortError.PortError)
      assert.strictEqual(error.reason, "InvalidInput")
      assert.isTrue(Option.isNone(yield* store.load(id("a"))))
    })
  )

  it.effect("retainEvents bounds the log; sequence numbers keep counting", () =>
    Effect.gen(function* () {
      const store = MemoryStore.make({ retainEvents: 4 })
      const a = id("a")
      let version = 0
      for (let i = 0; i < 5; i++) {
        version = yield* store.save({ id: a, expected: version, state: sampleState(a), events: sampleEvents(a), keys: [] })
      }
      const kept = yield* store.events({ after: 0, limit: 100 })
      assert.deepStrictEqual(
        kept.map((e) => e.seq),
        [12, 13, 14, 15]
      )
      assert.deepStrictEqual(
        (yield* store.events({ after: 13, limit: 100 })).map((e) => e.seq),
        [14, 15]
      )
      const none = MemoryStore.make({ retainEvents: 0 })
      yield* none.save({ id: a, expected: 0, state: sampleState(a), events: sampleEvents(a), keys: [] })
      assert.deepStrictEqual(yield* none.events({ after: 0, limit: 10 }), [])
    })
  )

  it.effect("due queue over many identities: claim returns each due identity once, earliest first", () =>
    Effect.gen(function* () {
      const store = MemoryStore.make()
      const n = 20_000
      const lease = { owner: "r1", ttl: 1, grace: 0 }
      // deterministic pseudo-random times, each identity scheduled twice (the earlier wins)
      for (let i = 0; i < n; i++) {
        yield* store.save({ id: id(`id-${i}`), expected: 0, state: sampleState(id(`id-${i}`)), events: [], keys: [] })
        const at = (i * 7919) % 10_007
        yield* store.schedule(id(`id-${i}`), at + 5)
        yield* store.schedule(id(`id-${i}`), at)
      }
      const taken: Array<string> = []
      let last = -1
      for (;;) {
        const next = yield* store.nextDue("r1", 0)
        if (Option.isNone(next)) break
        assert.isAtLeast(next.value, last)
        last = next.value
        const batch = yield* store.claim(lease, next.value, 1000)
        assert.isAbove(batch.length, 0)
        taken.push(...batch.map((c) => c.id))
      }
      assert.strictEqual(taken.length, n)
      assert.strictEqual(new Set(taken).size, n)
    })
  )

  it.effect("list stays in id order when ids arrive out of order", () =>
    Effect.gen(function* () {
      const store = MemoryStore.make()
      const ids = Array.from({ length: 200 }, (_, i) => `u-${String((i * 37) % 200).padStart(3, "0")}`)
      for (const s of ids) yield* store.save({ id: id(s), expected: 0, state: sampleState(id(s)), events: [], keys: [] })
      const pages: Array<string> = []
      let after: Ids.UserIdentityId | undefined
      for (;;) {
        const page = yield* store.list({ after, limit: 33 })
        if (page.length === 0) break
        pages.push(...page)
        after = page[page.length - 1]
      }
      assert.deepStrictEqual(pages, [...ids].sort())
    })
  )
})
