/**
 * Postgres figures of `pnpm bench`: committed events per second with one replica, the speed-up of
 * three replicas over one on a slow provider (in interleaved rounds, see stats.ts), and how long a
 * dead replica's identities wait before another replica works them. Each runs on a throwaway PostgreSQL with its durable defaults (fsync,
 * synchronous commits), started by the testkit's helper on 127.0.0.1.
 */
import { MemoryAccessControl, MemoryCredentialManager, Simulator } from "@credsync/adapter-memory"
import { Command, Engine, PortError, Store } from "@credsync/core"
import { PostgresStore } from "@credsync/store-postgres"
import { Postgres } from "@credsync/testkit"
import { Context, Effect, Layer, type Redacted, type Scope, Stream } from "effect"
import * as Fleet from "./fleet.js"
import { interleaved, type Summary, summarize } from "./stats.js"

const managerId = Simulator.defaultManagerId
const acsSystemId = Simulator.defaultAcsId

/** A fresh durable database for the rest of the scope. */
export const database: Effect.Effect<Redacted.Redacted<string>, unknown, Scope.Scope> = Effect.map(
  Postgres.databaseWith({ durable: true }),
  (db) => db.url
)

const storeOf = (url: Redacted.Redacted<string>, workspace: string) =>
  Effect.map(Layer.build(PostgresStore.layer({ connection: url, workspace, maxConnections: 8 })), (ctx) => Context.get(ctx, Store.Store))

/** One replica: committed events per second while converging `n` identities × 3 phones. */
export const eventsPerSecond = (url: Redacted.Redacted<string>, n: number): Effect.Effect<{ events: number; seconds: number; eventsPerS: number }, unknown> =>
  Effect.gen(function* () {
    const fleet = yield* Fleet.make({ store: PostgresStore.layer({ connection: url, workspace: "bench-events", maxConnections: 16 }) })
    let events = 0
    yield* Effect.forkChild(
      Stream.runForEach(fleet.engine.live, () =>
        Effect.sync(() => {
          events++
        })
      )
    )
    yield* Effect.sleep("10 millis")
    const t = performance.now()
    yield* Fleet.converge(fleet, n, 3, new Set())
    const seconds = (performance.now() - t) / 1000
    yield* Effect.sleep("50 millis")
    return { events, seconds, eventsPerS: events / seconds }
  }).pipe(Effect.scoped)

/** Drive `n` identities (one phone, one parent each) to convergence through replicas running their
 *  own loops; commands and callbacks go to the first replica. Seconds from the first command. */
const converge = (engines: ReadonlyArray<Engine.EngineShape>, sim: Simulator.Simulator, acsUsers: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const front = engines[0]!
    for (const e of engines) yield* Effect.forkScoped(e.run)
    const t = performance.now()
    yield* Effect.forEach(
      acsUsers,
      (acsUserId, i) =>
        Effect.gen(function* () {
          const userIdentityId = `r${i}`
          yield* front.execute(Command.make({ _tag: "CreateUserIdentity", userIdentityId }))
          yield* front.execute(Command.make({ _tag: "LinkAcsUser", userIdentityId, acsUserId, acsSystemId }))
          yield* front.execute(Command.make({ _tag: "LaunchAutomation", userIdentityId, automationId: `ra${i}`, managerId }))
          yield* front.execute(Command.make({
            _tag: "CreateSyncCredential",
            userIdentityId,
            credentialId: `rc${i}`,
            acsUserId,
            managerId,
            cardFormat: "H10301",
            facilityCode: "1"
          }))
          yield* front.execute(Command.make({ _tag: "PhoneOnline", userIdentityId, phoneId: `rp${i}`, deviceType: "ios_phone" }))
        }),
      { concurrency: 16, discard: true }
    )
    // the phone apps and the provider's callbacks, from the simulator's truth (no database reads,
    // so the driver costs the same whatever the number of replicas)
    const redeemed = new Set<string>()
    while (true) {
      const truth = sim.truthUnsafe()
      const assigned = truth.acsEntries.filter((e) => e.assignedTo !== undefined).length
      if (assigned >= acsUsers.length) break
      for (const inv of truth.invitations) {
        if (inv.status !== "pending" || redeemed.has(inv.code)) continue
        redeemed.add(inv.code)
        const endpoint = yield* sim.redeem(inv.code)
        yield* front.ingest({ _tag: "EndpointActive", managerId, userIdentityId: inv.identity, endpoint, invitation: inv.ref })
      }
      yield* Effect.sleep("10 millis")
    }
    return (performance.now() - t) / 1000
  })

/** Seconds for `replicas` replicas (each of `concurrency`) to converge `n` identities on a provider
 *  that takes 20 ms per call, in their own workspace of the database. */
const replicaRun = (url: Redacted.Redacted<string>, n: number, replicas: number, concurrency: number, workspace: string) =>
  Effect.gen(function* () {
    const sim = Simulator.make({ seed: 3, recordCallbacks: false })
    const acsUsers: Array<string> = []
    for (let i = 0; i < n; i++) acsUsers.push((yield* sim.acs.createUser(acsSystemId, { fullName: `R ${i}` })).id)
    yield* sim.setFaults({ latency: 1, latencyMs: 20 })
    const engines: Array<Engine.EngineShape> = []
    for (let k = 0; k < replicas; k++) {
      const store = yield* storeOf(url, workspace)
      engines.push(
        yield* Engine.make({ replica: `${workspace}-${k}`, concurrency }).pipe(
          Effect.provide(Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), Layer.succeed(Store.Store, store)))
        )
      )
    }
    return yield* converge(engines, sim, acsUsers)
  }).pipe(Effect.scoped)

