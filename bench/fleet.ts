/**
 * A fleet driver for benchmarks: N identities × P phones × 1 multi-phone sync credential on the
 * engine with the memory simulator (and a given Store), on the real Clock. It plays the phone apps
 * (redeems each invitation code the engine hands out) and delivers the provider's EndpointActive
 * callback, as a host would; everything else is the engine's own work (drain = reconcile what is due).
 */
import { MemoryAccessControl, MemoryCredentialManager, Simulator } from "@credsync/adapter-memory"
import { Command, Engine, Ids, type Store } from "@credsync/core"
import { Effect, Layer, type Scope } from "effect"

const managerId = Simulator.defaultManagerId
const acsSystemId = Simulator.defaultAcsId

/** A running engine over a simulator and a store. */
export interface Fleet {
  readonly sim: Simulator.Simulator
  readonly engine: Engine.EngineShape
}

export const make = (options: {
  readonly store: Layer.Layer<Store.Store, unknown>
  readonly faults?: Simulator.Options["faults"]
  readonly seed?: number
}): Effect.Effect<Fleet, unknown, Scope.Scope> => {
  const sim = Simulator.make({ seed: options.seed ?? 1, issueDelay: 0, recordCallbacks: false, faults: options.faults })
  const ports = Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), options.store)
  // the ports live as long as the caller's scope (the SQLite file stays open while the fleet runs)
  return Effect.flatMap(Layer.build(ports), (context) =>
    Effect.map(Effect.provideContext(Engine.make({ concurrency: 16 }), context), (engine) => ({ sim, engine }))
  )
}

const uid = (i: number) => Ids.UserIdentityId.make(`u${i}`)
const phone = (i: number, p: number) => `ph${i}-${p}`

/** Set identity `i` up: identity, ACS user link, automation, parent, `phones` phones. */
export const enrol = (f: Fleet, i: number, phones: number): Effect.Effect<void, unknown> =>
  Effect.gen(function* () {
    const acsUser = yield* f.sim.acs.createUser(acsSystemId, { fullName: `P ${i}` })
    const userIdentityId = `u${i}`
    yield* f.engine.execute(Command.make({ _tag: "CreateUserIdentity", userIdentityId, fullName: `P ${i}` }))
    yield* f.engine.execute(Command.make({ _tag: "LinkAcsUser", userIdentityId, acsUserId: acsUser.id, acsSystemId }))
    yield* f.engine.execute(Command.make({ _tag: "LaunchAutomation", userIdentityId, automationId: `auto${i}`, managerId }))
    yield* f.engine.execute(Command.make({
      _tag: "CreateSyncCredential",
      userIdentityId,
      credentialId: `c${i}`,
      acsUserId: acsUser.id,
      managerId,
      cardFormat: "H10301",
      facilityCode: "1"
    }))
    for (let p = 0; p < phones; p++) yield* addPhone(f, i, p)
  })

export const addPhone = (f: Fleet, i: number, p: number): Effect.Effect<unknown, unknown> =>
  f.engine.execute(Command.make({ _tag: "PhoneOnline", userIdentityId: `u${i}`, phoneId: phone(i, p), deviceType: "ios_phone" }))

/**
 * The phone apps of identity `i`: redeem every code handed to an active phone (once), and send the
 * provider's callback. Returns how many were redeemed; whether the identity is done (every child
 * active, imported and assigned, `want` of them).
 */
export const playPhones = (
  f: Fleet,
  i: number,
  want: number,
  redeemed: Set<string>
): Effect.Effect<{ readonly redeemed: number; readonly done: boolean }, unknown> =>
  Effect.gen(function* () {
    const s = yield* f.engine.get(uid(i))
    let n = 0
    for (const e of s.enrollments) {
      if (e.status !== "invited" || e.code === undefined || e.invitation === undefined || redeemed.has(e.code)) continue
      redeemed.add(e.code)
      const endpoint = yield* f.sim.redeem(e.code)
      yield* f.engine.ingest({ _tag: "EndpointActive", managerId, userIdentityId: s.id, endpoint, invitation: e.invitation })
      n++
    }
    let done = 0
    for (const c of s.children) if (c.issue === "active" && c.assigned && !c.retiring) done++
    return { redeemed: n, done: done === want }
  })

