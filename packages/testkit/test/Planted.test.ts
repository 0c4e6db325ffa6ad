/**
 * The property can fail: with a bug planted in the engine (a realistic small change to the planner,
 * Plan.ts and its phases in internal/plan/, or to internal/engine.ts, see planted/bugs.ts), it finds
 * a counterexample, and the right check reports it. Seeds are fixed so each case is deterministic; `runs` is comfortably above the number of runs
 * the bug took to show with that seed.
 */
import { type Engine, Plan } from "@credsync/core"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryProvider, Property } from "../src/index.js"
import { bugs, inPlanner, type PlantedName } from "./planted/bugs.js"
import { plantedEngine, plantedPlanner } from "./planted/load.js"

const memory = () => MemoryProvider.make({ seed: 7, issueDelay: 200 }).provider

/** Does the property fail with this engine? Returns the error it failed with. */
const failure = async (
  options: { readonly planner?: typeof Plan.plan; readonly makeEngine?: typeof Engine.make; readonly focus?: "all" | "races" },
  check: { readonly seed: number; readonly runs: number }
): Promise<string | undefined> => {
  const result = await fc.check(
    Property.invariantProperty({
      provider: memory,
      ...(options.planner === undefined ? {} : { engine: { planner: options.planner } }),
      ...(options.makeEngine === undefined ? {} : { makeEngine: options.makeEngine }),
      ...(options.focus === undefined ? {} : { focus: options.focus })
    }),
    { numRuns: check.runs, seed: check.seed }
  )
  return result.failed ? String(result.errorInstance) : undefined
}

describe("the property can fail: planners broken by hand", () => {
  // A request whose response was lost is treated as never made, so it is issued again.
  const ignoresIntent: typeof Plan.plan = (state, observed, ctx) =>
    Plan.plan(
      {
        ...state,
        children: state.children.map((c) => (c.issue === "requested" && c.ref === undefined ? { ...c, issue: "pending" as const } : c))
      },
      observed,
      ctx
    )
  // Deactivating a phone (or deleting a parent) never revokes anything.
  const neverRevokes: typeof Plan.plan = (state, observed, ctx) => {
    const p = Plan.plan(state, observed, ctx)
    return { ...p, actions: p.actions.filter((a) => !(a._tag === "Revoke" && a.why === "retiring")) }
  }
  for (const [name, planner] of [
    ["issues without checking the pending intent", ignoresIntent],
    ["does not revoke on deactivation", neverRevokes]
  ] as const) {
    it(`finds a counterexample when the engine ${name}`, async () => {
      expect(await failure({ planner }, { seed: 42, runs: 200 })).toMatch(/live|Invariant|want exactly 1|credentials at the manager|forgot/)
    })
  }
})

/** Each planted bug, the run that finds it (seed, runs), and what reports it. */
const cases: ReadonlyArray<{
  readonly bug: PlantedName
  readonly focus?: "all" | "races"
  readonly seed: number
  readonly runs: number
  readonly reported: RegExp
}> = [
  // races interleaved by the scheduler: a second reconcile concludes the first one's issue was lost
  { bug: "noLock", focus: "races", seed: 3, runs: 60, reported: /revoked|two live credentials|issue\(.*\) while/ },
  // the event stream against the provider's truth: "issued" before the manager confirmed it
  { bug: "activeOnReturn", seed: 1, runs: 20, reported: /recorded .* as active while the manager says issuing/ },
  // liveness on the engine's own scheduling: nobody looks at the identity again
  { bug: "noObserveRetry", seed: 1, runs: 60, reported: /no live credential|not settled/ },
  // what the engine did: it revoked a credential it had issued, because its intent was not durable
  { bug: "lateIntents", seed: 1, runs: 60, reported: /never recorded as any phone credential's/ },
  // re-enrolment: the new endpoint's credential must be a new one
  { bug: "childIdWithoutEndpoint", seed: 1, runs: 60, reported: /reused after it was revoked and forgotten/ },
  // a lagging listing: a retiring credential was forgotten while still live
  { bug: "retiringLiveness", seed: 1, runs: 60, reported: /forgot phone credential .* while its credential .* is live/ },
  // ACS drift: an entry reassigned to another ACS user behind the engine's back
  { bug: "acsUserMatch", seed: 1, runs: 300, reported: /not imported once and assigned/ },
  // a lost issue response adopting a credential of another card profile
  { bug: "claimAnyProfile", seed: 1, runs: 100, reported: /two live credentials|never recorded|still had work|holds .* of profile/ },
  // ACS drift: a leftover entry with an engine label, assigned to the person
  { bug: "keepUnclaimedAcs", seed: 1, runs: 20, reported: /credentials in the ACS, want/ }
]

describe("the property can fail: bugs planted in the engine's source", () => {
  for (const c of cases) {
    it(`finds a counterexample when ${bugs[c.bug].description}`, async () => {
      const options =
        inPlanner(bugs[c.bug].file) ? { planner: await plantedPlanner(c.bug) } : { makeEngine: await plantedEngine(c.bug) }
      expect(await failure({ ...options, ...(c.focus === undefined ? {} : { focus: c.focus }) }, c)).toMatch(c.reported)
    })
  }

  it("and passes with the same runs on the engine as it is", async () => {
    for (const c of cases) expect(await failure({ ...(c.focus === undefined ? {} : { focus: c.focus }) }, { seed: c.seed, runs: Math.min(c.runs, 60) })).toBeUndefined()
  })
})
