/**
 * A world for model-based tests: one provider, one store and an engine that can crash and restart,
 * all on a TestClock. Every method returns a Promise so fast-check's async model runner can drive it.
 * The world also plays the phone apps: it redeems the invitation codes the engine hands out and
 * remembers which endpoint each phone got (ground truth the engine cannot fake).
 *
 * @since 0.1.0
 */
import { AccessControl, CredentialManager, Engine, type Identity, Ids, Observability, Store } from "@credsync/core"
import { MemoryStore } from "@credsync/adapter-memory"
import { Cause, Duration, Effect, Exit, Layer, ManagedRuntime, Option } from "effect"
import { TestClock } from "effect/testing"
import type { Provider } from "./Provider.js"

export interface WorldOptions {
  readonly provider: Provider
  readonly store?: Store.StoreShape
  readonly engine?: Engine.Config
}

/** A test world: an engine over a provider and a store, with helpers to drive it in virtual time. */
export class World {
  readonly provider: Provider
  readonly store: Store.StoreShape
  readonly runtime: ManagedRuntime.ManagedRuntime<TestClock.TestClock, never>
  private engine: Engine.EngineShape | undefined
  readonly config: Engine.Config
  /** endpoint ref → phone id, as the phone apps saw it. */
  readonly endpointOwner = new Map<string, string>()
  /** invitation codes already redeemed. */
  readonly redeemed = new Set<string>()
  crashes = 0

  constructor(options: WorldOptions) {
    this.provider = options.provider
    this.store = options.store ?? MemoryStore.make()
    this.config = options.engine ?? {}
    // thousands of runs: the engine's logs only when asked for (CREDSYNC_LOG_LEVEL=debug to watch a run)
    this.runtime = ManagedRuntime.make(Layer.merge(TestClock.layer(), Layer.orDie(Observability.layerLogger({ defaultLevel: "None" }))))
  }

  private get ports() {
    return Layer.mergeAll(
      Layer.succeed(CredentialManager.CredentialManager, CredentialManager.CredentialManager.of(this.provider.manager)),
      Layer.succeed(AccessControl.AccessControl, AccessControl.AccessControl.of(this.provider.acs)),
      Layer.succeed(Store.Store, Store.Store.of(this.store))
    )
  }

  /** Start (or restart after a crash) the engine process. Durable state is all in the store. */
  async boot(): Promise<Engine.EngineShape> {
    this.engine = await this.runtime.runPromise(Engine.make(this.config).pipe(Effect.provide(this.ports)))
    return this.engine
  }

  /** Run an effect; an engine crash (provider-injected defect) restarts the engine and is reported. */
  async run<A, E>(f: (engine: Engine.EngineShape) => Effect.Effect<A, E>): Promise<Exit.Exit<A, E> | "crashed"> {
    const engine = this.engine ?? (await this.boot())
    const exit = await this.runtime.runPromiseExit(f(engine))
    if (Exit.isFailure(exit)) {
      const defects = exit.cause.reasons.filter(Cause.isDieReason).map((r) => r.defect)
      if (defects.some((d) => this.provider.isCrash?.(d) ?? false)) {
        this.crashes++
        await this.boot()
        return "crashed"
      }
    }
    return exit
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

  /** Does the provider copy parents onto phones itself? */
  get replicates(): boolean {
    return this.provider.manager.systems.find((s) => s.id === this.provider.managerId)?.capabilities.replicates === true
  }

  /** Run and expect success (crashes are tolerated: the engine restarts). */
  async ok<A, E>(f: (engine: Engine.EngineShape) => Effect.Effect<A, E>): Promise<A | undefined> {
    const exit = await this.run(f)
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
      for (const e of Object.values(s.enrollments)) {
        if (e.status !== "invited" || e.code === undefined || this.redeemed.has(e.code)) continue
        if (!s.phones[e.phoneId]?.active) continue
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
   * Bring the world to quiet time: faults off, every due reconcile run, callbacks delivered, the
   * apps' codes redeemed, provider work finished, the clock moved to each next due time.
   */
  async settle(ids: Iterable<string>, maxSteps = 400): Promise<void> {
    const all = [...ids]
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

  private async lastSeq(): Promise<number> {
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
