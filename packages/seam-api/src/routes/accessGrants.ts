/**
 * `/access_grants/create|get|list|update|delete`: Seam's Access Grants over what the engine does.
 *
 * A grant gives one user identity a `mobile_key` to entrances of one ACS:
 * - the identity's phones are enrolled with the ACS's credential manager (the engine's enrollment
 *   automation for that manager: launched if absent, shared by the identity's grants and left in
 *   place when a grant goes);
 * - the grant holds one multi-phone sync credential (parent) in that ACS with the grant's times, so
 *   the engine issues one phone credential (child) per phone, imports it into the ACS and assigns
 *   it to the identity's ACS user (created, or linked, if the identity has none there);
 * - the grant's one access method (mode `mobile_key`) stands for that parent: see
 *   `accessMethods.ts`.
 *
 * The card profile of a grant's parent: the first part-number profile configured (HID Origo), else
 * `rfid48` with facility code `1`. The engine issues one credential per card profile and manager to
 * a phone, so an identity holds at most one live grant per credential manager (and no other
 * multi-phone sync credential with that profile): a second one is 409 `conflict`. Entrances of one
 * grant must be in one ACS (a second ACS would need a second parent with the same profile).
 *
 * Rejected requests change nothing: every check runs before the first write, under the workspace's
 * check-and-act lock. The writes then go: the access grant key's claim, the user identity (for a
 * `user_identity` body), the ACS user and its link, the automation, the grant's records, the
 * parent, a client session for the identity, `access_grant.created`. A failure after the first
 * write (the store failing: 503) gives back the key claim and the grant's records; an identity,
 * ACS user or automation created by then stays.
 *
 * `/access_grants/update` changes `name`, `starts_at` and `ends_at`; new times go to the grant's
 * multi-phone sync credential first (the engine's `UpdateSyncCredential`), then to the grant, then
 * `access_grant.access_times_changed` is published. A store failure between the two leaves the
 * credential's times changed and the grant's not; repeating the update completes it. The times are
 * recorded, not enforced (as on `/acs/credentials/update`).
 *
 * @internal
 */
import { type AccessControl, Identity } from "@credsync/core"
import { Clock, Effect, Schema } from "effect"
import * as Grants from "../internal/accessGrants.js"
import { iso, newId } from "../internal/ids.js"
import * as Rec from "../internal/records.js"
import { createAcsUser } from "../internal/acsUserLinks.js"
import { Email, exec, Id, IsoDate, identityOf, Limit, opt, PhoneNumber, page, port, type Route, route } from "../internal/route.js"
import { fromPortError, invalidField, notFound, SeamError } from "../SeamError.js"
import type * as SeamEvents from "../SeamEvents.js"
import type { Workspace } from "../Workspace.js"
import * as ClientSessions from "./clientSessions.js"
import * as Entrances from "./entrances.js"

// --- resources ----------------------------------------------------------------------------------

/** What the engine holds for a grant: its live parents and their live children. */
export const held = (s: Identity.IdentityState | undefined, g: Grants.Grant) => {
  const parents = Object.values(g.parents).flatMap((id) => {
    const p = s === undefined ? undefined : Identity.parent(s, id)
    return p === undefined ? [] : [p]
  })
  const ids = new Set(parents.map((p) => p.id))
  const children = (s?.children ?? []).filter((c) => ids.has(c.parentId) && !c.retiring)
  return { parents, children }
}

/** Seam's `access_method` resource for a grant's mobile key. */
export const methodResource = (ws: Workspace, g: Grants.Grant, s: Identity.IdentityState | undefined, token: string | undefined) => {
  const { parents, children } = held(s, g)
  const issued = children.filter((c) => c.issue === "active")
  const issuedAt = Math.min(...children.flatMap((c) => (c.issuedAt === undefined ? [] : [c.issuedAt])))
  const failed = children.filter((c) => c.issue === "failed")
  const deleting = g.access_method_deleted || g.deleted_at !== undefined || parents.some((p) => p.deleting)
  const at = iso(g.created_at)
  return {
    workspace_id: ws.id,
    access_method_id: g.access_method_id,
    display_name: g.method_display_name,
    mode: "mobile_key",
    created_at: at,
    // the first phone credential's
    issued_at: Number.isFinite(issuedAt) ? iso(issuedAt) : null,
    is_issued: issued.length > 0,
    ...(token === undefined ? {} : { client_session_token: token }),
    warnings: deleting ? [{ warning_code: "being_deleted", message: "This access method is being deleted.", created_at: at }] : [],
    // failed for every phone it was meant for (the engine retries nothing after a terminal failure)
    errors:
      failed.length > 0 && issued.length === 0
        ? [{ error_code: "failed_to_issue", message: failed[0]?.error?.message ?? "The mobile key could not be issued.", created_at: at }]
        : [],
    pending_mutations: []
  }
}

