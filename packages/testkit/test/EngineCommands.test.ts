/**
 * Commands refused because another identity holds what they name: each refusal names the command's
 * field and the identity that holds it, and changes nothing. Memory adapters.
 */
import { MemoryAccessControl, MemoryCredentialManager, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { Engine, Ids } from "@credsync/core"
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
    yield* engine.execute(command)
  }
  return { sim, engine, acsUser }
})

describe("commands naming what another identity holds", () => {
  it.effect("are refused as AlreadyExists, naming the field, the resource and its holder; nothing changes", () =>
    Effect.gen(function* () {
      const { sim, engine, acsUser } = yield* setup
      const benAcs = yield* sim.acs.createUser(Simulator.defaultAcsId, { fullName: "Ben" })
      yield* engine.execute({ _tag: "LinkAcsUser", userIdentityId: "ben", acsUserId: benAcs.id, acsSystemId: Simulator.defaultAcsId })
      const ben = yield* engine.get(Ids.UserIdentityId.make("ben"))
      const refused = (command: Record<string, unknown>) => Effect.flip(engine.execute(command))
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
