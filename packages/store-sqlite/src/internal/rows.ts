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
