/**
 * The commands of the model-based property test (fast-check `fc.commands`), one small class each.
 * `run` drives the real world and updates the model; after each step "at most one" is checked
 * against the provider's ground truth.
 */
import { Ids } from "@credsync/core"
import { Effect } from "effect"
import fc from "fast-check"
import type { FaultProfile } from "../Provider.js"
import type { World } from "../World.js"
import { checkAtMostOne } from "./Invariant.js"
import { activePhones, type Model, type ModelIdentity, profileKey, profiles } from "./Model.js"

type Cmd = fc.AsyncCommand<Model, World>

const pick = <A>(xs: ReadonlyArray<A>, i: number): A | undefined => (xs.length === 0 ? undefined : xs[i % xs.length])
const identityAt = (m: Model, i: number): ModelIdentity | undefined => pick([...m.identities.values()], i)

const execute = async (w: World, command: Record<string, unknown>) => {
  await w.ok((e) => e.execute(command))
}

const afterStep = async (w: World, m: Model) => {
  if (!m.driftDuplicate) checkAtMostOne(await w.effect(w.provider.truth))
}

class AddIdentity implements Cmd {
  check = (m: Model) => m.identities.size < 3
  async run(m: Model, w: World) {
    const id = `user-${++m.counter}`
    const acsUser = await w.effect(w.provider.acs.createUser(w.provider.acsSystemId, { fullName: id }))
    await execute(w, { _tag: "CreateUserIdentity", userIdentityId: id, email: `${id}@example.com` })
    await execute(w, { _tag: "LinkAcsUser", userIdentityId: id, acsUserId: acsUser.id, acsSystemId: w.provider.acsSystemId })
    await execute(w, { _tag: "LaunchAutomation", userIdentityId: id, automationId: `auto-${id}`, managerId: w.provider.managerId })
    m.identities.set(id, { id, acsUserId: acsUser.id, phones: new Map(), parents: new Map() })
    await afterStep(w, m)
  }
  toString = () => "AddIdentity"
}

class PhoneOnline implements Cmd {
  constructor(readonly i: number, readonly ios: boolean) {}
  check = (m: Model) => m.identities.size > 0
  async run(m: Model, w: World) {
    const identity = identityAt(m, this.i)!
    if (identity.phones.size >= 4) return
    const phoneId = await w.newPhone(identity.id, `phone-${++m.counter}`)
    await execute(w, { _tag: "PhoneOnline", userIdentityId: identity.id, phoneId, deviceType: this.ios ? "ios_phone" : "android_phone" })
    identity.phones.set(phoneId, true)
    await afterStep(w, m)
  }
  toString = () => `PhoneOnline(${this.i}, ${this.ios ? "ios" : "android"})`
}

class Redeem implements Cmd {
  constructor(readonly i: number) {}
  check = (m: Model) => m.identities.size > 0
  async run(m: Model, w: World) {
    await w.redeemAll([identityAt(m, this.i)!.id])
    await afterStep(w, m)
  }
  toString = () => `Redeem(${this.i})`
}

class Deactivate implements Cmd {
  constructor(readonly i: number, readonly p: number) {}
  check = (m: Model) => [...m.identities.values()].some((x) => activePhones(x).length > 0)
  async run(m: Model, w: World) {
    const identity = identityAt(m, this.i)!
    const phone = pick(activePhones(identity), this.p)
    if (phone === undefined) return
    await execute(w, { _tag: "DeactivatePhone", userIdentityId: identity.id, phoneId: phone })
    identity.phones.set(phone, false)
    await afterStep(w, m)
  }
  toString = () => `Deactivate(${this.i}, ${this.p})`
}

class CreateParent implements Cmd {
  constructor(readonly i: number, readonly profile: number) {}
  check = (m: Model) => m.identities.size > 0
  async run(m: Model, w: World) {
    const identity = identityAt(m, this.i)!
    const profile = profiles[this.profile % profiles.length]!
    if ([...identity.parents.values()].includes(profileKey(profile))) return
    const credentialId = `parent-${++m.counter}`
    await execute(w, {
      _tag: "CreateSyncCredential",
      userIdentityId: identity.id,
      credentialId,
      acsUserId: identity.acsUserId,
      managerId: w.provider.managerId,
      ...profile
    })
    identity.parents.set(credentialId, profileKey(profile))
    await afterStep(w, m)
  }
  toString = () => `CreateParent(${this.i}, ${this.profile})`
}

class DeleteParent implements Cmd {
  constructor(readonly i: number, readonly p: number) {}
  check = (m: Model) => [...m.identities.values()].some((x) => x.parents.size > 0)
  async run(m: Model, w: World) {
    const identity = identityAt(m, this.i)!
    const parent = pick([...identity.parents.keys()], this.p)
    if (parent === undefined) return
    await execute(w, { _tag: "DeleteSyncCredential", userIdentityId: identity.id, credentialId: parent })
    identity.parents.delete(parent)
    await afterStep(w, m)
  }
  toString = () => `DeleteParent(${this.i}, ${this.p})`
}

class Reconcile implements Cmd {
  constructor(readonly i: number) {}
  check = (m: Model) => m.identities.size > 0
  async run(m: Model, w: World) {
    const id = identityAt(m, this.i)!.id
    await w.run((e) => Effect.ignore(e.reconcile(Ids.UserIdentityId.make(id))))
    await afterStep(w, m)
  }
  toString = () => `Reconcile(${this.i})`
}

