/**
 * The engine runtime: executes planned actions through the ports, one identity at a time and many
 * identities in parallel, persisting intents before it acts.
 *
 * It logs, traces (a span per reconcile and per provider call) and measures (`credsync_*` metrics)
 * in the Effect context it runs in: see `Observability` for the levels, the metrics and how to set
 * that context up. `health`, `stuck` and the durable `events` feed are for operators and hosts.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Schedule, Schema, type Stream } from "effect"
import type { AccessControl } from "./AccessControl.js"
import type { Command, CommandRejected } from "./Command.js"
import type { CredentialManager } from "./CredentialManager.js"
import type { DomainEvent } from "./Event.js"
import type { IdentityState, Notice } from "./Identity.js"
import { CredentialId, PhoneId, UserIdentityId } from "./Ids.js"
import * as internal from "./internal/engine.js"
import { type PortError, Reason } from "./PortError.js"
import type { plan } from "./Plan.js"
import type { Store } from "./Store.js"

/** Tuning; every field has a default. */
export interface Config {
  /** Identities reconciled at once. Default 16. */
  readonly concurrency?: number
  /** Port calls in flight at once for one identity. Default 4. */
  readonly actionConcurrency?: number
  /** In-call retries of `Transient` failures. Default: exponential from 100 ms, jittered, capped at 5 s, 3 retries. */
  readonly retry?: Schedule.Schedule<unknown, PortError>
  /** Back-off before an identity whose work failed is reconciled again: base, doubled per failure, capped. */
  readonly backoff?: { readonly base: Duration.Input; readonly cap: Duration.Input }
  /** Every identity is reconciled at least this often (level-based resync). Default 5 minutes. */
  readonly resyncEvery?: Duration.Input
  /** Observe → plan → act rounds per reconcile before yielding. Default 8. */
  readonly maxRounds?: number
  readonly maxIssueAttempts?: number
  readonly maxEnrollmentAttempts?: number
  readonly enrollmentRetry?: Duration.Input
  /** How soon to look again at a credential the manager is still issuing. Default 1 s. */
  readonly poll?: Duration.Input
  /** Replicating managers: how long a phone may lack its copy of a parent before it is reported. Default 60 s. */
  readonly replicationBound?: Duration.Input
  /** This engine's name among the replicas sharing a store (the owner of its leases). Unique per
   *  process start: a process restarted under an old name would take back the leases it held when it
   *  died without waiting out the calls it had in flight. Default: a random UUID. */
  readonly replica?: string
  /** How long a lease on an identity lasts without renewal; the holder renews it every third of
   *  this while it works. A replica that dies is replaced after this much. Default 15 s. */
  readonly leaseTtl?: Duration.Input
  /** Longest a provider call may take: a call gets no answer after this is `Ambiguous` (settled by
   *  observing), and no call starts unless the lease holds at least this much longer, so every call
   *  ends while its replica still holds the lease. Must be below `leaseTtl`. Default 5 s. */
  readonly callTimeout?: Duration.Input
  /** Failed reconciles in a row after which an identity is reported stuck (its resources show it,
   *  `stuck()` lists it, it is logged); it is still retried with capped back-off. Default 5. */
  readonly stuckAfter?: number
  /** The planner. Only tests replace it (e.g. with a deliberately broken one, to show the property
   *  tests catch it). Default `Plan.plan`. */
  readonly planner?: typeof plan
}

/** In-call retries of `Transient` failures: exponential from 100 ms, jittered, capped at 5 s, 3 retries. */
export const defaultRetry: Schedule.Schedule<unknown, PortError> = Schedule.max([
  Schedule.exponential("100 millis").pipe(
    Schedule.jittered,
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(5))))
  ),
  Schedule.recurs(3)
])

/** Raised when an observation from a provider cannot be decoded or routed. Nothing changes. */
export class InvalidObservation extends Schema.TaggedError<InvalidObservation>()("InvalidObservation", {
  message: Schema.String,
  field: Schema.optional(Schema.String)
}) {}

