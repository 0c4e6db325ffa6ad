/**
 * The `AccessControl` port served by the in-memory {@link Simulator}.
 *
 * @since 0.1.0
 */
import { AccessControl } from "@credsync/core"
import { Layer } from "effect"
import type * as Simulator from "./Simulator.js"

/**
 * A layer serving the simulator's access control systems.
 *
 * @since 0.1.0
 */
export const layer = (sim: Simulator.Simulator): Layer.Layer<AccessControl.AccessControl> =>
  Layer.succeed(AccessControl.AccessControl, AccessControl.AccessControl.of(sim.acs))
