/**
 * What the engine does on the way, checked as it happens: the World wraps the ports the engine
 * uses (credential manager, ACS, store) and records every call and every committed event. Checks
 * that need the provider's truth at the moment of a call run only when the provider offers it
 * synchronously (`Provider.truthNow`); the others run from the record at the end of each step.
 *
 * Violations are collected, not thrown: a throw inside a port would become an engine defect and
 * be reported as something else. The property reads `violations` after every step.
 *
 * @since 0.2.0
 */
import { type AccessControl, type CredentialManager, type Event, Identity, type Store } from "@credsync/core"

type DomainEvent = Event.DomainEvent
import { Clock, Effect, Exit, Option } from "effect"
import type { Provider, Truth, TruthCredential } from "./Provider.js"

/** A point where a race may be interleaved (see `World.race`): resolves when the call may go on. */
export type Gate = (label: string) => Promise<void>

/** A committed event, in commit order, with the step it was committed in. */
export interface SavedEvent {
  readonly step: number
  readonly event: DomainEvent
}

/** Counters of what happened in one run (for the property's statistics). */
export interface Counters {
  issueCalls: number
  revokeCalls: number
  observeFailures: number
  terminalErrors: number
  raceSteps: number
  replicaWork: number
  [key: string]: number
}

const profileOf = (c: { readonly cardFormat: string; readonly facilityCode: string }) => `${c.cardFormat}/${c.facilityCode}`

const terminal = new Set(["NotFound", "Unauthorized", "InvalidInput", "Unknown"])

export class Watch {
  readonly violations: Array<string> = []
  readonly saved: Array<SavedEvent> = []
  /** Events the engine tried to commit, committed or not (what it believed when it acted). */
  readonly attempted: Array<DomainEvent> = []
  /** Credentials the engine's issue calls created (ref → endpoint and profile). */
  readonly engineIssued = new Map<string, { readonly endpoint: string; readonly profile: string }>()
  /** Issue calls per endpoint and profile (whatever their outcome). */
  readonly issueCalls = new Map<string, number>()
  /** Issue calls per endpoint and profile that failed with a terminal reason. */
  readonly terminalIssues = new Set<string>()
  /** Revoke calls of credentials live at the time, in order, with the step they were made in
   *  (recorded only when the provider offers its truth at every call). */
  readonly revokes: Array<{ readonly ref: string; readonly step: number }> = []
  /** Credentials the test planted behind the engine's back (drift), not the engine's doing. */
  readonly planted = new Set<string>()
  /** Where each planted credential is: ref → "endpoint|profile". */
  readonly plantedAt = new Map<string, string>()
  /** ACS entries the test planted behind the engine's back (drift). */
  readonly plantedAcs = new Set<string>()
  /** Steps that were races: their events are not ordered against the model's updates. */
  readonly raceSteps = new Set<number>()
  /** Child ids the engine forgot (CredentialRevoked): they must never come back. */
  readonly forgotten = new Set<string>()
  readonly counters: Counters = { issueCalls: 0, revokeCalls: 0, observeFailures: 0, terminalErrors: 0, raceSteps: 0, replicaWork: 0 }
  /** While set, every port call waits for it (a race is being interleaved). */
  gate: Gate | undefined
  /** A duplicate was planted and not yet repaired: the step-level "at most one" (for providers
   *  without `truthNow`) is suspended. */
  allowDuplicates = false
  step = 0
  private readonly inFlight = new Map<string, number>()

  constructor(readonly provider: Provider) {}

  /** The provider replicates by itself (Seam): engine-side issue rules do not apply. */
  private get replicates(): boolean {
    return this.provider.manager.kind === "replicating"
  }

  private violation(message: string) {
    if (this.violations.length < 20) this.violations.push(`step ${this.step}: ${message}`)
  }

  /** The provider's truth at this moment of the engine's clock. */
  private truth(now: number): Truth | undefined {
    return this.provider.truthNow?.(now)
  }

  /** Invariant item 3 (never two live at once) at this moment. */
  checkAtMostOne(where: string, now: number) {
    const truth = this.truth(now)
    if (truth === undefined) return
    const seen = new Map<string, string>()
    for (const c of truth.credentials) {
      // a duplicate the test planted is its doing, and may stay invisible to the engine for the
      // listing lag: only two of the engine's own at once are a violation
      if (!c.live || this.planted.has(c.ref)) continue
      const k = `${c.endpoint}|${profileOf(c)}`
      const other = seen.get(k)
      if (other !== undefined) this.violation(`after ${where}: two live credentials ${other} and ${c.ref} on endpoint ${c.endpoint} (${profileOf(c)})`)
      seen.set(k, c.ref)
    }
  }

  private gated<A, E>(label: string, eff: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.suspend(() => {
      const gate = this.gate
      return gate === undefined ? eff : Effect.andThen(Effect.promise(() => gate(label)), eff)
    })
  }

