/**
 * `/acs/systems/list|get|list_compatible_credential_manager_acs_systems`: Seam's `acs_system`
 * resource. A workspace's ACS systems are fixed when it is built: its access control systems and its
 * credential managers (listed as ACS systems too, as Seam does), each with `acs_user_count`.
 *
 * Deviations (README): the HID Origo credential manager is listed with `external_type:
 * "hid_credential_manager_organization"`; counting ACS users reads every ACS user record.
 *
 * @internal
 */
import { Effect, Schema } from "effect"
import { acsUserCounts } from "../internal/acsUserLinks.js"
import { Id, opt, type Route, route } from "../internal/route.js"
import * as Resources from "../Resources.js"
import { notFound } from "../SeamError.js"

/** The `/acs/systems/*` routes, by path. */
export const routes: Record<string, Route> = {
  "/acs/systems/list": route(
    "read",
    Schema.Struct({ connected_account_id: opt(Id), customer_key: opt(Schema.String) }),
    ({ ws }, input) =>
      input.connected_account_id !== undefined && input.connected_account_id !== ws.connectedAccountId
        ? Effect.succeed({ acs_systems: [] })
        : Effect.map(acsUserCounts(ws), (count) => ({
            acs_systems: [...ws.acsSystems.map((a) => Resources.acsSystem(ws, a, count(a.id))), ...ws.managers.map((m) => Resources.managerSystem(ws, m))]
          }))
  ),
  "/acs/systems/get": route("read", Schema.Struct({ acs_system_id: Id }), ({ ws }, input) => {
    const a = ws.acsSystems.find((x) => x.id === input.acs_system_id)
    if (a !== undefined) return Effect.map(acsUserCounts(ws), (count) => ({ acs_system: Resources.acsSystem(ws, a, count(a.id)) }))
    const m = ws.managers.find((x) => x.id === input.acs_system_id)
    return m === undefined ? Effect.fail(notFound("acs_system")) : Effect.succeed({ acs_system: Resources.managerSystem(ws, m) })
  }),
  "/acs/systems/list_compatible_credential_manager_acs_systems": route(
    "read",
    Schema.Struct({ acs_system_id: Id }),
    ({ ws }, input) =>
      ws.acsSystems.some((a) => a.id === input.acs_system_id)
        ? Effect.succeed({ acs_systems: ws.managers.map((m) => Resources.managerSystem(ws, m)) })
        : Effect.fail(notFound("acs_system"))
  ),
}