/** Two reconciles of one identity, a drain and a new phone, all at once. */
class Concurrent implements Cmd {
  constructor(readonly i: number) {}
  check = (m: Model) => m.identities.size > 0
  async run(m: Model, w: World) {
    const identity = identityAt(m, this.i)!
    const online = identity.phones.size < 4
    const phoneId = online ? await w.newPhone(identity.id, `phone-${++m.counter}`) : ""
    await w.run((e) =>
      Effect.all(
        [
          Effect.ignore(e.reconcile(Ids.UserIdentityId.make(identity.id))),
          Effect.ignore(e.reconcile(Ids.UserIdentityId.make(identity.id))),
          Effect.ignore(e.drain),
          online ? Effect.ignore(e.execute({ _tag: "PhoneOnline", userIdentityId: identity.id, phoneId, deviceType: "ios_phone" })) : Effect.void
        ],
        { concurrency: "unbounded" }
      )
    )
    if (online) {
      // an engine crash may have cut the command short; the host retries it (PhoneOnline is idempotent)
      await execute(w, { _tag: "PhoneOnline", userIdentityId: identity.id, phoneId, deviceType: "ios_phone" })
      identity.phones.set(phoneId, true)
    }
    await afterStep(w, m)
  }
  toString = () => `Concurrent(${this.i})`
}

const faultProfiles: ReadonlyArray<FaultProfile> = [
  {},
  { transient: 0.2 },
  { lostResponse: 0.25 },
  { rateLimited: 0.15 },
  { lagMs: 50, lostResponse: 0.1 },
  { duplicateCallbacks: 0.5, reorderCallbacks: 0.5, transient: 0.1 }
]

class Faults implements Cmd {
  constructor(readonly f: number) {}
  check = (_: Model) => true
  async run(_: Model, w: World) {
    const set = w.provider.setFaults
    if (set !== undefined) await w.effect(set(faultProfiles[this.f % faultProfiles.length]!))
  }
  toString = () => `Faults(${JSON.stringify(faultProfiles[this.f % faultProfiles.length])})`
}

class Callbacks implements Cmd {
  check = (_: Model) => true
  async run(m: Model, w: World) {
    await w.deliverCallbacks()
    await w.run((e) => Effect.ignore(e.drain))
    await afterStep(w, m)
  }
  toString = () => "Callbacks"
}

class Crash implements Cmd {
  check = (_: Model) => true
  async run(m: Model, w: World) {
    const crash = w.provider.crashNext
    if (crash === undefined) return
    await w.effect(crash)
    await w.run((e) => Effect.ignore(e.drain))
    await afterStep(w, m)
  }
  toString = () => "CrashOnNextIssue"
}

class Drift implements Cmd {
  constructor(readonly duplicate: boolean, readonly n: number) {}
  check = (_: Model) => true
  async run(m: Model, w: World) {
    const live = (await w.effect(w.provider.truth)).credentials.filter((c) => c.live)
    const victim = pick(live, this.n)
    const op = this.duplicate ? w.provider.duplicateCredential : w.provider.deleteCredential
    if (victim === undefined || op === undefined) return
    await w.effect(op(victim.ref))
    if (this.duplicate) m.driftDuplicate = true
  }
  toString = () => `Drift(${this.duplicate ? "duplicate" : "delete"}, ${this.n})`
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check = (_: Model) => true
  async run(m: Model, w: World) {
    await w.advance(this.ms)
    await w.effect(w.provider.settle)
    await w.run((e) => Effect.ignore(e.drain))
    if (m.driftDuplicate) {
      // a full resync repairs drift; after it "at most one" holds again
      await w.run((e) => Effect.ignore(e.resyncAll))
      await w.run((e) => Effect.ignore(e.drain))
      if (w.provider.setFaults === undefined) m.driftDuplicate = false
    }
    await afterStep(w, m)
  }
  toString = () => `Advance(${this.ms}ms)`
}

/** A fixed start so every run has something to break: two identities, each with a phone and a parent. */
export const prelude = (): ReadonlyArray<Cmd> => [
  new AddIdentity(),
  new AddIdentity(),
  new PhoneOnline(0, true),
  new PhoneOnline(1, false),
  new CreateParent(0, 0),
  new CreateParent(1, 1)
]

/** Every command kind; the phone/parent lifecycle twice, to keep runs eventful. */
export const commands = (options: { readonly drift?: boolean } = {}): Array<fc.Arbitrary<Cmd>> => {
  const idx = fc.nat(5)
  const lifecycle = [
    fc.tuple(idx, fc.boolean()).map(([i, ios]) => new PhoneOnline(i, ios)),
    idx.map((i) => new Redeem(i)),
    fc.tuple(idx, idx).map(([i, p]) => new Deactivate(i, p)),
    fc.tuple(idx, fc.nat(1)).map(([i, p]) => new CreateParent(i, p)),
    idx.map((i) => new Reconcile(i))
  ]
  return [
    ...lifecycle,
    fc.constant(new AddIdentity()),
    fc.tuple(idx, fc.boolean()).map(([i, ios]) => new PhoneOnline(i, ios)),
    idx.map((i) => new Redeem(i)),
    fc.tuple(idx, idx).map(([i, p]) => new Deactivate(i, p)),
    fc.tuple(idx, fc.nat(1)).map(([i, p]) => new CreateParent(i, p)),
    fc.tuple(idx, idx).map(([i, p]) => new DeleteParent(i, p)),
    idx.map((i) => new Reconcile(i)),
    idx.map((i) => new Concurrent(i)),
    fc.nat(faultProfiles.length - 1).map((f) => new Faults(f)),
    fc.constant(new Callbacks()),
    fc.constant(new Crash()),
    fc.integer({ min: 1, max: 2_000 }).map((ms) => new Advance(ms)),
    ...(options.drift === false ? [] : [fc.tuple(fc.boolean(), fc.nat(20)).map(([d, n]) => new Drift(d, n))])
  ]
}