/** Seam's `access_grant` resource. */
export const grantResource = (ws: Workspace, g: Grants.Grant, token: string | undefined) => ({
  workspace_id: ws.id,
  access_grant_id: g.access_grant_id,
  ...(g.access_grant_key === undefined ? {} : { access_grant_key: g.access_grant_key }),
  ...(g.reservation_key === undefined ? {} : { reservation_key: g.reservation_key }),
  user_identity_id: g.user_identity_id,
  location_ids: [],
  space_ids: [],
  // not a field of Seam's access_grant: the entrances it was created with
  acs_entrance_ids: g.acs_entrance_ids,
  requested_access_methods: [
    { display_name: g.method_display_name, mode: "mobile_key", created_at: iso(g.created_at), created_access_method_ids: [g.access_method_id] }
  ],
  access_method_ids: g.access_method_deleted ? [] : [g.access_method_id],
  ...(token === undefined ? {} : { client_session_token: token }),
  name: g.name,
  display_name: g.name ?? "Access grant",
  created_at: iso(g.created_at),
  starts_at: iso(g.starts_at),
  ends_at: g.ends_at === null ? null : iso(g.ends_at),
  warnings: [],
  errors: [],
  pending_mutations: []
})

// --- lookups ------------------------------------------------------------------------------------

/** A live grant by id or key, or 404 `access_grant_not_found`. */
export const liveGrant = (ws: Workspace, by: { readonly access_grant_id?: string | undefined; readonly access_grant_key?: string | undefined }) =>
  Effect.gen(function* () {
    if (by.access_grant_id !== undefined) {
      const found = yield* port(Grants.get(ws.records, by.access_grant_id))
      if (found === undefined || found.value.deleted_at !== undefined) return yield* Effect.fail(notFound("access_grant"))
      if (by.access_grant_key !== undefined && found.value.access_grant_key !== by.access_grant_key) return yield* Effect.fail(notFound("access_grant"))
      return found.value
    }
    if (by.access_grant_key !== undefined) {
      const found = yield* port(Grants.byKey(ws.records, by.access_grant_key))
      return found ?? (yield* Effect.fail(notFound("access_grant")))
    }
    return yield* Effect.fail(invalidField("access_grant_id", "access_grant_id or access_grant_key is required"))
  })

/** Every live grant. */
export const liveGrants = (ws: Workspace) => Effect.map(port(Grants.all(ws.records)), (all) => all.filter((g) => g.deleted_at === undefined))

/** The engine state of each identity these grants are for, each loaded once. */
export const statesOf = (ws: Workspace, grants: ReadonlyArray<Grants.Grant>) =>
  Effect.gen(function* () {
    const states = new Map<string, Identity.IdentityState | undefined>()
    for (const g of grants) if (!states.has(g.user_identity_id)) states.set(g.user_identity_id, yield* port(ws.identity(g.user_identity_id)))
    return (id: string) => states.get(id)
  })

/**
 * Delete a grant's parents in the engine (every child revoked). Parents already gone or being
 * deleted are skipped, so a retried delete finishes what a failed one started.
 */
export const deleteParents = (ws: Workspace, g: Grants.Grant) =>
  Effect.gen(function* () {
    const s = yield* port(ws.identity(g.user_identity_id))
    for (const id of Object.values(g.parents)) {
      const p = s === undefined ? undefined : Identity.parent(s, id)
      if (s === undefined || p === undefined || p.deleting) continue
      yield* exec(ws, { _tag: "DeleteSyncCredential", userIdentityId: s.id, credentialId: id })
    }
  })

