/**
 * The model-based property of the invariant (docs/design.md): random interleavings of identities, phones, parents,
 * faults, callbacks, crashes and drift; "at most one" after every step and the full invariant at
 * quiet time.
 *
 * @since 0.1.0
 */
import { Schedule } from "effect"
import fc from "fast-check"
import type { Engine } from "@credsync/core"
import type { Provider } from "../Provider.js"
import { World } from "../World.js"
import { commands, prelude } from "./Commands.js"
import { checkQuiet } from "./Invariant.js"
import { emptyModel } from "./Model.js"

export { InvariantViolation, checkAtMostOne, checkQuiet } from "./Invariant.js"
export * as Model from "./Model.js"

/** Options of the property: the provider, the number of runs, and which steps are drawn. */
export interface PropertyOptions {
  /** A fresh provider for each run. */
  readonly provider: () => Provider | Promise<Provider>
  readonly engine?: Engine.Config
  readonly maxCommands?: number
  readonly drift?: boolean
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

/** The invariant as a fast-check async property. */
export const invariantProperty = (options: PropertyOptions) =>
  fc.asyncProperty(fc.commands(commands({ drift: options.drift ?? true }), { maxCommands: options.maxCommands ?? 40, size: "+1" }), async (cmds) => {
    const provider = await options.provider()
    const world = new World({ provider, engine: { retry: fastRetry, ...options.engine } })
    try {
      const model = emptyModel()
      await fc.asyncModelRun(() => ({ model, real: world }), [...prelude(), ...cmds])
      await world.settle([...model.identities.keys()])
      await checkQuiet(world, model)
    } finally {
      await world.dispose()
      await provider.close?.()
      await options.cleanup?.(provider)
    }
  })

/** In tests, in-call retries need no delay: time is virtual and back-off is exercised by requeues. */
const fastRetry = Schedule.recurs(3)
