/**
 * `/access_methods/get|list|delete|get_related`: the `mobile_key` access method of each Access Grant (see
 * `accessGrants.ts`). It stands for the grant's multi-phone sync credential (parent): `is_issued`
 * once a phone credential (child) of it is issued, `issued_at` the first child's,
 * `client_session_token` the identity's live client session's. Deleting it deletes the parent, so
 * the engine revokes every child (`access_method.revoked`, one per phone); it is then gone (404),
 * and its grant lists no access method.
 *
 * `/access_methods/get_related` answers Seam's `batch` with the `access_methods`, their
 * `access_grants` and their `acs_credentials` (the grant's parent and its phone credentials, as
 * `/acs/credentials/list` shows them: the one published way to tell which multi-phone sync
 * credential a mobile key stands for); every other `include` is an empty list (no spaces, devices,
 * entrances resources by method, instant keys or client sessions here). An unknown or deleted
 * access method is left out, as Seam's batch routes do.
 *
 * @internal
 */
import { Effect, Schema } from "effect"
import * as Grants from "../internal/accessGrants.js"
import * as Rec from "../internal/records.js"
import { Id, opt, port, type Route, route } from "../internal/route.js"
import * as Resources from "../Resources.js"
import { invalidField, notFound } from "../SeamError.js"
import type { Workspace } from "../Workspace.js"
import { deleteParents, grantResource, liveGrant, liveGrants, held, methodResource, statesOf } from "./accessGrants.js"
import * as ClientSessions from "./clientSessions.js"

/** The live grant whose access method this is, or 404 `access_method_not_found`. */
const grantOfMethod = (ws: Workspace, methodId: string) =>
  Effect.flatMap(port(Grants.ofMethod(ws.records, methodId)), (g) =>
    g === undefined || g.deleted_at !== undefined || g.access_method_deleted ? Effect.fail(notFound("access_method")) : Effect.succeed(g)
  )

const respond = (ws: Workspace, g: Grants.Grant) =>
  Effect.gen(function* () {
    const token = yield* ClientSessions.liveTokens(ws)
    const s = yield* port(ws.identity(g.user_identity_id))
    return { access_method: methodResource(ws, g, s, token(g.user_identity_id)) }
  })

const Related = Schema.Literals(["spaces", "devices", "acs_entrances", "access_grants", "access_methods", "instant_keys", "client_sessions", "acs_credentials"])

/** The access method routes. */
export const routes: Record<string, Route> = {
  "/access_methods/get": route("read", Schema.Struct({ access_method_id: Id }), ({ ws }, input) =>
    Effect.flatMap(grantOfMethod(ws, input.access_method_id), (g) => respond(ws, g))
  ),
  "/access_methods/list": route(
    "read",
    Schema.Struct({
      access_grant_id: opt(Id),
      access_grant_key: opt(Schema.NonEmptyString),
      acs_entrance_id: opt(Id),
      device_id: opt(Id),
      space_id: opt(Id),
      access_code_id: opt(Id)
    }),
    ({ ws }, input) =>
      Effect.gen(function* () {
        const grants =
          input.access_grant_id !== undefined || input.access_grant_key !== undefined ? [yield* liveGrant(ws, input)] : yield* liveGrants(ws)
        const state = yield* statesOf(ws, grants)
        const token = yield* ClientSessions.liveTokens(ws)
        const methods = grants
          .filter((g) => !g.access_method_deleted)
          .filter((g) => input.acs_entrance_id === undefined || g.acs_entrance_ids.includes(input.acs_entrance_id))
          // a phone holds the mobile key when a child of the grant's parent is on it
          .filter((g) => input.device_id === undefined || held(state(g.user_identity_id), g).children.some((c) => c.phoneId === input.device_id))
          // no spaces or access codes here
          .filter(() => input.space_id === undefined && input.access_code_id === undefined)
          .sort((a, b) => a.created_at - b.created_at)
          .map((g) => methodResource(ws, g, state(g.user_identity_id), token(g.user_identity_id)))
        return { access_methods: methods }
      })
  ),
  "/access_methods/get_related": route(
    "read",
    Schema.Struct({ access_method_ids: Schema.Array(Id), include: opt(Schema.Array(Related)), exclude: opt(Schema.Array(Related)) }),
    ({ ws }, input) =>
      Effect.gen(function* () {
        const wanted = (what: typeof Related.Type) => (input.include === undefined || input.include.includes(what)) && !(input.exclude ?? []).includes(what)
        const grants: Array<Grants.Grant> = []
        for (const id of new Set(input.access_method_ids)) {
          const g = yield* port(Grants.ofMethod(ws.records, id))
          if (g !== undefined && g.deleted_at === undefined && !g.access_method_deleted) grants.push(g)
        }
        const state = yield* statesOf(ws, grants)
        const token = yield* ClientSessions.liveTokens(ws)
        const credentials = grants.flatMap((g) => {
          const s = state(g.user_identity_id)
          if (s === undefined) return []
          const parents = new Set(Object.values(g.parents))
          return Resources.credentials(ws, s).filter((c) => {
            const id = c.acs_credential_id
            const parent = c.parent_acs_credential_id
            return (typeof id === "string" && parents.has(id)) || (typeof parent === "string" && parents.has(parent))
          })
        })
        return {
          batch: {
            ...(wanted("access_methods") ? { access_methods: grants.map((g) => methodResource(ws, g, state(g.user_identity_id), token(g.user_identity_id))) } : {}),
            ...(wanted("access_grants") ? { access_grants: grants.map((g) => grantResource(ws, g, token(g.user_identity_id))) } : {}),
            ...(wanted("acs_credentials") ? { acs_credentials: credentials } : {}),
            ...Object.fromEntries((["spaces", "devices", "acs_entrances", "instant_keys", "client_sessions"] as const).filter(wanted).map((k) => [k, []]))
          }
        }
      })
  ),
  "/access_methods/delete": route(
    "delete",
    Schema.Struct({ access_method_id: opt(Id), access_grant_id: opt(Id), reservation_key: opt(Schema.NonEmptyString) }),
    ({ ws }, input) =>
      ws.exclusive(
        Effect.gen(function* () {
          let grants: ReadonlyArray<Grants.Grant>
          if (input.access_method_id !== undefined) grants = [yield* grantOfMethod(ws, input.access_method_id)]
          else if (input.access_grant_id !== undefined) grants = [yield* liveGrant(ws, { access_grant_id: input.access_grant_id })]
          else if (input.reservation_key !== undefined) {
            const key = input.reservation_key
            grants = (yield* liveGrants(ws)).filter((g) => g.reservation_key === key)
            if (grants.length === 0) return yield* Effect.fail(notFound("access_grant"))
          } else return yield* Effect.fail(invalidField("access_method_id", "access_method_id, access_grant_id or reservation_key is required"))
          for (const g of grants.filter((x) => !x.access_method_deleted)) {
            // the parents first: a delete that fails can be sent again
            yield* deleteParents(ws, g)
            yield* port(
              Rec.modify(ws.records, Grants.Grants, g.access_grant_id, (current): Rec.Change<Grants.Grant, void> =>
                current === undefined ? { _tag: "Keep", result: undefined } : { _tag: "Put", value: { ...current.value, access_method_deleted: true }, result: undefined }
              )
            )
          }
          return {}
        })
      )
  )
}
