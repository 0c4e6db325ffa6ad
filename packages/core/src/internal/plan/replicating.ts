/**
 * Steps 2 and 4 of `plan` for a replicating manager (Seam), which copies parents onto phones itself:
 * the engine creates the automation and the parents there, learns enrolment from the phones the
 * manager lists, and revokes copies of its parents that no phone credential claims.
 */
import { profileKey } from "../../Card.js"
import { isLive, type ManagerView } from "../../CredentialManager.js"
import * as Identity from "../../Identity.js"
import { type AcsSystemId, EnrollmentId, ProviderRef } from "../../Ids.js"
import { uuidOf } from "../hash.js"
import { type Planning, type Replicator, trusted } from "./context.js"

/** Learn from the listing of a replicating manager. */
export const learnReplicating = (run: Planning, at: Replicator, view: ManagerView): void => {
  automations(run, at, view)
  parents(run, at, view)
  endpoints(run, at.id, view)
}

const automations = (run: Planning, at: Replicator, view: ManagerView): void => {
  const { identity, now } = run
  const m = at.id
  for (const a of run.state.automations) {
    if (a.managerId !== m || a.remote !== undefined || run.state.deleting) continue
    const found = view.automations?.[0]
    if (found !== undefined) run.emit({ _tag: "AutomationBound", identity, at: now, automationId: a.id, ref: found.ref })
    else if (a.remoteRequestedAt === undefined || run.lagPassed(m, a.remoteRequestedAt)) {
      run.emit({ _tag: "AutomationRemoteRequested", identity, at: now, automationId: a.id })
      at.launchAutomation(a.id)
    }
  }
}

const parents = (run: Planning, at: Replicator, view: ManagerView): void => {
  const { identity, now } = run
  const m = at.id
  const remote = view.parents ?? []
  const held = new Set(run.state.parents.flatMap((p) => (p.remote === undefined ? [] : [p.remote])))
  for (const p of run.state.parents) {
    if (p.managerId !== m) continue
    const there = p.remote !== undefined && remote.some((r) => r.ref === p.remote)
    if (!run.parentLive(p)) {
      if (there && p.remote !== undefined) at.deleteParent(p.remote)
      continue
    }
    if (there) continue
    // a lost create response: adopt the manager's parent with our card profile that nobody holds
    const found = remote.find((r) => !held.has(r.ref) && profileKey(r) === profileKey(p.card))
    if (found !== undefined) {
      held.add(found.ref)
      run.emit({ _tag: "ParentBound", identity, at: now, credentialId: p.id, ref: found.ref })
    } else if (p.remoteRequestedAt === undefined || run.lagPassed(m, p.remoteRequestedAt)) {
      run.emit({ _tag: "ParentRemoteRequested", identity, at: now, credentialId: p.id })
      at.createParent(p.id)
    }
  }
  const ours = new Set(run.state.parents.flatMap((p) => (p.remote === undefined ? [] : [p.remote])))
  const creating = run.state.parents.some((p) => p.managerId === m && p.remote === undefined && run.parentLive(p))
  for (const r of remote) {
    if (!ours.has(r.ref) && !creating) at.deleteParent(r.ref)
  }
}

// enrolment is the manager's job: a phone is enrolled when the manager lists it
const endpoints = (run: Planning, m: AcsSystemId, view: ManagerView): void => {
  const { identity, now } = run
  const listed = new Set(view.endpoints.filter((e) => e.status === "active").map((e) => e.ref))
  for (const phone of run.state.phones) {
    const key = Identity.enrollmentKey(phone.id, m)
    const e = Identity.enrollment(run.state, phone.id, m)
    const endpoint = ProviderRef.make(phone.id)
    if (run.phoneActive(phone.id) && run.automationManagers.has(m) && listed.has(endpoint) && e?.status !== "enrolled") {
      const generation = (e?.generation ?? 0) + 1
      run.emit({
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
      run.emit({ _tag: "PhoneEnrolled", identity, at: now, key, endpoint, phoneId: phone.id })
    } else if (e?.status === "enrolled" && !listed.has(endpoint)) {
      run.emit({ _tag: "EnrollmentEnded", identity, at: now, key, reason: "endpoint_removed" })
    }
    // a deactivated phone must be deactivated at the manager too, or it would copy parents onto it again
    if (!run.phoneActive(phone.id) && listed.has(endpoint)) run.act({ _tag: "RemoveEndpoint", managerId: m, endpoint })
  }
}

/** Copies of our parents that no wanted phone credential claims (a deactivated phone, a duplicate). */
export const unclaimedCopies = (run: Planning): void => {
  for (const [m, view] of run.observed.managers) {
    if (!run.replicates(m)) continue
    const ours = new Set(run.state.parents.flatMap((p) => (p.remote === undefined ? [] : [p.remote])))
    for (const c of run.state.children) if (c.ref !== undefined && !c.retiring) run.claimed.add(c.ref)
    for (const cred of view.credentials) {
      if (isLive(cred) && cred.parent !== undefined && ours.has(cred.parent) && !run.claimed.has(cred.ref)) {
        run.act({ _tag: "Revoke", managerId: m, credential: cred.ref, why: "unclaimed" })
      }
    }
  }
}
