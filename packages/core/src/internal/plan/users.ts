/** Step 1 of `plan`: a manager-side user at every manager the identity needs. */
import type { Planning } from "./context.js"

/** Ask for the manager user of each automation's manager and each live parent's manager that has none. */
export const users = (run: Planning): void => {
  for (const m of new Set([...run.automationManagers, ...run.liveParents().map((p) => p.managerId)])) {
    if (run.state.managerUsers[m] === undefined) run.act({ _tag: "EnsureManagerUser", managerId: m })
  }
}
