/**
 * Commands refused because another identity holds what they name: each refusal names the command's
 * field and the identity that holds it, and changes nothing; a fact a provider reports that another
 * identity holds refuses the save the same way; the event feed's defaults. Memory adapters.
 */
import { MemoryAccessControl, MemoryCredentialManager, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { CredentialManager, Engine, Ids, PortError, Store } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"

const setup = Effect.gen(function* () {
  const sim = Simulator.make()
  const engine = yield* Engine.make().pipe(Effect.provide(Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), MemoryStore.layer())))
  const acsUser = yield* sim.acs.createUser(Simulator.defaultAcsId, { fullName: "Ana" })
  for (const command of [
    { _tag: "CreateUserIdentity", userIdentityId: "ana", key: "k-ana" },
    { _tag: "LinkAcsUser", userIdentityId: "ana", acsUserId: acsUser.id, acsSystemId: Simulator.defaultAcsId },
    { _tag: "LaunchAutomation", userIdentityId: "ana", automationId: "auto-ana", managerId: Simulator.defaultManagerId },
    { _tag: "CreateSyncCredential", userIdentityId: "ana", credentialId: "cred-ana", acsUserId: acsUser.id, managerId: Simulator.defaultManagerId, cardFormat: "rfid48", facilityCode: "9" },
    { _tag: "CreateUserIdentity", userIdentityId: "ben" },
    { _tag: "CreateUserIdentity", userIdentityId: "dee" }
  ]) {
    yield* engine.executeUnknown(command)
  }
  return { sim, engine, acsUser }
})

describe("commands naming what another identity holds", () => {
  it.effect("are refused as AlreadyExists, naming the field, the resource and its holder; nothing changes", () =>
    Effect.gen(function* () {
      const { sim, engine, acsUser } = yield* setup
      const benAcs = yield* sim.acs.createUser(Simulator.defaultAcsId, { fullName: "Ben" })
      yield* engine.executeUnknown({ _tag: "LinkAcsUser", userIdentityId: "ben", acsUserId: benAcs.id, acsSystemId: Simulator.defaultAcsId })
      const ben = yield* engine.get(Ids.UserIdentityId.make("ben"))
      const refused = (command: Record<string, unknown>) => Effect.flip(engine.executeUnknown(command))
      const cases = [
        [{ _tag: "CreateUserIdentity", userIdentityId: "cy", key: "k-ana" }, "key", "lookup key key:k-ana already belongs to user identity ana"],
        [{ _tag: "LaunchAutomation", userIdentityId: "ben", automationId: "auto-ana", managerId: Simulator.defaultManagerId }, "automationId", "lookup key automation:auto-ana already belongs to user identity ana"],
        [{ _tag: "LinkAcsUser", userIdentityId: "dee", acsUserId: acsUser.id, acsSystemId: Simulator.defaultAcsId }, "acsUserId", `lookup key acs-user:${acsUser.id} already belongs to user identity ana`],
        [
          { _tag: "CreateSyncCredential", userIdentityId: "ben", credentialId: "cred-ana", acsUserId: benAcs.id, managerId: Simulator.defaultManagerId, cardFormat: "rfid48", facilityCode: "9" },
          "credentialId",
          "credential id cred-ana already belongs to user identity ana"
        ]
      ] as const
      for (const [command, field, message] of cases) {
        const e = yield* refused(command)
        assert.deepInclude(e, { _tag: "CommandRejected", reason: "AlreadyExists", field, message }, command._tag)
      }
      assert.deepStrictEqual(yield* engine.get(Ids.UserIdentityId.make("ben")), ben)
      assert.deepStrictEqual((yield* engine.get(Ids.UserIdentityId.make("dee"))).acsUsers, {})
      assert.strictEqual((yield* Effect.flip(engine.get(Ids.UserIdentityId.make("cy"))))._tag, "CommandRejected")
    }))
})

