/**
 * The simulator's test controls over HTTP: the phone app's part (`redeem`), provider-side progress
 * (`completeIssuances`), ground truth with call counters (`truth`) and fault settings (`setFaults`).
 *
 * @since 0.1.0
 */
import type { PortError } from "@credsync/core"
import { Effect } from "effect"
import { call, type TransportOptions } from "./internal/transport.js"
import type { Faults, Truth } from "./Protocol.js"

/** Test controls of one simulator server. */
export interface Controls {
  /** The phone SDK redeems an invitation code; returns the endpoint it created. */
  readonly redeem: (code: string) => Effect.Effect<string, PortError.PortError>
  /** Finish every pending issuance now. */
  readonly completeIssuances: Effect.Effect<void, PortError.PortError>
  /** Ground truth, as of the server's clock. */
  readonly truth: Effect.Effect<Truth, PortError.PortError>
  /** Replace the fault settings. */
  readonly setFaults: (faults: Faults) => Effect.Effect<void, PortError.PortError>
}

/**
 * The controls of the server at `url`.
 *
 * @since 0.1.0
 */
export const make = (url: string, options: TransportOptions = {}): Controls => {
  const base = url.replace(/\/+$/, "")
  return {
    redeem: (code) => call(base, "redeem", { code }, options),
    completeIssuances: Effect.asVoid(call(base, "completeIssuances", {}, options)),
    truth: call(base, "truth", {}, options),
    setFaults: (faults) => Effect.asVoid(call(base, "setFaults", { faults }, options))
  }
}
