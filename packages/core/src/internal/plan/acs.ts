/**
 * Step 6 of `plan`: in each ACS, every active phone credential imported once and assigned to its
 * parent's ACS user, and every managed entry that no phone credential claims removed. Copies made
 * by a replicating manager are its own to import.
 */
import { isManaged } from "../../AccessControl.js"
import * as Identity from "../../Identity.js"
import type { Planning } from "./context.js"

/** Import and assign each active phone credential, and remove duplicate and unclaimed managed entries. */
export const acs = (run: Planning): void => {
  const { identity, now } = run
  const keep = new Map<string, Set<string>>()
  for (const c of run.state.children) {
    const parent = Identity.parent(run.state, c.parentId)
    if (parent === undefined || c.cardNumber === undefined || run.replicates(c.managerId)) continue
    const set = keep.get(parent.acsSystemId) ?? new Set<string>()
    set.add(c.cardNumber)
    keep.set(parent.acsSystemId, set)
    const entries = run.observed.acs.get(parent.acsSystemId)
    if (entries === undefined || c.retiring || c.issue !== "active") continue
    const same = entries.filter((x) => x.cardNumber === c.cardNumber)
    const entry = same.find((x) => x.ref === c.acsRef) ?? same[0]
    if (entry === undefined) {
      if (c.acsRef !== undefined) run.emit({ _tag: "CredentialAcsLost", identity, at: now, credentialId: c.id })
      run.act({ _tag: "Import", acsSystemId: parent.acsSystemId, credentialId: c.id, cardNumber: c.cardNumber, card: parent.card })
      continue
    }
    // a second entry of the same card (an ACS that allows it, or an import repeated by hand) would
    // open the same doors under another record: keep one
    for (const extra of same) {
      if (extra !== entry && isManaged(extra)) run.act({ _tag: "RemoveFromAcs", acsSystemId: parent.acsSystemId, entry: extra.ref, why: "duplicate" })
    }
    if (c.acsRef !== entry.ref) run.emit({ _tag: "CredentialImported", identity, at: now, credentialId: c.id, acsRef: entry.ref })
    if (entry.assignedTo !== parent.acsUserId) {
      run.act({ _tag: "Assign", acsSystemId: parent.acsSystemId, credentialId: c.id, entry: entry.ref, acsUserId: parent.acsUserId })
    } else if (!Identity.child(run.state, c.id)?.assigned) {
      run.emit({ _tag: "CredentialAssigned", identity, at: now, credentialId: c.id })
    }
  }
  for (const [acsId, entries] of run.observed.acs) {
    const ours = keep.get(acsId)
    for (const entry of entries) {
      if (isManaged(entry) && !ours?.has(entry.cardNumber)) {
        run.act({ _tag: "RemoveFromAcs", acsSystemId: acsId, entry: entry.ref, why: "unclaimed" })
      }
    }
  }
}
