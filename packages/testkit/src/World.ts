/**
 * A world for model-based tests: one provider, one store and up to two engine replicas on it (the
 * second, `replica-b`, shares the store the way a second process would), all on a TestClock. Every
 * method returns a Promise so fast-check's async model runner can drive it. The world also plays
 * the phone apps: it redeems the invitation codes the engine hands out and remembers which
 * endpoint each phone got (ground truth the engine cannot fake). The engines see the ports through
 * a {@link Watch}, which records and checks what they do on the way.
 *
 * @since 0.1.0
 */
import { AccessControl, CredentialManager, Engine, Identity, Ids, Observability, Store } from "@credsync/core"
import { MemoryStore } from "@credsync/adapter-memory"
import { Cause, Duration, Effect, Exit, Layer, ManagedRuntime, Option } from "effect"
import { TestClock } from "effect/testing"
import type { Provider } from "./Provider.js"
import { Watch } from "./Watch.js"

export interface WorldOptions {
  readonly provider: Provider
  readonly store?: Store.StoreShape
  readonly engine?: Engine.Config
  /** How each engine is built. Default `Engine.make`; tests pass a variant with a planted bug. */
  readonly makeEngine?: typeof Engine.make
}

/** How `settle` reaches quiet time. */
export type SettleMode =
  /** The engine's own scheduling: its wake-ups, retries and back-off, with virtual time moved to
   *  the next due time (or the provider's next change); callbacks delivered as they come. No
   *  resync is forced, except one standing for the periodic resync when `resyncOwed` (drift
   *  behind the engine's back whose callback may have been lost). */
  | "engine"
  /** Everyone resynced first and once more at the end (a weaker check, for providers whose time
   *  the test cannot see, e.g. over HTTP). */
  | "resync"

/** A test world: an engine over a provider and a store, with helpers to drive it in virtual time. */
export class World {
  readonly provider: Provider
  readonly store: Store.StoreShape
  readonly runtime: ManagedRuntime.ManagedRuntime<TestClock.TestClock, never>
  private readonly engines: Array<Engine.EngineShape | undefined> = [undefined, undefined]
  readonly config: Engine.Config
  private readonly makeEngine: typeof Engine.make
  /** What the engines did on the way (calls, commits), and the checks on it. */
  readonly watch: Watch
  /** endpoint ref → phone id, as the phone apps saw it (in the order the phones enrolled). */
  readonly endpointOwner = new Map<string, string>()
  /** invitation codes already redeemed. */
  readonly redeemed = new Set<string>()
  crashes = 0
  /** Drift happened whose callback may be lost: the engine's periodic resync is owed before quiet. */
  resyncOwed = false

  constructor(options: WorldOptions) {
    this.provider = options.provider
    this.store = options.store ?? MemoryStore.make()
    this.config = options.engine ?? {}
    this.makeEngine = options.makeEngine ?? Engine.make
    // thousands of runs: the engine's logs only when asked for (CREDSYNC_LOG_LEVEL=debug to watch a run)
    this.runtime = ManagedRuntime.make(Layer.merge(TestClock.layer(), Layer.orDie(Observability.layerLogger({ defaultLevel: "None" }))))
    this.watch = new Watch(this.provider)
  }

  private get ports() {
    return Layer.mergeAll(
      Layer.succeed(CredentialManager.CredentialManager, CredentialManager.CredentialManager.of(this.watch.manager(this.provider.manager))),
      Layer.succeed(AccessControl.AccessControl, AccessControl.AccessControl.of(this.watch.acs(this.provider.acs))),
      Layer.succeed(Store.Store, Store.Store.of(this.watch.store(this.store)))
    )
  }

  /** Start (or restart after a crash) an engine process: replica 0 (`replica-a`) or 1
   *  (`replica-b`). Durable state is all in the store. */
  async boot(replica: 0 | 1 = 0): Promise<Engine.EngineShape> {
    const config = { ...this.config, replica: replica === 0 ? "replica-a" : "replica-b" }
    const engine = await this.runtime.runPromise(this.makeEngine(config).pipe(Effect.provide(this.ports)))
    this.engines[replica] = engine
    return engine
  }