describe("commands the store refuses for its own reasons", () => {
  /** An engine over a memory store whose next save fails with `next` (if set). */
  const failing = Effect.gen(function* () {
    const sim = Simulator.make()
    const memory = MemoryStore.make()
    const script: { next?: PortError.PortError; saves: number } = { saves: 0 }
    const store: Store.StoreShape = {
      ...memory,
      save: (r) =>
        Effect.suspend(() => {
          script.saves++
          const e = script.next
          delete script.next
          return e === undefined ? memory.save(r) : Effect.fail(e)
        })
    }
    const engine = yield* Engine.make().pipe(
      Effect.provide(Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), Layer.succeed(Store.Store, Store.Store.of(store))))
    )
    yield* engine.executeUnknown({ _tag: "CreateUserIdentity", userIdentityId: "ana" })
    return { engine, script }
  })
  const refusal = (reason: PortError.PortError["reason"], message: string) => new PortError.PortError({ reason, port: "Store", method: "save", message })

  it.effect("InvalidInput with no key held elsewhere: refused quoting the store, naming no field", () =>
    Effect.gen(function* () {
      const { engine, script } = yield* failing
      script.next = refusal("InvalidInput", "record too large")
      const e = yield* Effect.flip(engine.executeUnknown({ _tag: "PhoneOnline", userIdentityId: "ana", phoneId: "p1", deviceType: "ios_phone" }))
      assert.deepStrictEqual(e._tag === "CommandRejected" ? [e.reason, e.message, e.field] : [e._tag], ["AlreadyExists", "record too large", undefined])
      assert.notProperty(e, "field")
      assert.deepStrictEqual((yield* engine.get(Ids.UserIdentityId.make("ana"))).phones, [])
    }))

  it.effect("a store that is briefly unavailable: its error, not a version race, after one attempt", () =>
    Effect.gen(function* () {
      const { engine, script } = yield* failing
      script.next = refusal("Transient", "connection reset")
      script.saves = 0
      const e = yield* Effect.flip(engine.executeUnknown({ _tag: "PhoneOnline", userIdentityId: "ana", phoneId: "p1", deviceType: "ios_phone" }))
      assert.deepInclude(e, { _tag: "PortError", reason: "Transient", message: "connection reset" })
      assert.strictEqual(script.saves, 1)
    }))
})

describe("facts learned that another identity holds", () => {
  it.effect("a manager user the manager handed out twice: the second identity's save is refused naming the key and its holder", () =>
    Effect.gen(function* () {
      const sim = Simulator.make()
      const manager = { ...sim.manager, ensureUser: () => Effect.succeed(Ids.ProviderRef.make("the-same-user")) }
      const engine = yield* Engine.make().pipe(
        Effect.provide(
          Layer.mergeAll(Layer.succeed(CredentialManager.CredentialManager, CredentialManager.CredentialManager.of(manager)), MemoryAccessControl.layer(sim), MemoryStore.layer())
        )
      )
      for (const user of ["ana", "ben"]) {
        yield* engine.executeUnknown({ _tag: "CreateUserIdentity", userIdentityId: user })
        yield* engine.executeUnknown({ _tag: "LaunchAutomation", userIdentityId: user, automationId: `a-${user}`, managerId: Simulator.defaultManagerId })
      }
      yield* engine.reconcile(Ids.UserIdentityId.make("ana"))
      const e = yield* Effect.flip(engine.reconcile(Ids.UserIdentityId.make("ben")))
      assert.deepStrictEqual(e._tag === "SaveRejected" ? [e.reason, e.key, e.heldBy, e.message] : [e._tag], [
        "InvalidInput",
        "manager-user:cm_sim:the-same-user",
        "ana",
        "lookup key manager-user:cm_sim:the-same-user is already held by user identity ana; the state of user identity ben was not saved"
      ])
      assert.deepStrictEqual((yield* engine.get(Ids.UserIdentityId.make("ben"))).managerUsers, {})
    }))
})

describe("the event feed", () => {
  it.effect("pages 100 events unless told otherwise; past the end it returns the cursor it was given", () =>
    Effect.gen(function* () {
      const { engine } = yield* setup
      for (let n = 0; n < 110; n++) yield* engine.executeUnknown({ _tag: "CreateUserIdentity", userIdentityId: `x${n}` })
      const page = yield* engine.events()
      assert.lengthOf(page.events, 100)
      let after = page.next
      while (true) {
        const next = yield* engine.events({ after, limit: 1_000 })
        if (next.events.length === 0) {
          assert.strictEqual(next.next, after)
          assert.isFalse(next.missed)
          break
        }
        after = next.next
      }
    }))

  it.effect("takes limits from 1 to 1000 and nothing else; a bad request is refused naming its field, every problem told", () =>
    Effect.gen(function* () {
      const { engine } = yield* setup
      for (let n = 0; n < 1_001; n++) yield* engine.executeUnknown({ _tag: "CreateUserIdentity", userIdentityId: `x${n}` })
      assert.lengthOf((yield* engine.events({ limit: 1 })).events, 1)
      assert.lengthOf((yield* engine.events({ limit: 1_000 })).events, 1_000)
      for (const limit of [0, 1_001, 2.5]) {
        const e = yield* Effect.flip(engine.events({ limit }))
        assert.deepInclude(e, { _tag: "CommandRejected", reason: "InvalidInput", field: "limit" }, String(limit))
      }
      const both = yield* Effect.flip(engine.events({ after: "42", limit: 0 }))
      assert.deepInclude(both, { reason: "InvalidInput", field: "after" })
      assert.include(both.message, "Expected a cursor returned by events()")
      assert.include(both.message, '["limit"]')
      // a field the feed does not know is refused, not ignored (a misspelt `limit` would page 100)
      const request = { limit: 5, limt: 5 }
      const unknown = yield* Effect.flip(engine.events(request))
      assert.strictEqual(unknown._tag, "CommandRejected")
      assert.deepInclude(unknown, { reason: "InvalidInput" })
      assert.notProperty(unknown, "field")
      assert.include(unknown.message, "limt")
      assert.notInclude(unknown.message, "\n")
    }))
})
