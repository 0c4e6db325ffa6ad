/**
 * What each action means, in one place: its key (two actions with one key are one call) and how
 * its result becomes events and a patch of the last observation. The engine only maps an action to
 * a port call and hands the result to `settle`; everything the state machine learns from a call is
 * decided here, purely, and can be tested without ports.
 */
import type { Result } from "effect"
import type { AcsEntry } from "../AccessControl.js"
import type { Action, ActionTag } from "../Action.js"
import type { Invitation, ManagerCredential, ManagerView } from "../CredentialManager.js"
import type { DomainEvent } from "../Event.js"
import { enrollmentByKey, type IdentityState } from "../Identity.js"
import type { AcsSystemId, CredentialId, ProviderRef } from "../Ids.js"
import { isRetryable, type PortError } from "../PortError.js"
import type { Observed } from "../Plan.js"

/** The action of one tag. */
export type ActionOf<T extends ActionTag> = Extract<Action, { readonly _tag: T }>

/** A port call that returns nothing. */
// biome-ignore lint/suspicious/noConfusingVoidType: the ports declare such calls as Effect<void>
type Nothing = void

/** What each action's port call returns. */
export interface Results {
  readonly EnsureManagerUser: ProviderRef
  readonly Invite: Invitation
  readonly CancelInvitation: Nothing
  readonly RemoveEndpoint: Nothing
  readonly Issue: ManagerCredential
  readonly Revoke: Nothing
  readonly Import: AcsEntry
  readonly Assign: Nothing
  readonly RemoveFromAcs: Nothing
  readonly CreateRemoteParent: ProviderRef
  readonly DeleteRemoteParent: Nothing
  readonly LaunchRemoteAutomation: ProviderRef
}

/** Where and when a call was made: the identity's state the action was planned from, and the time. */
export interface At {
  readonly state: IdentityState
  readonly now: number
}

/** What running one action taught the engine, and whether the identity must be retried later. */
export interface Outcome {
  readonly events: ReadonlyArray<DomainEvent>
  /** A retryable failure, or one the next observation settles: look again after at least this long (ms). */
  readonly retryAfter?: number
  /** The call failed (whatever the reason): the cause a stuck identity shows. */
  readonly failure?: PortError
  /** What the provider now holds after this call succeeded, applied to the last observation so the
   *  next round can plan without observing again. Absent: observe again before planning. */
  readonly patch?: (observed: Observed) => Observed
}

/** One action's meaning. */
export interface Spec<T extends ActionTag> {
  readonly key: (a: ActionOf<T>) => string
  /** A success: the events it records. */
  readonly ok: (a: ActionOf<T>, result: Results[T], at: At) => ReadonlyArray<DomainEvent>
  /** What the provider holds after a success, when the engine knows it without looking. */
  readonly patch?: (a: ActionOf<T>, result: Results[T]) => (o: Observed) => Observed
  /** A terminal failure (not retryable, not settled by observing): the events it records. */
  readonly failed?: (a: ActionOf<T>, error: PortError, at: At) => ReadonlyArray<DomainEvent>
}

/** A credential the manager reports, as the event that records it. Also how the planner adopts one it observes. */
export const issued = (identity: IdentityState["id"], at: number, credentialId: CredentialId, cred: ManagerCredential): DomainEvent => ({
  _tag: "CredentialIssued",
  identity,
  at,
  credentialId,
  ref: cred.ref,
  active: cred.status === "active",
  ...(cred.cardNumber === undefined ? {} : { cardNumber: cred.cardNumber })
})

const withManager = (o: Observed, m: AcsSystemId, f: (v: ManagerView) => ManagerView): Observed => {
  const v = o.managers.get(m)
  if (v === undefined) return o
  const managers = new Map(o.managers)
  managers.set(m, f(v))
  return { managers, acs: o.acs }
}

const withAcs = (o: Observed, a: AcsSystemId, f: (entries: ReadonlyArray<AcsEntry>) => ReadonlyArray<AcsEntry>): Observed => {
  const acs = new Map(o.acs)
  acs.set(a, f(o.acs.get(a) ?? []))
  return { managers: o.managers, acs }
}

const nothing = (): ReadonlyArray<DomainEvent> => []