const grantEvent = (ws: Workspace, g: Grants.Grant, type: string, description: string, at: number): SeamEvents.SeamEvent => ({
  event_id: newId(),
  event_type: type,
  workspace_id: ws.id,
  created_at: iso(at),
  occurred_at: iso(at),
  event_description: description,
  access_grant_id: g.access_grant_id,
  ...(g.access_grant_key === undefined ? {} : { access_grant_key: g.access_grant_key }),
  // not a field of Seam's grant events: for /events/list's user_identity_id filter
  user_identity_id: g.user_identity_id
})

// --- create -------------------------------------------------------------------------------------

const CreateBody = Schema.Struct({
  user_identity_id: opt(Id),
  user_identity: opt(
    Schema.Struct({
      email_address: opt(Schema.NullOr(Email)),
      phone_number: opt(Schema.NullOr(PhoneNumber)),
      full_name: opt(Schema.NullOr(Schema.String)),
      user_identity_key: opt(Schema.NullOr(Schema.NonEmptyString))
    })
  ),
  name: opt(Schema.NullOr(Schema.String)),
  access_grant_key: opt(Schema.NonEmptyString),
  reservation_key: opt(Schema.NonEmptyString),
  location_ids: opt(Schema.Array(Id)),
  space_ids: opt(Schema.Array(Id)),
  space_keys: opt(Schema.Array(Schema.String)),
  location: opt(Schema.Unknown),
  acs_entrance_ids: opt(Schema.Array(Id)),
  device_ids: opt(Schema.Array(Id)),
  requested_access_methods: Schema.Array(
    Schema.Struct({
      mode: Schema.String,
      display_name: opt(Schema.String),
      code: opt(Schema.Unknown),
      instant_key_max_use_count: opt(Schema.Unknown)
    })
  ),
  starts_at: opt(IsoDate),
  ends_at: opt(Schema.NullOr(IsoDate)),
  customization_profile_id: opt(Id)
})
type CreateBody = typeof CreateBody.Type

/** The card profile of a grant's parent (see the module's comment). */
const cardProfile = (ws: Workspace): { readonly cardFormat: string; readonly facilityCode: string } => {
  const first = [...(ws.cardProfiles ?? [])].sort()[0]
  const slash = first?.lastIndexOf("/") ?? -1
  return first === undefined || slash <= 0 ? { cardFormat: "rfid48", facilityCode: "1" } : { cardFormat: first.slice(0, slash), facilityCode: first.slice(slash + 1) }
}

