/**
 * What the model-based property test needs from a provider under test: the two ports, the phone
 * app's part (redeem an invitation code), and a ground-truth view that does not go through the
 * engine. The memory simulator, the HID Origo fake and the Seam-compatible API each provide one.
 *
 * @since 0.1.0
 */
import type { AccessControl, CredentialManager, Ids, PortError } from "@credsync/core"
import type { Effect } from "effect"

export interface TruthCredential {
  readonly ref: string
  readonly endpoint: string
  readonly cardFormat: string
  readonly facilityCode: string
  readonly cardNumber: string
  readonly live: boolean
  /** The manager's status (`issuing`, `active`, `failed`, ...), when the provider reports it. */
  readonly status?: string
}

export interface TruthEndpoint {
  readonly ref: string
  readonly status: "active" | "removed"
}

export interface TruthAcsEntry {
  readonly ref: string
  readonly cardNumber: string
  readonly label: string
  readonly assignedTo: string | undefined
}

/** The provider's ground truth, as the invariant reads it. */
export interface Truth {
  readonly credentials: ReadonlyArray<TruthCredential>
  readonly acsEntries: ReadonlyArray<TruthAcsEntry>
  /** The manager's endpoints, when the provider reports them. */
  readonly endpoints?: ReadonlyArray<TruthEndpoint>
}

/** Fault mix for a step of the property test; a provider applies what it can. */
export interface FaultProfile {
  readonly transient?: number
  readonly rateLimited?: number
  readonly lostResponse?: number
  readonly lagMs?: number
  readonly duplicateCallbacks?: number
  readonly reorderCallbacks?: number
  /** Issuance confirmations lost on the way (the confirmation never comes): the engine must poll. */
  readonly dropIssueCallbacks?: number
  /** Issuances end `failed` (the manager's asynchronous failure). */
  readonly issueFailure?: number
  /** Issuances stay `issuing` this long (ms) before the manager confirms them. */
  readonly issueDelayMs?: number
}

/** A provider operation a test can script to fail once (`Provider.failNext`). */
export type ScriptedOperation = "observe" | "invite" | "issue" | "revoke" | "removeEndpoint" | "acsObserve" | "acsImport" | "acsAssign" | "acsRemove"

/** Drift in the ACS behind the engine's back. */
export interface AcsDrift {
  readonly remove: (ref: string) => Effect.Effect<void>
  /** Assign to another ACS user (or unassign with `undefined`). */
  readonly reassign: (ref: string, acsUserId: string | undefined) => Effect.Effect<void>
  /** A second entry with the same card number and label. */
  readonly duplicate: (ref: string) => Effect.Effect<void>
  /** An entry with an engine label that no phone credential claims, assigned to `acsUserId`. */
  readonly plant: (acsUserId: string, cardNumber: string) => Effect.Effect<void>
}

/** What the property needs from a provider under test: the engine's ports, test controls and ground truth. */
export interface Provider {
  readonly name: string
  readonly manager: CredentialManager.CredentialManagerShape
  readonly acs: AccessControl.AccessControlShape
  readonly managerId: Ids.AcsSystemId
  readonly acsSystemId: Ids.AcsSystemId
  /** The card profiles this provider can issue parents of, when it cannot issue every one the
   *  property draws (e.g. Seam through Access Grants: one profile, set by the credential manager).
   *  The property's parents are drawn from these instead. Default: the model's `profiles`. */
  readonly cardProfiles?: ReadonlyArray<{ readonly cardFormat: string; readonly facilityCode: string }> | undefined
  /** The phone's SDK redeems an invitation code; returns the endpoint it created. */
  readonly redeem: (code: string) => Effect.Effect<string, PortError.PortError>
  /** Let pending provider-side work finish (asynchronous issuance and revocation). */
  readonly settle: Effect.Effect<void>
  readonly truth: Effect.Effect<Truth>
  /** Provider callbacks since the last call (may be duplicated or reordered). */
  readonly callbacks: Effect.Effect<ReadonlyArray<unknown>>
  readonly setFaults?: (faults: FaultProfile) => Effect.Effect<void>
  /** The next mutating call of the engine kills it after the provider applied the change. */
  readonly crashNext?: Effect.Effect<void>
  /** Drift behind the engine's back. */
  readonly deleteCredential?: (ref: string) => Effect.Effect<void>
  readonly duplicateCredential?: (ref: string) => Effect.Effect<void>
  /** Tells an engine crash (a defect) from any other failure. */
  readonly isCrash?: (defect: unknown) => boolean
  /**
   * Providers that enrol phones themselves (Seam): the phone's app logs in at the provider, which
   * names the phone; the test then reports it to the engine under that id. Without it the test
   * names phones and enrols them through invitation codes.
   */
  readonly createPhone?: (userIdentityId: string) => Effect.Effect<string, PortError.PortError>
  /** Ground truth at `now` (the engine's clock) without going through an Effect, for checks at
   *  every provider call. */
  readonly truthNow?: (now: number) => Truth
  /** When the provider changes by itself next (an issuance completes, an invitation expires). */
  readonly nextEventAt?: () => number | undefined
  /** Drift: remove an endpoint behind the engine's back (the phone must enrol again). */
  readonly removeEndpoint?: (ref: string) => Effect.Effect<void>
  /** Drift: an endpoint removed earlier comes back active. */
  readonly restoreEndpoint?: (ref: string) => Effect.Effect<void>
  /** Drift: expire a pending invitation before the app redeems it. */
  readonly expireInvitation?: (ref: string) => Effect.Effect<void>
  readonly acsDrift?: AcsDrift
  /** The next call of `op` fails once with `reason` (a terminal reason, or Transient, ...). */
  readonly failNext?: (op: ScriptedOperation, reason: PortError.Reason) => Effect.Effect<void>
  /** Stop what the provider started (fake servers, receivers); the property calls it after each run. */
  readonly close?: () => Promise<void>
}
