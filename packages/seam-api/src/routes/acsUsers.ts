/**
 * `/acs/users/create|get|list|update|delete|suspend|unsuspend`: Seam's `acs_user` resource, an ACS
 * user created in the ACS (the simulator's, or the in-memory ACS in front of HID Origo) with its
 * profile kept in the store, and linked to a user identity when one is given.
 *
 * Deviations (README): access groups are refused (`acs_access_group_ids`); an identity that already
 * has an ACS user in that ACS is 409 before the ACS is called; `/acs/users/list` reads every ACS user
 * record. The ACS port can neither change, suspend nor delete a user: `update` and `suspend` change
 * the profile this server keeps (a suspended user's credentials still open doors), `delete` unlinks
 * the user from its identity (409 while a credential is assigned to it) and forgets the profile.
 *
 * @internal
 */
import { Clock, Effect, Schema } from "effect"
import { acsUserOf, acsUserTaken, createAcsUser, link, ownerOfAcsUser } from "../internal/acsUserLinks.js"
import { newId } from "../internal/ids.js"
import {
  beforeFilter,
  Cursor,
  Email,
  exec,
  Id,
  identityOf,
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

/** Seam names an ACS user by its id, or by its identity and ACS. */
const Which = {
  acs_user_id: opt(Id),
  user_identity_id: opt(Id),
  acs_system_id: opt(Id)
}

/** The ACS user a request names (`acs_user_id`, or `user_identity_id` with `acs_system_id`), or 404 / 400. */
const whichAcsUser = (ws: Workspace, input: { readonly acs_user_id?: string | undefined; readonly user_identity_id?: string | undefined; readonly acs_system_id?: string | undefined }) =>
  Effect.gen(function* () {
    if (input.acs_user_id !== undefined) return yield* acsUserOf(ws, input.acs_user_id)
    if (input.user_identity_id !== undefined && input.acs_system_id !== undefined) {
      const s = yield* identityOf(ws, input.user_identity_id)
      const link = s.acsUsers[input.acs_system_id]
      if (link === undefined) return yield* Effect.fail(notFound("acs_user"))
      return yield* acsUserOf(ws, link.acsUserId)
    }
    return yield* Effect.fail(invalidField("acs_user_id", "acs_user_id, or user_identity_id with acs_system_id, is required"))
  })

/** Change a recorded profile and answer `{}` (404 if it went in between). */
const changeAcsUser = (ws: Workspace, id: string, change: (u: AcsUserRecord) => AcsUserRecord) =>
  Effect.flatMap(port(ws.acsUsers.update(id, change)), (u) => (u === undefined ? Effect.fail(notFound("acs_user")) : Effect.succeed({})))

/** `/acs/users/suspend|unsuspend`: the flag on the profile. */
const suspension = (suspended: boolean) =>
  route("write", Schema.Struct(Which), ({ ws }, input) =>
    ws.exclusive(
      Effect.gen(function* () {
        const user = yield* whichAcsUser(ws, input)
        return yield* changeAcsUser(ws, user.acs_user_id, (u) => ({ ...u, is_suspended: suspended }))
      })
    )
  )

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
  "/acs/users/update": route(
    "write",
    Schema.Struct({
      ...Which,
      full_name: opt(Schema.NonEmptyString),
      email_address: opt(Email),
      email: opt(Email),
      phone_number: opt(PhoneNumber),
      access_schedule: opt(Schema.NullOr(Schema.Struct({ starts_at: IsoDate, ends_at: IsoDate })))
    }),
    ({ ws }, input) =>
      ws.exclusive(
        Effect.gen(function* () {
          const user = yield* whichAcsUser(ws, input)
          const email = input.email_address ?? input.email
          return yield* changeAcsUser(ws, user.acs_user_id, (u) => {
            const { access_schedule: _, ...rest } = u
            const schedule = input.access_schedule === undefined ? u.access_schedule : (input.access_schedule ?? undefined)
            return {
              ...rest,
              ...(input.full_name === undefined ? {} : { full_name: input.full_name }),
              ...(email === undefined ? {} : { email_address: email }),
              ...(input.phone_number === undefined ? {} : { phone_number: input.phone_number }),
              ...(schedule === undefined ? {} : { access_schedule: schedule })
            }
          })
        })
      )
  ),
  "/acs/users/delete": route("delete", Schema.Struct(Which), ({ ws }, input) =>
    ws.exclusive(
      Effect.gen(function* () {
        const user = yield* whichAcsUser(ws, input)
        const owner = yield* ownerOfAcsUser(ws, user.acs_user_id)
        // the engine refuses while a credential is assigned to the user (409): nothing is removed then
        if (owner !== undefined) yield* exec(ws, { _tag: "UnlinkAcsUser", userIdentityId: owner.id, acsUserId: user.acs_user_id })
        if (!(yield* port(ws.acsUsers.remove(user.acs_user_id)))) return yield* Effect.fail(notFound("acs_user"))
        const at = new Date(yield* Clock.currentTimeMillis).toISOString()
        yield* ws.publish({
          event_id: newId(),
          event_type: "acs_user.deleted",
          workspace_id: ws.id,
          created_at: at,
          occurred_at: at,
          event_description: "An ACS user was deleted.",
          connected_account_id: ws.connectedAccountId,
          acs_system_id: user.acs_system_id,
          acs_user_id: user.acs_user_id,
          ...(owner === undefined ? {} : { user_identity_id: owner.id })
        })
        return {}
      })
    )
  ),
  "/acs/users/suspend": suspension(true),
  "/acs/users/unsuspend": suspension(false),
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
