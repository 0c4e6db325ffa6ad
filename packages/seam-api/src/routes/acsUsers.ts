/**
 * `/acs/users/create|get|list`: Seam's `acs_user` resource, an ACS user created in the ACS (the
 * simulator's, or the in-memory ACS in front of HID Origo) with its profile kept in the store, and
 * linked to a user identity when one is given.
 *
 * Deviations (README): access groups are refused (`acs_access_group_ids`); an identity that already
 * has an ACS user in that ACS is 409 before the ACS is called; `update|delete|suspend|unsuspend`
 * are not served; `/acs/users/list` reads every ACS user record.
 *
 * @internal
 */
import { Effect, Schema } from "effect"
import { acsUserOf, acsUserTaken, createAcsUser, link, ownerOfAcsUser } from "../internal/acsUserLinks.js"
import {
  beforeFilter,
  Cursor,
  Email,
  Id,
  IsoDate,
  keyBy,
  Limit,
  opt,
  page,
  PhoneNumber,
  port,
  type Route,
  route
} from "../internal/route.js"
import * as Resources from "../Resources.js"
import { invalidField, notFound, SeamError as SeamErrorClass } from "../SeamError.js"
import type { AcsUserRecord, Workspace } from "../Workspace.js"

const acsUserResource = (ws: Workspace, u: AcsUserRecord) =>
  Effect.map(ownerOfAcsUser(ws, u.acs_user_id), (owner) => Resources.acsUser(ws, u, owner))

/** The `/acs/users/*` routes, by path. */
export const routes: Record<string, Route> = {
  "/acs/users/create": route(
    "write",
    Schema.Struct({
      full_name: Schema.NonEmptyString,
      acs_system_id: Id,
      acs_access_group_ids: opt(Schema.Array(Id)),
      user_identity_id: opt(Id),
      access_schedule: opt(Schema.Struct({ starts_at: opt(IsoDate), ends_at: opt(Schema.NullOr(IsoDate)) })),
      email_address: opt(Email),
      email: opt(Email),
      phone_number: opt(PhoneNumber)
    }),
    ({ ws }, input) =>
      ws.exclusive(Effect.gen(function* () {
        if ((input.acs_access_group_ids ?? []).length > 0) {
          return yield* Effect.fail(invalidField("acs_access_group_ids", "Access groups are not supported by this server"))
        }
        // Seam answers an unknown identity here with 400 user_identity_not_found; check before creating anything
        const identity = input.user_identity_id === undefined ? undefined : yield* port(ws.identity(input.user_identity_id))
        if (input.user_identity_id !== undefined && identity === undefined) {
          return yield* Effect.fail(new SeamErrorClass({ status: 400, type: "user_identity_not_found", message: "user identity not found" }))
        }
        if (!ws.acsSystems.some((a) => a.id === input.acs_system_id)) return yield* Effect.fail(notFound("acs_system"))
        // one ACS user per identity and ACS (the engine's rule): refused before the ACS user exists
        const held = identity?.acsUsers[input.acs_system_id]
        if (identity !== undefined && held !== undefined) return yield* Effect.fail(acsUserTaken(identity.id, held.acsUserId))
        const record = yield* createAcsUser(ws, {
          acs_system_id: input.acs_system_id,
          full_name: input.full_name,
          email_address: input.email_address ?? input.email,
          phone_number: input.phone_number,
          access_schedule:
            input.access_schedule === undefined
              ? undefined
              : { starts_at: input.access_schedule.starts_at ?? new Date().toISOString(), ends_at: input.access_schedule.ends_at ?? null }
        }, input.user_identity_id)
        if (input.user_identity_id !== undefined) yield* link(ws, input.user_identity_id, record)
        return { acs_user: yield* acsUserResource(ws, record) }
      }))
  ),
  "/acs/users/get": route("read", Schema.Struct({ acs_user_id: Id }), ({ ws }, input) =>
    Effect.gen(function* () {
      return { acs_user: yield* acsUserResource(ws, yield* acsUserOf(ws, input.acs_user_id)) }
    })
  ),
  "/acs/users/list": route(
    "read",
    Schema.Struct({
      acs_system_id: opt(Id),
      user_identity_id: opt(Id),
      user_identity_email_address: opt(Schema.String),
      user_identity_phone_number: opt(Schema.String),
      search: opt(Schema.String),
      created_before: opt(IsoDate),
      limit: Limit,
      page_cursor: Cursor
    }),
    (ctx, input) =>
      Effect.gen(function* () {
        const { ws } = ctx
        const search = input.search?.toLowerCase()
        const items: Array<Resources.Resource> = []
        for (const u of yield* port(ws.acsUsers.list)) {
          if (input.acs_system_id !== undefined && u.acs_system_id !== input.acs_system_id) continue
          if (search !== undefined && ![u.full_name, u.email_address, u.phone_number].some((v) => v?.toLowerCase().includes(search))) continue
          const r = yield* acsUserResource(ws, u)
          if (input.user_identity_id !== undefined && r.user_identity_id !== input.user_identity_id) continue
          if (input.user_identity_email_address !== undefined && r.user_identity_email_address !== input.user_identity_email_address) continue
          if (input.user_identity_phone_number !== undefined && r.user_identity_phone_number !== input.user_identity_phone_number) continue
          items.push(r)
        }
        const p = yield* page(ctx, items.filter(beforeFilter(input.created_before)), keyBy("acs_user_id"), input)
        return { acs_users: p.items, pagination: p.pagination }
      })
  )
}
