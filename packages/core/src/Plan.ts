/**
 * `plan(state, observed)`: the level-based heart of the engine. It compares what the engine believes
 * (state) with what the providers report now (observed), and returns the facts it learned (events)
 * and the work to do (actions), as data. It never branches on what triggered it, so running it again
 * on the same inputs asks for nothing new: reconcile is idempotent.
 *
 * Rules that keep "at most one credential per (parent, phone)":
 * - a phone credential is recorded as `requested` (the intent) before its issue call;
 * - a `requested` credential without a confirmed response is resolved only by observation: adopted
 *   when the manager shows it, re-requested only after the manager's listing lag has passed without it;
 * - any live credential at the manager that no child claims is revoked (duplicate or orphan).
 *
 * @since 0.1.0
 */
import type { AcsEntry } from "./AccessControl.js"
import type { Action } from "./Action.js"
import type { Capabilities, ManagerKind, ManagerView } from "./CredentialManager.js"
import type { DomainEvent } from "./Event.js"
import type { IdentityState } from "./Identity.js"
import type { AcsSystemId, CredentialId, PhoneId, ProviderRef } from "./Ids.js"
import { acs } from "./internal/plan/acs.js"
import { Planning } from "./internal/plan/context.js"
import { enrollment } from "./internal/plan/enrollment.js"
import { issuance, childId as phoneCredentialId } from "./internal/plan/issuance.js"
import { learn } from "./internal/plan/learn.js"
import { parents } from "./internal/plan/parents.js"
import { learnReplicating, unclaimedCopies } from "./internal/plan/replicating.js"
import { retire, retirement } from "./internal/plan/retirement.js"
import { users } from "./internal/plan/users.js"

/** What the providers report for one identity. A system missing here was not observed: plan does
 *  no work there that needs its current state. */
export interface Observed {
  readonly managers: ReadonlyMap<AcsSystemId, ManagerView>
  readonly acs: ReadonlyMap<AcsSystemId, ReadonlyArray<AcsEntry>>
}

/** What `plan` needs besides state and observation: the time, each manager's kind and capabilities, and tuning. */
export interface PlanContext {
  readonly now: number
  /** The kind of the port serving the manager (undefined: no port serves it). */
  readonly kind: (managerId: AcsSystemId) => ManagerKind | undefined
  readonly capabilities: (managerId: AcsSystemId) => Capabilities | undefined
  /** Issue attempts per phone credential before it is marked failed. */
  readonly maxIssueAttempts?: number
  /** Invitation attempts per enrollment before it stays failed. */
  readonly maxEnrollmentAttempts?: number
  /** Delay before a failed enrollment is retried (doubles per attempt). */
  readonly enrollmentRetryMs?: number
  /** How soon to look again at a credential the manager is still issuing. */
  readonly pollMs?: number
  /** Replicating managers: how long a phone may go without its copy of a parent before it is reported. */
  readonly replicationBoundMs?: number
  /** Until this time, calls of an earlier lease holder (another replica that died or stalled) may
   *  still land at a provider: no request recorded before it is concluded lost before it. */
  readonly inFlightUntil?: number
}

/** The result of `plan`: the new state, the facts learned (events), the actions to perform, and when to look again. */
export interface Plan {
  /** The state with `events` folded in (so callers need not fold them again). */
  readonly state: IdentityState
  readonly events: ReadonlyArray<DomainEvent>
  readonly actions: ReadonlyArray<Action>
  /** Earliest time a plan could differ without any new observation (lag expiry, retry, polling). */
  readonly wakeAt: number | undefined
}

/** Deterministic id of the phone credential of (parent, phone, endpoint). */
export const childId: (parent: CredentialId, phone: PhoneId, endpoint: ProviderRef) => CredentialId = phoneCredentialId

/**
 * Compare what the engine believes with what the providers report now; return the facts learned and the actions to take.
 *
 * The phases run in this order, each seeing the events of those before it (folded into the state).
 * A replicating manager (Seam) has its own phases where it differs; where one pass covers both kinds,
 * the pass decides per manager, so that the events keep the order of the state's records.
 *
 * @since 0.1.0
 */
export const plan = (initial: IdentityState, observed: Observed, ctx: PlanContext): Plan => {
  const run = new Planning(initial, observed, ctx)
  // 1. Manager-side users for every manager the identity needs.
  users(run)
  // 2. Learn from each observed manager.
  for (const [m, view] of observed.managers) {
    const at = run.manager(m)
    if (at.kind === "replicating") learnReplicating(run, at, view)
    else learn(run, at, view)
  }
  // 3. Enrollments: every active phone with every automation's manager.
  enrollment(run)
  // 4. Phone credentials: one per (live parent, active phone enrolled with the parent's manager);
  //    the others retire, and copies of our parents at a replicating manager that nobody claims are revoked.
  const wanted = issuance(run)
  retire(run, wanted)
  unclaimedCopies(run)
  // 5. Retiring children: revoke at the manager, remove from the ACS, then forget.
  retirement(run)
  // 6. The ACS: each active phone credential imported and assigned to its parent's ACS user.
  acs(run)
  // 7. Deleted parents leave once their last child is gone.
  parents(run)
  return run.result()
}