  private mutating<A, E>(label: string, eff: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return this.gated(label, Effect.ensuring(eff, Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => this.checkAtMostOne(label, now)))))
  }

  /** The credential-manager port as the engine sees it, recorded. */
  manager(inner: CredentialManager.CredentialManagerShape): CredentialManager.CredentialManagerShape {
    const common: Omit<CredentialManager.BaseManagerShape, "systems"> = {
      ensureUser: (m, identity) => this.mutating("ensureUser", inner.ensureUser(m, identity)),
      observe: (m, user) =>
        this.gated(
          `observe(${user})`,
          Effect.tapError(inner.observe(m, user), () => Effect.sync(() => void this.counters.observeFailures++))
        ),
      revoke: (m, ref) =>
        this.mutating(
          `revoke(${ref})`,
          Effect.andThen(
            Effect.map(Clock.currentTimeMillis, (now) => {
              this.counters.revokeCalls++
              // revoking what is no longer live (a lagging listing still shows it) changes nothing
              if (this.truth(now)?.credentials.find((c) => c.ref === ref)?.live === true) this.revokes.push({ ref, step: this.step })
            }),
            inner.revoke(m, ref)
          )
        ),
      removeEndpoint: (m, ref) => this.mutating(`removeEndpoint(${ref})`, inner.removeEndpoint(m, ref))
    }
    // a replicating manager's own calls pass through: the issue rules below are the engine's
    if (inner.kind === "replicating") {
      return {
        kind: "replicating",
        // a getter: a provider may change its systems (e.g. their listing lag) while running
        get systems() {
          return inner.systems
        },
        ...common,
        createParent: inner.createParent,
        deleteParent: inner.deleteParent,
        launchAutomation: inner.launchAutomation
      }
    }
    const issue: CredentialManager.IssuingManagerShape["issue"] = (m, request) => {
      const key = `${request.endpoint}|${profileOf(request.card)}`
      const label = `issue(${request.endpoint}, ${profileOf(request.card)})`
      const before = Effect.map(Clock.currentTimeMillis, (now) => {
        this.counters.issueCalls++
        this.issueCalls.set(key, (this.issueCalls.get(key) ?? 0) + 1)
        if ((this.inFlight.get(key) ?? 0) > 0) this.violation(`${label} while another issue for it is in flight`)
        const live = this.truth(now)?.credentials.find(
          (c) => c.live && c.endpoint === request.endpoint && profileOf(c) === profileOf(request.card) && !this.planted.has(c.ref)
        )
        if (live !== undefined) this.violation(`${label} while ${live.ref} is live there`)
        this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1)
        return new Set(this.truth(now)?.credentials.map((c) => c.ref) ?? [])
      })
      return this.gated(
        label,
        Effect.flatMap(before, (known) =>
          Effect.onExit(inner.issue(m, request), (exit) =>
            Effect.map(Clock.currentTimeMillis, (now) => {
              this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1)
              const created: Array<string> = []
              if (Exit.isSuccess(exit)) created.push(exit.value.ref)
              // a lost response: what the call created is what appeared on the endpoint meanwhile
              for (const c of this.truth(now)?.credentials ?? []) {
                if (!known.has(c.ref) && c.endpoint === request.endpoint && profileOf(c) === profileOf(request.card)) created.push(c.ref)
              }
              for (const ref of created) this.engineIssued.set(ref, { endpoint: request.endpoint, profile: profileOf(request.card) })
              if (Exit.isFailure(exit)) {
                const reason = exit.cause.reasons.flatMap((r) => ("error" in r ? [(r.error as { reason?: string }).reason] : []))[0]
                if (reason !== undefined && terminal.has(reason)) {
                  this.terminalIssues.add(key)
                  this.counters.terminalErrors++
                }
              }
              this.checkAtMostOne(label, now)
            })
          )
        )
      )
    }
    return {
      kind: "issuing",
      get systems() {
        return inner.systems
      },
      ...common,
      invite: (m, user) => this.mutating(`invite(${user})`, inner.invite(m, user)),
      cancelInvitation: (m, ref) => this.mutating(`cancelInvitation(${ref})`, inner.cancelInvitation(m, ref)),
      issue
    }
  }

  /** The ACS port as the engine sees it (calls interleaved in races). */
  acs(inner: AccessControl.AccessControlShape): AccessControl.AccessControlShape {
    return {
      systems: inner.systems,
      createUser: inner.createUser,
      getUser: inner.getUser,
      observe: (a, q) =>
        this.gated(
          "acsObserve",
          Effect.tapError(inner.observe(a, q), () => Effect.sync(() => void this.counters.observeFailures++))
        ),
      importCredential: (a, e) => this.mutating(`acsImport(${e.cardNumber})`, inner.importCredential(a, e)),
      assign: (a, ref, user) => this.mutating(`acsAssign(${ref})`, inner.assign(a, ref, user)),
      remove: (a, ref) => this.mutating(`acsRemove(${ref})`, inner.remove(a, ref))
    }
  }

  /** The store as the engine sees it: commits are checked against the provider's truth. */
  store(inner: Store.StoreShape): Store.StoreShape {
    return {
      ...inner,
      load: (id) => this.gated(`load(${id})`, inner.load(id)),
      acquire: (lease, now, id) => this.gated(`acquire(${lease.owner}, ${id})`, inner.acquire(lease, now, id)),
      claim: (lease, now, limit) => this.gated(`claim(${lease.owner})`, inner.claim(lease, now, limit)),
      release: (owner, id, due) => this.gated(`release(${owner}, ${id})`, inner.release(owner, id, due)),
      save: (request) =>
        this.gated(
          `save(${request.id}: ${request.events.map((e) => e._tag).join(", ")})`,
          Effect.flatMap(
            Effect.andThen(
              Effect.sync(() => this.attempted.push(...request.events)),
              inner.load(request.id)
            ),
            (before) =>
            Effect.tap(inner.save(request), () =>
              Effect.map(Clock.currentTimeMillis, (now) => this.committed(Option.getOrUndefined(before)?.state, request.events, now))
            )
          )
        )
    }
  }

  /** Events just committed, checked against the provider's truth at this moment. */
  private committed(before: Identity.IdentityState | undefined, events: ReadonlyArray<DomainEvent>, now: number) {
    const truth = this.truth(now)
    const find = (ref: string | undefined): TruthCredential | undefined =>
      ref === undefined ? undefined : truth?.credentials.find((c) => c.ref === ref)
    let state = before
    for (const event of events) {
      this.saved.push({ step: this.step, event })
      if (this.replicates) continue
      switch (event._tag) {
        case "CredentialIssued": {
          // "issued" only once the manager confirms: a credential still issuing (or failed) is not active
          const t = find(event.ref)
          if (event.active && t?.status !== undefined && (t.status === "issuing" || t.status === "failed")) {
            this.violation(`CredentialIssued(${event.credentialId}) recorded ${event.ref} as active while the manager says ${t.status}`)
          }
          break
        }
        case "CredentialRequested":
          if (this.forgotten.has(event.child.id)) this.violation(`credential id ${event.child.id} reused after it was revoked and forgotten`)
          break
        case "CredentialRevoked": {
          this.forgotten.add(event.credentialId)
          const child = state === undefined ? undefined : Identity.child(state, event.credentialId)
          const t = find(child?.ref)
          if (t?.live) this.violation(`forgot phone credential ${event.credentialId} while its credential ${t.ref} is live at the manager`)
          const entry =
            child?.cardNumber === undefined ? undefined : truth?.acsEntries.find((e) => e.cardNumber === child.cardNumber && e.label.startsWith("credsync:"))
          if (entry !== undefined) this.violation(`forgot phone credential ${event.credentialId} while ACS entry ${entry.ref} still holds its card ${entry.cardNumber}`)
          break
        }
      }
      if (state !== undefined) state = evolveLoose(state, event)
    }
  }

  /**
   * Every credential the engine issued and later revoked was held by a phone credential that was
   * retired first (with a reason). A revoke of one it never recorded means it lost track of its own
   * issue call (and paid for a second one).
   */
  checkRevokes() {
    if (this.replicates) return
    const holders = new Map<string, Set<string>>()
    const retired = new Set<string>()
    // what the engine believed when it acted, even if that commit then failed (e.g. a lease lost)
    for (const event of this.attempted) {
      if (event._tag === "CredentialIssued") holders.set(event.ref, (holders.get(event.ref) ?? new Set()).add(event.credentialId))
      if (event._tag === "CredentialRetiring") retired.add(event.credentialId)
    }
    // a duplicate planted within the listing lag may be adopted in place of the engine's own issue
    // (it cannot tell them apart): then its own one is the duplicate to revoke
    const adoptedPlanted = new Set<string>()
    for (const ref of holders.keys()) {
      const t = this.plantedAt.get(ref)
      if (t !== undefined) adoptedPlanted.add(t)
    }
    for (const { ref, step } of this.revokes) {
      const issued = this.engineIssued.get(ref)
      if (issued === undefined || this.planted.has(ref)) continue
      const by = [...(holders.get(ref) ?? [])]
      if (by.length === 0 && adoptedPlanted.has(`${issued.endpoint}|${issued.profile}`)) continue
      if (by.length === 0) this.violation(`revoked ${ref} (at step ${step}), which the engine issued but never recorded as any phone credential's`)
      else if (!by.some((c) => retired.has(c))) this.violation(`revoked ${ref} (at step ${step}) of phone credential ${by.join(", ")}, which was never retired`)
    }
  }
}

/** Just enough of `evolve` to follow a child's ref and card number through one commit. */
const evolveLoose = (s: Identity.IdentityState, e: DomainEvent): Identity.IdentityState => {
  if (e._tag === "CredentialIssued") {
    const c = Identity.child(s, e.credentialId)
    if (c === undefined) return s
    const issued = { ...c, ref: e.ref, ...(e.cardNumber === undefined ? {} : { cardNumber: e.cardNumber }) }
    return { ...s, children: s.children.map((x) => (x === c ? issued : x)) }
  }
  // found by id only: where a requested child goes in the list does not matter here
  if (e._tag === "CredentialRequested") return { ...s, children: [...s.children.filter((x) => x.id !== e.child.id), e.child] }
  return s
}
