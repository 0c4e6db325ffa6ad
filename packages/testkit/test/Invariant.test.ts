import fc from "fast-check"
import { afterAll, describe, it } from "vitest"
import { MemoryProvider, Property } from "../src/index.js"

const memory = () => MemoryProvider.make({ seed: 7, issueDelay: 200 }).provider

// One seed per test process, printed (replay a CI failure with CREDSYNC_PROP_SEED=<n>).
const seed = Property.seed()

describe("invariant (docs/design.md) over the memory simulator", () => {
  const stats = new Property.Stats()
  const races = new Property.Stats()
  afterAll(() => {
    // how often each case occurred: the generator's weights, as measured
    console.log(`property statistics (seed ${seed})\n${stats.table()}\nraces\n${races.table()}`)
  })

  it("holds for random interleavings of commands, races, faults, callbacks, crashes, drift, profile updates and ACS-user relinks", async () => {
    await fc.assert(Property.invariantProperty({ provider: memory, stats, identityChanges: true }), { numRuns: Property.runs(100), seed })
  }, Math.max(120_000, Property.runs(100) * 200))

  it("holds when one identity's reconciles, drains, commands and callbacks race, on two replicas", async () => {
    await fc.assert(Property.invariantProperty({ provider: memory, focus: "races", stats: races }), { numRuns: Property.runs(60, 0.5), seed })
  }, Math.max(120_000, Property.runs(60, 0.5) * 300))
})
