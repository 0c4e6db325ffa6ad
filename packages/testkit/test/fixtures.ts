/**
 * The setup the engine tests share: one person with one phone, as a host would bring them in.
 */
import { Simulator } from "@credsync/adapter-memory"
import { type AccessControl, Command, type Engine, type Ids, type PortError } from "@credsync/core"
import { Effect } from "effect"

/**
 * Ana (identity `id`): an ACS user linked, the automation `a1` and the sync credential `c1` at the
 * default manager, and her phone `p1` online. Returns her ACS user. Nothing is reconciled yet.
 */
export const ana = (
  engine: Engine.EngineShape,
  sim: Simulator.Simulator,
  id: Ids.UserIdentityId
): Effect.Effect<AccessControl.AcsUser, PortError.PortError | Command.CommandRejected> =>
  Effect.gen(function* () {
    const acsUser = yield* sim.acs.createUser(Simulator.defaultAcsId, { fullName: "Ana" })
    for (const command of [
      { _tag: "CreateUserIdentity", userIdentityId: id },
      { _tag: "LinkAcsUser", userIdentityId: id, acsUserId: acsUser.id, acsSystemId: Simulator.defaultAcsId },
      { _tag: "LaunchAutomation", userIdentityId: id, automationId: "a1", managerId: Simulator.defaultManagerId },
      { _tag: "CreateSyncCredential", userIdentityId: id, credentialId: "c1", acsUserId: acsUser.id, managerId: Simulator.defaultManagerId, cardFormat: "rfid48", facilityCode: "9" },
      { _tag: "PhoneOnline", userIdentityId: id, phoneId: "p1", deviceType: "ios_phone" }
    ] satisfies ReadonlyArray<Command.Encoded>) {
      yield* engine.execute(Command.make(command))
    }
    return acsUser
  })