/** Every action's spec, by tag. */
export const specs: { readonly [T in ActionTag]: Spec<T> } = {
  EnsureManagerUser: {
    key: (a) => `${a._tag}|${a.managerId}`,
    ok: (a, ref, { state, now }) => [{ _tag: "ManagerUserBound", identity: state.id, at: now, managerId: a.managerId, ref }]
    // no patch: an existing user may already hold things, so observe it
  },
  Invite: {
    key: (a) => `${a._tag}|${a.key}`,
    ok: (a, inv, { state, now }) => {
      const enrollment = enrollmentByKey(state, a.key)
      return enrollment === undefined
        ? []
        : [{ _tag: "InvitationCreated", identity: state.id, at: now, key: a.key, invitation: inv.ref, code: inv.code, phoneId: enrollment.phoneId }]
    },
    patch: (a, inv) => (o) => withManager(o, a.managerId, (v) => ({ ...v, invitations: [...v.invitations, inv] })),
    failed: (a, e, { state, now }) => [
      { _tag: "EnrollmentFailed", identity: state.id, at: now, key: a.key, error: { code: `invite_${e.reason}`, message: e.message, at: now } }
    ]
  },
  CancelInvitation: { key: (a) => `${a._tag}|${a.invitation}`, ok: nothing },
  RemoveEndpoint: { key: (a) => `${a._tag}|${a.endpoint}`, ok: nothing },
  Issue: {
    key: (a) => `${a._tag}|${a.credentialId}`,
    // the manager's status says whether it is active yet: asynchronous issuance confirms later
    ok: (a, cred, { state, now }) => [issued(state.id, now, a.credentialId, cred)],
    patch: (a, cred) => (o) => withManager(o, a.managerId, (v) => ({ ...v, credentials: [...v.credentials, cred] })),
    failed: (a, e, { state, now }) => [
      { _tag: "CredentialFailed", identity: state.id, at: now, credentialId: a.credentialId, error: { code: "failed_to_issue", message: e.message, at: now } }
    ]
  },
  Revoke: { key: (a) => `${a._tag}|${a.credential}`, ok: nothing },
  Import: {
    key: (a) => `${a._tag}|${a.credentialId}`,
    ok: (a, entry, { state, now }) => [{ _tag: "CredentialImported", identity: state.id, at: now, credentialId: a.credentialId, acsRef: entry.ref }],
    patch: (a, entry) => (o) => withAcs(o, a.acsSystemId, (es) => [...es, entry])
  },
  Assign: {
    key: (a) => `${a._tag}|${a.credentialId}`,
    ok: (a, _, { state, now }) => [{ _tag: "CredentialAssigned", identity: state.id, at: now, credentialId: a.credentialId }],
    patch: (a) => (o) => withAcs(o, a.acsSystemId, (es) => es.map((e) => (e.ref === a.entry ? { ...e, assignedTo: a.acsUserId } : e)))
  },
  RemoveFromAcs: { key: (a) => `${a._tag}|${a.entry}`, ok: nothing },
  CreateRemoteParent: {
    key: (a) => `${a._tag}|${a.credentialId}`,
    ok: (a, ref, { state, now }) => [{ _tag: "ParentBound", identity: state.id, at: now, credentialId: a.credentialId, ref }]
  },
  DeleteRemoteParent: { key: (a) => `${a._tag}|${a.parent}`, ok: nothing },
  LaunchRemoteAutomation: {
    key: (a) => `${a._tag}|${a.automationId}`,
    ok: (a, ref, { state, now }) => [{ _tag: "AutomationBound", identity: state.id, at: now, automationId: a.automationId, ref }]
  }
}

/**
 * The outcome of one call. A success records the spec's events (and patches the observation when
 * the spec knows what the provider now holds). A retryable failure is looked at again after the
 * time it names; Ambiguous and Conflict are settled by the next observation, never by a blind
 * retry; any other failure records the spec's failure events, if any, and is not retried in this
 * reconcile.
 */
export const settle = <T extends ActionTag>(
  spec: Spec<T>,
  action: ActionOf<T>,
  at: At,
  result: Result.Result<Results[T], PortError>
): Outcome => {
  if (result._tag === "Success") {
    const events = spec.ok(action, result.success, at)
    return spec.patch === undefined ? { events } : { events, patch: spec.patch(action, result.success) }
  }
  const e = result.failure
  if (isRetryable(e)) return { events: [], retryAfter: e.retryAfter ?? 0, failure: e }
  if (e.reason === "Ambiguous" || e.reason === "Conflict") return { events: [], retryAfter: 0, failure: e }
  return { events: spec.failed?.(action, e, at) ?? [], failure: e }
}

/** The key of an action: two actions with one key are one call, so a plan asks for it once. */
export const actionKey = (a: Action): string => {
  switch (a._tag) {
    case "EnsureManagerUser":
      return specs.EnsureManagerUser.key(a)
    case "Invite":
      return specs.Invite.key(a)
    case "CancelInvitation":
      return specs.CancelInvitation.key(a)
    case "RemoveEndpoint":
      return specs.RemoveEndpoint.key(a)
    case "Issue":
      return specs.Issue.key(a)
    case "Revoke":
      return specs.Revoke.key(a)
    case "Import":
      return specs.Import.key(a)
    case "Assign":
      return specs.Assign.key(a)
    case "RemoveFromAcs":
      return specs.RemoveFromAcs.key(a)
    case "CreateRemoteParent":
      return specs.CreateRemoteParent.key(a)
    case "DeleteRemoteParent":
      return specs.DeleteRemoteParent.key(a)
    case "LaunchRemoteAutomation":
      return specs.LaunchRemoteAutomation.key(a)
  }
}
