/**
 * The commands of the model-based property test (fast-check `fc.commands`), one small class each.
 * `run` drives the real world and updates the model; after each step "at most one" (also checked at
 * every provider call, see Watch) and what the engine did on the way are checked.
 *
 * Commands are weighted towards what finds bugs: lifecycle steps that make the engine issue and
 * revoke, races interleaved by fast-check's scheduler, asynchronous issuance, re-enrolment, ACS
 * drift, scripted failures and time at the listing-lag boundary.
 */
import { Command, Ids } from "@credsync/core"
import { Effect, Exit } from "effect"
import fc from "fast-check"
import type { FaultProfile, ScriptedOperation } from "../Provider.js"
import type { World } from "../World.js"
import { checkAtMostOne, checkReasons } from "./Invariant.js"
import { activePhones, count, type Model, type ModelIdentity, profileKey, profiles } from "./Model.js"

type Cmd = fc.AsyncCommand<Model, World>

const pick = <A>(xs: ReadonlyArray<A>, i: number): A | undefined => (xs.length === 0 ? undefined : xs[i % xs.length])
const identityAt = (m: Model, i: number): ModelIdentity | undefined => pick([...m.identities.values()], i)
const uid = (id: string) => Ids.UserIdentityId.make(id)

/** The listing lag of the lagging fault profile: `Advance` hits its edges exactly. */
export const lagMs = 50

const execute = async (w: World, command: Command.Encoded, replica: 0 | 1 = 0) => {
  const c = Command.make(command)
  await w.ok((e) => e.execute(c), replica)
}

/** A command the host retries after a race: an outcome it already had is not an error. */
const retry = async (w: World, command: Command.Command) => {
  const exit = await w.run((e) => e.execute(command))
  if (exit === "crashed" || Exit.isSuccess(exit)) return
  const reason = exit.cause.reasons.flatMap((r) => ("error" in r ? [(r.error as { reason?: string }).reason] : []))[0]
  if (reason !== "AlreadyExists" && reason !== "NotFound") throw new Error(`${command._tag} failed after the race: ${String(reason)}`)
}

