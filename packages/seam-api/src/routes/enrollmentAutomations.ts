/**
 * `/user_identities/enrollment_automations/launch|get|list|delete`: Seam's `enrollment_automation`
 * resource (undocumented at Seam, and marked "Will be removed" in favour of Access Grants), one
 * engine automation per (user identity, credential manager): launching again returns it.
 *
 * Deviations (README): `acs_credential_pool_id` is accepted but credential pools are not implemented.
 *
 * @internal
 */
import { Identity } from "@credsync/core"
import { Effect, Schema } from "effect"
import { newId } from "../internal/ids.js"
import { exec, findIn, Id, identityOf, opt, orNotFound, type Route, route } from "../internal/route.js"
import * as Resources from "../Resources.js"
import { invalidField, notFound } from "../SeamError.js"

/** The `/user_identities/enrollment_automations/*` routes, by path. */
export const routes: Record<string, Route> = {
  "/user_identities/enrollment_automations/launch": route(
    "write",
    Schema.Struct({
      user_identity_id: Id,
      credential_manager_acs_system_id: Id,
      acs_credential_pool_id: opt(Id),
      create_credential_manager_user: opt(Schema.Boolean),
      credential_manager_acs_user_id: opt(Id)
    }),
    ({ ws }, input) =>
      Effect.gen(function* () {
        if (input.create_credential_manager_user !== undefined && input.credential_manager_acs_user_id !== undefined) {
          return yield* Effect.fail(
            invalidField("credential_manager_acs_user_id", "Cannot use both create_credential_manager_user and credential_manager_acs_user_id")
          )
        }
        yield* identityOf(ws, input.user_identity_id)
        if (!ws.managers.some((m) => m.id === input.credential_manager_acs_system_id)) {
          return yield* Effect.fail(notFound("acs_system", "Credential manager not found"))
        }
        const s = yield* exec(ws, {
          _tag: "LaunchAutomation",
          userIdentityId: input.user_identity_id,
          automationId: newId(),
          managerId: input.credential_manager_acs_system_id
        })
        // one automation per (identity, manager): launching again returns the existing one
        const a = s.automations.find((x) => x.managerId === input.credential_manager_acs_system_id)
        return { enrollment_automation: Resources.enrollmentAutomation(ws, s, yield* orNotFound("enrollment_automation")(a)) }
      })
  ),
  "/user_identities/enrollment_automations/get": route(
    "read",
    Schema.Struct({ enrollment_automation_id: Id }),
    ({ ws }, input) =>
      Effect.gen(function* () {
        const s = yield* findIn(ws, `automation:${input.enrollment_automation_id}`, "enrollment_automation")
        const a = yield* orNotFound("enrollment_automation")(Identity.automation(s, input.enrollment_automation_id))
        return { enrollment_automation: Resources.enrollmentAutomation(ws, s, a) }
      })
  ),
  "/user_identities/enrollment_automations/list": route("read", Schema.Struct({ user_identity_id: Id }), ({ ws }, input) =>
    Effect.map(identityOf(ws, input.user_identity_id), (s) => ({
      enrollment_automations: s.automations.map((a) => Resources.enrollmentAutomation(ws, s, a))
    }))
  ),
  "/user_identities/enrollment_automations/delete": route(
    "delete",
    Schema.Struct({ enrollment_automation_id: Id }),
    ({ ws }, input) =>
      Effect.gen(function* () {
        const s = yield* findIn(ws, `automation:${input.enrollment_automation_id}`, "enrollment_automation")
        yield* exec(ws, { _tag: "DeleteAutomation", userIdentityId: s.id, automationId: input.enrollment_automation_id })
        return {}
      })
  )
}
