/**
 * Step 3 of `plan`, for managers that do not replicate: every active phone enrolled with every
 * automation's manager (invited, retried with back-off, re-invited after a lost response), and
 * enrollments nobody wants any more ended.
 */
import * as Identity from "../../Identity.js"
import { EnrollmentId } from "../../Ids.js"
import { uuidOf } from "../hash.js"
import { type Planning, trusted } from "./context.js"

/** End the enrollments nobody wants, then invite each active phone where it is not enrolled. */
export const enrollment = (run: Planning): void => {
  unwanted(run)
  invite(run)
}

const unwanted = (run: Planning): void => {
  const { identity, now } = run
  for (const e of run.state.enrollments) {
    const wanted = run.phoneActive(e.phoneId) && run.automationManagers.has(e.managerId)
    const at = run.manager(e.managerId)
    if (wanted || at.kind !== "issuing") continue
    const key = Identity.enrollmentKey(e.phoneId, e.managerId)
    if (e.status === "inviting" || e.status === "invited") {
      if (e.invitation !== undefined) at.cancelInvitation(e.invitation)
      run.emit({ _tag: "EnrollmentEnded", identity, at: now, key, reason: "not_wanted" })
    } else if (e.status === "failed") {
      run.emit({ _tag: "EnrollmentEnded", identity, at: now, key, reason: "not_wanted" })
    } else if (e.status === "enrolled" && !run.phoneActive(e.phoneId) && e.endpoint !== undefined) {
      const busy = run.state.children.some((c) => c.endpoint === e.endpoint && c.managerId === e.managerId)
      if (!busy) {
        run.act({ _tag: "RemoveEndpoint", managerId: e.managerId, endpoint: e.endpoint })
        run.emit({ _tag: "EnrollmentEnded", identity, at: now, key, reason: "phone_deactivated" })
      }
    }
  }
}

const invite = (run: Planning): void => {
  const { identity, now } = run
  for (const phone of run.state.phones) {
    if (!run.phoneActive(phone.id)) continue
    for (const m of run.automationManagers) {
      const at = run.manager(m)
      if (run.state.managerUsers[m] === undefined || at.kind !== "issuing") continue
      const e = Identity.enrollment(run.state, phone.id, m)
      const request = (generation: number, attempts: number, id?: EnrollmentId) => {
        const enrollment: Identity.Enrollment = {
          id: id ?? EnrollmentId.make(uuidOf(`enrollment|${identity}|${phone.id}|${m}|${generation}`), trusted),
          phoneId: phone.id,
          managerId: m,
          generation,
          status: "inviting",
          requestedAt: now,
          attempts
        }
        run.emit({ _tag: "EnrollmentRequested", identity, at: now, enrollment })
        at.invite(Identity.enrollmentKey(phone.id, m))
      }
      if (e === undefined || e.status === "ended") {
        request((e?.generation ?? 0) + 1, 1)
      } else if (e.status === "failed" && e.attempts < run.maxEnrol) {
        const at = (e.error?.at ?? e.requestedAt) + run.retryMs * 2 ** (e.attempts - 1)
        if (now >= at) request(e.generation, e.attempts + 1, e.id)
        else run.wake(at)
      } else if (e.status === "inviting" && e.invitation === undefined && run.observed.managers.has(m)) {
        if (run.lagPassed(m, e.requestedAt)) request(e.generation, e.attempts + 1, e.id)
      }
    }
  }
}
