/**
 * The engine runtime: executes planned actions through the ports, one identity at a time and many
 * identities in parallel, persisting intents before it acts.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Schedule, Schema, type Stream } from "effect"
import type { AccessControl } from "./AccessControl.js"
import type { CommandRejected } from "./Command.js"
import type { CredentialManager } from "./CredentialManager.js"
import type { DomainEvent } from "./Event.js"
import type { IdentityState } from "./Identity.js"
import type { UserIdentityId } from "./Ids.js"
import * as internal from "./internal/engine.js"
import type { PortError } from "./PortError.js"
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
   *  process. Default: a random UUID. */
  readonly replica?: string
  /** How long a lease on an identity lasts without renewal; the holder renews it every third of
   *  this while it works. A replica that dies is replaced after this much. Default 15 s. */
  readonly leaseTtl?: Duration.Input
  /** Longest a provider call may take: a call gets no answer after this is `Ambiguous` (settled by
   *  observing), and no call starts unless the lease holds at least this much longer, so every call
   *  ends while its replica still holds the lease. Must be below `leaseTtl`. Default 5 s. */
  readonly callTimeout?: Duration.Input
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
  /** Decide a command (decoded from unknown input), persist its events, queue a reconcile. */
  readonly execute: (command: unknown) => Effect.Effect<IdentityState, CommandRejected | PortError>
  readonly get: (id: UserIdentityId) => Effect.Effect<IdentityState, CommandRejected | PortError>
  /** Resolve a lookup key: `phone:<id>`, `credential:<id>`, `key:<user_identity_key>`,
   *  `acs-user:<id>`, `automation:<id>`, `manager-user:<manager>:<ref>`,
   *  `manager-credential:<manager>:<ref>` (a credential's id at the manager), `card:<acs>:<number>`. */
  readonly lookup: (key: string) => Effect.Effect<UserIdentityId | undefined, PortError>
  /** Take a provider observation (callback/webhook): decode, route, queue a reconcile of its identity. */
  readonly ingest: (observation: unknown) => Effect.Effect<UserIdentityId, InvalidObservation | PortError>
  /** One level-based reconcile of one identity now (observe → plan → act, repeated until quiet),
   *  under its lease; does nothing (0 rounds) while another replica holds that lease. */
  readonly reconcile: (id: UserIdentityId) => Effect.Effect<ReconcileResult, PortError>
  /** Reconcile every identity that is due now and not leased by another replica, in parallel up to
   *  the bound. Returns how many ran. */
  readonly drain: Effect.Effect<number, PortError>
  /** Queue every identity for a reconcile now. */
  readonly resyncAll: Effect.Effect<number, PortError>
  /** The earliest time this engine could work an identity (due, and not leased by another replica), if any. */
  readonly nextDue: Effect.Effect<number | undefined, PortError>
  /** Run forever: resync everyone once (a restart loses nothing), then drain due work, sleep until
   *  the next due time or new work, and resync periodically. */
  readonly run: Effect.Effect<never, PortError>
  /** Domain events as they are committed. */
  readonly events: Stream.Stream<DomainEvent>
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

