/**
 * The model-based property of the invariant (docs/design.md): random interleavings of identities, phones, parents,
 * faults, races, callbacks, crashes and drift; "at most one" at every provider call and after every
 * step, what the engine did on the way, and the full invariant at quiet time reached by the
 * engine's own scheduling.
 *
 * @since 0.1.0
 */
import type { Engine } from "@credsync/core"
import { Schedule } from "effect"
import fc from "fast-check"
import type { Provider } from "../Provider.js"
import { type SettleMode, World } from "../World.js"
import { commands, prelude } from "./Commands.js"
import { checkQuiet, checkStable, type Limits } from "./Invariant.js"
import { emptyModel, type Model } from "./Model.js"

export { commands, faultProfiles, lagMs, prelude, scripted } from "./Commands.js"
export { checkAtMostOne, checkQuiet, checkReasons, checkStable, InvariantViolation, type Limits } from "./Invariant.js"
export * as Model from "./Model.js"

/** Options of the property: the provider, the number of runs, and which steps are drawn. */
export interface PropertyOptions {
  /** A fresh provider for each run. */
  readonly provider: () => Provider | Promise<Provider>
  readonly engine?: Engine.Config
  /** How each engine is built (tests plant bugs through it). Default `Engine.make`. */
  readonly makeEngine?: typeof Engine.make
  readonly maxCommands?: number
  readonly drift?: boolean
  /** Races interleaved by fast-check's scheduler. Default true. */
  readonly races?: boolean
  /** `races`: a run of mostly races on one identity (see `commands`). Default `all`. */
  readonly focus?: "all" | "races"
  /** Profile updates and ACS-user relinks (`UpdateUserIdentity`, `UnlinkAcsUser` then `LinkAcsUser`).
   *  Default false: adding commands changes what a fixed seed generates (Planted.test.ts). */
  readonly identityChanges?: boolean
  /** How quiet time is reached. Default: the engine's own scheduling when the provider tells its
   *  next change (`Provider.nextEventAt`), else by resync. */
  readonly settle?: SettleMode
  /** Collects what happened in each run. */
  readonly stats?: Stats
  readonly cleanup?: (provider: Provider) => Promise<void>
}

/**
 * Number of runs: `fallback`, or `share` of `CREDSYNC_PROP_RUNS` when it is set (at least one).
 * Runs through real HTTP adapters cost far more than runs on the simulator, so they take a share.
 */
export const runs = (fallback: number, share = 1): number => {
  const n = Number(process.env.CREDSYNC_PROP_RUNS)
  return Number.isFinite(n) && n > 0 ? Math.max(1, Math.round(n * share)) : fallback
}

let printed: number | undefined

/**
 * The seed of this test process: `CREDSYNC_PROP_SEED`, or one derived from the clock, printed
 * once so that a failing CI run can be replayed exactly (`CREDSYNC_PROP_SEED=<n> pnpm test`).
 */
export const seed = (): number => {
  if (printed !== undefined) return printed
  const given = Number(process.env.CREDSYNC_PROP_SEED)
  printed = Number.isSafeInteger(given) && process.env.CREDSYNC_PROP_SEED !== "" ? given : Date.now() % 2_147_483_647
  console.log(`property seed ${printed} (replay: CREDSYNC_PROP_SEED=${printed})`)
  return printed
}

/** Engine limits the property runs with: low enough that giving up is exercised. */
export const limits: Limits = { maxIssueAttempts: 4, maxEnrollmentAttempts: 3 }

/** Per-run counts of what happened, summed over runs; `table()` shows how often each case occurs. */
export class Stats {
  runs = 0
  private readonly totals = new Map<string, number>()
  private readonly present = new Map<string, number>()

  add(counts: ReadonlyMap<string, number>) {
    this.runs++
    for (const [k, n] of counts) {
      if (n === 0) continue
      this.totals.set(k, (this.totals.get(k) ?? 0) + n)
      this.present.set(k, (this.present.get(k) ?? 0) + 1)
    }
  }

  /** One line per case: share of runs where it happened, mean count per run. */
  table(): string {
    const rows = [...this.totals.keys()].sort().map((k) => {
      const share = ((100 * (this.present.get(k) ?? 0)) / this.runs).toFixed(0).padStart(3)
      return `  ${k.padEnd(34)} ${share}% of runs, ${(this.totals.get(k)! / this.runs).toFixed(2).padStart(6)} per run`
    })
    return [`${this.runs} runs:`, ...rows].join("\n")
  }
}

/** What the world did in a run, as counts (the model's own counts plus the recorded calls and events). */
const countsOf = (world: World, model: Model): Map<string, number> => {
  const counts = new Map(model.counts)
  const add = (k: string, n = 1) => counts.set(k, (counts.get(k) ?? 0) + n)
  for (const [k, n] of Object.entries(world.watch.counters)) add(k, n)
  add("crashes", world.crashes)
  for (const { event } of world.watch.saved) {
    if (event._tag === "CredentialFailed") add(`failed:${event.error.code}${/attempts/.test(event.error.message) ? ":max-attempts" : ""}`)
    if (event._tag === "CredentialRetiring") add(`retiring:${event.reason}`)
    if (event._tag === "CredentialLost") add("credential-lost")
    if (event._tag === "CredentialIssued" && !event.active) add("issued-async")
    if (event._tag === "EnrollmentRequested" && event.enrollment.attempts > 1) add("enrollment-retried")
    if (event._tag === "EnrollmentRequested" && event.enrollment.generation > 1 && event.enrollment.attempts === 1) add("re-enrolment")
    if (event._tag === "EnrollmentFailed") add("enrollment-failed")
  }
  return counts
}

/** The invariant as a fast-check async property. */
export const invariantProperty = (options: PropertyOptions) =>
  fc.asyncProperty(
    fc.commands(
      commands({
        drift: options.drift ?? true,
        races: options.races ?? true,
        focus: options.focus ?? "all",
        identityChanges: options.identityChanges ?? false
      }),
      {
      maxCommands: options.maxCommands ?? 60,
      size: "+1"
    }),
    async (cmds) => {
      const provider = await options.provider()
      const world = new World({
        provider,
        engine: { retry: fastRetry, ...limits, ...options.engine },
        ...(options.makeEngine === undefined ? {} : { makeEngine: options.makeEngine })
      })
      const model = emptyModel()
      try {
        await fc.asyncModelRun(() => ({ model, real: world }), [...prelude(), ...cmds])
        await world.settle([...model.identities.keys()], options.settle === undefined ? {} : { mode: options.settle })
        await checkQuiet(world, model, { ...limits, ...pickLimits(options.engine) })
        await checkStable(world)
      } finally {
        options.stats?.add(countsOf(world, model))
        await world.dispose()
        await provider.close?.()
        await options.cleanup?.(provider)
      }
    }
  )

const pickLimits = (config: Engine.Config | undefined): Partial<Limits> => ({
  ...(config?.maxIssueAttempts === undefined ? {} : { maxIssueAttempts: config.maxIssueAttempts }),
  ...(config?.maxEnrollmentAttempts === undefined ? {} : { maxEnrollmentAttempts: config.maxEnrollmentAttempts })
})

/** In tests, in-call retries need no delay: time is virtual and back-off is exercised by requeues. */
const fastRetry = Schedule.recurs(3)
