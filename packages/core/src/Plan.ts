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
import { type AcsEntry, isManaged } from "./AccessControl.js"
import type { Action } from "./Action.js"
import { evolve } from "./Aggregate.js"
import { profileKey } from "./Card.js"
import { type Capabilities, isLive, type ManagerKind, type ManagerView } from "./CredentialManager.js"
import type { DomainEvent } from "./Event.js"
import { type Child, type Enrollment, enrollmentKey, type IdentityState, type Parent } from "./Identity.js"
import { type AcsSystemId, CredentialId, EnrollmentId, type PhoneId, ProviderRef } from "./Ids.js"
import { actionKey, issued } from "./internal/actions.js"
import { uuidOf } from "./internal/hash.js"

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
export const childId = (parent: CredentialId, phone: PhoneId, endpoint: ProviderRef): CredentialId =>
  CredentialId.make(uuidOf(`child|${parent}|${phone}|${endpoint}`), trusted)

/** Ids built here are uuids by construction: skip re-validating them on the hot path. */
const trusted = { disableChecks: true } as const

const notice = (code: string, message: string, at: number) => ({ code, message, at })

/**
 * Compare what the engine believes with what the providers report now; return the facts learned and the actions to take.
 *
 * @since 0.1.0
 */
export const plan = (initial: IdentityState, observed: Observed, ctx: PlanContext): Plan => {
  const now = ctx.now
  const maxIssue = ctx.maxIssueAttempts ?? 5
  const maxEnrol = ctx.maxEnrollmentAttempts ?? 5
  const retryMs = ctx.enrollmentRetryMs ?? 1_000
  const pollMs = ctx.pollMs ?? 1_000
  const boundMs = ctx.replicationBoundMs ?? 60_000
  const identity = initial.id
  let s = initial
  const events: Array<DomainEvent> = []
  const actions: Array<Action> = []
  let wakeAt: number | undefined
  const emit = (e: DomainEvent) => {
    events.push(e)
    s = evolve(s, e)
  }
  const wake = (at: number) => {
    wakeAt = wakeAt === undefined ? at : Math.min(wakeAt, at)
  }
  // providers may compute capabilities on each call; one plan reads each manager's once
  const caps = new Map<AcsSystemId, Capabilities | undefined>()
  const capabilities = (m: AcsSystemId) => {
    if (!caps.has(m)) caps.set(m, ctx.capabilities(m))
    return caps.get(m)
  }
  const lagOf = (m: AcsSystemId) => capabilities(m)?.listingLag ?? 0
  const inFlightUntil = ctx.inFlightUntil ?? 0
  const lagPassed = (m: AcsSystemId, since: number) => {
    const until = since < inFlightUntil ? Math.max(since + lagOf(m), inFlightUntil) : since + lagOf(m)
    if (now >= until) return true
    wake(until)
    return false
  }
  const phoneActive = (id: PhoneId) => !s.deleting && s.phones[id]?.active === true
  const parentLive = (p: Parent) => !s.deleting && !p.deleting
  const automationManagers = new Set(s.deleting ? [] : Object.values(s.automations).map((a) => a.managerId))
  const liveParents = () => Object.values(s.parents).filter(parentLive)
  // A replicating manager (Seam) copies parents onto phones itself: the engine creates the parent
  // there, mirrors the children it makes, and repairs or reports what breaks the invariant.
  const replicates = (m: AcsSystemId) => ctx.kind(m) === "replicating"

  // 1. Manager-side users for every manager the identity needs.
  for (const m of new Set([...automationManagers, ...liveParents().map((p) => p.managerId)])) {
    if (s.managerUsers[m] === undefined) actions.push({ _tag: "EnsureManagerUser", managerId: m })
  }

  const learnReplicating = (m: AcsSystemId, view: ManagerView) => {
    for (const a of Object.values(s.automations)) {
      if (a.managerId !== m || a.remote !== undefined || s.deleting) continue
      const found = view.automations?.[0]
      if (found !== undefined) emit({ _tag: "AutomationBound", identity, at: now, automationId: a.id, ref: found.ref })
      else if (a.remoteRequestedAt === undefined || lagPassed(m, a.remoteRequestedAt)) {
        emit({ _tag: "AutomationRemoteRequested", identity, at: now, automationId: a.id })
        actions.push({ _tag: "LaunchRemoteAutomation", managerId: m, automationId: a.id })
      }
    }
    const remote = view.parents ?? []
    const held = new Set(Object.values(s.parents).flatMap((p) => (p.remote === undefined ? [] : [p.remote])))
    for (const p of Object.values(s.parents)) {
      if (p.managerId !== m) continue
      const there = p.remote !== undefined && remote.some((r) => r.ref === p.remote)
      if (!parentLive(p)) {
        if (there && p.remote !== undefined) actions.push({ _tag: "DeleteRemoteParent", managerId: m, parent: p.remote })
        continue
      }
      if (there) continue
      // a lost create response: adopt the manager's parent with our card profile that nobody holds
      const found = remote.find((r) => !held.has(r.ref) && profileKey(r) === profileKey(p.card))
      if (found !== undefined) {
        held.add(found.ref)
        emit({ _tag: "ParentBound", identity, at: now, credentialId: p.id, ref: found.ref })
      } else if (p.remoteRequestedAt === undefined || lagPassed(m, p.remoteRequestedAt)) {
        emit({ _tag: "ParentRemoteRequested", identity, at: now, credentialId: p.id })
        actions.push({ _tag: "CreateRemoteParent", managerId: m, credentialId: p.id })
      }
    }
    const ours = new Set(Object.values(s.parents).flatMap((p) => (p.remote === undefined ? [] : [p.remote])))
    const creating = Object.values(s.parents).some((p) => p.managerId === m && p.remote === undefined && parentLive(p))
    for (const r of remote) {
      if (!ours.has(r.ref) && !creating) actions.push({ _tag: "DeleteRemoteParent", managerId: m, parent: r.ref })
    }
    // enrolment is the manager's job: a phone is enrolled when the manager lists it
    const listed = new Set(view.endpoints.filter((e) => e.status === "active").map((e) => e.ref))
    for (const phone of Object.values(s.phones)) {
      const key = enrollmentKey(phone.id, m)
      const e = s.enrollments[key]
      const endpoint = ProviderRef.make(phone.id)
      if (phoneActive(phone.id) && automationManagers.has(m) && listed.has(endpoint) && e?.status !== "enrolled") {
        const generation = (e?.generation ?? 0) + 1
        emit({
          _tag: "EnrollmentRequested",
          identity,
          at: now,
          enrollment: {
            id: EnrollmentId.make(uuidOf(`enrollment|${identity}|${phone.id}|${m}|${generation}`), trusted),
            phoneId: phone.id,
            managerId: m,
            generation,
            status: "inviting",
            requestedAt: now,
            attempts: 1
          }
        })
        emit({ _tag: "PhoneEnrolled", identity, at: now, key, endpoint, phoneId: phone.id })
      } else if (e?.status === "enrolled" && !listed.has(endpoint)) {
        emit({ _tag: "EnrollmentEnded", identity, at: now, key, reason: "endpoint_removed" })
      }
      // a deactivated phone must be deactivated at the manager too, or it would copy parents onto it again
      if (!phoneActive(phone.id) && listed.has(endpoint)) actions.push({ _tag: "RemoveEndpoint", managerId: m, endpoint })
    }
  }

  // 2. Learn from each observed manager.
  const claimed = new Set<string>()
  for (const [m, view] of observed.managers) {
    if (replicates(m)) {
      learnReplicating(m, view)
      continue
    }
    const invitations = new Map(view.invitations.map((i) => [i.ref, i]))
    const endpoints = new Map(view.endpoints.map((e) => [e.ref, e]))
    const credentials = new Map(view.credentials.map((c) => [c.ref, c]))

    for (const [key, e] of Object.entries(s.enrollments)) {
      if (e.managerId !== m) continue
      // An enrollment still "inviting" had its invite response lost: it is re-requested after the
      // listing lag (step 3), and the invitation that may have been created is cancelled below once
      // nobody waits. Adopting it instead is unsafe: a pending invitation nobody holds now may be one
      // whose code an earlier generation already handed to an app.
      if (e.status === "invited" && e.invitation !== undefined) {
        const endpoint = view.endpoints.find((x) => x.invitation === e.invitation && x.status === "active")
        const inv = invitations.get(e.invitation)
        if (endpoint !== undefined) {
          emit({ _tag: "PhoneEnrolled", identity, at: now, key, endpoint: endpoint.ref, phoneId: e.phoneId })
        } else if (view.endpoints.some((x) => x.invitation === e.invitation && x.status === "removed")) {
          // redeemed, then removed before the engine saw it enrolled: the phone must enrol again
          emit({ _tag: "EnrollmentEnded", identity, at: now, key, reason: "endpoint_removed" })
        } else if (inv?.status === "expired" || inv?.status === "cancelled") {
          emit({
            _tag: "EnrollmentFailed",
            identity,
            at: now,
            key,
            error: notice(`invitation_${inv.status}`, `invitation ${inv.ref} ${inv.status} before the phone redeemed it`, now)
          })
        } else if (inv === undefined && lagPassed(m, e.requestedAt)) {
          emit({
            _tag: "EnrollmentFailed",
            identity,
            at: now,
            key,
            error: notice("invitation_missing", `invitation ${e.invitation} is gone at the credential manager`, now)
          })
        }
      } else if (e.status === "enrolled" && e.endpoint !== undefined) {
        const endpoint = endpoints.get(e.endpoint)
        if (endpoint === undefined || endpoint.status === "removed") {
          emit({ _tag: "EnrollmentEnded", identity, at: now, key, reason: "endpoint_removed" })
        }
      }
    }

    // Credentials the engine already knows by reference.
    const children = Object.values(s.children).filter((c) => c.managerId === m)
    for (const c of children) {
      if (c.ref === undefined) continue
      const cred = credentials.get(c.ref)
      if (cred !== undefined && (isLive(cred) || cred.status === "failed")) {
        claimed.add(cred.ref)
        if (cred.status === "failed" && c.issue !== "failed") {
          emit({
            _tag: "CredentialFailed",
            identity,
            at: now,
            credentialId: c.id,
            error: notice("failed_to_issue", cred.error ?? "the credential manager failed to issue it", now)
          })
        } else if (cred.status === "active" && c.issue !== "active") {
          emit(issued(identity, now, c.id, cred))
        }
      } else if (!c.retiring && (c.issue === "issuing" || c.issue === "active" || c.issue === "requested")) {
        // Before forgetting its card number, take it out of the ACS: an entry the engine imported
        // but could not assign is found by card number only.
        const parent = s.parents[c.parentId]
        const entries = parent === undefined ? undefined : observed.acs.get(parent.acsSystemId)
        const imported =
          c.cardNumber === undefined || parent === undefined ? undefined : entries?.find((x) => x.cardNumber === c.cardNumber)
        if (imported !== undefined && parent !== undefined) {
          actions.push({ _tag: "RemoveFromAcs", acsSystemId: parent.acsSystemId, entry: imported.ref, why: "credential lost" })
        } else if (c.cardNumber !== undefined && entries === undefined) {
          // the ACS was not observed: wait rather than lose track of an entry
        } else if (cred !== undefined || lagPassed(m, c.requestedAt)) {
          emit({
            _tag: "CredentialLost",
            identity,
            at: now,
            credentialId: c.id,
            reason: cred === undefined ? "missing at the credential manager" : `${cred.status} at the credential manager`
          })
        }
      }
    }
    // Requests whose response never came back: adopt what the manager shows, or conclude after the lag.
    for (const c of Object.values(s.children)) {
      if (c.managerId !== m || c.ref !== undefined || c.issue !== "requested") continue
      const parent = s.parents[c.parentId]
      const want = parent === undefined ? undefined : profileKey(parent.card)
      const found = view.credentials.find(
        (x) => x.endpoint === c.endpoint && isLive(x) && !claimed.has(x.ref) && (want === undefined || profileKey(x) === want)
      )
      if (found !== undefined) {
        claimed.add(found.ref)
        emit(issued(identity, now, c.id, found))
      } else if (lagPassed(m, c.requestedAt)) {
        emit({ _tag: "CredentialLost", identity, at: now, credentialId: c.id, reason: "the issue request did not take effect" })
      }
    }
    // Live credentials nobody claims: duplicates or orphans.
    for (const cred of view.credentials) {
      if (isLive(cred) && !claimed.has(cred.ref)) {
        actions.push({ _tag: "Revoke", managerId: m, credential: cred.ref, why: "unclaimed" })
      }
    }
    // Invitations nobody holds (a lost invite response, a superseded generation).
    const held = new Set(Object.values(s.enrollments).map((x) => x.invitation))
    for (const inv of view.invitations) {
      if (inv.status === "pending" && !held.has(inv.ref)) actions.push({ _tag: "CancelInvitation", managerId: m, invitation: inv.ref })
    }
    // Endpoints that belong to no enrollment (e.g. redeemed after the phone was deactivated).
    const used = new Set<string>()
    for (const e of Object.values(s.enrollments)) {
      if (e.managerId === m && e.status === "enrolled" && e.endpoint !== undefined) used.add(e.endpoint)
      if (e.managerId === m && e.status === "invited" && e.invitation !== undefined) used.add(`inv:${e.invitation}`)
    }
    for (const ep of view.endpoints) {
      if (ep.status !== "active" || used.has(ep.ref) || (ep.invitation !== undefined && used.has(`inv:${ep.invitation}`))) continue
      actions.push({ _tag: "RemoveEndpoint", managerId: m, endpoint: ep.ref })
    }
  }

  // 3. Enrollments: every active phone with every automation's manager.
  for (const [key, e] of Object.entries(s.enrollments)) {
    const wanted = phoneActive(e.phoneId) && automationManagers.has(e.managerId)
    if (wanted || replicates(e.managerId)) continue
    if (e.status === "inviting" || e.status === "invited") {
      if (e.invitation !== undefined) actions.push({ _tag: "CancelInvitation", managerId: e.managerId, invitation: e.invitation })
      emit({ _tag: "EnrollmentEnded", identity, at: now, key, reason: "not_wanted" })
    } else if (e.status === "failed") {
      emit({ _tag: "EnrollmentEnded", identity, at: now, key, reason: "not_wanted" })
    } else if (e.status === "enrolled" && !phoneActive(e.phoneId) && e.endpoint !== undefined) {
      const busy = Object.values(s.children).some((c) => c.endpoint === e.endpoint && c.managerId === e.managerId)
      if (!busy) {
        actions.push({ _tag: "RemoveEndpoint", managerId: e.managerId, endpoint: e.endpoint })
        emit({ _tag: "EnrollmentEnded", identity, at: now, key, reason: "phone_deactivated" })
      }
    }
  }
  for (const phone of Object.values(s.phones)) {
    if (!phoneActive(phone.id)) continue
    for (const m of automationManagers) {
      if (s.managerUsers[m] === undefined || replicates(m)) continue
      const key = enrollmentKey(phone.id, m)
      const e = s.enrollments[key]
      const request = (generation: number, attempts: number, id?: EnrollmentId) => {
        const enrollment: Enrollment = {
          id: id ?? EnrollmentId.make(uuidOf(`enrollment|${identity}|${phone.id}|${m}|${generation}`), trusted),
          phoneId: phone.id,
          managerId: m,
          generation,
          status: "inviting",
          requestedAt: now,
          attempts
        }
        emit({ _tag: "EnrollmentRequested", identity, at: now, enrollment })
        actions.push({ _tag: "Invite", managerId: m, key })
      }
      if (e === undefined || e.status === "ended") {
        request((e?.generation ?? 0) + 1, 1)
      } else if (e.status === "failed" && e.attempts < maxEnrol) {
        const at = (e.error?.at ?? e.requestedAt) + retryMs * 2 ** (e.attempts - 1)
        if (now >= at) request(e.generation, e.attempts + 1, e.id)
        else wake(at)
      } else if (e.status === "inviting" && e.invitation === undefined && observed.managers.has(m)) {
        if (lagPassed(m, e.requestedAt)) request(e.generation, e.attempts + 1, e.id)
      }
    }
  }

  const mirror = (p: Parent, id: CredentialId, phoneId: PhoneId, endpoint: ProviderRef, c: Child | undefined) => {
    const view = observed.managers.get(p.managerId)
    if (view === undefined || p.remote === undefined) return
    if (c === undefined) {
      const child: Child = {
        id,
        parentId: p.id,
        phoneId,
        managerId: p.managerId,
        endpoint,
        issue: "requested",
        requestedAt: now,
        attempts: 1,
        assigned: false,
        retiring: false
      }
      emit({ _tag: "CredentialRequested", identity, at: now, child })
    }
    const copies = view.credentials.filter((x) => x.parent === p.remote && x.endpoint === endpoint && isLive(x))
    const keep = copies.find((x) => x.ref === c?.ref) ?? copies[0]
    const current = s.children[id]!
    if (keep !== undefined) {
      claimed.add(keep.ref)
      const active = keep.status === "active"
      // a reissue at the manager may keep the credential's id and change its card number
      const reissued = keep.cardNumber !== undefined && keep.cardNumber !== current.cardNumber
      if (current.ref !== keep.ref || (current.issue === "active") !== active || reissued) emit(issued(identity, now, id, keep))
      // the manager imports and assigns its copies in the ACS itself
      if (active && !current.assigned) emit({ _tag: "CredentialAssigned", identity, at: now, credentialId: id })
      for (const extra of copies) {
        if (extra.ref !== keep.ref) actions.push({ _tag: "Revoke", managerId: p.managerId, credential: extra.ref, why: "duplicate" })
      }
      if (!active) wake(now + pollMs)
    } else if (current.ref !== undefined) {
      emit({ _tag: "CredentialLost", identity, at: now, credentialId: id, reason: "the manager no longer holds its copy" })
    } else if (current.issue !== "failed") {
      const since = current.requestedAt
      if (now >= since + boundMs) {
        emit({
          _tag: "CredentialFailed",
          identity,
          at: now,
          credentialId: id,
          error: notice("not_replicated", `the credential manager has not copied the parent onto this phone after ${Math.round((now - since) / 1000)} s`, now)
        })
      } else wake(since + boundMs)
    }
  }

  // 4. Phone credentials: one per (live parent, active phone enrolled with the parent's manager).
  const desired = new Set<string>()
  for (const p of liveParents()) {
    for (const phone of Object.values(s.phones)) {
      if (!phoneActive(phone.id)) continue
      const e = s.enrollments[enrollmentKey(phone.id, p.managerId)]
      if (e?.status !== "enrolled" || e.endpoint === undefined) continue
      const id = childId(p.id, phone.id, e.endpoint)
      desired.add(id)
      const c = s.children[id]
      if (replicates(p.managerId)) {
        mirror(p, id, phone.id, e.endpoint, c)
        continue
      }
      const request = (attempts: number) => {
        // One live credential per card profile per endpoint, always: wait until the manager shows
        // that no other live credential of this profile (e.g. of a deleted parent being revoked, or
        // drift) holds the endpoint. HID enforces the same rule with a 412.
        const view = observed.managers.get(p.managerId)
        const want = profileKey(p.card)
        const twin = (x: Child) => {
          const other = s.parents[x.parentId]
          return x.id !== id && x.endpoint === e.endpoint && x.managerId === p.managerId && other !== undefined && profileKey(other.card) === want
        }
        // also a credential the engine still tracks there (a listing may not show it yet)
        const held =
          view === undefined ||
          view.credentials.some((x) => x.endpoint === e.endpoint && isLive(x) && profileKey(x) === want) ||
          Object.values(s.children).some(twin)
        if (held) {
          wake(now + pollMs)
          return
        }
        const child: Child = {
          id,
          parentId: p.id,
          phoneId: phone.id,
          managerId: p.managerId,
          endpoint: e.endpoint!,
          issue: "requested",
          requestedAt: now,
          attempts,
          assigned: false,
          retiring: false
        }
        emit({ _tag: "CredentialRequested", identity, at: now, child })
        actions.push({ _tag: "Issue", managerId: p.managerId, credentialId: id, endpoint: child.endpoint, card: p.card })
      }
      if (c === undefined) {
        request(1)
      } else if (c.issue === "pending" && !c.retiring) {
        if (c.attempts >= maxIssue) {
          emit({
            _tag: "CredentialFailed",
            identity,
            at: now,
            credentialId: id,
            error: notice("failed_to_issue", `not issued after ${c.attempts} attempts`, now)
          })
        } else {
          request(c.attempts + 1)
        }
      } else if (c.issue === "issuing") {
        wake(now + pollMs)
      }
    }
  }
  for (const c of Object.values(s.children)) {
    if (!c.retiring && !desired.has(c.id)) {
      const parent = s.parents[c.parentId]
      const reason =
        parent === undefined || !parentLive(parent)
          ? "parent_deleted"
          : !phoneActive(c.phoneId)
            ? "phone_deactivated"
            : "endpoint_removed"
      emit({ _tag: "CredentialRetiring", identity, at: now, credentialId: c.id, reason })
    }
  }

  // Copies of our parents that no wanted phone credential claims (a deactivated phone, a duplicate).
  for (const [m, view] of observed.managers) {
    if (!replicates(m)) continue
    const ours = new Set(Object.values(s.parents).flatMap((p) => (p.remote === undefined ? [] : [p.remote])))
    for (const c of Object.values(s.children)) if (c.ref !== undefined && !c.retiring) claimed.add(c.ref)
    for (const cred of view.credentials) {
      if (isLive(cred) && cred.parent !== undefined && ours.has(cred.parent) && !claimed.has(cred.ref)) {
        actions.push({ _tag: "Revoke", managerId: m, credential: cred.ref, why: "unclaimed" })
      }
    }
  }

  // 5. Retiring children: revoke at the manager, remove from the ACS, then forget.
  for (const c of Object.values(s.children)) {
    if (!c.retiring) continue
    const view = observed.managers.get(c.managerId)
    const parent = s.parents[c.parentId]
    const ownAcs = !replicates(c.managerId)
    const entries = parent === undefined || !ownAcs ? undefined : observed.acs.get(parent.acsSystemId)
    if (view === undefined || (parent !== undefined && ownAcs && entries === undefined)) continue
    const seen = c.ref === undefined ? undefined : view.credentials.find((x) => x.ref === c.ref)
    // a credential issued within the listing lag may be live though not listed yet
    const fresh = !lagPassed(c.managerId, c.issuedAt ?? c.requestedAt)
    const live = seen !== undefined ? isLive(seen) : c.ref !== undefined && fresh
    if (live && c.ref !== undefined) actions.push({ _tag: "Revoke", managerId: c.managerId, credential: c.ref, why: "retiring" })
    const unsure = c.ref === undefined && c.issue === "requested" && fresh
    const entry = entries?.find((x) => (c.acsRef !== undefined && x.ref === c.acsRef) || (c.cardNumber !== undefined && x.cardNumber === c.cardNumber))
    if (entry !== undefined && parent !== undefined) {
      actions.push({ _tag: "RemoveFromAcs", acsSystemId: parent.acsSystemId, entry: entry.ref, why: "retiring" })
    }
    if (!live && entry === undefined && !unsure) {
      emit({ _tag: "CredentialRevoked", identity, at: now, credentialId: c.id })
    }
  }

  // 6. The ACS: each active phone credential imported and assigned to its parent's ACS user.
  const keep = new Map<string, Set<string>>()
  for (const c of Object.values(s.children)) {
    const parent = s.parents[c.parentId]
    if (parent === undefined || c.cardNumber === undefined || replicates(c.managerId)) continue
    const set = keep.get(parent.acsSystemId) ?? new Set<string>()
    set.add(c.cardNumber)
    keep.set(parent.acsSystemId, set)
    const entries = observed.acs.get(parent.acsSystemId)
    if (entries === undefined || c.retiring || c.issue !== "active") continue
    const same = entries.filter((x) => x.cardNumber === c.cardNumber)
    const entry = same.find((x) => x.ref === c.acsRef) ?? same[0]
    if (entry === undefined) {
      if (c.acsRef !== undefined) emit({ _tag: "CredentialAcsLost", identity, at: now, credentialId: c.id })
      actions.push({ _tag: "Import", acsSystemId: parent.acsSystemId, credentialId: c.id, cardNumber: c.cardNumber, card: parent.card })
      continue
    }
    // a second entry of the same card (an ACS that allows it, or an import repeated by hand) would
    // open the same doors under another record: keep one
    for (const extra of same) {
      if (extra !== entry && isManaged(extra)) actions.push({ _tag: "RemoveFromAcs", acsSystemId: parent.acsSystemId, entry: extra.ref, why: "duplicate" })
    }
    if (c.acsRef !== entry.ref) emit({ _tag: "CredentialImported", identity, at: now, credentialId: c.id, acsRef: entry.ref })
    if (entry.assignedTo !== parent.acsUserId) {
      actions.push({ _tag: "Assign", acsSystemId: parent.acsSystemId, credentialId: c.id, entry: entry.ref, acsUserId: parent.acsUserId })
    } else if (!s.children[c.id]?.assigned) {
      emit({ _tag: "CredentialAssigned", identity, at: now, credentialId: c.id })
    }
  }
  for (const [acs, entries] of observed.acs) {
    const ours = keep.get(acs)
    for (const entry of entries) {
      if (isManaged(entry) && !ours?.has(entry.cardNumber)) {
        actions.push({ _tag: "RemoveFromAcs", acsSystemId: acs, entry: entry.ref, why: "unclaimed" })
      }
    }
  }

  // 7. Deleted parents leave once their last child is gone.
  for (const p of Object.values(s.parents)) {
    if (parentLive(p)) continue
    if (replicates(p.managerId)) {
      const view = observed.managers.get(p.managerId)
      if (view === undefined) continue
      const stillThere = p.remote !== undefined && (view.parents ?? []).some((r) => r.ref === p.remote)
      const requested = p.remote === undefined && p.remoteRequestedAt !== undefined && !lagPassed(p.managerId, p.remoteRequestedAt)
      if (stillThere || requested) continue
    }
    if (!Object.values(s.children).some((c) => c.parentId === p.id)) {
      emit({ _tag: "ParentRemoved", identity, at: now, credentialId: p.id })
    }
  }

  return { state: s, events, actions: dedupe(actions), wakeAt }
}

const dedupe = (actions: ReadonlyArray<Action>): ReadonlyArray<Action> => {
  const seen = new Set<string>()
  return actions.filter((a) => {
    const k = actionKey(a)
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