/** Every check of a create, before anything is written: what to create. */
const checked = (ws: Workspace, input: CreateBody) =>
  Effect.gen(function* () {
    const refuse = (field: string, message: string) => Effect.fail(invalidField(field, message))
    for (const field of ["space_ids", "location_ids", "space_keys", "device_ids"] as const) {
      if ((input[field] ?? []).length > 0) {
        return yield* refuse(field, `${field}: this server models no spaces or devices; grant access with acs_entrance_ids`)
      }
    }
    if (input.location !== undefined) return yield* refuse("location", "location: this server models no locations; grant access with acs_entrance_ids")
    if (input.customization_profile_id !== undefined) return yield* refuse("customization_profile_id", "Customization profiles are not supported by this server")

    const requested = input.requested_access_methods
    if (requested.length !== 1) {
      return yield* refuse("requested_access_methods", "requested_access_methods: exactly one access method (mode mobile_key) per access grant")
    }
    const method = requested[0]
    if (method === undefined || method.mode !== "mobile_key") {
      return yield* refuse("requested_access_methods", `requested_access_methods: mode ${method?.mode ?? ""} is not supported, only mobile_key`)
    }

    const entranceIds = [...new Set(input.acs_entrance_ids ?? [])]
    if (entranceIds.length === 0) return yield* refuse("acs_entrance_ids", "acs_entrance_ids is required: the entrances to grant access to")
    const entrances: Array<Entrances.Entrance> = []
    for (const id of entranceIds) {
      const e = Entrances.entrance(ws, id)
      if (e === undefined) return yield* refuse("acs_entrance_ids", `acs_entrance_ids: unknown entrance ${id}`)
      entrances.push(e)
    }
    const acs = entrances[0]?.acs
    if (acs === undefined || entrances.some((e) => e.acs.id !== acs.id)) {
      return yield* refuse("acs_entrance_ids", "acs_entrance_ids: the entrances of one access grant must be in one ACS")
    }
    const manager = ws.managers[0]
    if (manager === undefined) return yield* refuse("acs_entrance_ids", "acs_entrance_ids: the ACS has no credential manager to issue mobile keys")

    const now = yield* Clock.currentTimeMillis
    const startsAt = input.starts_at === undefined ? now : Date.parse(input.starts_at)
    const endsAt = input.ends_at === undefined || input.ends_at === null ? null : Date.parse(input.ends_at)
    if (endsAt !== null && endsAt <= startsAt) return yield* refuse("ends_at", "ends_at must be after starts_at")
    if (endsAt !== null && endsAt <= now) return yield* refuse("ends_at", "ends_at must be in the future")

    if (input.access_grant_key !== undefined && (yield* port(Grants.byKey(ws.records, input.access_grant_key))) !== undefined) {
      return yield* refuse("access_grant_key", "An access grant with this access_grant_key already exists")
    }

    const card = cardProfile(ws)
    let identity: Identity.IdentityState | undefined
    if (input.user_identity_id !== undefined && input.user_identity !== undefined) {
      return yield* refuse("user_identity", "Give user_identity_id or user_identity, not both")
    }
    if (input.user_identity_id !== undefined) {
      identity = yield* identityOf(ws, input.user_identity_id).pipe(
        Effect.mapError((e) => (e.status === 404 ? notFound("user_identity", `user_identity_id ${input.user_identity_id}: user identity not found`) : e))
      )
      // the engine's rule: one multi-phone sync credential per card profile and manager
      const twin = identity.parents.find(
        (p) => !p.deleting && p.managerId === manager.id && p.card.cardFormat === card.cardFormat && p.card.facilityCode === card.facilityCode
      )
      if (twin !== undefined) {
        return yield* Effect.fail(
          new SeamError({
            status: 409,
            type: "conflict",
            message: `user identity ${identity.id} already holds a mobile key of card profile ${card.cardFormat}/${card.facilityCode} through this credential manager (credential ${twin.id}): delete its access grant first`
          })
        )
      }
    } else if (input.user_identity !== undefined) {
      const key = input.user_identity.user_identity_key ?? undefined
      if (key !== undefined && (yield* port(ws.engine.lookup(`key:${key}`))) !== undefined) {
        return yield* refuse("user_identity.user_identity_key", "A user identity with this user_identity_key already exists")
      }
    } else {
      return yield* refuse("user_identity_id", "user_identity_id or user_identity is required")
    }
    return { identity, acs, manager, card, startsAt, endsAt, now, entranceIds, displayName: method.display_name ?? "Mobile key" }
  })

/** A new user identity from a grant's `user_identity` (its email and phone number claimed first). */
const newIdentity = (ws: Workspace, profile: NonNullable<CreateBody["user_identity"]>) =>
  Effect.gen(function* () {
    const userIdentityId = newId()
    const command = {
      key: profile.user_identity_key ?? undefined,
      email: profile.email_address ?? undefined,
      phoneNumber: profile.phone_number ?? undefined,
      fullName: profile.full_name ?? undefined
    }
    const claims = yield* ws.profiles.claim(userIdentityId, command).pipe(
      Effect.mapError((e) =>
        e._tag === "Taken"
          ? invalidField(
              e.field === "email" ? "user_identity.email_address" : "user_identity.phone_number",
              `A user identity with this ${e.field === "email" ? "email_address" : "phone_number"} already exists`
            )
          : fromPortError(e)
      )
    )
    return yield* exec(ws, {
      _tag: "CreateUserIdentity",
      userIdentityId,
      ...Object.fromEntries(Object.entries(command).filter(([, v]) => v !== undefined))
    }).pipe(Effect.tapError(() => Effect.ignore(ws.profiles.release(claims))))
  })