/**
 * The store refused an identity's save for a reason other than a version race (a race is retried
 * at once): typically `InvalidInput` because a lookup key of the new state (`key`, e.g. a card
 * number `card:<acs>:<number>`) is held by another identity (`heldBy`). Saving again cannot succeed
 * until that changes, so the engine makes no further provider call for the identity in that
 * reconcile, logs the refusal, marks the identity stuck (shown on `credentialId` / `phoneId`, the
 * resource concerned, when known) and retries with capped back-off. Nothing was saved.
 *
 * @since 0.2.0
 */
export class SaveRejected extends Schema.TaggedError<SaveRejected>()("SaveRejected", {
  identity: UserIdentityId,
  reason: Reason,
  key: Schema.optional(Schema.String),
  heldBy: Schema.optional(UserIdentityId),
  credentialId: Schema.optional(CredentialId),
  phoneId: Schema.optional(PhoneId),
  message: Schema.String
}) {}

/**
 * An identity the engine cannot converge: `failures` reconciles in a row failed (at least
 * `Config.stuckAfter`), or the store refused its save. `cause` is the last cause (code
 * `reconcile_failing` or `save_rejected`), as shown in its resources' `errors`.
 *
 * @since 0.2.0
 */
export interface StuckIdentity {
  readonly id: UserIdentityId
  readonly since: number
  readonly failures: number
  readonly cause: Notice
  readonly credentialId?: CredentialId | undefined
  readonly phoneId?: PhoneId | undefined
}

/**
 * What `health` reports. `loop`: `running` (inside `run`, past its first resync), `starting` (`run`
 * is doing its first resync), `failed` (the last `run` failed: `error` says why), `stopped` (no
 * `run`). `store`: whether it answered a query within 2 s.
 *
 * @since 0.2.0
 */
export interface Health {
  readonly loop: "stopped" | "starting" | "running" | "failed"
  readonly error?: string | undefined
  readonly store: "reachable" | "unreachable"
  readonly storeError?: string | undefined
  /** How many identities are stuck (see `stuck`). */
  readonly stuck: number
}

/**
 * A position in the event feed. Opaque: store it and pass it back; never build one.
 *
 * @since 0.2.0
 */
export const Cursor = Schema.String.check(Schema.isPattern(/^e[0-9a-z]+$/, { message: "Expected a cursor returned by events()" })).pipe(
  Schema.brand("EventCursor")
)
/** @since 0.2.0 */
export type Cursor = typeof Cursor.Type

/** One event of the feed and the cursor just after it. @since 0.2.0 */
export interface FeedEvent {
  readonly cursor: Cursor
  readonly event: DomainEvent
}

/** A page of the event feed. @since 0.2.0 */
export interface EventPage {
  /** In commit order (events of one identity in their order), at most `limit`. */
  readonly events: ReadonlyArray<FeedEvent>
  /** Where to continue: the last event's cursor, or the `after` given when the page is empty. */
  readonly next: Cursor
  /** Events between `after` and this page are no longer held by the store (it keeps a bounded log):
   *  a consumer away longer than the store's retention lost them. */
  readonly missed: boolean
}

/** What one reconcile did. */
export interface ReconcileResult {
  readonly rounds: number
  readonly actions: number
  /** When this identity should be looked at again without any new input. */
  readonly next: number | undefined
}

/**
 * The engine: commands, queries, provider observations, reconciles, and the domain event stream.
 *
 * @since 0.1.0
 */
