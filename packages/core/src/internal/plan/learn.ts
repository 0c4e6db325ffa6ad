/**
 * Step 2 of `plan`, for a manager that does not replicate (HID style): learn from its listing what
 * became of enrollments and phone credentials, and clean up what nobody holds there.
 */
import { profileKey } from "../../Card.js"
import { isLive, type ManagerView } from "../../CredentialManager.js"
import * as Identity from "../../Identity.js"
import type { AcsSystemId } from "../../Ids.js"
import { issued } from "../actions.js"
import { type Issuer, notice, type Planning } from "./context.js"

/** Learn from the listing of an issuing manager. */
export const learn = (run: Planning, at: Issuer, view: ManagerView): void => {
  enrollments(run, at.id, view)
  known(run, at.id, view)
  unanswered(run, at.id, view)
  cleanup(run, at, view)
}

const enrollments = (run: Planning, m: AcsSystemId, view: ManagerView): void => {
  const { identity, now } = run
  const invitations = new Map(view.invitations.map((i) => [i.ref, i]))
  const endpoints = new Map(view.endpoints.map((e) => [e.ref, e]))
  for (const e of run.state.enrollments) {
    if (e.managerId !== m) continue
    // An enrollment still "inviting" had its invite response lost: it is re-requested after the
    // listing lag (step 3), and the invitation that may have been created is cancelled below once
    // nobody waits. Adopting it instead is unsafe: a pending invitation nobody holds now may be one
    // whose code an earlier generation already handed to an app.
    if (e.status === "invited" && e.invitation !== undefined) {
      const key = Identity.enrollmentKey(e.phoneId, m)
      const endpoint = view.endpoints.find((x) => x.invitation === e.invitation && x.status === "active")
      const inv = invitations.get(e.invitation)
      if (endpoint !== undefined) {
        run.emit({ _tag: "PhoneEnrolled", identity, at: now, key, endpoint: endpoint.ref, phoneId: e.phoneId })
      } else if (view.endpoints.some((x) => x.invitation === e.invitation && x.status === "removed")) {
        // redeemed, then removed before the engine saw it enrolled: the phone must enrol again
        run.emit({ _tag: "EnrollmentEnded", identity, at: now, key, reason: "endpoint_removed" })
      } else if (inv?.status === "expired" || inv?.status === "cancelled") {
        run.emit({
          _tag: "EnrollmentFailed",
          identity,
          at: now,
          key,
          error: notice(`invitation_${inv.status}`, `invitation ${inv.ref} ${inv.status} before the phone redeemed it`, now)
        })
      } else if (inv === undefined && run.lagPassed(m, e.requestedAt)) {
        run.emit({
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
        run.emit({ _tag: "EnrollmentEnded", identity, at: now, key: Identity.enrollmentKey(e.phoneId, m), reason: "endpoint_removed" })
      }
    }
  }
}

/** Credentials the engine already knows by reference. */
const known = (run: Planning, m: AcsSystemId, view: ManagerView): void => {
  const { identity, now } = run
  const credentials = new Map(view.credentials.map((c) => [c.ref, c]))
  for (const c of run.state.children) {
    if (c.managerId !== m) continue
    if (c.ref === undefined) continue
    const cred = credentials.get(c.ref)
    if (cred !== undefined && (isLive(cred) || cred.status === "failed")) {
      run.claimed.add(cred.ref)
      if (cred.status === "failed" && c.issue !== "failed") {
        run.emit({
          _tag: "CredentialFailed",
          identity,
          at: now,
          credentialId: c.id,
          error: notice("failed_to_issue", cred.error ?? "the credential manager failed to issue it", now)
        })
      } else if (cred.status === "active" && c.issue !== "active") {
        run.emit(issued(identity, now, c.id, cred))
      }
    } else if (!c.retiring && (c.issue === "issuing" || c.issue === "active" || c.issue === "requested")) {
      // Before forgetting its card number, take it out of the ACS: an entry the engine imported
      // but could not assign is found by card number only.
      const parent = Identity.parent(run.state, c.parentId)
      const entries = parent === undefined ? undefined : run.observed.acs.get(parent.acsSystemId)
      const imported =
        c.cardNumber === undefined || parent === undefined ? undefined : entries?.find((x) => x.cardNumber === c.cardNumber)
      if (imported !== undefined && parent !== undefined) {
        run.act({ _tag: "RemoveFromAcs", acsSystemId: parent.acsSystemId, entry: imported.ref, why: "credential lost" })
      } else if (c.cardNumber !== undefined && entries === undefined) {
        // the ACS was not observed: wait rather than lose track of an entry
      } else if (cred !== undefined || run.lagPassed(m, c.requestedAt)) {
        run.emit({
          _tag: "CredentialLost",
          identity,
          at: now,
          credentialId: c.id,
          reason: cred === undefined ? "missing at the credential manager" : `${cred.status} at the credential manager`
        })
      }
    }
  }
}

/** Requests whose response never came back: adopt what the manager shows, or conclude after the lag. */
const unanswered = (run: Planning, m: AcsSystemId, view: ManagerView): void => {
  const { identity, now } = run
  for (const c of run.state.children) {
    if (c.managerId !== m || c.ref !== undefined || c.issue !== "requested") continue
    const parent = Identity.parent(run.state, c.parentId)
    const want = parent === undefined ? undefined : profileKey(parent.card)
    const found = view.credentials.find(
      (x) => x.endpoint === c.endpoint && isLive(x) && !run.claimed.has(x.ref) && (want === undefined || profileKey(x) === want)
    )
    if (found !== undefined) {
      run.claimed.add(found.ref)
      run.emit(issued(identity, now, c.id, found))
    } else if (run.lagPassed(m, c.requestedAt)) {
      run.emit({ _tag: "CredentialLost", identity, at: now, credentialId: c.id, reason: "the issue request did not take effect" })
    }
  }
}

const cleanup = (run: Planning, at: Issuer, view: ManagerView): void => {
  const m = at.id
  // Live credentials nobody claims: duplicates or orphans.
  for (const cred of view.credentials) {
    if (isLive(cred) && !run.claimed.has(cred.ref)) {
      run.act({ _tag: "Revoke", managerId: m, credential: cred.ref, why: "unclaimed" })
    }
  }
  // Invitations nobody holds (a lost invite response, a superseded generation).
  const held = new Set(run.state.enrollments.map((x) => x.invitation))
  for (const inv of view.invitations) {
    if (inv.status === "pending" && !held.has(inv.ref)) at.cancelInvitation(inv.ref)
  }
  // Endpoints that belong to no enrollment (e.g. redeemed after the phone was deactivated).
  const used = new Set<string>()
  for (const e of run.state.enrollments) {
    if (e.managerId === m && e.status === "enrolled" && e.endpoint !== undefined) used.add(e.endpoint)
    if (e.managerId === m && e.status === "invited" && e.invitation !== undefined) used.add(`inv:${e.invitation}`)
  }
  for (const ep of view.endpoints) {
    if (ep.status !== "active" || used.has(ep.ref) || (ep.invitation !== undefined && used.has(`inv:${ep.invitation}`))) continue
    run.act({ _tag: "RemoveEndpoint", managerId: m, endpoint: ep.ref })
  }
}
