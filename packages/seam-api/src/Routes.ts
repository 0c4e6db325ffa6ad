/**
 * The Seam Connect routes this flow uses, each a Schema for its body and a handler over one
 * workspace. A body that fails its Schema is answered 400 before anything runs, so a bad request
 * changes nothing. Unknown body keys are ignored, as Seam does.
 *
 * @since 0.1.0
 */
import type { Command, Identity, } from "@credsync/core"
import { Effect, Redacted, Schema } from "effect"
import { newId } from "./internal/ids.js"
import { Id, IsoDate, identityOf, opt, orNotFound, port, type RequestContext, type Route, route } from "./internal/route.js"
import { type Page, paginate } from "./internal/pagination.js"
import * as Resources from "./Resources.js"
import * as ClientSessions from "./routes/clientSessions.js"
import {
  fromCommandRejected,
  fromPortError,
  invalidField,
  notFound,
  type SeamError,
  SeamError as SeamErrorClass
} from "./SeamError.js"
import type * as SeamEvents from "./SeamEvents.js"
import * as UrlPolicy from "./internal/urlPolicy.js"
import * as Webhooks from "./Webhooks.js"
import type { AcsUserRecord, Workspace } from "./Workspace.js"

export type { Body, Kind, RequestContext, Route } from "./internal/route.js"

// --- shared pieces ------------------------------------------------------------------------------

const Limit = opt(Schema.Int.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(10_000)))
const Cursor = opt(Schema.NullOr(Schema.String))
const Email = Schema.String.check(Schema.isPattern(/^[^@\s]+@[^@\s]+$/, { message: "Invalid email" }))
const PhoneNumber = Schema.String.check(
  Schema.isPattern(/^\+[1-9]\d{1,14}$/, { message: "Invalid phone number, expected E.164 such as +15555550100" })
)
const Metadata = Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Boolean]))


/** Run a host command on the engine; a rejection becomes Seam's error for it. The command's fields
 *  come from a request body, so the engine decodes it (a bad field is named in the rejection). */
const exec = (
  ws: Workspace,
  command: { readonly _tag: Command.Command["_tag"]; readonly [field: string]: unknown }
): Effect.Effect<Identity.IdentityState, SeamError> =>
  ws.engine.executeUnknown(command).pipe(
    Effect.mapError((e) => (e._tag === "CommandRejected" ? fromCommandRejected(e) : fromPortError(e))),
    Effect.tap(() => ws.wake)
  )


/** Sort key of a listed resource: creation time, then id (unique). */
const keyBy =
  (idField: string) =>
  (r: Resources.Resource): string =>
    `${String(r.created_at)}|${String(r[idField])}`

const page = <A extends Resources.Resource>(
  ctx: RequestContext,
  items: ReadonlyArray<A>,
  key: (a: A) => string,
  options: { readonly limit?: number | undefined; readonly page_cursor?: string | null | undefined }
): Effect.Effect<Page<A>, SeamError> => {
  const p = paginate(items, key, options, (cursor) => `${ctx.origin}${ctx.path}?page_cursor=${encodeURIComponent(cursor)}`)
  return p instanceof SeamErrorClass ? Effect.fail(p) : Effect.succeed(p)
}

const beforeFilter = (createdBefore: string | undefined) => (r: Resources.Resource) =>
  createdBefore === undefined || Date.parse(String(r.created_at)) < Date.parse(createdBefore)


const findIn = (ws: Workspace, key: string, resource: string) =>
  Effect.flatMap(port(ws.find(key)), orNotFound(resource))

const acsUserOf = (ws: Workspace, id: string) => Effect.flatMap(port(ws.acsUsers.get(id)), orNotFound("acs_user"))

/** ACS users per ACS (for `acs_user_count`): one pass over the workspace's ACS users. */
const acsUserCounts = (ws: Workspace) =>
  Effect.map(port(ws.acsUsers.list), (users) => {
    const counts = new Map<string, number>()
    for (const u of users) counts.set(u.acs_system_id, (counts.get(u.acs_system_id) ?? 0) + 1)
    return (acsSystemId: string) => counts.get(acsSystemId) ?? 0
  })