  /** The replica's engine, booted on first use. */
  async engine(replica: 0 | 1 = 0): Promise<Engine.EngineShape> {
    return this.engines[replica] ?? (await this.boot(replica))
  }

  /** Replicas booted so far. */
  get replicas(): ReadonlyArray<0 | 1> {
    return this.engines[1] === undefined ? [0] : [0, 1]
  }

  /** Did this exit die of a provider-injected engine crash? Then that replica restarts. */
  async crashed(exit: Exit.Exit<unknown, unknown>, replica: 0 | 1): Promise<boolean> {
    if (Exit.isSuccess(exit)) return false
    const defects = exit.cause.reasons.filter(Cause.isDieReason).map((r) => r.defect)
    if (!defects.some((d) => this.provider.isCrash?.(d) ?? false)) return false
    this.crashes++
    const engine = await this.boot(replica)
    // what `Engine.run` does first after a restart: nothing in memory says what was in flight
    await this.runtime.runPromiseExit(engine.resyncAll)
    return true
  }

  /** Run an effect; an engine crash (provider-injected defect) restarts the engine and is reported. */
  async run<A, E>(f: (engine: Engine.EngineShape) => Effect.Effect<A, E>, replica: 0 | 1 = 0): Promise<Exit.Exit<A, E> | "crashed"> {
    const engine = await this.engine(replica)
    const exit = await this.runtime.runPromiseExit(f(engine))
    return (await this.crashed(exit, replica)) ? "crashed" : exit
  }

  /** A new phone for an identity: named by the provider when it enrols phones itself (Seam). */
  async newPhone(userIdentityId: string, fallback: string): Promise<string> {
    const create = this.provider.createPhone
    if (create === undefined) return fallback
    const phoneId = await this.effect(create(userIdentityId))
    // such a provider's endpoint is the phone itself
    this.endpointOwner.set(phoneId, phoneId)
    return phoneId
  }

  /** Does the provider copy parents onto phones itself (its port is a replicating manager)? */
  get replicates(): boolean {
    return this.provider.manager.kind === "replicating"
  }

  /** Run and expect success (crashes are tolerated: the engine restarts). */
  async ok<A, E>(f: (engine: Engine.EngineShape) => Effect.Effect<A, E>, replica: 0 | 1 = 0): Promise<A | undefined> {
    const exit = await this.run(f, replica)
    if (exit === "crashed") return undefined
    if (Exit.isSuccess(exit)) return exit.value
    throw new Error(`unexpected failure: ${Cause.pretty(exit.cause)}`)
  }

  effect<A, E>(eff: Effect.Effect<A, E>): Promise<A> {
    return this.runtime.runPromise(eff)
  }

  now(): Promise<number> {
    return this.effect(Effect.clockWith((c) => c.currentTimeMillis))
  }

  advance(ms: number): Promise<void> {
    return this.effect(TestClock.adjust(Duration.millis(ms)))
  }

  state(id: string): Promise<Identity.IdentityState | undefined> {
    return this.effect(Effect.map(this.store.load(Ids.UserIdentityId.make(id)), (o) => Option.getOrUndefined(o)?.state)).catch(() => undefined)
  }

  /** The phone app: redeem every code the engine handed to an active phone. Returns how many. */
  async redeemAll(ids: Iterable<string>): Promise<number> {
    let n = 0
    for (const id of ids) {
      const s = await this.state(id)
      if (s === undefined) continue
      for (const e of s.enrollments) {
        if (e.status !== "invited" || e.code === undefined || this.redeemed.has(e.code)) continue
        if (!Identity.phone(s, e.phoneId)?.active) continue
        this.redeemed.add(e.code)
        const exit = await this.runtime.runPromiseExit(this.provider.redeem(e.code))
        if (Exit.isSuccess(exit)) {
          this.endpointOwner.set(exit.value, e.phoneId)
          n++
        }
      }
    }
    return n
  }

