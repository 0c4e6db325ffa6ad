/**
 * `/user_identities/create|get|list|update|delete|add_acs_user|remove_acs_user|list_acs_users|list_acs_systems`:
 * Seam's `user_identity` resource, one engine identity each (its key, email and phone number unique
 * in the workspace).
 *
 * Deviations (README): a duplicate `user_identity_key`, email or phone number is 400 `invalid_input`
 * naming the field; `/user_identities/delete` revokes the identity's credentials but keeps its ACS
 * users; `/user_identities/list` loads every identity; `remove_acs_user` is 409 while a credential
 * is assigned to that ACS user.
 *
 * @internal
 */
import type { Identity, PortError } from "@credsync/core"
import { Effect, Schema } from "effect"
import { acsUserCounts, acsUserOf, acsUserTaken, createAcsUser, link, ownerOfAcsUser } from "../internal/acsUserLinks.js"
import { newId } from "../internal/ids.js"
import * as ProfileIndex from "../internal/profileIndex.js"
import {
  beforeFilter,
  Cursor,
  Email,
  exec,
  findIn,
  Id,
  IsoDate,
  identityOf,
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
import { fromPortError, invalidField } from "../SeamError.js"
import type { Workspace } from "../Workspace.js"

/**
 * Create a user identity: its email and phone number are claimed first (unique per workspace, also
 * across instances), given back if the engine rejects the create.
 */
const createIdentity = (
  ws: Workspace,
  command: {
    readonly key?: string | undefined
    readonly email?: string | undefined
    readonly phoneNumber?: string | undefined
    readonly fullName?: string | undefined
  }
) =>
  Effect.gen(function* () {
    const userIdentityId = newId()
    const claims = yield* ws.profiles.claim(userIdentityId, command).pipe(Effect.mapError(takenField))
    return yield* exec(ws, {
      _tag: "CreateUserIdentity",
      userIdentityId,
      ...(command.key === undefined ? {} : { key: command.key }),
      ...(command.email === undefined ? {} : { email: command.email }),
      ...(command.phoneNumber === undefined ? {} : { phoneNumber: command.phoneNumber }),
      ...(command.fullName === undefined ? {} : { fullName: command.fullName })
    }).pipe(
      Effect.tapError(() => Effect.ignore(ws.profiles.release(claims))),
      // another instance created an identity with this key since the caller's check: the store refused ours
      Effect.catchIf(
        () => command.key !== undefined,
        (e) =>
          Effect.flatMap(Effect.orElseSucceed(ws.engine.lookup(`key:${command.key}`), () => undefined), (holder) =>
            holder !== undefined && holder !== userIdentityId
              ? Effect.fail(invalidField("user_identity_key", "A user identity with this user_identity_key already exists"))
              : Effect.fail(e)
          )
      )
    )
  })

const identityResource = (ws: Workspace, s: Identity.IdentityState) => Resources.userIdentity(ws, s)

/** A duplicate email / phone number claim as Seam's 400 naming the request's field. */
const takenField = (e: ProfileIndex.Taken | PortError.PortError) =>
  e._tag === "Taken"
    ? invalidField(
        e.field === "email" ? "email_address" : "phone_number",
        `A user identity with this ${e.field === "email" ? "email_address" : "phone_number"} already exists`
      )
    : fromPortError(e)

/**
 * Change an identity's profile. A new email or phone number is claimed first (the old claim goes
 * stale with the change and may then be taken by another identity) and given back if the engine
 * rejects the update; the key is the engine's lookup key, checked here for a clear 400 and by the
 * store when the change is saved (another instance may take it in between).
 */
const updateIdentity = (
  ws: Workspace,
  s: Identity.IdentityState,
  patch: {
    readonly key?: string | null | undefined
    readonly email?: string | null | undefined
    readonly phoneNumber?: string | null | undefined
    readonly fullName?: string | null | undefined
  }
) =>
  Effect.gen(function* () {
    if (typeof patch.key === "string" && patch.key !== s.profile.key) {
      const holder = yield* port(ws.engine.lookup(`key:${patch.key}`))
      if (holder !== undefined && holder !== s.id) {
        return yield* Effect.fail(invalidField("user_identity_key", "A user identity with this user_identity_key already exists"))
      }
    }
    const claims = yield* ws.profiles
      .claim(s.id, {
        email: typeof patch.email === "string" ? patch.email : undefined,
        phoneNumber: typeof patch.phoneNumber === "string" ? patch.phoneNumber : undefined
      })
      .pipe(Effect.mapError(takenField))
    return yield* exec(ws, {
      _tag: "UpdateUserIdentity",
      userIdentityId: s.id,
      ...(patch.key === undefined ? {} : { key: patch.key }),
      ...(patch.email === undefined ? {} : { email: patch.email }),
      ...(patch.phoneNumber === undefined ? {} : { phoneNumber: patch.phoneNumber }),
      ...(patch.fullName === undefined ? {} : { fullName: patch.fullName })
    }).pipe(
      Effect.tapError(() => Effect.ignore(ws.profiles.release(claims))),
      // the store refused the key: another instance's identity took it since the check
      Effect.mapError((e) =>
        e.type === "already_exists" && typeof patch.key === "string"
          ? invalidField("user_identity_key", "A user identity with this user_identity_key already exists")
          : e
      ),
      // the values it gave up are free: their claims go (a failure leaves them stale, which is harmless)
      Effect.tap((after) =>
        Effect.ignore(
          ws.profiles.release(
            ProfileIndex.claimsFor(s.id, {
              email: s.profile.email !== after.profile.email ? s.profile.email : undefined,
              phoneNumber: s.profile.phoneNumber !== after.profile.phoneNumber ? s.profile.phoneNumber : undefined
            })
          )
        )
      )
    )
  })

/** The `/user_identities/*` routes (enrollment automations apart), by path. */
export const routes: Record<string, Route> = {
  "/user_identities/create": route(
    "write",
    Schema.Struct({
      user_identity_key: opt(Schema.NonEmptyString),
      email_address: opt(Email),
      phone_number: opt(PhoneNumber),
      full_name: opt(Schema.String),
      acs_system_ids: opt(Schema.Array(Id))
    }),
    ({ ws }, input) =>
      ws.exclusive(Effect.gen(function* () {
        for (const id of input.acs_system_ids ?? []) {
          if (!ws.acsSystems.some((a) => a.id === id)) return yield* Effect.fail(invalidField("acs_system_ids", `Unknown ACS ${id}`))
        }
        // Seam: key, email and phone number are each unique in the workspace. The key is the engine's
        // lookup key (held until an identity being deleted is gone; the store refuses a second holder);
        // email and phone number are claimed in the workspace's store before the create (one claimant wins).
        if (input.user_identity_key !== undefined && (yield* port(ws.engine.lookup(`key:${input.user_identity_key}`))) !== undefined) {
          return yield* Effect.fail(invalidField("user_identity_key", "A user identity with this user_identity_key already exists"))
        }
        let s = yield* createIdentity(ws, {
          key: input.user_identity_key,
          email: input.email_address,
          phoneNumber: input.phone_number,
          fullName: input.full_name
        })
        // Seam links an ACS user with the same email or phone number in each ACS, or creates one.
        const known = (input.acs_system_ids ?? []).length === 0 ? [] : yield* port(ws.acsUsers.list)
        for (const acsSystemId of input.acs_system_ids ?? []) {
          const existing = known.find(
            (u) =>
              u.acs_system_id === acsSystemId &&
              ((input.email_address !== undefined && u.email_address === input.email_address) ||
                (input.phone_number !== undefined && u.phone_number === input.phone_number))
          )
          const user =
            existing ??
            (yield* createAcsUser(ws, {
              acs_system_id: acsSystemId,
              full_name: input.full_name ?? input.email_address ?? input.phone_number ?? input.user_identity_key ?? "User",
              email_address: input.email_address,
              phone_number: input.phone_number
            }, s.id))
          s = yield* link(ws, s.id, user)
        }
        return { user_identity: identityResource(ws, s) }
      }))
  ),
  "/user_identities/get": route(
    "read",
    Schema.Struct({ user_identity_id: opt(Id), user_identity_key: opt(Id) }),
    ({ ws }, input) =>
      Effect.gen(function* () {
        if (input.user_identity_id !== undefined) return { user_identity: identityResource(ws, yield* identityOf(ws, input.user_identity_id)) }
        if (input.user_identity_key !== undefined) {
          return { user_identity: identityResource(ws, yield* findIn(ws, `key:${input.user_identity_key}`, "user_identity")) }
        }
        return yield* Effect.fail(invalidField("user_identity_id", "user_identity_id or user_identity_key is required"))
      })
  ),
  "/user_identities/list": route(
    "read",
    Schema.Struct({
      user_identity_ids: opt(Schema.Array(Id)),
      search: opt(Schema.String),
      credential_manager_acs_system_id: opt(Id),
      created_before: opt(IsoDate),
      limit: Limit,
      page_cursor: Cursor
    }),
    (ctx, input) =>
      Effect.gen(function* () {
        const all = yield* port(ctx.ws.identities)
        const search = input.search?.toLowerCase()
        const items = all
          .filter((s) => input.user_identity_ids === undefined || input.user_identity_ids.includes(s.id))
          .filter(
            (s) =>
              input.credential_manager_acs_system_id === undefined ||
              s.automations.some((a) => a.managerId === input.credential_manager_acs_system_id)
          )
          .filter(
            (s) =>
              search === undefined ||
              [s.id, s.profile.key, s.profile.email, s.profile.phoneNumber, s.profile.fullName].some((v) => v?.toLowerCase().includes(search))
          )
          .map((s) => identityResource(ctx.ws, s))
          .filter(beforeFilter(input.created_before))
        const p = yield* page(ctx, items, keyBy("user_identity_id"), input)
        return { user_identities: p.items, pagination: p.pagination }
      })
  ),
  "/user_identities/update": route(
    "write",
    Schema.Struct({
      user_identity_id: Id,
      user_identity_key: opt(Schema.NullOr(Schema.NonEmptyString)),
      email_address: opt(Schema.NullOr(Email)),
      phone_number: opt(Schema.NullOr(PhoneNumber)),
      full_name: opt(Schema.NullOr(Schema.String))
    }),
    ({ ws }, input) =>
      ws.exclusive(
        Effect.gen(function* () {
          const s = yield* identityOf(ws, input.user_identity_id)
          yield* updateIdentity(ws, s, {
            key: input.user_identity_key,
            email: input.email_address,
            phoneNumber: input.phone_number,
            fullName: input.full_name
          })
          return {}
        })
      )
  ),
  "/user_identities/delete": route("delete", Schema.Struct({ user_identity_id: Id }), ({ ws }, input) =>
    Effect.gen(function* () {
      yield* identityOf(ws, input.user_identity_id)
      yield* exec(ws, { _tag: "DeleteUserIdentity", userIdentityId: input.user_identity_id })
      return {}
    })
  ),
  "/user_identities/add_acs_user": route(
    "write",
    Schema.Struct({ user_identity_id: opt(Id), user_identity_key: opt(Id), acs_user_id: Id }),
    ({ ws }, input) =>
      ws.exclusive(Effect.gen(function* () {
        const user = yield* acsUserOf(ws, input.acs_user_id)
        // every check before anything is created: a rejected request changes nothing
        let identity: Identity.IdentityState | undefined
        if (input.user_identity_id !== undefined) identity = yield* identityOf(ws, input.user_identity_id)
        else if (input.user_identity_key !== undefined) identity = yield* port(ws.find(`key:${input.user_identity_key}`))
        else return yield* Effect.fail(invalidField("user_identity_id", "user_identity_id or user_identity_key is required"))
        const owner = yield* ownerOfAcsUser(ws, user.acs_user_id)
        if (owner !== undefined && owner.id !== identity?.id) {
          return yield* Effect.fail(invalidField("acs_user_id", `ACS user ${user.acs_user_id} belongs to user identity ${owner.id}`))
        }
        const held = identity?.acsUsers[user.acs_system_id]
        if (held !== undefined && held.acsUserId !== user.acs_user_id) return yield* Effect.fail(acsUserTaken(identity?.id ?? "", held.acsUserId))
        // Seam: an unknown key creates the identity from the ACS user's profile (its email and phone
        // number must be free: the claim refuses them otherwise, before the identity exists)
        const identityId =
          identity?.id ??
          (yield* createIdentity(ws, {
            key: input.user_identity_key,
            fullName: user.full_name,
            email: user.email_address,
            phoneNumber: user.phone_number
          })).id
        yield* link(ws, identityId, user)
        return {}
      }))
  ),
  "/user_identities/remove_acs_user": route(
    "delete",
    Schema.Struct({ user_identity_id: Id, acs_user_id: Id }),
    ({ ws }, input) =>
      ws.exclusive(
        Effect.gen(function* () {
          const s = yield* identityOf(ws, input.user_identity_id)
          yield* acsUserOf(ws, input.acs_user_id)
          // the engine refuses an ACS user the identity does not have (404) and one a credential is
          // assigned to (409 conflict: delete the credential first)
          yield* exec(ws, { _tag: "UnlinkAcsUser", userIdentityId: s.id, acsUserId: input.acs_user_id })
          return {}
        })
      )
  ),
  "/user_identities/list_acs_users": route("read", Schema.Struct({ user_identity_id: Id }), ({ ws }, input) =>
    Effect.gen(function* () {
      const s = yield* identityOf(ws, input.user_identity_id)
      const users = yield* Effect.forEach(Object.values(s.acsUsers), (l) => port(ws.acsUsers.get(l.acsUserId)))
      return { acs_users: users.flatMap((u) => (u === undefined ? [] : [Resources.acsUser(ws, u, s)])) }
    })
  ),
  "/user_identities/list_acs_systems": route("read", Schema.Struct({ user_identity_id: Id }), ({ ws }, input) =>
    Effect.gen(function* () {
      const s = yield* identityOf(ws, input.user_identity_id)
      const ids = new Set(Object.values(s.acsUsers).map((l) => l.acsSystemId))
      const count = yield* acsUserCounts(ws)
      return { acs_systems: ws.acsSystems.filter((a) => ids.has(a.id)).map((a) => Resources.acsSystem(ws, a, count(a.id))) }
    })
  )
}