/**
 * Three replicas against one, on a provider that takes 20 ms per call, the same concurrency each:
 * `rounds` rounds of one run of each, interleaved (1, 3, then 3, 1, …), each run in a fresh
 * workspace. The speed-up is the median of the rounds' ratios; `lo`/`hi` are the lowest and highest.
 */
export const replicaSpeedup = (
  url: Redacted.Redacted<string>,
  n: number,
  rounds: number,
  concurrency = 4
): Effect.Effect<{ speedup: Summary; one: Summary; three: Summary; n: number; concurrency: number }, unknown> =>
  Effect.map(
    interleaved(
      rounds,
      (round) => replicaRun(url, n, 1, concurrency, `bench-one-${round}`),
      (round) => replicaRun(url, n, 3, concurrency, `bench-three-${round}`)
    ),
    (rs) => ({
      speedup: summarize(rs.map((r) => r.a / r.b)),
      one: summarize(rs.map((r) => r.a)),
      three: summarize(rs.map((r) => r.b)),
      n,
      concurrency
    })
  )

/**
 * A replica dies (from the database's point of view: it stops issuing any statement, as a SIGKILLed
 * process does, leaving its leases in place) while it works identities on a slow provider; another
 * replica is running. Seconds from the death until the survivor claims one of the dead replica's
 * identities, with a lease of `ttlMs`.
 */
export const takeover = (url: Redacted.Redacted<string>, ttlMs = 3_000): Effect.Effect<{ seconds: number; ttlS: number; orphans: number }, unknown> =>
  Effect.gen(function* () {
    const sim = Simulator.make({ seed: 4, recordCallbacks: false })
    const acsUsers: Array<string> = []
    for (let i = 0; i < 8; i++) acsUsers.push((yield* sim.acs.createUser(acsSystemId, { fullName: `T ${i}` })).id)
    yield* sim.setFaults({ latency: 1, latencyMs: 400 })
    const ports = Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim))
    const config = { leaseTtl: ttlMs, callTimeout: 1_000, concurrency: 8 } as const

    // the victim: its store goes silent at `kill`; it remembers which leases it holds
    let dead = false
    const held = new Set<string>()
    const inner = yield* storeOf(url, "bench-takeover")
    // a dead process's statements never reach the database (failing them lets its fibers end)
    const gone = new PortError.PortError({ reason: "Transient", port: "Store", method: "any", message: "the replica is dead" })
    const silent = <A>(eff: Effect.Effect<A, PortError.PortError>): Effect.Effect<A, PortError.PortError> =>
      Effect.suspend(() => (dead ? Effect.fail(gone) : eff))
    const victimStore: Store.StoreShape = {
      ...inner,
      save: (r) => silent(inner.save(r)),
      claim: (l, now, limit) =>
        silent(Effect.tap(inner.claim(l, now, limit), (cs) =>
            Effect.sync(() => {
              for (const c of cs) held.add(c.id)
            }))),
      acquire: (l, now, id) => silent(inner.acquire(l, now, id)),
      renew: (l, now, ids) => silent(inner.renew(l, now, ids)),
      release: (owner, id, due) => silent(Effect.tap(inner.release(owner, id, due), () => Effect.sync(() => held.delete(id)))),
      schedule: (id, at) => silent(inner.schedule(id, at))
    }
    const victim = yield* Engine.make({ ...config, replica: "victim" }).pipe(
      Effect.provide(Layer.merge(ports, Layer.succeed(Store.Store, victimStore)))
    )
    yield* Effect.forkScoped(Effect.ignore(victim.run))
    for (const [i, acsUserId] of acsUsers.entries()) {
      const userIdentityId = `t${i}`
      yield* victim.execute(Command.make({ _tag: "CreateUserIdentity", userIdentityId }))
      yield* victim.execute(Command.make({ _tag: "LinkAcsUser", userIdentityId, acsUserId, acsSystemId }))
      yield* victim.execute(Command.make({ _tag: "LaunchAutomation", userIdentityId, automationId: `ta${i}`, managerId }))
      yield* victim.execute(Command.make({ _tag: "PhoneOnline", userIdentityId, phoneId: `tp${i}`, deviceType: "ios_phone" }))
    }
    // the victim is mid-work on some identities: it holds their leases
    while (held.size === 0) yield* Effect.sleep("10 millis")
    yield* Effect.sleep("200 millis")
    const orphans = new Set(held)
    dead = true
    const killedAt = performance.now()

    // the survivor: notes when it first claims one of the orphans
    let tookAt: number | undefined
    const survivorInner = yield* storeOf(url, "bench-takeover")
    const survivorStore: Store.StoreShape = {
      ...survivorInner,
      claim: (l, now, limit) =>
        Effect.tap(survivorInner.claim(l, now, limit), (cs) =>
          Effect.sync(() => {
            if (tookAt === undefined && cs.some((c) => orphans.has(c.id))) tookAt = performance.now()
          })
        )
    }
    const survivor = yield* Engine.make({ ...config, replica: "survivor" }).pipe(
      Effect.provide(Layer.merge(ports, Layer.succeed(Store.Store, survivorStore)))
    )
    yield* Effect.forkScoped(survivor.run)
    const deadline = killedAt + ttlMs + 30_000
    while (tookAt === undefined && performance.now() < deadline) yield* Effect.sleep("20 millis")
    return { seconds: tookAt === undefined ? Number.POSITIVE_INFINITY : (tookAt - killedAt) / 1000, ttlS: ttlMs / 1000, orphans: orphans.size }
  }).pipe(Effect.scoped)
