/**
 * Schemas for the rows the driver hands back (`unknown` until decoded). `json` columns arrive
 * parsed; `bigint` columns arrive as `bigint`.
 *
 * @internal
 */
import { Event, Identity, Ids } from "@credsync/core"
import { Schema } from "effect"

/** `identities` row as selected by `load`. @internal */
export const StateRow = Schema.Struct({ version: Schema.Int, state: Identity.IdentityState })

/** `events` row. @internal */
export const EventRow = Schema.Struct({ seq: Schema.BigInt, body: Event.DomainEvent })

/** An identity id column. @internal */
export const IdRow = Schema.Struct({ id: Ids.UserIdentityId })

/** A leased identity. @internal */
export const ClaimedRow = Schema.Struct({ id: Ids.UserIdentityId, hold_until: Schema.Number })

/** A single version column (`save`, `put`). @internal */
export const VersionRow = Schema.Struct({ version: Schema.Int })

/** A nullable time (`nextDue`). @internal */
export const NextRow = Schema.Struct({ next: Schema.NullOr(Schema.Number) })

/** A `records` row; the value is any JSON. @internal */
export const RecordRow = Schema.Struct({ key: Schema.String, version: Schema.Int, value: Schema.Unknown })

/** The applied schema version (`migrations`). @internal */
export const SchemaVersionRow = Schema.Struct({ version: Schema.NullOr(Schema.Int), tables: Schema.BigInt, bookkeeping: Schema.NullOr(Schema.String) })
