/**
 * The model-based property of the invariant (docs/design.md) (packages/testkit) end to end through adapter-seam against
 * the Seam-compatible API (packages/seam-api), whose own engine replicates: random interleavings of
 * identities, phones, parents, faults, callbacks, crashes and drift; "at most one" after every step and
 * "every enrolled phone has exactly one credential, imported once and assigned" at quiet time.
 * Each run gets a fresh server (and proxy, and webhook receiver) on 127.0.0.1, stopped after it.
 */
import { Property } from "@credsync/testkit"
import fc from "fast-check"
import { describe, it } from "vitest"
import * as SeamProvider from "./SeamProvider.js"

describe("invariant (docs/design.md) over adapter-seam and the Seam-compatible API", () => {
  it("holds for random interleavings of commands, faults, callbacks, crashes and drift", async () => {
    let run = 0
    await fc.assert(
      Property.invariantProperty({
        provider: () => SeamProvider.make({ seed: ++run }),
        maxCommands: 20,
        identityChanges: true
      }),
      { numRuns: Property.runs(6, 0.03), verbose: 1 }
    )
  }, 600_000)
})
