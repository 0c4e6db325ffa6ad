/**
 * Step 4 of `plan` for a replicating manager (Seam): the manager copies each parent onto each
 * enrolled phone itself, and the engine mirrors the copy as the phone credential, revokes extra
 * copies, and reports a phone left without its copy past the replication bound.
 */
import { isLive } from "../../CredentialManager.js"
import * as Identity from "../../Identity.js"
import type { CredentialId, PhoneId, ProviderRef } from "../../Ids.js"
import { issued } from "../actions.js"
import { notice, type Planning } from "./context.js"

/** Mirror the manager's copy of `p` on (phone, endpoint) as the phone credential `id` (`c` when the engine has it already). */
export const mirror = (run: Planning, p: Identity.Parent, id: CredentialId, phoneId: PhoneId, endpoint: ProviderRef, c: Identity.Child | undefined): void => {
  const { identity, now } = run
  const view = run.observed.managers.get(p.managerId)
  if (view === undefined || p.remote === undefined) return
  if (c === undefined) {
    run.requestChild(p, id, phoneId, endpoint, 1)
  }
  const copies = view.credentials.filter((x) => x.parent === p.remote && x.endpoint === endpoint && isLive(x))
  const keep = copies.find((x) => x.ref === c?.ref) ?? copies[0]
  const current = Identity.child(run.state, id)!
  if (keep !== undefined) {
    run.claimed.add(keep.ref)
    const active = keep.status === "active"
    // a reissue at the manager may keep the credential's id and change its card number
    const reissued = keep.cardNumber !== undefined && keep.cardNumber !== current.cardNumber
    if (current.ref !== keep.ref || (current.issue === "active") !== active || reissued) run.emit(issued(identity, now, id, keep))
    // the manager imports and assigns its copies in the ACS itself
    if (active && !current.assigned) run.emit({ _tag: "CredentialAssigned", identity, at: now, credentialId: id })
    for (const extra of copies) {
      if (extra.ref !== keep.ref) run.act({ _tag: "Revoke", managerId: p.managerId, credential: extra.ref, why: "duplicate" })
    }
    if (!active) run.wake(now + run.pollMs)
  } else if (current.ref !== undefined) {
    run.emit({ _tag: "CredentialLost", identity, at: now, credentialId: id, reason: "the manager no longer holds its copy" })
  } else if (current.issue !== "failed") {
    const since = current.requestedAt
    if (now >= since + run.boundMs) {
      run.emit({
        _tag: "CredentialFailed",
        identity,
        at: now,
        credentialId: id,
        error: notice("not_replicated", `the credential manager has not copied the parent onto this phone after ${Math.round((now - since) / 1000)} s`, now)
      })
    } else run.wake(since + run.boundMs)
  }
}
