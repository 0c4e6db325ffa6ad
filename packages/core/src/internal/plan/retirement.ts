/**
 * Step 5 of `plan`: a phone credential nobody wants any more is retired: revoked at the manager,
 * removed from the ACS, then forgotten.
 */
import { isLive } from "../../CredentialManager.js"
import * as Identity from "../../Identity.js"
import type { Planning } from "./context.js"

/** Mark retiring each phone credential that is not among the `wanted` ids, with the reason. */
export const retire = (run: Planning, wanted: ReadonlySet<string>): void => {
  const { identity, now } = run
  for (const c of run.state.children) {
    if (!c.retiring && !wanted.has(c.id)) {
      const parent = Identity.parent(run.state, c.parentId)
      const reason =
        parent === undefined || !run.parentLive(parent)
          ? "parent_deleted"
          : !run.phoneActive(c.phoneId)
            ? "phone_deactivated"
            : "endpoint_removed"
      run.emit({ _tag: "CredentialRetiring", identity, at: now, credentialId: c.id, reason })
    }
  }
}

/** Revoke each retiring phone credential, take it out of the ACS, and forget it once both are done. */
export const retirement = (run: Planning): void => {
  const { identity, now } = run
  for (const c of run.state.children) {
    if (!c.retiring) continue
    const view = run.observed.managers.get(c.managerId)
    const parent = Identity.parent(run.state, c.parentId)
    // a replicating manager removes its copies from the ACS itself
    const ownAcs = !run.replicates(c.managerId)
    const entries = parent === undefined || !ownAcs ? undefined : run.observed.acs.get(parent.acsSystemId)
    if (view === undefined || (parent !== undefined && ownAcs && entries === undefined)) continue
    const seen = c.ref === undefined ? undefined : view.credentials.find((x) => x.ref === c.ref)
    // a credential issued within the listing lag may be live though not listed yet
    const fresh = !run.lagPassed(c.managerId, c.issuedAt ?? c.requestedAt)
    const live = seen !== undefined ? isLive(seen) : c.ref !== undefined && fresh
    if (live && c.ref !== undefined) run.act({ _tag: "Revoke", managerId: c.managerId, credential: c.ref, why: "retiring" })
    const unsure = c.ref === undefined && c.issue === "requested" && fresh
    const entry = entries?.find((x) => (c.acsRef !== undefined && x.ref === c.acsRef) || (c.cardNumber !== undefined && x.cardNumber === c.cardNumber))
    if (entry !== undefined && parent !== undefined) {
      run.act({ _tag: "RemoveFromAcs", acsSystemId: parent.acsSystemId, entry: entry.ref, why: "retiring" })
    }
    if (!live && entry === undefined && !unsure) {
      run.emit({ _tag: "CredentialRevoked", identity, at: now, credentialId: c.id })
    }
  }
}
