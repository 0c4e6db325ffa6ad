import { Plan } from "@credsync/core"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryProvider, Property } from "../src/index.js"

const memory = () => MemoryProvider.make({ seed: 7, issueDelay: 200 }).provider

describe("invariant (docs/design.md) over the memory simulator", () => {
  it("holds for random interleavings of commands, faults, callbacks, crashes and drift", async () => {
    await fc.assert(Property.invariantProperty({ provider: memory }), { numRuns: Property.runs(40), verbose: 1 })
  }, Math.max(120_000, Property.runs(40) * 100))
})

describe("the property can fail", () => {
  // Planted bug 1: a request whose response was lost is treated as never made, so it is issued again.
  const ignoresIntent: typeof Plan.plan = (state, observed, ctx) =>
    Plan.plan(
      {
        ...state,
        children: Object.fromEntries(
          Object.entries(state.children).map(([k, c]) => [k, c.issue === "requested" && c.ref === undefined ? { ...c, issue: "pending" as const } : c])
        )
      },
      observed,
      ctx
    )
  // Planted bug 2: deactivating a phone (or deleting a parent) never revokes anything.
  const neverRevokes: typeof Plan.plan = (state, observed, ctx) => {
    const p = Plan.plan(state, observed, ctx)
    return { ...p, actions: p.actions.filter((a) => !(a._tag === "Revoke" && a.why === "retiring")) }
  }

  for (const [name, planner] of [
    ["issues without checking the pending intent", ignoresIntent],
    ["does not revoke on deactivation", neverRevokes]
  ] as const) {
    it(`finds a counterexample when the engine ${name}`, async () => {
      const result = await fc.check(Property.invariantProperty({ provider: memory, engine: { planner } }), { numRuns: 200, seed: 42 })
      expect(result.failed).toBe(true)
      expect(String(result.errorInstance)).toMatch(/live credential|Invariant|want exactly 1|credentials at the manager/)
    })
  }
})
