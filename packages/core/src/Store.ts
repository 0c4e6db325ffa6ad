/**
 * Port: durable state. One row per identity with a version for optimistic concurrency; events
 * appended in the same write; a due-queue of identities to reconcile; unique lookup keys
 * (phone id → identity, user_identity_key → identity, ...); and per-identity leases, so that
 * several engine processes (replicas) sharing one store never work the same identity at once.
 *
 * Contract (checked by @credsync/testkit's Store suite):
 * - `save` with `expected` ≠ the stored version fails with reason `Conflict` and writes nothing.
 * - `save` is atomic: state, events, keys and due time change together or not at all.
 * - a key held by another identity fails the save with reason `InvalidInput` (not a race: saving
 *   again cannot succeed) and a message naming the key; nothing is written.
 * - `save` with an `owner` also fails with `Conflict` unless that owner holds the identity's lease.
 * - a lease is held by at most one owner at a time: `claim` and `acquire` skip identities whose
 *   lease another owner holds and has not let expire; an expired lease may be taken over.
 *
 * Times are epoch milliseconds from the engine's clock. Replicas sharing a store are assumed to
 * have clocks that agree to well within a lease's `grace` (NTP).
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Option, type Stream } from "effect"
import type { DomainEvent } from "./Event.js"
import type { IdentityState } from "./Identity.js"
import type { UserIdentityId } from "./Ids.js"
import type { PortError } from "./PortError.js"

/** An identity's state as stored, with its version. */
export interface Stored {
  readonly state: IdentityState
  /** 0 = never saved. */
  readonly version: number
}

/** A committed domain event with its store-wide sequence number. */
export interface StoredEvent {
  /** Monotonic over the whole store, from 1. */
  readonly seq: number
  readonly event: DomainEvent
}

/** One atomic save: new state, its events, its lookup keys and (optionally) its next due time. */
export interface SaveRequest {
  readonly id: UserIdentityId
  readonly expected: number
  readonly state: IdentityState
  readonly events: ReadonlyArray<DomainEvent>
  /** The identity's lookup keys after this save; replaces the previous set. */
  readonly keys: ReadonlyArray<string>
  /** Also `schedule(id, due)`, in the same write. */
  readonly due?: number | undefined
  /** Fence: when set, the save fails with `Conflict` unless this owner holds the identity's lease.
   *  Commands leave it out (they call no provider); reconciles set it. */
  readonly owner?: string | undefined
}

/**
 * A replica's terms for the leases it takes.
 *
 * @since 0.2.0
 */
export interface Lease {
  /** The replica: one id per engine process. */
  readonly owner: string
  /** How long a claim, acquisition or renewal holds (ms). */
  readonly ttl: number
  /** How long after an expired (not released) lease its holder's calls may still land at a
   *  provider (ms): taking over such a lease sets `holdUntil` to its expiry plus this. */
  readonly grace: number
}

/**
 * An identity leased to the caller.
 *
 * @since 0.2.0
 */
export interface Claimed {
  readonly id: UserIdentityId
  /** Until this time, calls of an earlier holder that died or stalled may still land at a provider,
   *  so an intent it recorded must not be judged lost before then. 0 when no such holder exists. */
  readonly holdUntil: number
}

/**
 * What the engine needs from durable storage (see the contract above).
 *
 * @since 0.1.0
 */
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
  /** Take up to `limit` identities due at `now` whose lease nobody else holds (earliest due first),
   *  removing them from the queue and leasing them to `lease.owner` until `now + lease.ttl`. */
  readonly claim: (lease: Lease, now: number, limit: number) => Effect.Effect<ReadonlyArray<Claimed>, PortError>
  /** Lease one stored identity now, due or not (its queue entry stays). None when another owner
   *  holds its lease, or when it does not exist. */
  readonly acquire: (lease: Lease, now: number, id: UserIdentityId) => Effect.Effect<Option.Option<Claimed>, PortError>
  /** Extend the owner's leases on `ids` to `now + lease.ttl`; returns the ids it still held. */
  readonly renew: (
    lease: Lease,
    now: number,
    ids: ReadonlyArray<UserIdentityId>
  ) => Effect.Effect<ReadonlyArray<UserIdentityId>, PortError>
  /** Give up the owner's lease on `id` (nothing when it does not hold it), and also
   *  `schedule(id, due)` in the same write when `due` is given. */
  readonly release: (owner: string, id: UserIdentityId, due?: number | undefined) => Effect.Effect<void, PortError>
  /** The earliest time an identity becomes claimable by `owner`: its due time, or, when another
   *  owner holds its lease, the later of that and the lease's expiry. None when nothing is queued. */
  readonly nextDue: (owner: string, now: number) => Effect.Effect<Option.Option<number>, PortError>
  /** A hint, from any process sharing the store, that work may be waiting (an identity was queued
   *  or a lease released). Carries no data: the receiver claims again. A store used by one process
   *  only may never emit. */
  readonly signals: Stream.Stream<void>
  /** Optional, for the `credsync_queue_depth` metric: how many identities are due at `now`
   *  (waiting to be claimed). A store that cannot count cheaply leaves it out (no gauge then). */
  readonly queueDepth?: ((now: number) => Effect.Effect<number, PortError>) | undefined
  /** Committed events with `seq > after`, in `seq` (commit) order, at most `limit`. A store may
   *  keep a bounded log: older events are gone. */
  readonly events: (options: {
    readonly after: number
    readonly limit: number
  }) => Effect.Effect<ReadonlyArray<StoredEvent>, PortError>
}

/**
 * Service tag of the `Store` port.
 *
 * @since 0.1.0
 */
export class Store extends Context.Service<Store, StoreShape>()("@credsync/core/Store") {}
