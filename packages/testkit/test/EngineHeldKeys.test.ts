/**
 * What a provider answers that another identity already holds: a credential ref or card number a
 * manager hands out twice, a credential id another identity took, a parent a replicating manager
 * created once for two people. The reconcile stops before acting on it, and the refusal names the
 * resource, the key and its holder. Simulator (or a small fake), memory store, TestClock.
 */
import { MemoryAccessControl, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { CredentialManager, Engine, Identity, Ids, Plan, Store } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"

const acsId = Simulator.defaultAcsId
const cm = Simulator.defaultManagerId
const uid = (name: string) => Ids.UserIdentityId.make(name)

/** The simulator's manager, with what `issue` answers rewritten by `twist` (identity by default). */
const setup = Effect.gen(function* () {
  const sim = Simulator.make()
  const store = MemoryStore.make()
  const twist: {
    issue: (cred: CredentialManager.ManagerCredential) => CredentialManager.ManagerCredential
    user: (ref: Ids.ProviderRef) => Ids.ProviderRef
  } = { issue: (cred) => cred, user: (ref) => ref }
  const manager: CredentialManager.CredentialManagerShape = {
    ...sim.manager,
    ensureUser: (m, user) => Effect.map(sim.manager.ensureUser(m, user), (ref) => twist.user(ref)),
    issue: (m, request) => Effect.map(sim.manager.issue(m, request), (cred) => twist.issue(cred))
  }
  const engine = yield* Engine.make().pipe(
    Effect.provide(
      Layer.mergeAll(
        Layer.succeed(CredentialManager.CredentialManager, CredentialManager.CredentialManager.of(manager)),
        MemoryAccessControl.layer(sim),
        Layer.succeed(Store.Store, Store.Store.of(store))
      )
    )
  )
  /** `name` with an ACS user, automation, sync credential `c-<name>` and phone `p-<name>`; not reconciled. */
  const enroll = (name: string) =>
    Effect.gen(function* () {
      const id = uid(name)
      const acsUser = yield* sim.acs.createUser(acsId, { fullName: name })
      for (const command of [
        { _tag: "CreateUserIdentity", userIdentityId: name },
        { _tag: "LinkAcsUser", userIdentityId: name, acsUserId: acsUser.id, acsSystemId: acsId },
        { _tag: "LaunchAutomation", userIdentityId: name, automationId: `a-${name}`, managerId: cm },
        { _tag: "CreateSyncCredential", userIdentityId: name, credentialId: `c-${name}`, acsUserId: acsUser.id, managerId: cm, cardFormat: "rfid48", facilityCode: "9" },
        { _tag: "PhoneOnline", userIdentityId: name, phoneId: `p-${name}`, deviceType: "ios_phone" }
      ]) {
        yield* engine.executeUnknown(command)
      }
      return { id, acsUser }
    })
  /** The phone's invitation, redeemed on the phone: its endpoint. */
  const redeem = (id: Ids.UserIdentityId, phone: string) =>
    Effect.gen(function* () {
      const code = Identity.enrollmentByKey(yield* engine.get(id), `${phone}|${cm}`)?.code
      assert.isDefined(code)
      return yield* sim.redeem(code ?? "")
    })
  /** {@link enroll}, reconciled once and the phone's invitation redeemed. */
  const person = (name: string) =>
    Effect.gen(function* () {
      const p = yield* enroll(name)
      yield* engine.reconcile(p.id)
      return { ...p, endpoint: yield* redeem(p.id, `p-${name}`) }
    })
  return { sim, store, engine, twist, enroll, redeem, person }
})

describe("a provider answer another identity holds", () => {
  it.effect("a credential ref the manager hands out twice: refused naming that credential, nothing imported for the second", () =>
    Effect.gen(function* () {
      const { sim, engine, twist, person } = yield* setup
      const ana = yield* person("ana")
      yield* engine.reconcile(ana.id)
      const anaChild = (yield* engine.get(ana.id)).children[0]
      const anaRef = anaChild?.ref
      assert.isDefined(anaRef)
      const ben = yield* person("ben")
      twist.issue = (cred) => ({ ...cred, ref: anaRef ?? cred.ref })
      const benChild = Plan.childId(Ids.CredentialId.make("c-ben"), Ids.PhoneId.make("p-ben"), ben.endpoint)
      const e = yield* Effect.flip(engine.reconcile(ben.id))
      assert.deepInclude(e, {
        _tag: "SaveRejected",
        reason: "InvalidInput",
        key: `manager-credential:${cm}:${anaRef}`,
        heldBy: ana.id,
        credentialId: benChild,
        message: `credential ${anaRef} at manager ${cm} is already held by user identity ana; the state of user identity ben was not saved`
      })
      // the request was saved before the call; the ref it answered was not, nor the card imported
      const saved = Identity.child(yield* engine.get(ben.id), benChild)
      assert.deepStrictEqual([saved?.issue, saved?.ref], ["requested", undefined])
      assert.lengthOf((yield* sim.truth()).acsEntries, 1)
      const [stuck] = yield* engine.stuck
      assert.deepStrictEqual(
        [stuck?.credentialId, stuck?.cause.code, stuck?.cause.message],
        [benChild, "save_rejected", `credsync cannot save this user identity: credential ${anaRef} at manager ${cm} is already held by user identity ana; the state of user identity ben was not saved`]
      )
    }))

  it.effect("a card number the manager hands out twice: refused naming the card and its ACS", () =>
    Effect.gen(function* () {
      const { sim, engine, twist, person } = yield* setup
      const ana = yield* person("ana")
      yield* engine.reconcile(ana.id)
      const card = (yield* engine.get(ana.id)).children[0]?.cardNumber
      assert.isDefined(card)
      const ben = yield* person("ben")
      twist.issue = (cred) => ({ ...cred, cardNumber: card })
      const e = yield* Effect.flip(engine.reconcile(ben.id))
      assert.deepInclude(e, {
        _tag: "SaveRejected",
        key: `card:${acsId}:${card}`,
        heldBy: ana.id,
        credentialId: Plan.childId(Ids.CredentialId.make("c-ben"), Ids.PhoneId.make("p-ben"), ben.endpoint),
        message: `card number ${card} (ACS ${acsId}) is already held by user identity ana; the state of user identity ben was not saved`
      })
      const entries = (yield* sim.truth()).acsEntries
      assert.deepStrictEqual(
        entries.map((x) => [x.cardNumber, x.assignedTo]),
        [[card, ana.acsUser.id]]
      )
    }))

  it.effect("a second phone's credential whose id another identity took: refused naming that id, before the manager is asked", () =>
    Effect.gen(function* () {
      const { sim, engine, redeem, person } = yield* setup
      const ana = yield* person("ana")
      const ben = yield* person("ben")
      yield* engine.reconcile(ben.id)
      yield* engine.executeUnknown({ _tag: "PhoneOnline", userIdentityId: "ben", phoneId: "p-ben2", deviceType: "ios_phone" })
      yield* engine.reconcile(ben.id)
      const second = Plan.childId(Ids.CredentialId.make("c-ben"), Ids.PhoneId.make("p-ben2"), yield* redeem(ben.id, "p-ben2"))
      yield* engine.executeUnknown({
        _tag: "CreateSyncCredential",
        userIdentityId: "ana",
        credentialId: second,
        acsUserId: ana.acsUser.id,
        managerId: cm,
        // another card profile: a phone holds one credential per profile
        cardFormat: "h10301",
        facilityCode: "1"
      })
      const issued = sim.calls.issue
      const e = yield* Effect.flip(engine.reconcile(ben.id))
      // named by its id, not mistaken for Ben's first (issued) phone credential
      assert.deepInclude(e, {
        _tag: "SaveRejected",
        reason: "InvalidInput",
        key: `credential:${second}`,
        heldBy: ana.id,
        credentialId: second,
        message: `credential id ${second} is already held by user identity ana; the state of user identity ben was not saved`
      })
      assert.strictEqual(sim.calls.issue, issued)
    }))

  it.effect("a manager user the manager hands out twice: named by its lookup key, not as the identity's credential or phone", () =>
    Effect.gen(function* () {
      const { engine, twist, enroll, person } = yield* setup
      const ana = yield* person("ana")
      const anaUser = (yield* engine.get(ana.id)).managerUsers[cm]?.ref
      assert.isDefined(anaUser)
      twist.user = () => anaUser ?? Ids.ProviderRef.make("none")
      const ben = yield* enroll("ben")
      const e = yield* Effect.flip(engine.reconcile(ben.id))
      assert.deepInclude(e, {
        _tag: "SaveRejected",
        key: `manager-user:${cm}:${anaUser}`,
        heldBy: ana.id,
        message: `lookup key manager-user:${cm}:${anaUser} is already held by user identity ana; the state of user identity ben was not saved`
      })
      assert.notProperty(e, "credentialId")
      assert.notProperty(e, "phoneId")
      assert.deepStrictEqual((yield* engine.get(ben.id)).managerUsers, {})
    }))
})

describe("a replicating manager's answer another identity holds", () => {
  const seam = Ids.AcsSystemId.make("seam")
  const ref = (s: string) => Ids.ProviderRef.make(s)
  /** A replicating manager that answers every parent create with the same parent `pc1`. */
  const manager: CredentialManager.ReplicatingManagerShape = {
    kind: "replicating",
    systems: [{ id: seam, name: "Seam", externalType: "seam", capabilities: { asyncIssue: false, listingLag: 0 } }],
    ensureUser: (_, user) => Effect.succeed(ref(`user-${user.id}`)),
    observe: (_, user) =>
      Effect.succeed({ user, invitations: [], endpoints: [], credentials: [], parents: [{ ref: ref("pc1"), cardFormat: "rfid48", facilityCode: "9" }], automations: [] }),
    revoke: () => Effect.void,
    removeEndpoint: () => Effect.void,
    createParent: () => Effect.succeed(ref("pc1")),
    deleteParent: () => Effect.void,
    launchAutomation: (_, user) => Effect.succeed(ref(`auto-${user}`))
  }

  it.effect("a parent created once for two identities: the second is refused naming its sync credential", () =>
    Effect.gen(function* () {
      const sim = Simulator.make()
      const engine = yield* Engine.make().pipe(
        Effect.provide(Layer.mergeAll(Layer.succeed(CredentialManager.CredentialManager, CredentialManager.CredentialManager.of(manager)), MemoryAccessControl.layer(sim), MemoryStore.layer()))
      )
      for (const name of ["ana", "ben"]) {
        const acsUser = yield* sim.acs.createUser(acsId, { fullName: name })
        for (const command of [
          { _tag: "CreateUserIdentity", userIdentityId: name },
          { _tag: "LinkAcsUser", userIdentityId: name, acsUserId: acsUser.id, acsSystemId: acsId },
          { _tag: "LaunchAutomation", userIdentityId: name, automationId: `a-${name}`, managerId: seam },
          { _tag: "CreateSyncCredential", userIdentityId: name, credentialId: `c-${name}`, acsUserId: acsUser.id, managerId: seam, cardFormat: "rfid48", facilityCode: "9" }
        ]) {
          yield* engine.executeUnknown(command)
        }
      }
      yield* engine.reconcile(uid("ana"))
      assert.strictEqual(Identity.parent(yield* engine.get(uid("ana")), "c-ana")?.remote, ref("pc1"))
      const e = yield* Effect.flip(engine.reconcile(uid("ben")))
      assert.deepInclude(e, {
        _tag: "SaveRejected",
        reason: "InvalidInput",
        key: "manager-credential:seam:pc1",
        heldBy: uid("ana"),
        credentialId: Ids.CredentialId.make("c-ben"),
        message: "credential id c-ben is already held by user identity ana; the state of user identity ben was not saved"
      })
      assert.isUndefined(Identity.parent(yield* engine.get(uid("ben")), "c-ben")?.remote)
    }))
})