export interface EngineShape {
  /** Decide a command, persist its events, queue a reconcile. Rejected (`CommandRejected`, nothing
   *  changes) when the identity's state does not allow it. Build the command with `Command.make`. */
  readonly execute: (command: Command) => Effect.Effect<IdentityState, CommandRejected | PortError>
  /** The entry point for untyped input (an HTTP body, parsed JSON): decode it as a `Command`, then
   *  `execute` it. Input that does not decode is rejected with `CommandRejected` (`InvalidInput`,
   *  `field` naming the offending field when there is one: an unknown key, a missing or malformed
   *  field, a per-card value such as `cardNumber` on a sync credential) and changes nothing. */
  readonly executeUnknown: (input: unknown) => Effect.Effect<IdentityState, CommandRejected | PortError>
  readonly get: (id: UserIdentityId) => Effect.Effect<IdentityState, CommandRejected | PortError>
  /** Resolve a lookup key: `phone:<id>`, `credential:<id>`, `key:<user_identity_key>`,
   *  `acs-user:<id>`, `automation:<id>`, `manager-user:<manager>:<ref>`,
   *  `manager-credential:<manager>:<ref>` (a credential's id at the manager), `card:<acs>:<number>`. */
  readonly lookup: (key: string) => Effect.Effect<UserIdentityId | undefined, PortError>
  /** Take a provider observation (callback/webhook): decode, route, queue a reconcile of its identity. */
  readonly ingest: (observation: unknown) => Effect.Effect<UserIdentityId, InvalidObservation | PortError>
  /** One level-based reconcile of one identity now (observe → plan → act, repeated until quiet),
   *  under its lease; does nothing (0 rounds) while another replica holds that lease. Fails with
   *  `SaveRejected` when the store refuses the identity's state (after logging it and marking the
   *  identity stuck; it is retried with back-off). */
  readonly reconcile: (id: UserIdentityId) => Effect.Effect<ReconcileResult, PortError | SaveRejected>
  /** Reconcile every identity that is due now and not leased by another replica, in parallel up to
   *  the bound. Returns how many ran. One identity's trouble (a refused save, failing providers) is
   *  logged, shown on it and retried later; only a store failure fails `drain`. */
  readonly drain: Effect.Effect<number, PortError>
  /** Queue every identity for a reconcile now. */
  readonly resyncAll: Effect.Effect<number, PortError>
  /** The earliest time this engine could work an identity (due, and not leased by another replica), if any. */
  readonly nextDue: Effect.Effect<number | undefined, PortError>
  /** Run forever: resync everyone once (a restart loses nothing), then drain due work, sleep until
   *  the next due time or new work, and resync periodically. Fails only when the store fails
   *  (logged at `Error`, counted, and shown by `health` until the next `run`); restart it then. */
  readonly run: Effect.Effect<never, PortError>
  /** Domain events as they are committed (live only: see `events` for the durable feed). */
  readonly live: Stream.Stream<DomainEvent>
  /**
   * The durable event feed: committed domain events after `after` (from the start when omitted),
   * read from the store's log, at most `limit` (default 100, at most 1,000). Events come in commit
   * order, so one identity's events come in the order they happened.
   *
   * Delivery is at-least-once: persist the page's `next` cursor after handling its events and
   * resume from it; after a crash between the two, the same events come again (dedupe by cursor if
   * that matters). Nothing committed is skipped while the store still holds it (`missed` says when
   * it no longer does). A malformed cursor or limit is rejected (`CommandRejected`, `InvalidInput`).
   */
  readonly events: (options?: {
    readonly after?: string | undefined
    readonly limit?: number | undefined
  }) => Effect.Effect<EventPage, CommandRejected | PortError>
  /** Identities this engine currently sees as stuck, oldest first. After a restart they reappear as
   *  the loop's first resync reconciles them (their state records it). */
  readonly stuck: Effect.Effect<ReadonlyArray<StuckIdentity>>
  /** Loop and store health, for readiness checks (probes the store). */
  readonly health: Effect.Effect<Health>
}

/**
 * Service tag of the engine (provided by `Engine.layer`).
 *
 * @since 0.1.0
 */
export class Engine extends Context.Service<Engine, EngineShape>()("@credsync/core/Engine") {}

/** Build an engine over the provided ports. Its in-memory parts (locks, event hub) live as long as
 *  the returned value; everything durable is in the Store. */
export const make = (config: Config = {}): Effect.Effect<EngineShape, never, CredentialManager | AccessControl | Store> =>
  internal.make(config)

/** The engine over whatever CredentialManager, AccessControl and Store are provided. */
export const layer = (config: Config = {}): Layer.Layer<Engine, never, CredentialManager | AccessControl | Store> =>
  Layer.effect(Engine, make(config))

