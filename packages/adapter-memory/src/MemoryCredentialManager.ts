/**
 * The `CredentialManager` port served by the in-memory {@link Simulator}.
 *
 * @since 0.1.0
 */
import { CredentialManager } from "@credsync/core"
import { Layer } from "effect"
import type * as Simulator from "./Simulator.js"

/**
 * A layer serving the simulator's credential managers, an issuing manager (`kind: "issuing"`).
 * Capabilities: `asyncIssue: issueDelay > 0`, `listingLag`: the simulator's current `lagMs`.
 *
 * @since 0.1.0
 */
export const layer = (sim: Simulator.Simulator): Layer.Layer<CredentialManager.CredentialManager> =>
  Layer.succeed(CredentialManager.CredentialManager, CredentialManager.CredentialManager.of(sim.manager))
