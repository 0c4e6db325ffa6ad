/**
 * The model-based property of the invariant (docs/design.md) end to end through the real HTTP adapter against the HID Origo
 * fake: random interleavings of identities, phones, parents, faults, callbacks, crashes and drift; "at most
 * one" after every step and "every enrolled phone has exactly one credential" at quiet time.
 * Each run gets a fresh fake (and callback receiver) on 127.0.0.1, stopped after it.
 */
import { Property } from "@credsync/testkit"
import fc from "fast-check"
import { describe, it } from "vitest"
import * as HidProvider from "./HidProvider.js"

describe("invariant (docs/design.md) over the HID Origo adapter and fake", () => {
  it("holds for random interleavings of commands, faults, callbacks, crashes and drift", async () => {
    let run = 0
    await fc.assert(
      Property.invariantProperty({
        provider: () => HidProvider.make({ seed: ++run }),
        maxCommands: 25
      }),
      { numRuns: Property.runs(8, 0.05), verbose: 1 }
    )
    // each run starts a fake and a receiver on loopback: allow half a second per run on a loaded machine
  }, Math.max(120_000, Property.runs(8, 0.05) * 500))
})
