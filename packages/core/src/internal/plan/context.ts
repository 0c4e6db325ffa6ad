/**
 * One run of `plan`: the state as it evolves, the events and actions so far, when to look again, and
 * the rules every phase shares (listing lag, live parents and phones, what replicates).
 */
import type { Action, IssuingAction, ReplicatingAction } from "../../Action.js"
import { evolve } from "../../Aggregate.js"
import type { CardProfile } from "../../Card.js"
import type { Capabilities } from "../../CredentialManager.js"
import type { DomainEvent } from "../../Event.js"
import { type Child, type IdentityState, type Parent, phone } from "../../Identity.js"
import type { AcsSystemId, AutomationId, CredentialId, PhoneId, ProviderRef } from "../../Ids.js"
import type { Observed, Plan, PlanContext } from "../../Plan.js"
import { actionKey } from "../actions.js"

/** Ids built here are uuids by construction: skip re-validating them on the hot path. */
export const trusted = { disableChecks: true } as const

export const notice = (code: string, message: string, at: number) => ({ code, message, at })

/** What the planner may ask of an issuing manager; only `Planning.manager` hands one out, for a manager that issues. */
export interface Issuer {
  readonly kind: "issuing"
  readonly id: AcsSystemId
  invite(key: string): void
  cancelInvitation(invitation: ProviderRef): void
  issue(credentialId: CredentialId, endpoint: ProviderRef, card: CardProfile): void
}

/** What the planner may ask of a replicating manager; only `Planning.manager` hands one out, for a manager that replicates. */
export interface Replicator {
  readonly kind: "replicating"
  readonly id: AcsSystemId
  launchAutomation(automationId: AutomationId): void
  createParent(credentialId: CredentialId): void
  deleteParent(parent: ProviderRef): void
}

/** Actions any manager or ACS takes. Those of one kind of manager go through its `Issuer` or `Replicator`, so the
 *  compiler sees to it that an issuing action is only asked of a manager that issues, and the reverse. */
type SharedAction = Exclude<Action, IssuingAction | ReplicatingAction>

export class Planning {
  readonly now: number
  readonly identity: IdentityState["id"]
  readonly maxIssue: number
  readonly maxEnrol: number
  readonly retryMs: number
  readonly pollMs: number
  readonly boundMs: number
  readonly events: Array<DomainEvent> = []
  readonly actions: Array<Action> = []
  /** Refs of manager credentials that a phone credential holds: any other live one is revoked. */
  readonly claimed = new Set<string>()
  /** Managers of the identity's automations (none while it is being deleted), as the run began. */
  readonly automationManagers: ReadonlySet<AcsSystemId>
  state: IdentityState
  wakeAt: number | undefined
  readonly observed: Observed
  private readonly ctx: PlanContext
  private readonly inFlightUntil: number
  // providers may compute capabilities on each call; one plan reads each manager's once
  private readonly caps = new Map<AcsSystemId, Capabilities | undefined>()
  private readonly managers = new Map<AcsSystemId, Issuer | Replicator>()

  constructor(initial: IdentityState, observed: Observed, ctx: PlanContext) {
    this.now = ctx.now
    this.identity = initial.id
    this.maxIssue = ctx.maxIssueAttempts ?? 5
    this.maxEnrol = ctx.maxEnrollmentAttempts ?? 5
    this.retryMs = ctx.enrollmentRetryMs ?? 1_000
    this.pollMs = ctx.pollMs ?? 1_000
    this.boundMs = ctx.replicationBoundMs ?? 60_000
    this.inFlightUntil = ctx.inFlightUntil ?? 0
    this.state = initial
    this.observed = observed
    this.ctx = ctx
    this.automationManagers = new Set(initial.deleting ? [] : initial.automations.map((a) => a.managerId))
  }

  /** Record a fact and fold it into the state, so that later rules see it. */
  emit(e: DomainEvent): void {
    this.events.push(e)
    this.state = evolve(this.state, e)
  }

  /** Record the phone credential `id` of (parent, phone, endpoint) as requested now, on its `attempts`-th try. */
  requestChild(p: Parent, id: CredentialId, phoneId: PhoneId, endpoint: ProviderRef, attempts: number): void {
    const child: Child = {
      id,
      parentId: p.id,
      phoneId,
      managerId: p.managerId,
      endpoint,
      issue: "requested",
      requestedAt: this.now,
      attempts,
      assigned: false,
      retiring: false
    }
    this.emit({ _tag: "CredentialRequested", identity: this.identity, at: this.now, child })
  }

  act(a: SharedAction): void {
    this.actions.push(a)
  }

  /** Manager `m` as the kind it is, with the actions of that kind. */
  manager(m: AcsSystemId): Issuer | Replicator {
    const known = this.managers.get(m)
    if (known !== undefined) return known
    const actions = this.actions
    const made: Issuer | Replicator = this.replicates(m)
      ? {
          kind: "replicating",
          id: m,
          launchAutomation: (automationId) => actions.push({ _tag: "LaunchRemoteAutomation", managerId: m, automationId }),
          createParent: (credentialId) => actions.push({ _tag: "CreateRemoteParent", managerId: m, credentialId }),
          deleteParent: (parent) => actions.push({ _tag: "DeleteRemoteParent", managerId: m, parent })
        }
      : {
          kind: "issuing",
          id: m,
          invite: (key) => actions.push({ _tag: "Invite", managerId: m, key }),
          cancelInvitation: (invitation) => actions.push({ _tag: "CancelInvitation", managerId: m, invitation }),
          issue: (credentialId, endpoint, card) => actions.push({ _tag: "Issue", managerId: m, credentialId, endpoint, card })
        }
    this.managers.set(m, made)
    return made
  }

  wake(at: number): void {
    this.wakeAt = this.wakeAt === undefined ? at : Math.min(this.wakeAt, at)
  }

  capabilities(m: AcsSystemId): Capabilities | undefined {
    if (!this.caps.has(m)) this.caps.set(m, this.ctx.capabilities(m))
    return this.caps.get(m)
  }

  // A replicating manager (Seam) copies parents onto phones itself: the engine creates the parent
  // there, mirrors the children it makes, and repairs or reports what breaks the invariant.
  replicates(m: AcsSystemId): boolean {
    return this.ctx.kind(m) === "replicating"
  }

  /** Has the manager's listing lag (and an earlier holder's in-flight time) passed since `since`? If not, wake then. */
  lagPassed(m: AcsSystemId, since: number): boolean {
    const lag = this.capabilities(m)?.listingLag ?? 0
    const until = since < this.inFlightUntil ? Math.max(since + lag, this.inFlightUntil) : since + lag
    if (this.now >= until) return true
    this.wake(until)
    return false
  }

  phoneActive(id: PhoneId): boolean {
    return !this.state.deleting && phone(this.state, id)?.active === true
  }

  parentLive(p: Parent): boolean {
    return !this.state.deleting && !p.deleting
  }

  liveParents(): Array<Parent> {
    return this.state.parents.filter((p) => this.parentLive(p))
  }

  result(): Plan {
    return { state: this.state, events: this.events, actions: dedupe(this.actions), wakeAt: this.wakeAt }
  }
}

/** The actions in order, each piece of work once (its first request): two phases may find the same
 *  thing to do (the same credential to revoke, the same entry to remove). */
export const dedupe = (actions: ReadonlyArray<Action>): ReadonlyArray<Action> => {
  const seen = new Set<string>()
  return actions.filter((a) => {
    const k = actionKey(a)
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}
