/**
 * Fault injection settings of the simulator. Every probability is in [0, 1] and is drawn from the
 * simulator's seeded PRNG, so a run is reproducible from its seed and its sequence of calls.
 *
 * @since 0.1.0
 */
import type { PortError } from "@credsync/core"

/** The credential-manager operations of the simulator (also the keys of its call counters). */
export const managerOperations = [
  "ensureUser",
  "observe",
  "invite",
  "cancelInvitation",
  "issue",
  "revoke",
  "removeEndpoint"
] as const

/** The ACS operations of the simulator (also the keys of its call counters). */
export const acsOperations = [
  "acsCreateUser",
  "acsGetUser",
  "acsObserve",
  "acsImport",
  "acsAssign",
  "acsRemove"
] as const

/** Every operation a fault can be attached to. */
export const operations = [...managerOperations, ...acsOperations] as const

/** A credential-manager operation name. */
export type ManagerOperation = (typeof managerOperations)[number]
/** An ACS operation name. */
export type AcsOperation = (typeof acsOperations)[number]
/** Any simulated operation name. */
export type Operation = (typeof operations)[number]

/** Fault probabilities for one operation (or for all, at the top level of {@link Faults}). */
export interface OperationFaults {
  /** Fails with `Transient` before anything happens. */
  readonly transient?: number | undefined
  /** Fails with `RateLimited` (and `retryAfter`) before anything happens. */
  readonly rateLimited?: number | undefined
  /** `retryAfter` (ms) of a rate-limit answer. Default 1000. */
  readonly retryAfter?: number | undefined
  /** The change is applied, then the call fails with `Ambiguous` (the response was lost). */
  readonly lostResponse?: number | undefined
  /** The change is applied, then the fiber dies with a `Simulator.SimulatedCrash` defect (engine crash). */
  readonly crash?: number | undefined
  /** Probability that `latencyMs` is slept before the call (default 1 when `latencyMs` > 0). */
  readonly latency?: number | undefined
  /** Duration (ms of Effect Clock time) slept before the call. Default 0. */
  readonly latencyMs?: number | undefined
}

/**
 * All fault settings. Top-level {@link OperationFaults} apply to every operation; `ops` overrides
 * them field by field for one operation.
 */
export interface Faults extends OperationFaults {
  readonly ops?: { readonly [K in Operation]?: OperationFaults } | undefined
  /** Listings (manager `observe`) lag this many ms: fresh records are missing, fresh changes show the previous status. */
  readonly lagMs?: number | undefined
  /** Probability that a callback is delivered twice by `takeCallbacks`. */
  readonly duplicateCallbacks?: number | undefined
  /** Probability that a callback is swapped with another one by `takeCallbacks`. */
  readonly reorderCallbacks?: number | undefined
  /** Probability that an issuance ends `failed` instead of `active`. */
  readonly issueFailure?: number | undefined
  /** Ms of Clock time a new issuance stays `issuing` while these faults hold (overrides the
   *  simulator's `issueDelay`): confirmations that come late. */
  readonly issueDelayMs?: number | undefined
  /** Probability that a callback is lost by `takeCallbacks` (the engine must find out by polling). */
  readonly dropCallbacks?: number | undefined
  /** Probability that an issuance's confirmation callback (`CredentialIssued` / `CredentialFailed`)
   *  is lost: the confirmation never comes, and the engine must poll for it. */
  readonly dropIssueCallbacks?: number | undefined
}

/** A scripted one-shot failure for `failNext`: a port error reason, or `Crash` (apply, then die). */
export type ScriptedFault = PortError.Reason | "Crash"

/** Fault settings of one operation after merging the top level with its override. @internal */
export interface ResolvedFaults {
  readonly transient: number
  readonly rateLimited: number
  readonly retryAfter: number
  readonly lostResponse: number
  readonly crash: number
  readonly latency: number
  readonly latencyMs: number
}

/** Merge the top-level settings with the per-operation override. */
export const resolve = (faults: Faults, op: Operation): ResolvedFaults => {
  const o = faults.ops?.[op]
  const pick = (k: keyof OperationFaults, dflt: number): number => o?.[k] ?? faults[k] ?? dflt
  return {
    transient: pick("transient", 0),
    rateLimited: pick("rateLimited", 0),
    retryAfter: pick("retryAfter", 1000),
    lostResponse: pick("lostResponse", 0),
    crash: pick("crash", 0),
    latency: pick("latency", 1),
    latencyMs: pick("latencyMs", 0)
  }
}
