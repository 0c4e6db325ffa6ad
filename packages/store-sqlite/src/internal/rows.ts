/**
 * Schemas for the rows better-sqlite3 hands back (`unknown` until decoded) and for the JSON
 * columns written by the store.
 *
 * @internal
 */
import { Event, Identity, Ids } from "@credsync/core"
import { Schema } from "effect"

/** `identities` row as selected by `load`. @internal */
export const StateRow = Schema.Struct({
  version: Schema.Int,
  state: Schema.fromJsonString(Identity.IdentityState)
})

/** `events` row as selected by `events`. @internal */
export const EventRow = Schema.Struct({
  seq: Schema.Int,
  body: Schema.fromJsonString(Event.DomainEvent)
})

/** @internal */
export const StateJson = Schema.fromJsonString(Identity.IdentityState)
/** @internal */
export const EventJson = Schema.fromJsonString(Event.DomainEvent)

/** A single identity id column (plucked). @internal */
export const IdColumn = Ids.UserIdentityId
/** A list of plucked identity ids. @internal */
export const IdColumns = Schema.Array(Ids.UserIdentityId)
/** A nullable number column (`min(...)`, `max(...)`). @internal */
export const NullableNumber = Schema.NullOr(Schema.Number)
/** A pragma read as a single integer. @internal */
export const IntColumn = Schema.Int

/** A number column (`hold_until` returned by a lease upsert, …). @internal */
export const NumberColumn = Schema.Number

/** The file's identity, read in one statement so that it is one consistent snapshot. @internal */
export const FileHeader = Schema.Struct({
  application_id: Schema.Int,
  user_version: Schema.Int,
  tables: Schema.Int
})

/** A `holders` row: one open store of some process. @internal */
export const HolderRow = Schema.Struct({
  token: Schema.String,
  pid: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  host: Schema.String,
  machine: Schema.NullOr(Schema.String),
  started: Schema.NullOr(Schema.String),
  opened_at: Schema.Number,
  heartbeat: Schema.Number,
  stale_after: Schema.Number
})
/** A decoded `holders` row. @internal */
export type HolderRow = typeof HolderRow.Type

/** The holder rows of a file. @internal */
export const HolderRows = Schema.Array(HolderRow)

/** A due entry that `claim` may take: the identity, and whether it was ever saved (0 / 1). @internal */
export const ClaimRows = Schema.Array(Schema.Struct({ id: Ids.UserIdentityId, saved: Schema.Int }))

/** An identity's lease as `acquire` and the save fence see it. @internal */
export const LeaseRow = Schema.Struct({ owner: Schema.NullOr(Schema.String), expires: Schema.Number })

/** A `records` row. @internal */
export const RecordRow = Schema.Struct({
  key: Schema.String,
  version: Schema.Int,
  value: Schema.fromJsonString(Schema.Unknown)
})
/** The rows of a `records` listing. @internal */
export const RecordRows = Schema.Array(RecordRow)