const afterStep = async (w: World, m: Model) => {
  const truth = await w.effect(w.provider.truth)
  if (w.provider.truthNow !== undefined) {
    // knows which credentials the test planted
    w.watch.checkAtMostOne("the step", await w.now())
  } else if (w.watch.allowDuplicates) {
    // the planted duplicate is repaired once "at most one" holds again; from then on it must keep holding
    try {
      checkAtMostOne(truth)
      w.watch.allowDuplicates = false
    } catch {}
  } else checkAtMostOne(truth)
  checkReasons(w, m)
  if (w.watch.violations.length > 0) throw new Error(w.watch.violations.join("\n"))
  w.watch.step++
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

/** The card profiles parents are drawn from: the provider's, if it cannot issue the model's all. */
const profilesOf = (w: World): ReadonlyArray<{ readonly cardFormat: string; readonly facilityCode: string }> => w.provider.cardProfiles ?? profiles

const createParent = (
  identity: ModelIdentity,
  credentialId: string,
  profile: { readonly cardFormat: string; readonly facilityCode: string },
  managerId: string
): Command.Encoded => ({
  _tag: "CreateSyncCredential",
  userIdentityId: identity.id,
  credentialId,
  acsUserId: identity.acsUserId,
  managerId,
  ...profile
})

class CreateParent implements Cmd {
  constructor(readonly i: number, readonly profile: number) {}
  check = (m: Model) => m.identities.size > 0
  async run(m: Model, w: World) {
    const identity = identityAt(m, this.i)!
    const drawn = profilesOf(w)
    const profile = drawn[this.profile % drawn.length]!
    if ([...identity.parents.values()].includes(profileKey(profile))) return
    const credentialId = `parent-${++m.counter}`
    await execute(w, createParent(identity, credentialId, profile, w.provider.managerId))
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
    m.deletedParents.add(parent)
    await afterStep(w, m)
  }
  toString = () => `DeleteParent(${this.i}, ${this.p})`
}

class UpdateProfile implements Cmd {
  constructor(readonly i: number, readonly n: number) {}
  check = (m: Model) => m.identities.size > 0
  async run(m: Model, w: World) {
    const identity = identityAt(m, this.i)!
    const profile = { fullName: `name-${this.n}`, email: `${identity.id}+${this.n}@example.com` }
    const exit = await w.run((e) => e.execute(Command.make({ _tag: "UpdateUserIdentity", userIdentityId: identity.id, ...profile })))
    if (exit !== "crashed") {
      if (Exit.isFailure(exit)) throw new Error(`UpdateUserIdentity failed: ${String(exit.cause)}`)
      if (exit.value.profile.fullName !== profile.fullName || exit.value.profile.email !== profile.email) {
        throw new Error(`UpdateUserIdentity: profile ${JSON.stringify(exit.value.profile)}`)
      }
    }
    await afterStep(w, m)
  }
  toString = () => `UpdateProfile(${this.i}, ${this.n})`
}

/**
 * Unlink the identity's ACS user and link a new one. Refused (Conflict) while a parent of the
 * identity, live or still being retired, is assigned to it; accepted, the identity's next parents
 * are assigned to the new ACS user (the invariant checks them against the model's).
 */
class RelinkAcsUser implements Cmd {
  constructor(readonly i: number) {}
  check = (m: Model) => m.identities.size > 0
  async run(m: Model, w: World) {
    const identity = identityAt(m, this.i)!
    const acs = w.provider.acsSystemId
    const exit = await w.run((e) => e.execute(Command.make({ _tag: "UnlinkAcsUser", userIdentityId: identity.id, acsUserId: identity.acsUserId })))
    // a crash leaves the outcome unknown: the stored state says what happened
    const state = await w.ok((e) => e.get(uid(identity.id)))
    if (state === undefined) return afterStep(w, m)
    if (state.acsUsers[acs]?.acsUserId === identity.acsUserId) {
      if (exit !== "crashed" && Exit.isSuccess(exit)) throw new Error("UnlinkAcsUser succeeded but the link stayed")
      if (!state.parents.some((p) => p.acsUserId === identity.acsUserId)) {
        throw new Error(`UnlinkAcsUser refused with no parent assigned to ${identity.acsUserId}`)
      }
      count(m, "unlink refused")
      return afterStep(w, m)
    }
    if (identity.parents.size > 0) throw new Error(`UnlinkAcsUser accepted while parents ${[...identity.parents.keys()]} are live`)
    const acsUser = await w.effect(w.provider.acs.createUser(acs, { fullName: `${identity.id}-relinked-${++m.counter}` }))
    for (let attempt = 0; state.acsUsers[acs] === undefined && attempt < 3; attempt++) {
      const linked = await w.run((e) => e.execute(Command.make({ _tag: "LinkAcsUser", userIdentityId: identity.id, acsUserId: acsUser.id, acsSystemId: acs })))
      if (linked !== "crashed" && Exit.isFailure(linked)) throw new Error(`LinkAcsUser failed after the unlink: ${String(linked.cause)}`)
      const now = await w.ok((e) => e.get(uid(identity.id)))
      if (now?.acsUsers[acs] !== undefined) break
    }
    m.identities.set(identity.id, { ...identity, acsUserId: acsUser.id })
    count(m, "relinked")
    await afterStep(w, m)
  }
  toString = () => `RelinkAcsUser(${this.i})`
}

class Reconcile implements Cmd {
  constructor(readonly i: number, readonly replica: 0 | 1) {}
  check = (m: Model) => m.identities.size > 0
  async run(m: Model, w: World) {
    const id = identityAt(m, this.i)!.id
    const r = await w.run((e) => Effect.orElseSucceed(e.reconcile(uid(id)), () => undefined), this.replica)
    if (this.replica === 1 && r !== "crashed" && Exit.isSuccess(r) && (r.value?.rounds ?? 0) > 0) w.watch.counters.replicaWork++
    await afterStep(w, m)
  }
  toString = () => `Reconcile(${this.i}, ${this.replica === 0 ? "replica-a" : "replica-b"})`
}

/** What one participant of a race does. */
type Actor =
  | { readonly kind: "reconcile"; readonly replica: 0 | 1 }
  | { readonly kind: "drain"; readonly replica: 0 | 1 }
  | { readonly kind: "command"; readonly what: "phone" | "deactivate" | "createParent" | "deleteParent"; readonly replica: 0 | 1; readonly n: number }
  | { readonly kind: "callbacks" }
  | { readonly kind: "redeem" }
  | { readonly kind: "advance"; readonly ms: number }

const actorName = (a: Actor): string => {
  const r = (x: 0 | 1) => (x === 0 ? "a" : "b")
  switch (a.kind) {
    case "reconcile":
    case "drain":
      return `${a.kind}@${r(a.replica)}`
    case "command":
      return `${a.what}(${a.n})@${r(a.replica)}`
    case "callbacks":
    case "redeem":
      return a.kind
    case "advance":
      return `advance(${a.ms}ms)`
  }
}

/**
 * Several things at once on one identity — reconciles of both replicas, a drain, host commands,
 * callbacks, time passing — with every port and store call held until fast-check's scheduler lets
 * it go: the interleaving is explored (and shrunk with the run), not left to the runtime.
 */
class Race implements Cmd {
  private lastSchedule = ""
  constructor(
    readonly i: number,
    readonly actors: ReadonlyArray<Actor>,
    readonly scheduler: fc.Scheduler
  ) {}
  check = (m: Model) => m.identities.size > 0
  async run(m: Model, w: World) {
    // a fresh copy each run, so a replay takes the same decisions
    const s = (this.scheduler as unknown as { [fc.cloneMethod]: () => fc.Scheduler })[fc.cloneMethod]()
    const identity = identityAt(m, this.i)!
    const id = uid(identity.id)
    const after: Array<() => Promise<void>> = []
    // one parent per card profile: a second create of the same profile in one race would be refused
    const creating: Array<string> = []
    const work: Array<{ readonly replica: 0 | 1 | undefined; readonly start: () => Promise<Exit.Exit<unknown, unknown>> }> = []
    for (const a of this.actors) {
      switch (a.kind) {
        case "reconcile":
        case "drain": {
          const engine = await w.engine(a.replica)
          const eff: Effect.Effect<unknown, unknown> = a.kind === "reconcile" ? engine.reconcile(id) : engine.drain
          work.push({ replica: a.replica, start: () => w.runtime.runPromiseExit(eff) })
          break
        }
        case "command": {
          const engine = await w.engine(a.replica)
          let command: Command.Encoded | undefined
          let apply = () => {}
          if (a.what === "phone" && identity.phones.size < 4) {
            const phoneId = await w.newPhone(identity.id, `phone-${++m.counter}`)
            command = { _tag: "PhoneOnline", userIdentityId: identity.id, phoneId, deviceType: "ios_phone" }
            apply = () => void identity.phones.set(phoneId, true)
          } else if (a.what === "deactivate") {
            const phone = pick(activePhones(identity), a.n)
            if (phone !== undefined) {
              command = { _tag: "DeactivatePhone", userIdentityId: identity.id, phoneId: phone }
              apply = () => void identity.phones.set(phone, false)
            }
          } else if (a.what === "createParent") {
            const drawn = profilesOf(w)
            const profile = drawn[a.n % drawn.length]!
            if (![...identity.parents.values(), ...creating].includes(profileKey(profile))) {
              creating.push(profileKey(profile))
              const credentialId = `parent-${++m.counter}`
              command = createParent(identity, credentialId, profile, w.provider.managerId)
              apply = () => void identity.parents.set(credentialId, profileKey(profile))
            }
          } else if (a.what === "deleteParent") {
            const parent = pick([...identity.parents.keys()], a.n)
            if (parent !== undefined) {
              command = { _tag: "DeleteSyncCredential", userIdentityId: identity.id, credentialId: parent }
              apply = () => {
                identity.parents.delete(parent)
                m.deletedParents.add(parent)
              }
            }
          }
          if (command === undefined) break
          const c = Command.make(command)
          work.push({ replica: a.replica, start: () => w.runtime.runPromiseExit(engine.execute(c)) })
          // the host retries a command the race refused (e.g. a version conflict), then it holds
          after.push(async () => {
            await retry(w, c)
            apply()
          })
          break
        }
        case "callbacks": {
          const engine = await w.engine(0)
          work.push({
            replica: 0,
            start: async () => {
              const callbacks = await w.effect(w.provider.callbacks)
              return w.runtime.runPromiseExit(Effect.forEach(callbacks, (c) => Effect.ignore(engine.ingest(c)), { discard: true }))
            }
          })
          break
        }
        case "redeem":
          // the phone app redeems its code in the middle of it all
          work.push({ replica: undefined, start: () => w.redeemAll([identity.id]).then(() => Exit.void) })
          break
        case "advance":
          work.push({ replica: undefined, start: () => w.advance(a.ms).then(() => Exit.void) })
          break
      }
    }
    w.watch.counters.raceSteps++
    w.watch.raceSteps.add(w.watch.step)
    w.watch.gate = (label) => s.schedule(Promise.resolve(label), label).then(() => undefined)
    let exits: Array<Exit.Exit<unknown, unknown>>
    try {
      const started = work.map((x, k) => s.schedule(Promise.resolve(), `start ${actorName(this.actors[k]!)}`).then(x.start))
      exits = await s.waitFor(Promise.all(started))
    } finally {
      w.watch.gate = undefined
      await s.waitIdle()
      this.lastSchedule = s
        .report()
        .filter((t) => t.status !== "pending")
        .map((t) => t.label)
        .join(" → ")
    }
    for (const [k, exit] of exits.entries()) {
      const replica = work[k]!.replica
      if (replica !== undefined) await w.crashed(exit, replica)
    }
    for (const f of after) await f()
    await afterStep(w, m)
  }
  toString = () => `Race(${this.i}, [${this.actors.map(actorName).join(", ")}])${this.lastSchedule === "" ? "" : ` /* ${this.lastSchedule} */`}`
}

/** Fault mixes: transient, lost responses, rate limits, a lagging listing, unreliable callbacks,
 *  and asynchronous issuance confirmed late, never by callback, or as a failure. */
export const faultProfiles: ReadonlyArray<FaultProfile> = [
  {},
  { transient: 0.2 },
  { lostResponse: 0.25 },
  { rateLimited: 0.15 },
  { lagMs, lostResponse: 0.1 },
  { duplicateCallbacks: 0.5, reorderCallbacks: 0.5, transient: 0.1 },
  { issueDelayMs: 1_500, dropIssueCallbacks: 0.7 },
  { issueFailure: 0.5, issueDelayMs: 300 },
  { lagMs, issueDelayMs: lagMs, lostResponse: 0.2 }
]

class Faults implements Cmd {
  constructor(readonly f: number) {}
  check = (_: Model) => true
  async run(m: Model, w: World) {
    const set = w.provider.setFaults
    const profile = faultProfiles[this.f % faultProfiles.length]!
    if (set !== undefined) await w.effect(set(profile))
    // A callback that arrives while the listing still lags behind the change it reports is acted on
    // too early, and then only by the next periodic resync (a limitation of the engine today).
    if ((profile.lagMs ?? 0) > 0) w.resyncOwed = true
    count(m, `faults:${this.f % faultProfiles.length}`)
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

/** One scripted failure of a provider call: an observation failing mid-reconcile, or a terminal
 *  error (the engine surfaces it or retries with back-off, never loops). */
export const scripted: ReadonlyArray<readonly [ScriptedOperation, "Unknown" | "Unauthorized" | "InvalidInput" | "Transient"]> = [
  ["observe", "Unknown"],
  ["acsObserve", "Unauthorized"],
  ["issue", "InvalidInput"],
  ["invite", "Unauthorized"],
  ["revoke", "Unknown"],
  ["acsImport", "Unknown"],
  ["acsRemove", "Unknown"],
  ["observe", "Transient"]
]

class FailNext implements Cmd {
  constructor(readonly k: number) {}
  check = (_: Model) => true
  async run(m: Model, w: World) {
    const fail = w.provider.failNext
    const [op, reason] = scripted[this.k % scripted.length]!
    if (fail === undefined) return
    await w.effect(fail(op, reason))
    count(m, `failNext:${op}:${reason}`)
    await w.run((e) => Effect.ignore(e.drain))
    await afterStep(w, m)
  }
  toString = () => `FailNext(${scripted[this.k % scripted.length]!.join(", ")})`
}

/** A phone enrols and the reconcile its callback triggers cannot observe the manager (or the ACS):
 *  the engine must look again by itself, with back-off. */
class FailOnCallback implements Cmd {
  constructor(readonly i: number, readonly acs: boolean) {}
  check = (m: Model) => m.identities.size > 0
  async run(m: Model, w: World) {
    const fail = w.provider.failNext
    if (fail === undefined) return
    if ((await w.redeemAll([identityAt(m, this.i)!.id])) === 0) return
    await w.effect(fail(this.acs ? "acsObserve" : "observe", "Unknown"))
    count(m, `observe-fails-on-callback${this.acs ? ":acs" : ""}`)
    await w.deliverCallbacks()
    await w.run((e) => Effect.ignore(e.drain))
    await afterStep(w, m)
  }
  toString = () => `FailOnCallback(${this.i}, ${this.acs ? "acsObserve" : "observe"})`
}

class Drift implements Cmd {
  constructor(readonly duplicate: boolean, readonly n: number) {}
  check = (_: Model) => true
  async run(m: Model, w: World) {
    const all = (await w.effect(w.provider.truth)).credentials
    const live = all.filter((c) => c.live)
    const victim = pick(live, this.n)
    const op = this.duplicate ? w.provider.duplicateCredential : w.provider.deleteCredential
    if (victim === undefined || op === undefined) return
    const before = new Set(all.map((c) => c.ref))
    await w.effect(op(victim.ref))
    w.resyncOwed = true
    count(m, this.duplicate ? "drift:duplicate" : "drift:delete")
    if (this.duplicate) {
      w.watch.allowDuplicates = true
      for (const c of (await w.effect(w.provider.truth)).credentials) {
        if (before.has(c.ref)) continue
        w.watch.planted.add(c.ref)
        w.watch.plantedAt.set(c.ref, `${c.endpoint}|${profileKey(c)}`)
      }
    }
  }
  toString = () => `Drift(${this.duplicate ? "duplicate" : "delete"}, ${this.n})`
}

/** Re-enrolment: an endpoint removed behind the engine's back (the phone must enrol again with a
 *  new endpoint), or an old removed endpoint coming back active. */
class EndpointDrift implements Cmd {
  constructor(readonly restore: boolean, readonly n: number) {}
  check = (_: Model) => true
  async run(m: Model, w: World) {
    const endpoints = (await w.effect(w.provider.truth)).endpoints ?? []
    const want = this.restore ? "removed" : "active"
    const victim = pick(
      endpoints.filter((e) => e.status === want && w.endpointOwner.has(e.ref)),
      this.n
    )
    const op = this.restore ? w.provider.restoreEndpoint : w.provider.removeEndpoint
    if (victim === undefined || op === undefined) return
    await w.effect(op(victim.ref))
    w.resyncOwed = true
    count(m, this.restore ? "drift:endpoint-restored" : "drift:endpoint-removed")
    await afterStep(w, m)
  }
  toString = () => `EndpointDrift(${this.restore ? "restore" : "remove"}, ${this.n})`
}

/** An invitation expires before the phone app redeems it: the enrollment is retried with back-off. */
class Expire implements Cmd {
  constructor(readonly i: number) {}
  check = (m: Model) => m.identities.size > 0
  async run(m: Model, w: World) {
    const expire = w.provider.expireInvitation
    const s = await w.state(identityAt(m, this.i)!.id)
    const e = (s?.enrollments ?? []).find((x) => x.status === "invited" && x.invitation !== undefined && !w.redeemed.has(x.code ?? ""))
    if (expire === undefined || e?.invitation === undefined) return
    await w.effect(expire(e.invitation))
    count(m, "invitation-expired")
    await afterStep(w, m)
  }
  toString = () => `Expire(${this.i})`
}

type AcsDriftKind = "remove" | "reassign" | "unassign" | "duplicate" | "plant"

/** The ACS changed behind the engine's back. */
class AcsDrift implements Cmd {
  constructor(readonly kind: AcsDriftKind, readonly n: number) {}
  check = (m: Model) => m.identities.size > 0
  async run(m: Model, w: World) {
    const drift = w.provider.acsDrift
    if (drift === undefined) return
    const all = (await w.effect(w.provider.truth)).acsEntries
    const entries = all.filter((e) => e.label.startsWith("credsync:"))
    const entry = pick(entries, this.n)
    const identities = [...m.identities.values()]
    switch (this.kind) {
      case "remove":
        if (entry === undefined) return
        await w.effect(drift.remove(entry.ref))
        break
      case "reassign": {
        const other = pick(
          identities.filter((x) => x.acsUserId !== entry?.assignedTo),
          this.n
        )
        if (entry === undefined || other === undefined) return
        await w.effect(drift.reassign(entry.ref, other.acsUserId))
        break
      }
      case "unassign":
        if (entry === undefined) return
        await w.effect(drift.reassign(entry.ref, undefined))
        break
      case "duplicate":
        if (entry === undefined) return
        await w.effect(drift.duplicate(entry.ref))
        break
      case "plant":
        await w.effect(drift.plant(pick(identities, this.n)!.acsUserId, String(900_000 + ++m.counter)))
        break
    }
    const known = new Set(all.map((e) => e.ref))
    for (const e of (await w.effect(w.provider.truth)).acsEntries) if (!known.has(e.ref)) w.watch.plantedAcs.add(e.ref)
    w.resyncOwed = true
    count(m, `acs:${this.kind}`)
    await afterStep(w, m)
  }
  toString = () => `AcsDrift(${this.kind}, ${this.n})`
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check = (_: Model) => true
  async run(m: Model, w: World) {
    await w.advance(this.ms)
    await w.effect(w.provider.settle)
    await w.run((e) => Effect.ignore(e.drain))
    if (w.watch.allowDuplicates && w.provider.setFaults === undefined) {
      // a provider without faults has nothing else to repair it: resync now
      await w.run((e) => Effect.ignore(e.resyncAll))
      await w.run((e) => Effect.ignore(e.drain))
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

const idx = fc.nat(5)
const replica = fc.constantFrom<0 | 1>(0, 0, 1)
const actor: fc.Arbitrary<Actor> = fc.oneof(
  { arbitrary: replica.map((r) => ({ kind: "reconcile" as const, replica: r })), weight: 4 },
  { arbitrary: replica.map((r) => ({ kind: "drain" as const, replica: r })), weight: 2 },
  {
    arbitrary: fc
      .record({
        what: fc.constantFrom("phone" as const, "deactivate" as const, "createParent" as const, "deleteParent" as const),
        replica,
        n: fc.nat(3)
      })
      .map((c) => ({ kind: "command" as const, ...c })),
    weight: 2
  },
  { arbitrary: fc.constant({ kind: "callbacks" as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: "redeem" as const }), weight: 1 },
  { arbitrary: fc.constantFrom(lagMs, 1_000, 6_000, 20_000).map((ms) => ({ kind: "advance" as const, ms })), weight: 1 }
)

/** The command kinds, weighted (weights are relative frequencies in a generated run). */
export const commands = (
  options: { readonly drift?: boolean; readonly races?: boolean; readonly focus?: "all" | "races"; readonly identityChanges?: boolean } = {}
): Array<fc.Arbitrary<Cmd>> => {
  if (options.focus === "races") {
    // one identity's races, densely: new work arrives (phones, codes redeemed, parents), and races
    // of reconciles, drains, commands and callbacks on both replicas pick it up
    return [
      fc.oneof(
        { arbitrary: fc.tuple(idx, fc.array(actor, { minLength: 2, maxLength: 5 }), fc.scheduler()).map(([i, a, s]) => new Race(i, a, s)), weight: 8 },
        { arbitrary: idx.map((i) => new Redeem(i)), weight: 2 },
        { arbitrary: fc.tuple(idx, fc.boolean()).map(([i, ios]) => new PhoneOnline(i, ios)), weight: 2 },
        { arbitrary: fc.tuple(idx, fc.nat(1)).map(([i, p]) => new CreateParent(i, p)), weight: 1 },
        { arbitrary: fc.tuple(idx, idx).map(([i, p]) => new DeleteParent(i, p)), weight: 1 },
        { arbitrary: fc.nat(faultProfiles.length - 1).map((f) => new Faults(f)), weight: 1 },
        { arbitrary: fc.constantFrom(1, lagMs, 1_000).map((ms) => new Advance(ms)), weight: 1 }
      )
    ]
  }
  const drift = options.drift !== false
  const weighted: Array<fc.WeightedArbitrary<Cmd>> = [
    { arbitrary: fc.constant(new AddIdentity()), weight: 1 },
    { arbitrary: fc.tuple(idx, fc.boolean()).map(([i, ios]) => new PhoneOnline(i, ios)), weight: 5 },
    { arbitrary: idx.map((i) => new Redeem(i)), weight: 6 },
    { arbitrary: fc.tuple(idx, idx).map(([i, p]) => new Deactivate(i, p)), weight: 3 },
    { arbitrary: fc.tuple(idx, fc.nat(1)).map(([i, p]) => new CreateParent(i, p)), weight: 4 },
    { arbitrary: fc.tuple(idx, idx).map(([i, p]) => new DeleteParent(i, p)), weight: 3 },
    { arbitrary: fc.tuple(idx, replica).map(([i, r]) => new Reconcile(i, r)), weight: 5 },
    { arbitrary: fc.nat(faultProfiles.length - 1).map((f) => new Faults(f)), weight: 3 },
    { arbitrary: fc.constant(new Callbacks()), weight: 3 },
    { arbitrary: fc.constant(new Crash()), weight: 1 },
    { arbitrary: fc.nat(scripted.length - 1).map((k) => new FailNext(k)), weight: 2 },
    { arbitrary: fc.tuple(idx, fc.boolean()).map(([i, acs]) => new FailOnCallback(i, acs)), weight: 2 },
    {
      arbitrary: fc.oneof(fc.integer({ min: 1, max: 2_000 }), fc.constantFrom(lagMs - 1, lagMs, lagMs + 1)).map((ms) => new Advance(ms)),
      weight: 4
    },
    { arbitrary: idx.map((i) => new Expire(i)), weight: 1 }
  ]
  if (options.races !== false) {
    weighted.push({
      arbitrary: fc.tuple(idx, fc.array(actor, { minLength: 2, maxLength: 4 }), fc.scheduler()).map(([i, a, s]) => new Race(i, a, s)),
      weight: 4
    })
  }
  if (options.identityChanges === true) {
    weighted.push(
      { arbitrary: fc.tuple(idx, fc.nat(3)).map(([i, n]) => new UpdateProfile(i, n)), weight: 1 },
      { arbitrary: idx.map((i) => new RelinkAcsUser(i)), weight: 1 }
    )
  }
  if (drift) {
    weighted.push(
      { arbitrary: fc.tuple(fc.boolean(), fc.nat(20)).map(([d, n]) => new Drift(d, n)), weight: 2 },
      { arbitrary: fc.tuple(fc.boolean(), fc.nat(20)).map(([r, n]) => new EndpointDrift(r, n)), weight: 2 },
      {
        arbitrary: fc
          .tuple(fc.constantFrom<AcsDriftKind>("remove", "reassign", "reassign", "unassign", "duplicate", "plant"), fc.nat(20))
          .map(([k, n]) => new AcsDrift(k, n)),
        weight: 3
      }
    )
  }
  return [fc.oneof(...weighted)]
}
