/**
 * Port: durable state. One row per identity with a version for optimistic concurrency; events
 * appended in the same write; a due-queue of identities to reconcile; unique lookup keys
 * (phone id → identity, user_identity_key → identity, ...).
 *
 * Contract (checked by @credsync/testkit's Store suite):
 * - `save` with `expected` ≠ the stored version fails with reason `Conflict` and writes nothing.
 * - `save` is atomic: state, events and keys change together or not at all.
 * - a key held by another identity fails the save with `Conflict`.
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Option } from "effect"
import type { DomainEvent } from "./Event.js"
import type { IdentityState } from "./Identity.js"
import type { UserIdentityId } from "./Ids.js"
import type { PortError } from "./PortError.js"

export interface Stored {
  readonly state: IdentityState
  /** 0 = never saved. */
  readonly version: number
}

export interface StoredEvent {
  /** Monotonic over the whole store, from 1. */
  readonly seq: number
  readonly event: DomainEvent
}

export interface SaveRequest {
  readonly id: UserIdentityId
  readonly expected: number
  readonly state: IdentityState
  readonly events: ReadonlyArray<DomainEvent>
  /** The identity's lookup keys after this save; replaces the previous set. */
  readonly keys: ReadonlyArray<string>
  /** Also `schedule(id, due)`, in the same write. */
  readonly due?: number | undefined
}

/** @since 0.1.0 */
export interface StoreShape {
  readonly load: (id: UserIdentityId) => Effect.Effect<Option.Option<Stored>, PortError>
  /** Returns the new version. */
  readonly save: (request: SaveRequest) => Effect.Effect<number, PortError>
  readonly lookup: (key: string) => Effect.Effect<Option.Option<UserIdentityId>, PortError>
  /** Identity ids in id order, after `after`. */
  readonly list: (options: {
    readonly after?: UserIdentityId | undefined
    readonly limit: number
  }) => Effect.Effect<ReadonlyArray<UserIdentityId>, PortError>
  /** Ask for a reconcile of `id` at `at` (epoch ms); an earlier request wins. */
  readonly schedule: (id: UserIdentityId, at: number) => Effect.Effect<void, PortError>
  /** Take up to `limit` identities due at `now`, removing them from the queue. */
  readonly takeDue: (now: number, limit: number) => Effect.Effect<ReadonlyArray<UserIdentityId>, PortError>
  /** The earliest scheduled time, if any. */
  readonly nextDue: Effect.Effect<Option.Option<number>, PortError>
  readonly events: (options: {
    readonly after: number
    readonly limit: number
  }) => Effect.Effect<ReadonlyArray<StoredEvent>, PortError>
}

/** @since 0.1.0 */
export class Store extends Context.Service<Store, StoreShape>()("@credsync/core/Store") {}