/** The identity's ACS user in this ACS: its own, one with its email or phone number, or a new one. */
const acsUserIn = (ws: Workspace, s: Identity.IdentityState, acs: AccessControl.AcsSystem) =>
  Effect.gen(function* () {
    const acsSystemId = acs.id
    if (s.acsUsers[acsSystemId] !== undefined) return s
    const owner = (acsUserId: string) => port(ws.find(`acs-user:${acsUserId}`))
    let user: { readonly acs_user_id: string; readonly acs_system_id: string } | undefined
    for (const u of yield* port(ws.acsUsers.list)) {
      const same =
        u.acs_system_id === acsSystemId &&
        ((s.profile.email !== undefined && u.email_address === s.profile.email) ||
          (s.profile.phoneNumber !== undefined && u.phone_number === s.profile.phoneNumber))
      if (same && (yield* owner(u.acs_user_id)) === undefined) {
        user = u
        break
      }
    }
    if (user === undefined) {
      user = yield* createAcsUser(
        ws,
        {
          acs_system_id: acsSystemId,
          full_name: s.profile.fullName ?? s.profile.email ?? s.profile.phoneNumber ?? s.profile.key ?? "User",
          email_address: s.profile.email,
          phone_number: s.profile.phoneNumber
        },
        s.id
      )
    }
    return yield* exec(ws, { _tag: "LinkAcsUser", userIdentityId: s.id, acsUserId: user.acs_user_id, acsSystemId })
  })

const create = (ws: Workspace, input: CreateBody) =>
  Effect.gen(function* () {
    const plan = yield* checked(ws, input)
    const grantId = newId()
    const methodId = newId()
    const parentId = newId()
    // the key first (unique across instances: a versioned create), given back if anything after fails
    if (input.access_grant_key !== undefined) {
      const claimed = yield* port(Rec.create(ws.records, Grants.Keys, input.access_grant_key, { access_grant_id: grantId }))
      if (!claimed) return yield* Effect.fail(invalidField("access_grant_key", "An access grant with this access_grant_key already exists"))
    }
    const releaseKey = input.access_grant_key === undefined ? Effect.void : dropKey(ws, input.access_grant_key, grantId)
    const grant: Grants.Grant = {
      access_grant_id: grantId,
      ...(input.access_grant_key === undefined ? {} : { access_grant_key: input.access_grant_key }),
      ...(input.reservation_key === undefined ? {} : { reservation_key: input.reservation_key }),
      user_identity_id: plan.identity?.id ?? "",
      name: input.name ?? null,
      acs_entrance_ids: plan.entranceIds,
      access_method_id: methodId,
      access_method_deleted: false,
      method_display_name: plan.displayName,
      parents: { [plan.acs.id]: parentId },
      starts_at: plan.startsAt,
      ends_at: plan.endsAt,
      created_at: plan.now
    }
    const written = Effect.gen(function* () {
      let s = plan.identity ?? (input.user_identity === undefined ? undefined : yield* newIdentity(ws, input.user_identity))
      if (s === undefined) return yield* Effect.fail(invalidField("user_identity_id", "user_identity_id or user_identity is required"))
      const g: Grants.Grant = { ...grant, user_identity_id: s.id }
      s = yield* acsUserIn(ws, s, plan.acs)
      const acsUser = s.acsUsers[plan.acs.id]
      if (acsUser === undefined) return yield* Effect.fail(notFound("acs_user", "The user identity has no ACS user in this ACS"))
      // enrolment of the identity's phones with the manager (shared by its grants)
      yield* exec(ws, { _tag: "LaunchAutomation", userIdentityId: s.id, automationId: newId(), managerId: plan.manager.id })
      // the records before the parent: every event of its children finds its grant
      const link = { access_grant_id: grantId, access_method_id: methodId, user_identity_id: s.id, access_grant_key: input.access_grant_key }
      const records = Effect.all([
        port(Rec.create(ws.records, Grants.Grants, grantId, g)),
        port(Rec.create(ws.records, Grants.Methods, methodId, { access_grant_id: grantId })),
        port(Rec.create(ws.records, Grants.Parents, parentId, link))
      ])
      const unrecord = Effect.all([
        Rec.modify(ws.records, Grants.Grants, grantId, (): Rec.Change<Grants.Grant, void> => ({ _tag: "Remove", result: undefined })),
        Rec.modify(ws.records, Grants.Methods, methodId, (): Rec.Change<{ readonly access_grant_id: string }, void> => ({ _tag: "Remove", result: undefined })),
        Rec.modify(ws.records, Grants.Parents, parentId, (): Rec.Change<typeof link, void> => ({ _tag: "Remove", result: undefined }))
      ])
      yield* records
      yield* exec(ws, {
        _tag: "CreateSyncCredential",
        userIdentityId: s.id,
        credentialId: parentId,
        acsUserId: acsUser.acsUserId,
        managerId: plan.manager.id,
        cardFormat: plan.card.cardFormat,
        facilityCode: plan.card.facilityCode,
        startsAt: iso(plan.startsAt),
        ...(plan.endsAt === null ? {} : { endsAt: iso(plan.endsAt) })
      }).pipe(Effect.tapError(() => Effect.ignore(unrecord)))
      // the phone app's login for the mobile key
      yield* ClientSessions.ensureFor(ws, s.id)
      yield* ws.publish(grantEvent(ws, g, "access_grant.created", "An access grant was created.", plan.now))
      return g
    })
    return yield* written.pipe(Effect.tapError(() => Effect.ignore(releaseKey)))
  })

