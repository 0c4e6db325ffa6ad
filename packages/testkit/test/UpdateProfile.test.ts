/**
 * `UpdateUserIdentity` and `UnlinkAcsUser` through the engine and a store: the identity's lookup
 * keys follow the change (a new `key` is refused while another identity holds it, the old one is
 * given up; an unlinked ACS user may be linked to another identity), and a refused command saves
 * nothing.
 */
import { MemoryAccessControl, MemoryCredentialManager, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { Command, Engine, Ids, Store } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"

const setup = () =>
  Effect.gen(function* () {
    const sim = Simulator.make()
    const store = MemoryStore.make()
    const engine = yield* Engine.make().pipe(
      Effect.provide(
        Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), Layer.succeed(Store.Store, Store.Store.of(store)))
      )
    )
    yield* engine.execute(Command.make({ _tag: "CreateUserIdentity", userIdentityId: "u1", key: "ana" }))
    yield* engine.execute(Command.make({ _tag: "CreateUserIdentity", userIdentityId: "u2", key: "bo" }))
    return { engine, store }
  })

const u1 = Ids.UserIdentityId.make("u1")
const u2 = Ids.UserIdentityId.make("u2")

describe("UpdateUserIdentity through the engine", () => {
  it.effect("moves the identity's key: the new one is looked up, the old one is free", () =>
    Effect.gen(function* () {
      const { engine } = yield* setup()
      const s = yield* engine.execute(Command.make({ _tag: "UpdateUserIdentity", userIdentityId: "u1", key: "ana2", fullName: "Ana" }))
      assert.deepStrictEqual(s.profile, { key: "ana2", fullName: "Ana" })
      assert.strictEqual(yield* engine.lookup("key:ana2"), u1)
      assert.isUndefined(yield* engine.lookup("key:ana"))
      // the freed key may be taken by another identity
      yield* engine.execute(Command.make({ _tag: "UpdateUserIdentity", userIdentityId: "u2", key: "ana" }))
      assert.strictEqual(yield* engine.lookup("key:ana"), u2)
    })
  )

  it.effect("refuses a key another identity holds, naming `key`, and saves nothing", () =>
    Effect.gen(function* () {
      const { engine, store } = yield* setup()
      const before = yield* store.events({ after: 0, limit: 1_000 })
      const e = yield* Effect.flip(engine.execute(Command.make({ _tag: "UpdateUserIdentity", userIdentityId: "u1", key: "bo", fullName: "Ana" })))
      assert.strictEqual(e._tag, "CommandRejected")
      if (e._tag !== "CommandRejected") return
      assert.strictEqual(e.reason, "AlreadyExists")
      assert.strictEqual(e.field, "key")
      assert.deepStrictEqual((yield* engine.get(u1)).profile, { key: "ana" })
      assert.strictEqual(yield* engine.lookup("key:ana"), u1)
      assert.strictEqual(yield* engine.lookup("key:bo"), u2)
      assert.strictEqual((yield* store.events({ after: 0, limit: 1_000 })).length, before.length)
    })
  )

  it.effect("an unlinked ACS user can be linked to another identity", () =>
    Effect.gen(function* () {
      const { engine } = yield* setup()
      const link = (who: string) =>
        engine.execute(Command.make({ _tag: "LinkAcsUser", userIdentityId: who, acsUserId: "acsu1", acsSystemId: Simulator.defaultAcsId }))
      yield* link("u1")
      const taken = yield* Effect.flip(link("u2"))
      assert.strictEqual(taken._tag === "CommandRejected" ? taken.field : undefined, "acsUserId")
      const s = yield* engine.execute(Command.make({ _tag: "UnlinkAcsUser", userIdentityId: "u1", acsUserId: "acsu1" }))
      assert.deepStrictEqual(s.acsUsers, {})
      assert.isUndefined(yield* engine.lookup("acs-user:acsu1"))
      yield* link("u2")
      assert.strictEqual(yield* engine.lookup("acs-user:acsu1"), u2)
    })
  )
})