/**
 * Drive identities `ids` to convergence: drain, play the phones of those not done, sleep until the
 * next due time when nothing moved. `want` children per identity.
 */
export const settle = (f: Fleet, ids: ReadonlyArray<number>, want: number, redeemed: Set<string>, maxMs = 600_000): Effect.Effect<void, unknown> =>
  Effect.gen(function* () {
    let pending = [...ids]
    const deadline = Date.now() + maxMs
    while (pending.length > 0) {
      if (Date.now() > deadline) return yield* Effect.fail(new Error(`${pending.length} identities did not converge`))
      const ran = yield* f.engine.drain
      const next: Array<number> = []
      let moved = ran
      for (const i of pending) {
        const r = yield* playPhones(f, i, want, redeemed)
        moved += r.redeemed
        if (!r.done) next.push(i)
      }
      pending = next
      if (pending.length > 0 && moved === 0) {
        const due = yield* f.engine.nextDue
        const wait = due === undefined ? 5 : Math.min(50, Math.max(1, due - Date.now()))
        yield* Effect.sleep(`${wait} millis`)
      }
    }
  })

/** Set up `n` identities (in parallel, bounded) and converge them. */
export const converge = (f: Fleet, n: number, phones: number, redeemed: Set<string>): Effect.Effect<void, unknown> =>
  Effect.gen(function* () {
    const ids = Array.from({ length: n }, (_, i) => i)
    yield* Effect.forEach(ids, (i) => enrol(f, i, phones), { concurrency: 16, discard: true })
    yield* settle(f, ids, phones, redeemed)
  })

/** Live credentials and the largest number of live credentials of one profile on one endpoint. */
export const liveStats = (sim: Simulator.Simulator) => {
  const t = sim.truthUnsafe()
  const perEndpoint = new Map<string, number>()
  let live = 0
  for (const c of t.credentials) {
    if (!c.live) continue
    live++
    const k = `${c.endpoint}|${c.cardFormat}/${c.facilityCode}`
    perEndpoint.set(k, (perEndpoint.get(k) ?? 0) + 1)
  }
  return { live, maxPerEndpoint: Math.max(0, ...perEndpoint.values()), issueCalls: t.calls.issue }
}

/**
 * A simulator alone, driven to the end a converged fleet of `n` identities × 1 phone leaves it in:
 * per identity an ACS user, a manager user, an invitation redeemed, a credential issued, imported
 * and assigned. Its heap is the provider's share of a fleet's (the provider's servers, in a host).
 */
export const simulatorAlone = (n: number): Effect.Effect<Simulator.Simulator, unknown> =>
  Effect.gen(function* () {
    const sim = Simulator.make({ seed: 1, issueDelay: 0, recordCallbacks: false })
    const card = { cardFormat: "H10301", facilityCode: "1" }
    for (let i = 0; i < n; i++) {
      const acsUser = yield* sim.acs.createUser(acsSystemId, { fullName: `P ${i}` })
      const user = yield* sim.manager.ensureUser(managerId, { id: uid(i), email: undefined, fullName: `P ${i}` })
      const invitation = yield* sim.manager.invite(managerId, user)
      const endpoint = yield* sim.redeem(invitation.code)
      const credential = yield* sim.manager.issue(managerId, { user, endpoint, card })
      const entry = yield* sim.acs.importCredential(acsSystemId, { cardNumber: credential.cardNumber ?? String(i), card, label: `credsync:c${i}` })
      yield* sim.acs.assign(acsSystemId, entry.ref, acsUser.id)
    }
    return sim
  })
