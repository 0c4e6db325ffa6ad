/**
 * The model-based property of the invariant (docs/design.md) (packages/testkit) end to end through adapter-seam against
 * the Seam-compatible API (packages/seam-api), whose own engine replicates: random interleavings of
 * identities, phones, parents, faults, callbacks, crashes and drift; "at most one" after every step and
 * "every enrolled phone has exactly one credential, imported once and assigned" at quiet time.
 * It runs in both ways the adapter drives Seam: enrollment automations and Access Grants.
 * Each run gets a fresh server (and proxy, and webhook receiver) on 127.0.0.1, stopped after it.
 */
import { Property } from "@credsync/testkit"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
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

  // Access Grants: one card profile (a grant names none), so one parent per identity and manager.
  // Every run's adapter calls no enrollment automation route; across the runs grants were made.
  it("holds through Access Grants (one card profile) as well", async () => {
    let run = 100
    const created: Array<number> = []
    await fc.assert(
      Property.invariantProperty({
        provider: () => SeamProvider.make({ seed: ++run, via: "access_grants" }),
        maxCommands: 20,
        cleanup: async (provider) => {
          const paths = "paths" in provider && Array.isArray(provider.paths) ? provider.paths.map(String) : []
          expect(paths.filter((p) => p.startsWith("/user_identities/enrollment_automations/"))).toEqual([])
          created.push(paths.filter((p) => p === "/access_grants/create").length)
        }
      }),
      { numRuns: Property.runs(6, 0.03), verbose: 1 }
    )
    expect(created.some((n) => n > 0)).toBe(true)
  }, 600_000)
})