/** Phone resources of these (identity, phone) pairs, with their sandbox names read in one go. */
const phoneResources = (ws: Workspace, items: ReadonlyArray<readonly [Identity.IdentityState, Identity.Phone]>) =>
  Effect.map(port(ws.phones.many(items.map(([, p]) => p.id))), (names) =>
    items.map(([s, p]) => Resources.phone(ws, s, p, names.get(p.id)))
  )

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
    const claims = yield* ws.profiles.claim(userIdentityId, command).pipe(
      Effect.mapError((e) =>
        e._tag === "Taken"
          ? invalidField(
              e.field === "email" ? "email_address" : "phone_number",
              `A user identity with this ${e.field === "email" ? "email_address" : "phone_number"} already exists`
            )
          : fromPortError(e)
      )
    )
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

const ownerOfAcsUser = (ws: Workspace, id: string) => port(ws.find(`acs-user:${id}`))

const acsUserResource = (ws: Workspace, u: AcsUserRecord) =>
  Effect.map(ownerOfAcsUser(ws, u.acs_user_id), (owner) => Resources.acsUser(ws, u, owner))

/** Create an ACS user in the ACS, record its profile, emit `acs_user.created`. */
const createAcsUser = (
  ws: Workspace,
  input: {
    readonly acs_system_id: string
    readonly full_name: string
    readonly email_address?: string | undefined
    readonly phone_number?: string | undefined
    readonly access_schedule?: { readonly starts_at: string; readonly ends_at: string | null } | undefined
  },
  forIdentity?: string
) =>
  Effect.gen(function* () {
    const system = ws.acsSystems.find((a) => a.id === input.acs_system_id)
    if (system === undefined) return yield* Effect.fail(notFound("acs_system"))
    const record = yield* port(
      ws.acsUsers.create({
        acs_system_id: system.id,
        full_name: input.full_name,
        email_address: input.email_address,
        phone_number: input.phone_number,
        access_schedule: input.access_schedule
      })
    )
    const at = new Date(record.created_at).toISOString()
    const event: SeamEvents.SeamEvent = {
      event_id: newId(),
      event_type: "acs_user.created",
      workspace_id: ws.id,
      created_at: at,
      occurred_at: at,
      event_description: "An ACS user was created.",
      connected_account_id: ws.connectedAccountId,
      acs_system_id: system.id,
      acs_user_id: record.acs_user_id,
      ...(forIdentity === undefined ? {} : { user_identity_id: forIdentity })
    }
    yield* ws.publish(event)
    return record
  })

const link = (ws: Workspace, identityId: string, acsUser: AcsUserRecord) =>
  exec(ws, {
    _tag: "LinkAcsUser",
    userIdentityId: identityId,
    acsUserId: acsUser.acs_user_id,
    acsSystemId: acsUser.acs_system_id
  })

const identityResource = (ws: Workspace, s: Identity.IdentityState) => Resources.userIdentity(ws, s)

/** 409: the identity has another ACS user in that ACS (one per ACS, the engine's rule). */
const acsUserTaken = (identityId: string, acsUserId: string) =>
  new SeamErrorClass({
    status: 409,
    type: "conflict",
    message: `user identity ${identityId} already has ACS user ${acsUserId} in this ACS`
  })

// --- /user_identities ---------------------------------------------------------------------------

