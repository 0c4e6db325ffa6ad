/**
 * The records behind Seam's Access Grants, and the `access_method.*` events derived from the
 * engine's credential events. A grant is API-side bookkeeping over what the engine already does:
 * the identity's enrolment with the credential manager (its automation) and one multi-phone sync
 * credential (parent) per ACS of the grant's entrances; the grant's one `mobile_key` access method
 * stands for those parents.
 *
 * Records (in the workspace's store, so restarts and several instances see the same grants):
 * - `seam-access-grant/<access_grant_id>`: the grant; `deleted_at` once deleted (kept, so that its
 *   access method's revocations are still reported).
 * - `seam-access-method/<access_method_id>`: which grant an access method belongs to.
 * - `seam-access-grant-parent/<acs_credential_id>`: which grant and method a parent belongs to,
 *   written before the parent is created in the engine, so every event of the parent's children
 *   finds it: the derived events are the same whichever instance translates the feed (see
 *   `EventLog.Options.derive`).
 * - `seam-access-grant-key/<access_grant_key>`: the claim of a key (unique per workspace, also
 *   across instances: created with an expected version of 0), given back when the grant is deleted.
 *
 * @internal
 */
import type { PortError, Records, Store } from "@credsync/core"
import { Effect, Option, Schema } from "effect"
import * as SeamEvents from "../SeamEvents.js"
import { stableId } from "./ids.js"
import * as Rec from "./records.js"

/** One access grant as stored. Times are epoch milliseconds. */
export const GrantSchema = Schema.Struct({
  access_grant_id: Schema.String,
  access_grant_key: Schema.optional(Schema.String),
  reservation_key: Schema.optional(Schema.String),
  user_identity_id: Schema.String,
  name: Schema.NullOr(Schema.String),
  acs_entrance_ids: Schema.Array(Schema.String),
  /** The grant's `mobile_key` access method. */
  access_method_id: Schema.String,
  /** The access method was deleted (`/access_methods/delete`): its parents are being deleted. */
  access_method_deleted: Schema.Boolean,
  /** The requested method's display name, as given or the default. */
  method_display_name: Schema.String,
  /** ACS system id → the multi-phone sync credential (parent) this grant holds in that ACS. */
  parents: Schema.Record(Schema.String, Schema.String),
  starts_at: Schema.Number,
  ends_at: Schema.NullOr(Schema.Number),
  created_at: Schema.Number,
  deleted_at: Schema.optional(Schema.Number)
})
/** One access grant as stored. */
export type Grant = typeof GrantSchema.Type

/** Access grant records. */
export const Grants = Rec.kind("seam-access-grant", GrantSchema)
/** Access method → its grant. */
export const Methods = Rec.kind("seam-access-method", Schema.Struct({ access_grant_id: Schema.String }))
/** Parent credential → its grant and access method. */
export const Parents = Rec.kind(
  "seam-access-grant-parent",
  Schema.Struct({
    access_grant_id: Schema.String,
    access_method_id: Schema.String,
    user_identity_id: Schema.String,
    access_grant_key: Schema.optional(Schema.String)
  })
)
/** Access grant key → the grant holding it. */
export const Keys = Rec.kind("seam-access-grant-key", Schema.Struct({ access_grant_id: Schema.String }))

/** A grant by id (deleted ones included: callers decide). */
export const get = (records: Records.RecordsShape, id: string): Effect.Effect<Rec.Versioned<Grant> | undefined, PortError.PortError> =>
  Effect.map(Rec.get(records, Grants, id), Option.getOrUndefined)

/** Every grant record (deleted ones included). */
export const all = (records: Records.RecordsShape): Effect.Effect<ReadonlyArray<Grant>, PortError.PortError> =>
  Effect.map(Rec.all(records, Grants), (rows) => rows.map((r) => r.value))

/** The live grant holding a key, if any. */
export const byKey = (records: Records.RecordsShape, key: string): Effect.Effect<Grant | undefined, PortError.PortError> =>
  Effect.gen(function* () {
    const claim = Option.getOrUndefined(yield* Rec.get(records, Keys, key))
    if (claim === undefined) return undefined
    const grant = yield* get(records, claim.value.access_grant_id)
    return grant === undefined || grant.value.deleted_at !== undefined ? undefined : grant.value
  })

/** The grant of an access method, if any (deleted ones included). */
export const ofMethod = (records: Records.RecordsShape, methodId: string): Effect.Effect<Grant | undefined, PortError.PortError> =>
  Effect.gen(function* () {
    const link = Option.getOrUndefined(yield* Rec.get(records, Methods, methodId))
    if (link === undefined) return undefined
    return (yield* get(records, link.value.access_grant_id))?.value
  })

const methodEvent: Readonly<Record<string, readonly [string, string]>> = {
  "acs_credential.issued": ["access_method.issued", "The mobile key was issued to a phone."],
  "acs_credential.reissued": ["access_method.reissued", "The mobile key was reissued to a phone."],
  "acs_credential.deleted": ["access_method.revoked", "The mobile key was revoked from a phone."]
}

/**
 * The `access_method.*` events of a domain event about a child of a grant's parent: `issued`,
 * `reissued` and `revoked` from the child's `acs_credential.*` event, `failed_to_issue` from the
 * manager failing it for good. One event per child (per phone). Ids derive from the feed's `seq`.
 */
export const derive =
  (records: Records.RecordsShape, ctx: SeamEvents.Context) =>
  (
    stored: Store.StoredEvent,
    translated: ReadonlyArray<SeamEvents.SeamEvent>,
    parentId: string | undefined
  ): Effect.Effect<ReadonlyArray<SeamEvents.SeamEvent>, PortError.PortError> =>
    Effect.gen(function* () {
      if (parentId === undefined) return []
      const kind =
        stored.event._tag === "CredentialFailed"
          ? (["access_method.failed_to_issue", "The mobile key could not be issued to a phone."] as const)
          : translated
              .filter((t) => t.acs_credential_id !== parentId)
              .map((t) => methodEvent[t.event_type])
              .find((k) => k !== undefined)
      if (kind === undefined) return []
      const link = Option.getOrUndefined(yield* Rec.get(records, Parents, parentId))
      if (link === undefined) return []
      const [type, description] = kind
      const event: SeamEvents.SeamEvent = {
        ...SeamEvents.base(ctx, stableId(`${ctx.workspaceId}|event|${stored.seq}|access_method`), type, stored.event.at, description),
        access_method_id: link.value.access_method_id,
        access_grant_ids: [link.value.access_grant_id],
        ...(link.value.access_grant_key === undefined ? {} : { access_grant_keys: [link.value.access_grant_key] }),
        user_identity_id: link.value.user_identity_id,
        // the phone credential concerned (not a Seam field of these events: for filtering)
        ...("credentialId" in stored.event ? { acs_credential_id: stored.event.credentialId } : {})
      }
      return [event]
    })