/** Give back a key claim (only the grant's own). */
const dropKey = (ws: Workspace, key: string, grantId: string) =>
  Rec.modify(ws.records, Grants.Keys, key, (current): Rec.Change<{ readonly access_grant_id: string }, void> =>
    current?.value.access_grant_id === grantId ? { _tag: "Remove", result: undefined } : { _tag: "Keep", result: undefined }
  )

const respond = (ws: Workspace, g: Grants.Grant) => Effect.map(ClientSessions.liveTokens(ws), (token) => ({ access_grant: grantResource(ws, g, token(g.user_identity_id)) }))

const keyOf = (g: Grants.Grant) => `${iso(g.created_at)}|${g.access_grant_id}`

/** The access grant routes. */
export const routes: Record<string, Route> = {
  "/access_grants/create": route("write", CreateBody, ({ ws }, input) =>
    ws.exclusive(Effect.flatMap(create(ws, input), (g) => respond(ws, g)))
  ),
  "/access_grants/get": route("read", Schema.Struct({ access_grant_id: opt(Id), access_grant_key: opt(Schema.NonEmptyString) }), ({ ws }, input) =>
    Effect.flatMap(liveGrant(ws, input), (g) => respond(ws, g))
  ),
  "/access_grants/list": route(
    "read",
    Schema.Struct({
      access_grant_ids: opt(Schema.Array(Id)),
      user_identity_id: opt(Id),
      acs_system_id: opt(Id),
      acs_entrance_id: opt(Id),
      access_grant_key: opt(Schema.NullOr(Schema.String)),
      reservation_key: opt(Schema.String),
      device_id: opt(Id),
      space_id: opt(Id),
      location_id: opt(Id),
      access_code_id: opt(Id),
      customer_key: opt(Schema.String),
      limit: Limit,
      page_cursor: opt(Schema.NullOr(Schema.String))
    }),
    (ctx, input) =>
      Effect.gen(function* () {
        const { ws } = ctx
        const token = yield* ClientSessions.liveTokens(ws)
        const items = (yield* liveGrants(ws))
          .filter((g) => input.access_grant_ids === undefined || input.access_grant_ids.includes(g.access_grant_id))
          .filter((g) => input.user_identity_id === undefined || g.user_identity_id === input.user_identity_id)
          .filter((g) => input.acs_system_id === undefined || g.parents[input.acs_system_id] !== undefined)
          .filter((g) => input.acs_entrance_id === undefined || g.acs_entrance_ids.includes(input.acs_entrance_id))
          .filter((g) => input.access_grant_key === undefined || (g.access_grant_key ?? null) === input.access_grant_key)
          .filter((g) => input.reservation_key === undefined || g.reservation_key === input.reservation_key)
          // grants hold no devices, spaces or access codes here
          .filter(() => input.device_id === undefined && input.space_id === undefined && input.location_id === undefined && input.access_code_id === undefined)
        const p = yield* page(ctx, items, keyOf, input)
        return { access_grants: p.items.map((g) => grantResource(ws, g, token(g.user_identity_id))), pagination: p.pagination }
      })
  ),
  "/access_grants/update": route(
    "write",
    Schema.Struct({
      access_grant_id: opt(Id),
      access_grant_key: opt(Schema.NonEmptyString),
      name: opt(Schema.NullOr(Schema.String)),
      starts_at: opt(IsoDate),
      ends_at: opt(Schema.NullOr(IsoDate))
    }),
    ({ ws }, input) =>
      ws.exclusive(
        Effect.gen(function* () {
          const g = yield* liveGrant(ws, input)
          // every check before the first write
          const startsAt = input.starts_at === undefined ? g.starts_at : Date.parse(input.starts_at)
          const endsAt = input.ends_at === undefined ? g.ends_at : input.ends_at === null ? null : Date.parse(input.ends_at)
          const now = yield* Clock.currentTimeMillis
          if (endsAt !== null && endsAt <= startsAt) return yield* Effect.fail(invalidField("ends_at", "ends_at must be after starts_at"))
          if (input.ends_at !== undefined && endsAt !== null && endsAt <= now) {
            return yield* Effect.fail(invalidField("ends_at", "ends_at must be in the future"))
          }
          const timesChanged = startsAt !== g.starts_at || endsAt !== g.ends_at
          // the credentials first: a store failure after them leaves the grant's record behind, and
          // repeating the update completes it (the engine takes times it already has as a no-op)
          if (timesChanged) {
            const s = yield* port(ws.identity(g.user_identity_id))
            for (const id of Object.values(g.parents)) {
              const p = s === undefined ? undefined : Identity.parent(s, id)
              if (s === undefined || p === undefined || p.deleting) continue
              yield* exec(ws, {
                _tag: "UpdateSyncCredential",
                userIdentityId: s.id,
                credentialId: id,
                startsAt: iso(startsAt),
                endsAt: endsAt === null ? null : iso(endsAt)
              })
            }
          }
          const updated = yield* port(
            Rec.modify(ws.records, Grants.Grants, g.access_grant_id, (current): Rec.Change<Grants.Grant, Grants.Grant | undefined> => {
              if (current === undefined || current.value.deleted_at !== undefined) return { _tag: "Keep", result: undefined }
              const value = { ...current.value, name: input.name === undefined ? current.value.name : input.name, starts_at: startsAt, ends_at: endsAt }
              return { _tag: "Put", value, result: value }
            })
          )
          if (updated === undefined) return yield* Effect.fail(notFound("access_grant"))
          if (timesChanged) {
            yield* ws.publish({
              ...grantEvent(ws, updated, "access_grant.access_times_changed", "An access grant's start or end time was changed.", now),
              starts_at: iso(startsAt),
              ...(endsAt === null ? {} : { ends_at: iso(endsAt) })
            })
          }
          return {}
        })
      )
  ),
  "/access_grants/delete": route("delete", Schema.Struct({ access_grant_id: Id }), ({ ws }, input) =>
    ws.exclusive(
      Effect.gen(function* () {
        const g = yield* liveGrant(ws, input)
        // the parents first: a delete that fails leaves the grant to be deleted again
        yield* deleteParents(ws, g)
        const now = yield* Clock.currentTimeMillis
        const deleted = yield* port(
          Rec.modify(ws.records, Grants.Grants, g.access_grant_id, (current): Rec.Change<Grants.Grant, boolean> =>
            current === undefined || current.value.deleted_at !== undefined
              ? { _tag: "Keep", result: false }
              : { _tag: "Put", value: { ...current.value, deleted_at: now }, result: true }
          )
        )
        if (!deleted) return yield* Effect.fail(notFound("access_grant"))
        if (g.access_grant_key !== undefined) yield* port(dropKey(ws, g.access_grant_key, g.access_grant_id))
        yield* ws.publish(grantEvent(ws, g, "access_grant.deleted", "An access grant was deleted.", now))
        return {}
      })
    )
  )
}
