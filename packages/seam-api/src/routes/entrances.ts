/**
 * `/acs/entrances/list|get`: the entrances of the workspace's ACS systems.
 *
 * Where they come from: the simulated ACS (like this server's ACS port) has no doors of its own —
 * a credential assigned to an ACS user opens the whole ACS. So each ACS system has exactly one
 * entrance, with a stable id derived from the workspace and the ACS (the same after a restart and
 * on every instance), named after the ACS. Granting access to it (`/access_grants/create` with
 * `acs_entrance_ids`) is granting access to its ACS, which is all the ACS can enforce.
 *
 * @internal
 */
import { type AccessControl, Identity } from "@credsync/core"
import { Effect, Schema } from "effect"
import { iso, stableId } from "../internal/ids.js"
import { Id, Limit, opt, page, port, type Route, route } from "../internal/route.js"
import { notFound } from "../SeamError.js"
import type { Workspace } from "../Workspace.js"

/** One entrance: its id and the ACS it belongs to. */
export interface Entrance {
  readonly id: string
  readonly acs: AccessControl.AcsSystem
}

/** The id of an ACS system's entrance. */
export const entranceId = (ws: Workspace, acsSystemId: string): string => stableId(`${ws.id}|${acsSystemId}|entrance`)

/** Every entrance of the workspace, one per ACS system. */
export const entrances = (ws: Workspace): ReadonlyArray<Entrance> => ws.acsSystems.map((acs) => ({ id: entranceId(ws, acs.id), acs }))

/** One entrance by id, if it exists. */
export const entrance = (ws: Workspace, id: string): Entrance | undefined => entrances(ws).find((e) => e.id === id)

/** The Seam `acs_entrance` resource. */
export const resource = (ws: Workspace, e: Entrance) => ({
  acs_system_id: e.acs.id,
  acs_entrance_id: e.id,
  space_ids: [],
  created_at: iso(ws.createdAt),
  display_name: `${e.acs.name} entrance`,
  connected_account_id: ws.connectedAccountId,
  errors: [],
  warnings: [],
  // mobile keys are what this server issues
  can_unlock_with_mobile_key: true,
  can_unlock_with_card: false,
  can_unlock_with_code: false,
  can_unlock_with_cloud_key: false,
  can_belong_to_reservation: false
})

/** The entrance routes. */
export const routes: Record<string, Route> = {
  "/acs/entrances/list": route(
    "read",
    Schema.Struct({
      acs_system_id: opt(Id),
      acs_credential_id: opt(Id),
      connected_account_id: opt(Id),
      acs_entrance_ids: opt(Schema.Array(Id)),
      space_id: opt(Id),
      location_id: opt(Schema.NullOr(Id)),
      customer_key: opt(Schema.String),
      search: opt(Schema.String),
      limit: Limit,
      page_cursor: opt(Schema.NullOr(Schema.String))
    }),
    (ctx, input) =>
      Effect.gen(function* () {
        const { ws } = ctx
        // a credential opens every entrance of its ACS
        let credentialAcs: string | undefined
        if (input.acs_credential_id !== undefined) {
          const owner = yield* port(ws.find(`credential:${input.acs_credential_id}`))
          const parentId = (owner && Identity.child(owner, input.acs_credential_id))?.parentId ?? input.acs_credential_id
          credentialAcs = (owner && Identity.parent(owner, parentId))?.acsSystemId
          if (credentialAcs === undefined) return yield* Effect.fail(notFound("acs_credential"))
        }
        const search = input.search?.toLowerCase()
        const items = entrances(ws)
          .filter((e) => input.acs_system_id === undefined || e.acs.id === input.acs_system_id)
          .filter((e) => credentialAcs === undefined || e.acs.id === credentialAcs)
          .filter(() => input.connected_account_id === undefined || input.connected_account_id === ws.connectedAccountId)
          .filter((e) => input.acs_entrance_ids === undefined || input.acs_entrance_ids.includes(e.id))
          // no entrance is in a space (spaces are not modelled)
          .filter(() => input.space_id === undefined && (input.location_id === undefined || input.location_id === null))
          .map((e) => resource(ws, e))
          .filter((r) => search === undefined || r.display_name.toLowerCase().includes(search))
        const p = yield* page(ctx, items, (r) => r.acs_entrance_id, input)
        return { acs_entrances: p.items, pagination: p.pagination }
      })
  ),
  "/acs/entrances/get": route("read", Schema.Struct({ acs_entrance_id: Id }), ({ ws }, input) => {
    const e = entrance(ws, input.acs_entrance_id)
    return e === undefined ? Effect.fail(notFound("acs_entrance")) : Effect.succeed({ acs_entrance: resource(ws, e) })
  })
}