const userIdentities: Record<string, Route> = {
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
              Object.values(s.automations).some((a) => a.managerId === input.credential_manager_acs_system_id)
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

// --- /user_identities/enrollment_automations ----------------------------------------------------

const automations: Record<string, Route> = {
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
        const a = Object.values(s.automations).find((x) => x.managerId === input.credential_manager_acs_system_id)
        return { enrollment_automation: Resources.enrollmentAutomation(ws, s, yield* orNotFound("enrollment_automation")(a)) }
      })
  ),
  "/user_identities/enrollment_automations/get": route(
    "read",
    Schema.Struct({ enrollment_automation_id: Id }),
    ({ ws }, input) =>
      Effect.gen(function* () {
        const s = yield* findIn(ws, `automation:${input.enrollment_automation_id}`, "enrollment_automation")
        const a = yield* orNotFound("enrollment_automation")(s.automations[input.enrollment_automation_id])
        return { enrollment_automation: Resources.enrollmentAutomation(ws, s, a) }
      })
  ),
  "/user_identities/enrollment_automations/list": route("read", Schema.Struct({ user_identity_id: Id }), ({ ws }, input) =>
    Effect.map(identityOf(ws, input.user_identity_id), (s) => ({
      enrollment_automations: Object.values(s.automations).map((a) => Resources.enrollmentAutomation(ws, s, a))
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

// --- /acs/systems, /acs/users -------------------------------------------------------------------

const acs: Record<string, Route> = {
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

// --- /acs/credentials ---------------------------------------------------------------------------

/** Fields that differ per card: never part of a multi-phone sync credential. */
const perCard = ["card_number", "code"] as const

const credentialsRoutes: Record<string, Route> = {
  "/acs/credentials/create": route(
    "write",
    Schema.Struct({
      access_method: opt(Schema.Literals(["code", "card", "mobile_key"])),
      acs_user_id: opt(Id),
      user_identity_id: opt(Id),
      acs_system_id: opt(Id),
      credential_manager_acs_system_id: opt(Id),
      is_multi_phone_sync_credential: opt(Schema.Boolean),
      allowed_acs_entrance_ids: opt(Schema.Array(Id)),
      starts_at: opt(IsoDate),
      ends_at: opt(IsoDate),
      // shared card details: top level as in Seam's guide, or under visionline_metadata
      card_format: opt(Schema.NonEmptyString),
      facility_code: opt(Schema.NonEmptyString),
      visionline_metadata: opt(Schema.Struct({ card_format: opt(Schema.NonEmptyString) })),
      card_number: opt(Schema.Unknown),
      code: opt(Schema.Unknown)
    }),
    ({ ws }, input) =>
      Effect.gen(function* () {
        if (input.is_multi_phone_sync_credential !== true) {
          return yield* Effect.fail(
            invalidField(
              "is_multi_phone_sync_credential",
              "This server issues mobile credentials through multi-phone sync credentials only: set is_multi_phone_sync_credential to true"
            )
          )
        }
        if (input.access_method !== undefined && input.access_method !== "mobile_key") {
          return yield* Effect.fail(invalidField("access_method", "A multi-phone sync credential has access_method mobile_key"))
        }
        for (const f of perCard) {
          if (input[f] !== undefined) {
            return yield* Effect.fail(
              invalidField(f, `${f} is a per-card value: a multi-phone sync credential holds only shared card details; the credential manager allocates it for each phone`)
            )
          }
        }
        if (input.facility_code === undefined) {
          return yield* Effect.fail(invalidField("facility_code", "facility_code is required: it is the card detail every phone credential shares"))
        }
        if (input.starts_at !== undefined && input.ends_at !== undefined && Date.parse(input.ends_at) <= Date.parse(input.starts_at)) {
          return yield* Effect.fail(invalidField("ends_at", "ends_at must be after starts_at"))
        }
        // the ACS user: given directly, or the identity's user in the given ACS
        let acsUser: AcsUserRecord
        let owner: Identity.IdentityState
        if (input.acs_user_id !== undefined) {
          acsUser = yield* acsUserOf(ws, input.acs_user_id)
          const found = yield* ownerOfAcsUser(ws, acsUser.acs_user_id)
          if (found === undefined) {
            return yield* Effect.fail(
              invalidField("acs_user_id", "The ACS user is not linked to a user identity: call /user_identities/add_acs_user first")
            )
          }
          owner = found
        } else if (input.user_identity_id !== undefined && input.acs_system_id !== undefined) {
          owner = yield* identityOf(ws, input.user_identity_id)
          const l = owner.acsUsers[input.acs_system_id]
          if (l === undefined) return yield* Effect.fail(notFound("acs_user", "The user identity has no ACS user in this ACS"))
          acsUser = yield* acsUserOf(ws, l.acsUserId)
        } else {
          return yield* Effect.fail(invalidField("acs_user_id", "acs_user_id, or user_identity_id with acs_system_id, is required"))
        }
        const managerId = input.credential_manager_acs_system_id ?? ws.managers[0]?.id
        if (managerId === undefined || !ws.managers.some((m) => m.id === managerId)) {
          return yield* Effect.fail(notFound("acs_system", "Credential manager not found"))
        }
        const cardFormat = input.card_format ?? input.visionline_metadata?.card_format ?? "rfid48"
        if (ws.cardProfiles !== undefined && !ws.cardProfiles.has(`${cardFormat}/${input.facility_code}`)) {
          return yield* Effect.fail(
            invalidField(
              "facility_code",
              `No HID part number is configured for card_format ${cardFormat} with facility_code ${input.facility_code} (configured: ${[...ws.cardProfiles].join(", ")})`
            )
          )
        }
        const credentialId = newId()
        const s = yield* exec(ws, {
          _tag: "CreateSyncCredential",
          userIdentityId: owner.id,
          credentialId,
          acsUserId: acsUser.acs_user_id,
          managerId,
          cardFormat,
          facilityCode: input.facility_code,
          ...(input.starts_at === undefined ? {} : { startsAt: input.starts_at }),
          ...(input.ends_at === undefined ? {} : { endsAt: input.ends_at })
        })
        const p = yield* orNotFound("acs_credential")(s.parents[credentialId])
        return { acs_credential: Resources.parentCredential(ws, s, p) }
      })
  ),
  "/acs/credentials/get": route("read", Schema.Struct({ acs_credential_id: Id }), ({ ws }, input) =>
    Effect.gen(function* () {
      const s = yield* findIn(ws, `credential:${input.acs_credential_id}`, "acs_credential")
      const r = Resources.credentials(ws, s).find((c) => c.acs_credential_id === input.acs_credential_id)
      return { acs_credential: yield* orNotFound("acs_credential")(r) }
    })
  ),
  "/acs/credentials/list": route(
    "read",
    Schema.Struct({
      acs_user_id: opt(Id),
      acs_system_id: opt(Id),
      user_identity_id: opt(Id),
      is_multi_phone_sync_credential: opt(Schema.Boolean),
      search: opt(Schema.String),
      created_before: opt(IsoDate),
      limit: Limit,
      page_cursor: Cursor
    }),
    (ctx, input) =>
      Effect.gen(function* () {
        const { ws } = ctx
        const scope =
          input.user_identity_id !== undefined
            ? [yield* identityOf(ws, input.user_identity_id)]
            : input.acs_user_id !== undefined
              ? yield* Effect.map(ownerOfAcsUser(ws, input.acs_user_id), (o) => (o === undefined ? [] : [o]))
              : yield* port(ws.identities)
        const search = input.search?.toLowerCase()
        const items = scope
          .flatMap((s) => Resources.credentials(ws, s))
          .filter((c) => input.acs_user_id === undefined || c.acs_user_id === input.acs_user_id)
          // an ACS's credentials, or a credential manager's (Seam lists both by acs_system_id)
          .filter(
            (c) =>
              input.acs_system_id === undefined ||
              c.acs_system_id === input.acs_system_id ||
              c.credential_manager_acs_system_id === input.acs_system_id
          )
          .filter((c) => input.is_multi_phone_sync_credential === undefined || c.is_multi_phone_sync_credential === input.is_multi_phone_sync_credential)
          .filter((c) => search === undefined || [c.display_name, c.card_number].some((v) => typeof v === "string" && v.toLowerCase().includes(search)))
          .filter(beforeFilter(input.created_before))
        const p = yield* page(ctx, items, keyBy("acs_credential_id"), input)
        return { acs_credentials: p.items, pagination: p.pagination }
      })
  ),
  // A multi-phone sync credential belongs to its ACS user for life (its phone credentials are assigned
  // to that user at the ACS): assigning it to the user it has is a no-op, anything else is refused.
  "/acs/credentials/assign": route(
    "write",
    Schema.Struct({ acs_credential_id: Id, acs_user_id: opt(Id), user_identity_id: opt(Id) }),
    ({ ws }, input) =>
      Effect.gen(function* () {
        const s = yield* findIn(ws, `credential:${input.acs_credential_id}`, "acs_credential")
        const credential = yield* orNotFound("acs_credential")(Resources.credentials(ws, s).find((c) => c.acs_credential_id === input.acs_credential_id))
        if (input.acs_user_id === undefined && input.user_identity_id === undefined) {
          return yield* Effect.fail(invalidField("acs_user_id", "acs_user_id or user_identity_id is required"))
        }
        if (input.acs_user_id !== undefined && input.acs_user_id !== credential.acs_user_id) {
          yield* acsUserOf(ws, input.acs_user_id)
          return yield* Effect.fail(
            invalidField("acs_user_id", "A multi-phone sync credential stays with the ACS user it was created for: create one for the other user instead")
          )
        }
        if (input.user_identity_id !== undefined && input.user_identity_id !== s.id) {
          yield* identityOf(ws, input.user_identity_id)
          return yield* Effect.fail(
            invalidField("user_identity_id", "A multi-phone sync credential stays with the user identity it was created for")
          )
        }
        return { acs_credential: credential }
      })
  ),
  "/acs/credentials/unassign": route(
    "write",
    Schema.Struct({ acs_credential_id: Id, acs_user_id: opt(Id), user_identity_id: opt(Id) }),
    ({ ws }, input) =>
      Effect.gen(function* () {
        const s = yield* findIn(ws, `credential:${input.acs_credential_id}`, "acs_credential")
        yield* orNotFound("acs_credential")(Resources.credentials(ws, s).find((c) => c.acs_credential_id === input.acs_credential_id))
        return yield* Effect.fail(
          invalidField(
            "acs_credential_id",
            "A multi-phone sync credential cannot be unassigned from its ACS user: delete it (or deactivate the phone) to revoke access"
          )
        )
      })
  ),
  "/acs/credentials/delete": route("delete", Schema.Struct({ acs_credential_id: Id }), ({ ws }, input) =>
    Effect.gen(function* () {
      const s = yield* findIn(ws, `credential:${input.acs_credential_id}`, "acs_credential")
      const parent = s.parents[input.acs_credential_id]
      if (parent === undefined) {
        const child = s.children[input.acs_credential_id]
        if (child === undefined) return yield* Effect.fail(notFound("acs_credential"))
        // a child exists because a phone is enrolled; it goes when its phone or its parent goes
        return yield* Effect.fail(
          invalidField(
            "acs_credential_id",
            "This is a phone credential of a multi-phone sync credential: deactivate the phone or delete the parent credential instead"
          )
        )
      }
      if (!parent.deleting) yield* exec(ws, { _tag: "DeleteSyncCredential", userIdentityId: s.id, credentialId: parent.id })
      return {}
    })
  )
}

// --- /phones ------------------------------------------------------------------------------------

const livePhone = (s: Identity.IdentityState, id: string) => {
  const p = s.phones[id]
  return p?.active === true ? p : undefined
}

const phones: Record<string, Route> = {
  "/phones/list": route(
    "read",
    Schema.Struct({ owner_user_identity_id: opt(Id), acs_credential_id: opt(Id) }),
    ({ ws }, input) =>
      Effect.gen(function* () {
        const scope =
          input.owner_user_identity_id !== undefined
            ? yield* Effect.map(port(ws.identity(input.owner_user_identity_id)), (s) => (s === undefined ? [] : [s]))
            : input.acs_credential_id !== undefined
              ? yield* Effect.map(port(ws.find(`credential:${input.acs_credential_id}`)), (s) => (s === undefined ? [] : [s]))
              : yield* port(ws.identities)
        const credential = input.acs_credential_id
        const listed = scope.flatMap((s) =>
          Object.values(s.phones)
            .filter((p) => p.active)
            .filter(
              (p) =>
                credential === undefined ||
                Object.values(s.children).some((c) => c.phoneId === p.id && !c.retiring && (c.id === credential || c.parentId === credential))
            )
            .map((p) => [s, p] as const)
        )
        return { phones: yield* phoneResources(ws, listed) }
      })
  ),
  "/phones/get": route("read", Schema.Struct({ device_id: Id }), ({ ws }, input) =>
    Effect.gen(function* () {
      const s = yield* findIn(ws, `phone:${input.device_id}`, "device")
      const p = yield* orNotFound("device")(livePhone(s, input.device_id))
      return { phone: Resources.phone(ws, s, p, yield* port(ws.phones.get(p.id))) }
    })
  ),
  "/phones/deactivate": route("delete", Schema.Struct({ device_id: Id }), ({ ws }, input) =>
    Effect.gen(function* () {
      const s = yield* findIn(ws, `phone:${input.device_id}`, "device")
      yield* orNotFound("device")(livePhone(s, input.device_id))
      yield* exec(ws, { _tag: "DeactivatePhone", userIdentityId: s.id, phoneId: input.device_id })
      return {}
    })
  ),
  "/phones/simulate/create_sandbox_phone": route(
    "write",
    Schema.Struct({
      user_identity_id: Id,
      custom_sdk_installation_id: opt(Schema.String),
      phone_metadata: opt(
        Schema.Struct({
          operating_system: opt(Schema.Literals(["android", "ios"])),
          os_version: opt(Schema.Union([Schema.String, Schema.Number])),
          device_manufacturer: opt(Schema.String),
          device_model: opt(Schema.String)
        })
      ),
      assa_abloy_metadata: opt(Schema.Record(Schema.String, Schema.Unknown)),
      custom_metadata: opt(Metadata)
    }),
    ({ ws }, input) =>
      Effect.gen(function* () {
        if (!ws.sandbox) {
          return yield* Effect.fail(new SeamErrorClass({ status: 400, type: "workspace_not_sandbox", message: "This workspace is not a sandbox" }))
        }
        yield* identityOf(ws, input.user_identity_id)
        const deviceId = newId()
        const ios = input.phone_metadata?.operating_system === "ios"
        // the display name must exist before the engine's events mention the phone
        const info = {
          display_name: input.phone_metadata?.device_model ?? (ios ? "iPhone 15" : "Samsung Galaxy S10"),
          custom_sdk_installation_id: input.custom_sdk_installation_id
        }
        yield* port(ws.phones.create(deviceId, info))
        const s = yield* exec(ws, {
          _tag: "PhoneOnline",
          userIdentityId: input.user_identity_id,
          phoneId: deviceId,
          deviceType: ios ? "ios_phone" : "android_phone",
          ...(input.custom_metadata === undefined ? {} : { metadata: input.custom_metadata })
        }).pipe(Effect.tapError(() => Effect.ignore(ws.phones.remove(deviceId))))
        const p = yield* orNotFound("device")(livePhone(s, deviceId))
        return { phone: Resources.phone(ws, s, p, info) }
      })
  )
}

// --- /events ------------------------------------------------------------------------------------

const events: Record<string, Route> = {
  "/events/list": route(
    "read",
    Schema.Struct({
      since: opt(IsoDate),
      between: opt(Schema.Array(IsoDate)),
      event_type: opt(Schema.String),
      event_types: opt(Schema.Array(Schema.String)),
      device_id: opt(Id),
      device_ids: opt(Schema.Array(Id)),
      acs_credential_id: opt(Id),
      acs_system_id: opt(Id),
      acs_user_id: opt(Id),
      user_identity_id: opt(Id),
      limit: Limit
    }),
    ({ ws }, input) =>
      Effect.gen(function* () {
        const all = yield* port(ws.events)
        const since = input.since === undefined ? undefined : Date.parse(input.since)
        const [from, to] = (input.between ?? []).map((d) => Date.parse(d))
        const types = input.event_types ?? (input.event_type === undefined ? undefined : [input.event_type])
        const devices = input.device_ids ?? (input.device_id === undefined ? undefined : [input.device_id])
        const field = (e: SeamEvents.SeamEvent, k: string, want: string | undefined) => want === undefined || e[k] === want
        const out = all.filter((e) => {
          const at = Date.parse(e.occurred_at)
          return (
            (since === undefined || at >= since) &&
            (from === undefined || at >= from) &&
            (to === undefined || at <= to) &&
            (types === undefined || types.includes(e.event_type)) &&
            (devices === undefined || (typeof e.device_id === "string" && devices.includes(e.device_id))) &&
            field(e, "acs_credential_id", input.acs_credential_id) &&
            field(e, "acs_system_id", input.acs_system_id) &&
            field(e, "acs_user_id", input.acs_user_id) &&
            field(e, "user_identity_id", input.user_identity_id)
          )
        })
        // newest first, as Seam lists them
        return { events: out.slice().reverse().slice(0, input.limit ?? 500) }
      })
  ),
  "/events/get": route("read", Schema.Struct({ event_id: Id }), ({ ws }, input) =>
    Effect.gen(function* () {
      return { event: yield* orNotFound("event")(yield* port(ws.event(input.event_id))) }
    })
  )
}

// --- /webhooks ----------------------------------------------------------------------------------

const webhookResource = (w: Webhooks.Webhook) => ({
  webhook_id: w.webhook_id,
  url: w.url,
  ...(w.event_types === undefined ? {} : { event_types: w.event_types }),
  secret: Redacted.value(w.secret)
})

const Url = Schema.String.check(
  Schema.makeFilter((s: string) => {
    try {
      const u = new URL(s)
      return u.protocol === "http:" || u.protocol === "https:" || "Expected an http(s) URL"
    } catch {
      return "Expected an http(s) URL"
    }
  })
)

const webhooks: Record<string, Route> = {
  "/webhooks/create": route(
    "write",
    Schema.Struct({ url: Url, event_types: opt(Schema.Array(Schema.NonEmptyString)) }),
    ({ ws }, input) =>
      ws.exclusive(Effect.gen(function* () {
        const refused = yield* Effect.promise(() => UrlPolicy.check(input.url, ws.webhookPolicy.allowPrivateUrls))
        if (refused !== undefined) return yield* Effect.fail(invalidField("url", refused))
        const count = (yield* port(ws.webhooks.list)).length
        if (count >= ws.webhookPolicy.maxPerWorkspace) {
          return yield* Effect.fail(
            new SeamErrorClass({
              status: 400,
              type: "webhook_limit_reached",
              message: `This workspace has ${count} webhooks, the most it may have: delete one first`
            })
          )
        }
        const w: Webhooks.Webhook = {
          webhook_id: newId(),
          url: input.url,
          event_types: input.event_types,
          secret: Webhooks.newSecret(),
          created_at: new Date().toISOString()
        }
        yield* port(ws.webhooks.create(w))
        return { webhook: webhookResource(w) }
      }))
  ),
  "/webhooks/get": route("read", Schema.Struct({ webhook_id: Id }), ({ ws }, input) =>
    Effect.map(Effect.flatMap(port(ws.webhooks.get(input.webhook_id)), orNotFound("webhook")), (w) => ({ webhook: webhookResource(w) }))
  ),
  "/webhooks/list": route("read", Schema.Struct({}), ({ ws }) =>
    Effect.map(port(ws.webhooks.list), (all) => ({ webhooks: all.map(webhookResource) }))
  ),
  "/webhooks/update": route(
    "write",
    Schema.Struct({ webhook_id: Id, event_types: Schema.Array(Schema.NonEmptyString) }),
    ({ ws }, input) =>
      Effect.flatMap(port(ws.webhooks.update(input.webhook_id, input.event_types)), (updated) =>
        updated ? Effect.succeed({}) : Effect.fail(notFound("webhook"))
      )
  ),
  "/webhooks/delete": route("delete", Schema.Struct({ webhook_id: Id }), ({ ws }, input) =>
    Effect.flatMap(port(ws.webhooks.remove(input.webhook_id)), (removed) => (removed ? Effect.succeed({}) : Effect.fail(notFound("webhook"))))
  )
}

/**
 * Every route, by path.
 *
 * @since 0.1.0
 */
export const routes: Readonly<Record<string, Route>> = {
  ...userIdentities,
  ...automations,
  ...acs,
  ...credentialsRoutes,
  ...phones,
  ...events,
  ...webhooks,
  ...ClientSessions.routes
}
