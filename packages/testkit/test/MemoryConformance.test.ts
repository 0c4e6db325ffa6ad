import { MemoryAccessControl, MemoryCredentialManager, MemoryRecords, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { accessControlSuite, credentialManagerSuite, recordsSuite, storeSuite } from "../src/index.js"
import { Effect } from "effect"
import { TestClock } from "effect/testing"

const harness = (sim: Simulator.Simulator, settle: () => Effect.Effect<void>) => ({
  layer: MemoryCredentialManager.layer(sim),
  manager: Simulator.defaultManagerId,
  redeem: (code: string) => Effect.asVoid(sim.redeem(code)),
  settle
})

const immediate = Simulator.make({ seed: 1 })
credentialManagerSuite("memory simulator (immediate issuance)", harness(immediate, () => Effect.void))

const asyncSim = Simulator.make({ seed: 2, issueDelay: 5_000 })
credentialManagerSuite("memory simulator (asynchronous issuance)", harness(asyncSim, () => asyncSim.completeIssuances()))

const lagging = Simulator.make({ seed: 3, issueDelay: 1_000, rejectDuplicateIssue: true, faults: { lagMs: 250 } })
credentialManagerSuite(
  "memory simulator (lagging listings, clock-driven issuance)",
  harness(lagging, () => TestClock.adjust(1_250))
)

accessControlSuite("memory simulator", {
  layer: MemoryAccessControl.layer(Simulator.make({ seed: 4 })),
  acsSystemId: Simulator.defaultAcsId
})

storeSuite("memory store", () => MemoryStore.layer())
storeSuite("memory store (small event retention)", () => MemoryStore.layer({ retainEvents: 100 }))
recordsSuite("memory records", () => MemoryRecords.layer())
