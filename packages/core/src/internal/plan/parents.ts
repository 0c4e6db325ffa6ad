/** Step 7 of `plan`: a deleted parent leaves once its last phone credential is gone. */
import type { Parent } from "../../Identity.js"
import type { Planning } from "./context.js"

/** Forget each deleted parent that has no phone credential left (and, at a replicating manager, no parent there). */
export const parents = (run: Planning): void => {
  const { identity, now } = run
  for (const p of run.state.parents) {
    if (run.parentLive(p)) continue
    if (run.replicates(p.managerId) && remoteHeld(run, p)) continue
    if (!run.state.children.some((c) => c.parentId === p.id)) {
      run.emit({ _tag: "ParentRemoved", identity, at: now, credentialId: p.id })
    }
  }
}

/** At a replicating manager: is the parent's copy there still there, or maybe being created (or the manager unobserved)? */
const remoteHeld = (run: Planning, p: Parent): boolean => {
  const view = run.observed.managers.get(p.managerId)
  if (view === undefined) return true
  const stillThere = p.remote !== undefined && (view.parents ?? []).some((r) => r.ref === p.remote)
  const requested = p.remote === undefined && p.remoteRequestedAt !== undefined && !run.lagPassed(p.managerId, p.remoteRequestedAt)
  return stillThere || requested
}