  /** Deliver provider callbacks to the engine. Unknown or malformed ones are rejected by the engine. */
  async deliverCallbacks(): Promise<number> {
    const callbacks = await this.effect(this.provider.callbacks)
    for (const c of callbacks) await this.run((e) => Effect.ignore(e.ingest(c)))
    return callbacks.length
  }

  /**
   * Bring the world to quiet time: faults off, then what the engines' own scheduling does (see
   * {@link SettleMode}; default "engine" when the provider tells its next change), with callbacks delivered and the apps' codes redeemed as they come.
   * Throws when the engines still have work after `maxSteps` wake-ups.
   */
  async settle(ids: Iterable<string>, options: { readonly mode?: SettleMode; readonly maxSteps?: number } = {}): Promise<void> {
    const maxSteps = options.maxSteps ?? 400
    // without a view of the provider's clock (HTTP providers) the test cannot wait for it: resync
    const mode = options.mode ?? (this.provider.nextEventAt === undefined ? "resync" : "engine")
    if (mode === "resync") return this.settleByResync([...ids], maxSteps)
    const all = [...ids]
    if (this.provider.setFaults) await this.effect(this.provider.setFaults({}))
    if (this.resyncOwed) {
      // stands for the engine's periodic resync (every `resyncEvery`), which drift whose callback
      // was lost needs; nothing else is resynced by the test
      await this.ok((e) => e.resyncAll)
      this.resyncOwed = false
    }
    for (let step = 0; step < maxSteps; step++) {
      await this.deliverCallbacks()
      const redeemed = await this.redeemAll(all)
      let ran = 0
      for (const r of this.replicas) ran += (await this.ok((e) => e.drain, r)) ?? 1
      if (redeemed > 0 || ran > 0) continue
      const now = await this.now()
      const times: Array<number> = []
      for (const r of this.replicas) {
        const due = await this.ok((e) => e.nextDue, r)
        if (due !== undefined) times.push(due)
      }
      const change = this.provider.nextEventAt?.()
      if (change !== undefined) times.push(change)
      if (times.length === 0) return
      await this.advance(Math.max(1, Math.min(...times) - now))
    }
    throw new Error(`the engines still had work after ${maxSteps} wake-ups`)
  }

  private async settleByResync(all: ReadonlyArray<string>, maxSteps: number): Promise<void> {
    if (this.provider.setFaults) await this.effect(this.provider.setFaults({}))
    await this.ok((e) => e.resyncAll)
    for (let step = 0; step < maxSteps; step++) {
      await this.deliverCallbacks()
      const redeemed = await this.redeemAll(all)
      await this.effect(this.provider.settle)
      const ran = await this.ok((e) => e.drain)
      if (redeemed > 0 || (ran ?? 1) > 0) continue
      const next = await this.ok((e) => e.nextDue)
      if (next === undefined) {
        // quiet only if one more full resync commits no new fact
        const before = await this.lastSeq()
        await this.ok((e) => e.resyncAll)
        await this.ok((e) => e.drain)
        if ((await this.lastSeq()) === before && (await this.ok((e) => e.nextDue)) === undefined) return
        continue
      }
      const now = await this.now()
      await this.advance(Math.max(1, next - now))
    }
    throw new Error(`world did not settle in ${maxSteps} steps`)
  }

  /** The last event sequence number committed to the store. */
  async lastSeq(): Promise<number> {
    let after = 0
    while (true) {
      const page = await this.effect(this.store.events({ after, limit: 10_000 }))
      const last = page[page.length - 1]
      if (last === undefined) return after
      after = last.seq
    }
  }

  dispose(): Promise<void> {
    return this.runtime.dispose()
  }
}
