/**
 * `/acs/credentials/create|get|list|update|delete|assign|unassign`: Seam's `acs_credential` resource as
 * multi-phone sync credentials: a parent per (user identity, ACS user, credential manager, card
 * profile), and the phone credentials (children) the engine issues for it, one per phone.
 *
 * Deviations (README): only multi-phone sync credentials are created (`mobile_key`, `facility_code`
 * required, `card_format` defaulting to `rfid48`, `card_number`/`code` refused); children carry
 * `device_id` and cannot be deleted alone; a parent stays with its ACS user (`assign` to it is a
 * no-op, anything else and `unassign` are 400); `update` changes a parent's `ends_at` only (not a
 * child's, nor an Access Grant's parent); credential pools are not served.
 *
 * @internal
 */
import { Identity } from "@credsync/core"
import { Effect, Option, Schema } from "effect"
import * as AccessGrants from "../internal/accessGrants.js"
import * as Rec from "../internal/records.js"
import { acsUserOf, ownerOfAcsUser } from "../internal/acsUserLinks.js"
import { newId } from "../internal/ids.js"
import {
  beforeFilter,
  Cursor,
  exec,
  findIn,
  Id,
  IsoDate,
  identityOf,
  keyBy,
  Limit,
  opt,
  orNotFound,
  page,
  port,
  type Route,
  route
} from "../internal/route.js"
import * as Resources from "../Resources.js"
import { invalidField, notFound } from "../SeamError.js"
import type { AcsUserRecord } from "../Workspace.js"

/** Fields that differ per card: never part of a multi-phone sync credential. */
const perCard = ["card_number", "code"] as const

/** The `/acs/credentials/*` routes, by path. */
export const routes: Record<string, Route> = {
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
        const p = yield* orNotFound("acs_credential")(Identity.parent(s, credentialId))
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
  "/acs/credentials/update": route(
    "write",
    Schema.Struct({ acs_credential_id: Id, ends_at: opt(IsoDate), code: opt(Schema.Unknown) }),
    ({ ws }, input) =>
      ws.exclusive(
        Effect.gen(function* () {
          if (input.code !== undefined) {
            return yield* Effect.fail(
              invalidField("code", "code is a per-card value: a multi-phone sync credential holds only shared card details; the credential manager allocates it for each phone")
            )
          }
          const s = yield* findIn(ws, `credential:${input.acs_credential_id}`, "acs_credential")
          const parent = Identity.parent(s, input.acs_credential_id)
          if (parent === undefined) {
            if (Identity.child(s, input.acs_credential_id) === undefined) return yield* Effect.fail(notFound("acs_credential"))
            return yield* Effect.fail(
              invalidField("acs_credential_id", "This is a phone credential of a multi-phone sync credential: it has its parent's times; update the parent")
            )
          }
          // a grant's parent has the grant's times (the grant record keeps its own)
          const grant = Option.getOrUndefined(yield* port(Rec.get(ws.records, AccessGrants.Parents, parent.id)))
          if (grant !== undefined) {
            return yield* Effect.fail(
              invalidField("acs_credential_id", `This credential belongs to access grant ${grant.value.access_grant_id}: its times are the grant's`)
            )
          }
          const startsAt = parent.card.startsAt
          if (input.ends_at !== undefined && startsAt !== undefined && Date.parse(input.ends_at) <= Date.parse(startsAt)) {
            return yield* Effect.fail(invalidField("ends_at", "ends_at must be after starts_at"))
          }
          const after = yield* exec(ws, {
            _tag: "UpdateSyncCredential",
            userIdentityId: s.id,
            credentialId: parent.id,
            ...(input.ends_at === undefined ? {} : { endsAt: input.ends_at })
          })
          const p = yield* orNotFound("acs_credential")(Identity.parent(after, parent.id))
          return { acs_credential: Resources.parentCredential(ws, after, p) }
        })
      )
  ),
  "/acs/credentials/delete": route("delete", Schema.Struct({ acs_credential_id: Id }), ({ ws }, input) =>
    Effect.gen(function* () {
      const s = yield* findIn(ws, `credential:${input.acs_credential_id}`, "acs_credential")
      const parent = Identity.parent(s, input.acs_credential_id)
      if (parent === undefined) {
        const child = Identity.child(s, input.acs_credential_id)
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
