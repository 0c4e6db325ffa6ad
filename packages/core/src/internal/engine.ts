import {
  Cause,
  Clock,
  Context,
  Duration,
  Effect,
  Fiber,
  LogLevel,
  Metric,
  Option,
  PubSub,
  Queue,
  References,
  Result,
  Schema,
  Stream,
  Tracer
} from "effect"
import { AccessControl, type AcsEntry, managedLabel } from "../AccessControl.js"
import type { Action, ActionTag } from "../Action.js"
import { decide, decodeCommand, evolve, fold } from "../Aggregate.js"
import { CommandRejected } from "../Command.js"
import { CredentialManager, type ManagerView } from "../CredentialManager.js"
import {
  type Config,
  Cursor,
  defaultRetry,
  type EngineShape,
  type EventPage,
  type Health,
  InvalidObservation,
  type ReconcileResult,
  SaveRejected,
  type StuckIdentity
} from "../Engine.js"
import type { DomainEvent } from "../Event.js"
import * as Identity from "../Identity.js"
import { type IdentityState, lookupKeys, type Stuck } from "../Identity.js"
import { type AcsSystemId, type AcsUserId, type CredentialId, type PhoneId, randomUuid, type UserIdentityId } from "../Ids.js"
import { Observation } from "../Observation.js"
import { metrics as M } from "../Observability.js"
import { isRetryable, PortError } from "../PortError.js"
import { type Observed, plan } from "../Plan.js"
import { type Claimed, type Lease, Store } from "../Store.js"
import { type ActionOf, type Outcome, type Results, type Spec, settle, specs } from "./actions.js"
import { makeKeyedLock } from "./keyedLock.js"

const ms = (d: Duration.Input | undefined, fallback: number) => (d === undefined ? fallback : Duration.toMillis(Duration.fromInputUnsafe(d)))

/** `1.5 s`, `250 ms`: waits as people read them in a log line. */
const fmt = (millis: number) => (millis >= 1_000 ? `${Math.round(millis / 100) / 10} s` : `${Math.round(millis)} ms`)

/** A port failure in one line: `CredentialManager.issue RateLimited: too many requests`. */
const describe = (e: PortError) => `${e.port}.${e.method} ${e.reason}: ${oneLine(e.message)}`

/** Log lines and notices are one line each. */
const oneLine = (text: string) => text.replace(/\s*\n\s*/g, "; ")

type PortName = "CredentialManager" | "AccessControl"

/**
 * One log line, about one identity when given (as the `identity` annotation). The level is checked
 * before the message is built: the engine's Debug lines run per reconcile and must cost nothing
 * when Debug is off.
 */
const say = (
  level: LogLevel.Severity,
  identity: UserIdentityId | undefined,
  message: () => string,
  annotations: Readonly<Record<string, unknown>> = {}
): Effect.Effect<void> =>
  Effect.withFiber((fiber) =>
    LogLevel.isGreaterThan(fiber.getRef(References.MinimumLogLevel), level)
      ? Effect.void
      : Effect.logWithLevel(level)(message()).pipe(
          Effect.annotateLogs(identity === undefined ? annotations : { identity, ...annotations })
        )
  )

/** Which port and which system an action calls. */
const target = (a: Action): { readonly port: PortName; readonly system: AcsSystemId } =>
  "acsSystemId" in a ? { port: "AccessControl", system: a.acsSystemId } : { port: "CredentialManager", system: a.managerId }

/** The resource a lookup key belongs to in `state`, and how to name it in a message. Keys are
 *  rebuilt from the state and compared whole (ids may contain `:`). */
const resourceOf = (
  s: IdentityState,
  key: string
): { readonly credentialId?: CredentialId; readonly phoneId?: PhoneId; readonly what: string } => {
  for (const c of s.children) {
    const p = Identity.parent(s, c.parentId)
    if (p !== undefined && c.cardNumber !== undefined && key === `card:${p.acsSystemId}:${c.cardNumber}`) {
      return { credentialId: c.id, what: `card number ${c.cardNumber} (ACS ${p.acsSystemId})` }
    }
    if (c.ref !== undefined && key === `manager-credential:${c.managerId}:${c.ref}`) {
      return { credentialId: c.id, what: `credential ${c.ref} at manager ${c.managerId}` }
    }
    if (key === `credential:${c.id}`) return { credentialId: c.id, what: `credential id ${c.id}` }
  }
  for (const p of s.parents) {
    if (key === `credential:${p.id}` || (p.remote !== undefined && key === `manager-credential:${p.managerId}:${p.remote}`)) {
      return { credentialId: p.id, what: `credential id ${p.id}` }
    }
  }
  for (const p of s.phones) if (key === `phone:${p.id}`) return { phoneId: p.id, what: `phone ${p.id}` }
  return { what: `lookup key ${key}` }
}

/**
 * Lookup keys that facts learned from a provider add (a card number, a provider's id for a
 * credential, user or parent). Keys from commands were checked by the store when the command was
 * saved, and intents are saved before their calls, so these are the only keys a reconcile can
 * acquire without a save.
 */
const learnedKeys = (s: IdentityState, events: ReadonlyArray<DomainEvent>): ReadonlyArray<string> => {
  const keys: Array<string> = []
  for (const e of events) {
    if (e._tag === "CredentialIssued") {
      const c = Identity.child(s, e.credentialId)
      const p = c === undefined ? undefined : Identity.parent(s, c.parentId)
      if (c === undefined) continue
      keys.push(`manager-credential:${c.managerId}:${e.ref}`)
      if (p !== undefined && e.cardNumber !== undefined) keys.push(`card:${p.acsSystemId}:${e.cardNumber}`)
    } else if (e._tag === "ManagerUserBound") {
      keys.push(`manager-user:${e.managerId}:${e.ref}`)
    } else if (e._tag === "ParentBound") {
      const p = Identity.parent(s, e.credentialId)
      if (p !== undefined) keys.push(`manager-credential:${p.managerId}:${e.ref}`)
    }
  }
  return keys
}

/** The command field a lookup key comes from, for a rejected command. */
const fieldOfKey = (key: string): string | undefined =>
  key.startsWith("phone:")
    ? "phoneId"
    : key.startsWith("key:")
      ? "key"
      : key.startsWith("automation:")
        ? "automationId"
        : key.startsWith("acs-user:")
          ? "acsUserId"
          : key.startsWith("credential:")
            ? "credentialId"
            : undefined

// built on first use: Engine.ts (which defines Cursor) imports this module
let decodeFeedRequestCache:
  | ((input: unknown, options: { readonly errors: "all"; readonly onExcessProperty: "error" }) => Result.Result<{ readonly after?: Cursor | undefined; readonly limit?: number | undefined }, Schema.SchemaError>)
  | undefined
const decodeFeedRequest = (input: unknown) => {
  decodeFeedRequestCache ??= Schema.decodeUnknownResult(
    Schema.Struct({
      after: Schema.optional(Cursor),
      limit: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000 })))
    })
  )
  return decodeFeedRequestCache(input, { errors: "all", onExcessProperty: "error" })
}
const cursorOf = (seq: number): Cursor => Cursor.make(`e${seq.toString(36)}`)
const seqOf = (cursor: Cursor): number => Number.parseInt(cursor.slice(1), 36)

const done = (events: ReadonlyArray<DomainEvent> = []): Outcome => ({ events })

/** Events recorded before a remote create, so a lost response or a crash is resolved by observing. */
const isIntent = (e: DomainEvent): boolean =>
  e._tag === "CredentialRequested" ||
  e._tag === "EnrollmentRequested" ||
  e._tag === "ParentRemoteRequested" ||
  e._tag === "AutomationRemoteRequested"

const decodeObservation = Schema.decodeUnknownResult(Observation)

/** Per ACS: the users and card numbers whose entries the identity cares about. A replicating
 *  manager imports into the ACS itself, so its parents need no ACS observation. */
const acsQueries = (state: IdentityState, replicates: (m: AcsSystemId) => boolean) => {
  const queries = new Map<AcsSystemId, { users: Array<AcsUserId>; cardNumbers: Array<string> }>()
  const query = (a: AcsSystemId) => {
    let q = queries.get(a)
    if (q === undefined) {
      q = { users: [], cardNumbers: [] }
      queries.set(a, q)
    }
    return q
  }
  for (const p of state.parents) {
    if (replicates(p.managerId)) continue
    const q = query(p.acsSystemId)
    if (!q.users.includes(p.acsUserId)) q.users.push(p.acsUserId)
  }
  for (const c of state.children) {
    const p = Identity.parent(state, c.parentId)
    if (p !== undefined && c.cardNumber !== undefined && !replicates(p.managerId)) query(p.acsSystemId).cardNumbers.push(c.cardNumber)
  }
  return queries
}

export const make = (config: Config) =>
  Effect.gen(function* () {
    const cm = yield* CredentialManager
    const acs = yield* AccessControl
    const store = yield* Store
    const concurrency = config.concurrency ?? 16
    const actionConcurrency = config.actionConcurrency ?? 4
    const retry = config.retry ?? defaultRetry
    const backoffBase = ms(config.backoff?.base, 500)
    const backoffCap = ms(config.backoff?.cap, 60_000)
    const resyncEvery = ms(config.resyncEvery, 5 * 60_000)
    const maxRounds = config.maxRounds ?? 8
    const stuckAfter = Math.max(1, config.stuckAfter ?? 5)
    const planner = config.planner ?? plan
    const planOptions = {
      maxIssueAttempts: config.maxIssueAttempts ?? 10,
      maxEnrollmentAttempts: config.maxEnrollmentAttempts ?? 5,
      enrollmentRetryMs: ms(config.enrollmentRetry, 1_000),
      pollMs: ms(config.poll, 1_000),
      replicationBoundMs: ms(config.replicationBound, 60_000)
    }
    const callTimeout = ms(config.callTimeout, 5_000)
    const lease: Lease = {
      owner: config.replica ?? (yield* randomUuid),
      ttl: ms(config.leaseTtl, 15_000),
      grace: callTimeout
    }
    if (lease.ttl <= callTimeout) {
      return yield* Effect.die(new Error(`leaseTtl (${lease.ttl} ms) must be longer than callTimeout (${callTimeout} ms)`))
    }
    // When each lease this engine holds runs out, by its own clock (set before the store call that
    // granted or renewed it, so never later than the store's record).
    const held = new Map<UserIdentityId, number>()
    const managers: ReadonlySet<AcsSystemId> = new Set(cm.systems.map((s) => s.id))
    // read each time: a provider may change what it promises (e.g. its listing lag) while running
    const capabilities = (m: AcsSystemId) => cm.systems.find((s) => s.id === m)?.capabilities
    // every system a port serves is of the port's kind
    const kind = (m: AcsSystemId) => (managers.has(m) ? cm.kind : undefined)

    // One counter object per labelled series, its attributes fixed at construction: a series made
    // with Metric.withAttributes re-derives its registry key on every update (a JSON encoding).
    const series = new Map<string, Metric.Counter<number>>()
    const labelled = (metric: Metric.Counter<number>, attributes: Readonly<Record<string, string>>) => {
      let key = metric.id
      for (const v of Object.values(attributes)) key += `|${v}`
      let counter = series.get(key)
      if (counter === undefined) {
        counter = Metric.counter(metric.id, { description: metric.description, attributes, incremental: true })
        series.set(key, counter)
      }
      return counter
    }
    // Counting happens on every provider call and reconcile: one synchronous step for all of a
    // moment's counts (and the current span's outcome), in the registry of the running fiber.
    const count = (
      counts: ReadonlyArray<readonly [Metric.Counter<number>, Readonly<Record<string, string>>]>,
      outcome?: string
    ): Effect.Effect<void> =>
      Effect.withFiberSucceed((fiber) => {
        for (const [metric, attributes] of counts) labelled(metric, attributes).updateUnsafe(1, fiber.context)
        if (outcome !== undefined) {
          const span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
          if (span?._tag === "Span") span.attribute("credsync.outcome", outcome)
        }
      })
    const bump = (metric: Metric.Counter<number>, attributes: Readonly<Record<string, string>>) => count([[metric, attributes]])

    // A span only where a tracer is installed: Effect's default (native) tracer keeps its spans
    // nowhere, and a span costs about as much as a call to a fast provider (a converge of 10,000
    // identities on the simulator spent ~6% of its time in them). No stack trace per span either.
    const traced =
      (name: string, options: Tracer.SpanOptionsNoTrace) =>
      <A, E, R>(eff: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
        Effect.withFiber((fiber) =>
          Context.get(fiber.context, Tracer.Tracer) === Tracer.nativeTracer ? eff : Effect.withSpan(name, options, { captureStackTrace: false })(eff)
        )

    /** What a provider call is, for its span, its metric and its log lines. */
    interface Call {
      readonly identity: UserIdentityId
      readonly port: PortName
      readonly action: string
      readonly system: AcsSystemId
    }

    // A span and an outcome count per attempt (an in-call retry is another call).
    const instrument = <A>(c: Call, eff: Effect.Effect<A, PortError>): Effect.Effect<A, PortError> => {
      const outcome = (o: string) => count([[M.portCalls, { port: c.port, action: c.action, outcome: o }]], o)
      return eff.pipe(
        Effect.onExit((exit) =>
          outcome(
            exit._tag === "Success"
              ? "ok"
              : Cause.hasInterruptsOnly(exit.cause)
                ? "interrupted"
                : (Option.getOrUndefined(Cause.findErrorOption(exit.cause))?.reason ?? "defect")
          )
        ),
        traced(`${c.port}.${c.action}`, {
          attributes: { "credsync.identity": c.identity, "credsync.system": c.system, "credsync.port": c.port, "credsync.action": c.action },
          kind: "client"
        })
      )
    }

    // Effect.retry costs tens of µs even when the first attempt succeeds; build it only on failure,
    // replaying that first failure into the schedule so the attempt count stays the schedule's.
    const retryTransient = <A>(eff: Effect.Effect<A, PortError>, retryable: (e: PortError) => boolean, c: Call) =>
      eff.pipe(
        Effect.catchIf(retryable, (first) => {
          let replay = true
          let last = first
          let attempt = 1
          const again = Effect.suspend(() => {
            attempt++
            return Effect.andThen(
              Effect.andThen(
                bump(M.retries, { port: c.port, action: c.action, reason: last.reason }),
                say("Debug", c.identity, () => `retrying ${c.port}.${c.action} (attempt ${attempt}) after ${describe(last)}`)
              ),
              Effect.tapError(eff, (e) =>
                Effect.sync(() => {
                  last = e
                })
              )
            )
          })
          return Effect.retry(
            Effect.suspend(() => {
              if (!replay) return again
              replay = false
              return Effect.fail(first)
            }),
            { schedule: retry, while: retryable }
          )
        })
      )

    const pubsub = yield* PubSub.unbounded<DomainEvent>()
    const kick = yield* Queue.sliding<void>(1)
    const withLock = makeKeyedLock()
    // consecutive failed reconciles per identity, for back-off; cleared on a clean run
    const failures = new Map<string, number>()
    // consecutive reconciles per identity that failed with a cause (not merely out of rounds), for
    // the stuck threshold
    const troubled = new Map<string, number>()
    // what this engine knows to be stuck (its own verdicts, and states it loaded that say so)
    const stuckIndex = new Map<string, StuckIdentity>()
    const noteStuck = (id: UserIdentityId, s: Stuck | undefined) =>
      Effect.suspend(() => {
        if (s === undefined) stuckIndex.delete(id)
        else stuckIndex.set(id, { id, ...s, since: stuckIndex.get(id)?.since ?? s.since })
        return Metric.update(M.stuck, stuckIndex.size)
      })

    // Committed: publish, count, and time the credentials that reached the ACS: from the phone
    // coming online (or its sync credential created, if later); for a credential issued again
    // after it was lost, from that new request. A repair on the ACS side alone (the entry was
    // deleted or reassigned there, same credential) is not a new arrival and is not timed.
    const committed = (state: IdentityState, events: ReadonlyArray<DomainEvent>) => {
      let toAcs: Array<number> | undefined
      for (const e of events) {
        if (e._tag !== "CredentialAssigned") continue
        const c = Identity.child(state, e.credentialId)
        const phone = c === undefined ? undefined : Identity.phone(state, c.phoneId)
        const parent = c === undefined ? undefined : Identity.parent(state, c.parentId)
        if (c === undefined || phone === undefined || parent === undefined) continue
        if (events.some((x) => x._tag === "CredentialAcsLost" && x.credentialId === c.id)) continue
        const from = c.attempts > 1 ? c.requestedAt : Math.max(phone.createdAt, parent.createdAt)
        toAcs ??= []
        toAcs.push(Math.max(0, e.at - from) / 1000)
      }
      const n = events.length
      const times = toAcs
      return Effect.andThen(
        PubSub.publishAll(pubsub, events),
        Effect.withFiberSucceed((fiber) => {
          M.events.updateUnsafe(n, fiber.context)
          if (times !== undefined) for (const t of times) M.timeToAcs.updateUnsafe(t, fiber.context)
        })
      )
    }

    const save = (
      id: UserIdentityId,
      version: number,
      state: IdentityState,
      events: ReadonlyArray<DomainEvent>,
      due?: number,
      owner?: string,
      keys: ReadonlyArray<string> = events.length === 0 ? [] : lookupKeys(state)
    ): Effect.Effect<number, PortError> =>
      events.length === 0
        ? due === undefined
          ? Effect.succeed(version)
          : Effect.as(store.schedule(id, due), version)
        : store.save({ id, expected: version, state, events, keys, due, owner }).pipe(Effect.tap(() => committed(state, events)))

    const schedule = (id: UserIdentityId, at: number) =>
      store.schedule(id, at).pipe(Effect.andThen(Queue.offer(kick, undefined)))

    const load = (id: UserIdentityId) =>
      store.load(id).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () =>
              Effect.fail(new CommandRejected({ reason: "NotFound", message: `user identity ${id} not found`, field: "userIdentityId" })),
            onSome: Effect.succeed
          })
        )
      )

    /** The first lookup key of `state` not among `known` (keys the store accepted for it) that
     *  another identity holds, if any: what a refused save was about. */
    const heldKey = (
      id: UserIdentityId,
      state: IdentityState,
      known: ReadonlyArray<string>
    ): Effect.Effect<{ readonly key: string; readonly heldBy: UserIdentityId } | undefined, PortError> => {
      const accepted = new Set(known)
      const fresh = lookupKeys(state).filter((key) => !accepted.has(key))
      return Effect.gen(function* () {
        for (const key of fresh) {
          const holder = Option.getOrUndefined(yield* store.lookup(key))
          if (holder !== undefined && holder !== id) return { key, heldBy: holder }
        }
        return undefined
      })
    }

    /** Like {@link heldKey}, for the keys that `learned` facts add (see `learnedKeys`): the check
     *  made before each round's calls, so it must cost nothing when nothing new was learned. */
    const learnedKeyHeld = (
      id: UserIdentityId,
      state: IdentityState,
      learned: ReadonlyArray<DomainEvent>,
      known: ReadonlyArray<string>,
      cleared: Set<string>
    ): Effect.Effect<{ readonly key: string; readonly heldBy: UserIdentityId } | undefined, PortError> => {
      const fresh = learnedKeys(state, learned).filter((key) => !cleared.has(key) && !known.includes(key))
      if (fresh.length === 0) return Effect.succeed(undefined)
      return Effect.gen(function* () {
        for (const key of fresh) {
          const holder = Option.getOrUndefined(yield* store.lookup(key))
          if (holder !== undefined && holder !== id) return { key, heldBy: holder }
          cleared.add(key)
        }
        return undefined
      })
    }

    /** A refused save (or one the store would refuse) as the typed error, naming what is concerned. */
    const rejection = (
      id: UserIdentityId,
      state: IdentityState,
      reason: PortError["reason"],
      detail: string,
      held: { readonly key: string; readonly heldBy: UserIdentityId } | undefined
    ) => {
      if (held === undefined) return new SaveRejected({ identity: id, reason, message: `the store refused the state of user identity ${id}: ${oneLine(detail)}` })
      const r = resourceOf(state, held.key)
      return new SaveRejected({
        identity: id,
        reason,
        key: held.key,
        heldBy: held.heldBy,
        ...(r.credentialId === undefined ? {} : { credentialId: r.credentialId }),
        ...(r.phoneId === undefined ? {} : { phoneId: r.phoneId }),
        message: `${r.what} is already held by user identity ${held.heldBy}; the state of user identity ${id} was not saved`
      })
    }

    const execute: EngineShape["execute"] = (command) =>
      Effect.gen(function* () {
        const id = command.userIdentityId
        const attempt = Effect.gen(function* () {
          const stored = yield* store.load(id)
          const before = Option.getOrUndefined(stored)
          const now = yield* Clock.currentTimeMillis
          const result = decide(before?.state, command, { now, managers })
          if (Result.isFailure(result)) return yield* Effect.fail(result.failure)
          const after = fold(before?.state, result.success)
          if (after === undefined) return yield* Effect.fail(new CommandRejected({ reason: "NotFound", message: `user identity ${id} not found` }))
          // the reconcile it calls for is queued in the same write
          yield* save(id, before?.version ?? 0, after, result.success, result.success.length > 0 ? now : undefined).pipe(
            // a phone, key, ACS user... another identity holds: the caller's mistake, said so
            Effect.catchIf(
              (e) => e.reason === "InvalidInput",
              (e) =>
                Effect.flatMap(heldKey(id, after, before === undefined ? [] : lookupKeys(before.state)), (held) => {
                  const field = held === undefined ? undefined : fieldOfKey(held.key)
                  const message =
                    held === undefined ? e.message : `${resourceOf(after, held.key).what} already belongs to user identity ${held.heldBy}`
                  return Effect.fail(
                    new CommandRejected(field === undefined ? { reason: "AlreadyExists", message } : { reason: "AlreadyExists", message, field })
                  )
                })
            )
          )
          if (result.success.length > 0) yield* Queue.offer(kick, undefined)
          return after
        })
        const raced = (e: CommandRejected | PortError): boolean => e._tag === "PortError" && e.reason === "Conflict"
        return yield* withLock(
          id,
          attempt.pipe(
            // a reconcile (here or on another replica) committed in between: decide again on what it wrote
            Effect.retry({ times: 4, while: raced }),
            Effect.mapError((e) => (raced(e) ? new CommandRejected({ reason: "Conflict", message: e.message }) : e))
          )
        )
      })

    const executeUnknown: EngineShape["executeUnknown"] = (input) => Effect.flatMap(Effect.fromResult(decodeCommand(input)), execute)

    // Observe every manager and ACS the identity touches. A failed observation leaves that system
    // out, so plan does nothing there that depends on its current state.
    const observe = (state: IdentityState) =>
      Effect.gen(function* () {
        const observed = { managers: new Map<AcsSystemId, ManagerView>(), acs: new Map<AcsSystemId, ReadonlyArray<AcsEntry>>() }
        let failed: PortError | undefined
        const read = <A>(into: Map<AcsSystemId, A>, c: Call, eff: Effect.Effect<A, PortError>) =>
          Effect.match(retryTransient(instrument(c, eff), isRetryable, c), {
            onFailure: (e) => {
              failed = e
            },
            onSuccess: (v) => {
              into.set(c.system, v)
            }
          })
        const identity = state.id
        const reads = [
          ...Object.values(state.managerUsers).map((u) =>
            read(observed.managers, { identity, port: "CredentialManager", action: "observe", system: u.managerId }, cm.observe(u.managerId, u.ref))
          ),
          ...[...acsQueries(state, (m) => kind(m) === "replicating")].map(([a, q]) =>
            read(observed.acs, { identity, port: "AccessControl", action: "observe", system: a }, acs.observe(a, q))
          )
        ]
        yield* Effect.all(reads, { concurrency: reads.length > 1 ? actionConcurrency : 1, discard: true })
        return { observed: observed satisfies Observed, failed }
      })

    // A provider call starts only while this replica's lease on the identity holds for at least
    // the call timeout, and is cut at the timeout: every call ends before the lease can pass to
    // another replica. A call cut short may have taken effect, so it is Ambiguous.
    const guarded = <A>(c: Call, eff: Effect.Effect<A, PortError>): Effect.Effect<A, PortError> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const until = held.get(c.identity)
        if (until === undefined || until - now < callTimeout) {
          return Effect.fail(
            new PortError({
              reason: "Conflict",
              port: "Store",
              method: "lease",
              message: `the lease on identity ${c.identity} ran out before ${c.action}`
            })
          )
        }
        return instrument(
          c,
          Effect.timeoutOrElse(eff, {
            duration: Duration.millis(callTimeout),
            orElse: () =>
              Effect.fail(new PortError({ reason: "Ambiguous", port: c.port, method: c.action, message: `${c.action} gave no answer within ${callTimeout} ms` }))
          })
        )
      })

    const run1 = (state: IdentityState, action: Action, now: number): Effect.Effect<Outcome> => {
      const identity = state.id
      const c: Call = { identity, action: action._tag, ...target(action) }
      const at = { state, now }
      const call = <T extends ActionTag>(raw: Effect.Effect<Results[T], PortError>, spec: Spec<T>, a: ActionOf<T>) =>
        retryTransient(guarded(c, raw), (e) => e.reason === "Transient", c).pipe(
          // logged on failure only: the success path stays one step
          Effect.tapError((e) =>
            e.reason === "RateLimited"
              ? say("Info", identity, () => `rate limited by ${c.port} on ${c.action} (${c.system}); waiting ${fmt(e.retryAfter ?? 0)}: ${oneLine(e.message)}`)
              : isRetryable(e)
                ? Effect.void
                : e.reason === "Ambiguous" || e.reason === "Conflict"
                  ? say("Debug", identity, () => `${describe(e)}; settled by observing again`)
                  : say("Warn", identity, () => `${describe(e)} (${c.system}); not retried in this reconcile`)
          ),
          // one step on the hot path (Effect.result then a map would be two)
          Effect.match({
            onSuccess: (value) => settle(spec, a, at, Result.succeed(value)),
            onFailure: (e) => settle(spec, a, at, Result.fail(e))
          })
        )
      const user = (m: AcsSystemId) => state.managerUsers[m]?.ref
      // The planner sends issuing actions to issuing managers and replicating ones to replicating
      // managers only; anything else is a bug of the planner, never to be skipped silently.
      const misrouted = () => Effect.die(new Error(`planner bug: ${action._tag} sent to ${c.system}, whose manager is ${cm.kind}`))
      switch (action._tag) {
        case "EnsureManagerUser":
          return call(
            cm.ensureUser(action.managerId, { id: identity, email: state.profile.email, fullName: state.profile.fullName }),
            specs.EnsureManagerUser,
            action
          )
        case "Invite": {
          if (cm.kind !== "issuing") return misrouted()
          const u = user(action.managerId)
          if (Identity.enrollmentByKey(state, action.key) === undefined || u === undefined) return Effect.succeed(done())
          return call(cm.invite(action.managerId, u), specs.Invite, action)
        }
        case "CancelInvitation":
          if (cm.kind !== "issuing") return misrouted()
          return call(cm.cancelInvitation(action.managerId, action.invitation), specs.CancelInvitation, action)
        case "RemoveEndpoint":
          return call(cm.removeEndpoint(action.managerId, action.endpoint), specs.RemoveEndpoint, action)
        case "Issue": {
          if (cm.kind !== "issuing") return misrouted()
          const u = user(action.managerId)
          if (u === undefined) return Effect.succeed(done())
          return call(cm.issue(action.managerId, { user: u, endpoint: action.endpoint, card: action.card }), specs.Issue, action)
        }
        case "Revoke":
          return call(cm.revoke(action.managerId, action.credential), specs.Revoke, action)
        case "Import":
          return call(
            acs.importCredential(action.acsSystemId, { cardNumber: action.cardNumber, card: action.card, label: managedLabel(action.credentialId) }),
            specs.Import,
            action
          )
        case "Assign":
          return call(acs.assign(action.acsSystemId, action.entry, action.acsUserId), specs.Assign, action)
        case "RemoveFromAcs":
          return call(acs.remove(action.acsSystemId, action.entry), specs.RemoveFromAcs, action)
        case "CreateRemoteParent": {
          if (cm.kind !== "replicating") return misrouted()
          const parent = Identity.parent(state, action.credentialId)
          const u = user(action.managerId)
          if (parent === undefined || u === undefined) return Effect.succeed(done())
          return call(cm.createParent(action.managerId, { user: u, acsUserId: parent.acsUserId, card: parent.card }), specs.CreateRemoteParent, action)
        }
        case "DeleteRemoteParent":
          if (cm.kind !== "replicating") return misrouted()
          return call(cm.deleteParent(action.managerId, action.parent), specs.DeleteRemoteParent, action)
        case "LaunchRemoteAutomation": {
          if (cm.kind !== "replicating") return misrouted()
          const u = user(action.managerId)
          if (u === undefined) return Effect.succeed(done())
          return call(cm.launchAutomation(action.managerId, u), specs.LaunchRemoteAutomation, action)
        }
      }
    }


    // One reconcile: observe, plan, act, and again until quiet. The providers are observed once; after
    // calls that all succeeded, their results are applied to that observation instead of observing
    // again. Each round commits once: the last round's results together with this round's intents,
    // and always before this round's calls. No call is made while the state holds a lookup key
    // another identity holds (e.g. a card number a manager handed out twice): the store would refuse
    // the state, and acting on it (assigning that card in the ACS) would take it from its owner.
    const reconcileLocked = (id: UserIdentityId, holdUntil: number) =>
      Effect.gen(function* () {
        let rounds = 0
        let actions = 0
        let next: number | undefined
        let retryAt: number | undefined
        // the last thing that went wrong, as a stuck identity shows it
        let cause: string | undefined
        const stored = yield* store.load(id)
        if (Option.isNone(stored)) {
          return { rounds, actions, next: undefined, failedRound: false, scheduled: undefined, state: undefined, version: 0, cause }
        }
        let { state, version } = stored.value
        if (state.stuck !== undefined && !stuckIndex.has(id)) yield* noteStuck(id, state.stuck)
        // keys the store accepted for this identity, and keys found free in this reconcile
        let savedKeys: ReadonlyArray<string> = lookupKeys(state)
        const cleared = new Set<string>()
        const commit = (events: ReadonlyArray<DomainEvent>, due: number | undefined) => {
          const keys = lookupKeys(state)
          return save(id, version, state, events, due, lease.owner, keys).pipe(
            Effect.map((v) => {
              savedKeys = keys
              return v
            }),
            // a race is retried by the caller; any other refusal cannot succeed by saving again
            Effect.catchIf(
              (e) => e.port === "Store" && e.reason !== "Conflict" && e.reason !== "Ambiguous" && !isRetryable(e),
              (e) =>
                Effect.flatMap(e.reason === "InvalidInput" ? heldKey(id, state, savedKeys) : Effect.succeed(undefined), (held) =>
                  Effect.fail(rejection(id, state, e.reason, e.message, held))
                )
            )
          )
        }
        let observed: Observed | undefined
        let unsaved: ReadonlyArray<DomainEvent> = []
        let scheduled: number | undefined
        while (rounds < maxRounds) {
          rounds++
          if (observed === undefined) {
            const o = yield* observe(state)
            observed = o.observed
            if (o.failed !== undefined) {
              retryAt = yield* Clock.currentTimeMillis
              cause = `observing failed: ${describe(o.failed)}`
            }
          }
          const now = yield* Clock.currentTimeMillis
          const p = planner(state, observed, { now, kind, capabilities, ...planOptions, ...(holdUntil > now ? { inFlightUntil: holdUntil } : {}) })
          state = p.state
          const pending = unsaved.length === 0 ? p.events : [...unsaved, ...p.events]
          next = p.wakeAt
          // settled: nothing to do and nothing learned (what was learned may enable more work)
          const settled = p.actions.length === 0 && p.events.length === 0
          const quiet = settled && retryAt === undefined
          // Intents must be durable before their calls; what was only learned can wait for the next
          // commit (a crash loses nothing the next observation would not tell again).
          if (settled || p.events.some(isIntent)) {
            version = yield* commit(pending, quiet ? next : undefined)
            unsaved = []
            if (quiet) scheduled = next
          } else {
            unsaved = pending
            if (p.actions.length > 0) {
              const taken = yield* learnedKeyHeld(id, state, unsaved, savedKeys, cleared)
              if (taken !== undefined) {
                return yield* Effect.fail(
                  rejection(id, state, "InvalidInput", `key ${taken.key} is held by user identity ${taken.heldBy}`, taken)
                )
              }
            }
          }
          if (settled) break
          if (p.actions.length === 0) continue
          actions += p.actions.length
          const acting = state
          const outcomes = yield* Effect.forEach(p.actions, (a) => run1(acting, a, now), {
            concurrency: p.actions.length > 1 ? actionConcurrency : 1
          })
          const learned = outcomes.flatMap((o) => o.events)
          unsaved = unsaved.length === 0 ? learned : [...unsaved, ...learned]
          state = fold(state, learned) ?? state
          let patched: Observed | undefined = observed
          for (const o of outcomes) {
            patched = o.patch === undefined || patched === undefined ? undefined : o.patch(patched)
            if (o.failure !== undefined) cause = `${describe(o.failure)}`
          }
          observed = patched
          const waits = outcomes.flatMap((o) => (o.retryAfter === undefined ? [] : [o.retryAfter]))
          if (waits.some((w) => w > 0)) {
            retryAt = now + Math.max(...waits)
            break
          }
          // refused credentials do not heal within a reconcile: back off instead of repeating the
          // same refused call for every remaining round
          if (outcomes.some((o) => o.failure?.reason === "Unauthorized")) {
            retryAt = now
            break
          }
        }
        if (unsaved.length > 0) version = yield* commit(unsaved, undefined)
        if (rounds >= maxRounds) retryAt = retryAt ?? (yield* Clock.currentTimeMillis)
        return {
          rounds,
          actions,
          next: retryAt === undefined ? next : Math.min(next ?? retryAt, retryAt),
          failedRound: retryAt !== undefined,
          scheduled,
          state,
          version,
          cause: retryAt === undefined ? undefined : cause
        }
      })

    // Keeps the leases of the identities this replica works: every third of the ttl, one store call
    // renews all of them (one round-trip however many are in flight, and no fiber per reconcile).
    // An identity is renewed at most a third of the ttl after it was granted, as with a renewer of
    // its own. A renewal the store refuses (another replica took it over) ends that lease, and its
    // calls stop (see `guarded`). It runs while something is held; the last release stops it.
    let renewer: Fiber.Fiber<void> | undefined
    const keepLeases = Effect.gen(function* () {
      while (held.size > 0) {
        yield* Effect.sleep(Duration.millis(lease.ttl / 3))
        const ids = [...held.keys()]
        const now = yield* Clock.currentTimeMillis
        const kept = yield* Effect.orElseSucceed(store.renew(lease, now, ids), () => undefined)
        // store unreachable: what was granted runs out on its own
        if (kept === undefined) {
          for (const id of ids) yield* say("Warn", id, () => "lease renewal failed (store unreachable); the lease runs out on its own")
          continue
        }
        const still = new Set(kept)
        for (const id of ids) {
          if (!held.has(id)) continue // released meanwhile
          if (still.has(id)) {
            held.set(id, now + lease.ttl)
            yield* say("Debug", id, () => `lease renewed until ${new Date(now + lease.ttl).toISOString()}`)
          } else {
            held.delete(id)
            yield* bump(M.leaseChanges, { change: "lost" })
            yield* say("Warn", id, () => "lease lost to another replica; no further provider call for this identity")
          }
        }
      }
    })
    const hold = (id: UserIdentityId, until: number) =>
      Effect.suspend(() => {
        held.set(id, until)
        if (renewer !== undefined) return Effect.void
        return Effect.map(Effect.forkDetach(keepLeases), (f) => {
          renewer = f
          f.addObserver(() => {
            if (renewer === f) renewer = undefined
          })
        })
      })
    const letGo = (id: UserIdentityId) =>
      Effect.suspend(() => {
        held.delete(id)
        const r = renewer
        if (held.size > 0 || r === undefined) return Effect.void
        renewer = undefined
        return Fiber.interrupt(r)
      })

    /**
     * Record that `id` is stuck, on top of its stored state (so its resources show it), unless the
     * stored record already says the same. A version race leaves it for the next failure.
     */
    const markStuck = (id: UserIdentityId, stuck: Stuck) =>
      Effect.gen(function* () {
        const wasKnown = stuckIndex.has(id)
        yield* noteStuck(id, stuck)
        const current = Option.getOrUndefined(yield* store.load(id))
        if (current === undefined) return
        const prior = current.state.stuck
        const same =
          prior !== undefined &&
          prior.cause.code === stuck.cause.code &&
          prior.cause.message === stuck.cause.message &&
          prior.credentialId === stuck.credentialId &&
          prior.phoneId === stuck.phoneId
        if (!same) {
          const event: DomainEvent = { _tag: "IdentityStuck", identity: id, at: stuck.cause.at, stuck }
          yield* save(id, current.version, evolve(current.state, event), [event], undefined, lease.owner).pipe(
            Effect.catchIf(
              (e) => e.reason === "Conflict",
              () => say("Debug", id, () => "recording the stuck state lost a version race; recorded on the next failure")
            )
          )
        }
        if (!wasKnown || !same) {
          yield* say(
            "Warn",
            id,
            () =>
              `user identity is stuck (${stuck.failures} failed reconcile${stuck.failures === 1 ? "" : "s"} in a row); still retried with back-off: ${stuck.cause.message}`,
            { code: stuck.cause.code }
          )
        }
      })

    const recover = (id: UserIdentityId, state: IdentityState, version: number) =>
      Effect.gen(function* () {
        yield* noteStuck(id, undefined)
        if (state.stuck === undefined) return
        const now = yield* Clock.currentTimeMillis
        const event: DomainEvent = { _tag: "IdentityRecovered", identity: id, at: now }
        yield* save(id, version, evolve(state, event), [event], undefined, lease.owner).pipe(
          Effect.catchIf(
            (e) => e.reason === "Conflict",
            () => say("Debug", id, () => "recording the recovery lost a version race; recorded on the next clean reconcile")
          )
        )
        const since = state.stuck.since
        yield* say("Info", id, () => `user identity recovered after being stuck since ${new Date(since).toISOString()}`)
      })

    type Worked = {
      readonly rounds: number
      readonly actions: number
      readonly next: number | undefined
      readonly failedRound: boolean
      readonly scheduled: number | undefined
      readonly state: IdentityState | undefined
      readonly version: number
      readonly cause: string | undefined
      readonly outcome: "converged" | "retry" | "race" | "rejected"
      readonly rejected?: SaveRejected
    }

    /** Work one identity whose lease this engine was just granted (at `grantedAt`). */
    const work = (claimed: Claimed, grantedAt: number) =>
      Effect.gen(function* () {
        const id = claimed.id
        yield* hold(id, grantedAt + lease.ttl)
        const takenOver = claimed.holdUntil > grantedAt
        if (takenOver) {
          yield* bump(M.leaseChanges, { change: "taken_over" })
          yield* say("Info", id, () => `lease taken over from an expired holder; its calls may still land until ${new Date(claimed.holdUntil).toISOString()}`)
        } else {
          yield* say("Debug", id, () => "lease acquired")
        }
        const failed = (outcome: Worked["outcome"], cause: string | undefined, extra: Partial<Worked> = {}) =>
          Effect.map(
            Clock.currentTimeMillis,
            (now): Worked => ({
              rounds: 0,
              actions: 0,
              next: now,
              failedRound: true,
              scheduled: undefined,
              state: undefined,
              version: 0,
              cause,
              outcome,
              ...extra
            })
          )
        const r: Worked = yield* reconcileLocked(id, claimed.holdUntil).pipe(
          Effect.map((x): Worked => ({ ...x, outcome: x.failedRound ? "retry" : "converged" })),
          Effect.catchTag("PortError", (e) =>
            // The version moved (a command, or another replica after this one's lease ran out), or
            // the lease is gone: look again soon.
            e.reason === "Conflict"
              ? Effect.andThen(say("Debug", id, () => `version race: ${describe(e)}; looking again`), failed("race", undefined))
              : // The store could not take the write now: this identity tries again after back-off.
                isRetryable(e) || e.reason === "Ambiguous"
                ? failed("retry", `the store failed: ${describe(e)}`)
                : Effect.fail(e)
          ),
          Effect.catchTag("SaveRejected", (e) =>
            Effect.andThen(
              Effect.andThen(bump(M.saveRejections, { reason: e.reason }), say("Error", id, () => `save refused (${e.reason}): ${e.message}`, { reason: e.reason })),
              failed("rejected", e.message, { rejected: e })
            )
          ),
          Effect.ensuring(letGo(id)),
          Effect.onError(() => Effect.ignore(store.release(lease.owner, id)))
        )
        const now = yield* Clock.currentTimeMillis
        let next = r.next
        if (r.failedRound) {
          const n = (failures.get(id) ?? 0) + 1
          failures.set(id, n)
          const wait = Math.min(backoffCap, backoffBase * 2 ** (n - 1))
          next = Math.max(next ?? now, now + wait)
          if (r.cause !== undefined) {
            yield* bump(M.backoffs, { reason: r.outcome })
            const cause = r.cause
            const wait = next - now
            yield* say("Info", id, () => `reconcile failed (${n} in a row); next attempt in ${fmt(wait)}: ${cause}`)
          }
        } else {
          failures.delete(id)
        }
        // stuck: a refused save at once; failing providers after `stuckAfter` reconciles in a row
        // a version race says nothing either way: the count stands
        const t = r.outcome === "race" ? (troubled.get(id) ?? 0) : r.cause === undefined ? 0 : (troubled.get(id) ?? 0) + 1
        if (t === 0) troubled.delete(id)
        else troubled.set(id, t)
        if (r.rejected !== undefined || (r.cause !== undefined && t >= stuckAfter)) {
          const rejected = r.rejected
          yield* markStuck(id, {
            since: now,
            failures: Math.max(t, 1),
            cause: {
              code: rejected === undefined ? "reconcile_failing" : "save_rejected",
              message:
                rejected === undefined
                  ? // no running count in the text: the stored record is rewritten only when the cause changes
                    `credsync cannot converge this user identity: ${stuckAfter} or more reconciles in a row failed; last: ${r.cause}`
                  : `credsync cannot save this user identity: ${rejected.message}`,
              at: now
            },
            ...(rejected?.credentialId === undefined ? {} : { credentialId: rejected.credentialId }),
            ...(rejected?.phoneId === undefined ? {} : { phoneId: rejected.phoneId })
          })
        } else if (r.outcome === "converged" && r.state !== undefined && (r.state.stuck !== undefined || stuckIndex.has(id))) {
          yield* recover(id, r.state, r.version)
        }
        yield* store.release(lease.owner, id, next !== undefined && next !== r.scheduled ? next : undefined)
        // a taken-over lease was counted when it was taken
        yield* count([[M.reconciles, { outcome: r.outcome }], ...(takenOver ? [] : [[M.leaseChanges, { change: "acquired" }] as const])])
        yield* say("Debug", id, () => `reconciled: ${r.rounds} rounds, ${r.actions} actions, ${r.outcome}`, {
          rounds: r.rounds,
          actions: r.actions,
          outcome: r.outcome
        })
        return { result: { rounds: r.rounds, actions: r.actions, next } satisfies ReconcileResult, rejected: r.rejected }
      }).pipe(traced("credsync.reconcile", { attributes: { "credsync.identity": claimed.id, "credsync.replica": lease.owner } }))

    const reconcile: EngineShape["reconcile"] = (id) =>
      withLock(
        id,
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const claimed = yield* store.acquire(lease, now, id)
          // unknown, or another replica works it now (and will look again when it is done)
          if (Option.isNone(claimed)) {
            yield* bump(M.reconciles, { outcome: "skipped" })
            return { rounds: 0, actions: 0, next: undefined } satisfies ReconcileResult
          }
          const w = yield* work(claimed.value, now)
          if (w.rejected !== undefined) return yield* Effect.fail(w.rejected)
          return w.result
        })
      )

    /** Claims and works due identities until none is left; returns how many. Each of `concurrency`
     *  workers claims one identity at a time, so a replica never holds leases on work it has not
     *  started (another replica could be doing it). */
    const drain: EngineShape["drain"] = Effect.suspend(() => {
      let total = 0
      const worker = Effect.gen(function* () {
        while (true) {
          const now = yield* Clock.currentTimeMillis
          const [claimed] = yield* store.claim(lease, now, 1)
          if (claimed === undefined) return
          total++
          yield* withLock(claimed.id, work(claimed, now))
        }
      })
      return Effect.map(Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true }), () => total)
    })

    const resyncAll: EngineShape["resyncAll"] = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      let after: UserIdentityId | undefined
      let n = 0
      while (true) {
        const page = yield* store.list({ after, limit: 1_000 })
        if (page.length === 0) break
        yield* Effect.forEach(page, (id) => store.schedule(id, now), { discard: true })
        n += page.length
        after = page[page.length - 1]
      }
      yield* Queue.offer(kick, undefined)
      return n
    })

    const nextDue: EngineShape["nextDue"] = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.map(store.nextDue(lease.owner, now), Option.getOrUndefined)
    )

    const ingest: EngineShape["ingest"] = (input) =>
      Effect.gen(function* () {
        const decoded = decodeObservation(input, { errors: "all" })
        if (Result.isFailure(decoded)) {
          const message = decoded.failure.message
          const field = /at \["?([\w.]+)"?\]/.exec(message)?.[1]
          yield* bump(M.callbacks, { outcome: "invalid" })
          yield* say("Info", undefined, () => `callback refused: ${oneLine(message)}`)
          return yield* Effect.fail(new InvalidObservation(field === undefined ? { message } : { message, field }))
        }
        const o = decoded.success
        const id =
          "userIdentityId" in o
            ? o.userIdentityId
            : Option.getOrUndefined(yield* store.lookup(`card:${o.acsSystemId}:${o.cardNumber}`))
        if (id === undefined || Option.isNone(yield* store.load(id))) {
          yield* bump(M.callbacks, { outcome: "unknown" })
          yield* say("Info", id, () => `callback ignored: ${o._tag} names no known user identity`, { observation: o._tag })
          return yield* Effect.fail(new InvalidObservation({ message: `observation names an unknown user identity`, field: "userIdentityId" }))
        }
        yield* bump(M.callbacks, { outcome: "accepted" })
        yield* schedule(id, yield* Clock.currentTimeMillis)
        return id
      })

    // The background loop's state, for `health`.
    let loopState: Health["loop"] = "stopped"
    let loopError: string | undefined
    let activeRuns = 0
    let lastMeasured = Number.NEGATIVE_INFINITY
    // Queue depth and due lag, at most once a second (a store may count in O(queue)).
    const measureQueue = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      if (now - lastMeasured < 1_000) return
      lastMeasured = now
      const due = Option.getOrUndefined(yield* store.nextDue(lease.owner, now))
      yield* Metric.update(M.dueLag, due === undefined ? 0 : Math.max(0, now - due) / 1000)
      if (store.queueDepth !== undefined) yield* Metric.update(M.queueDepth, yield* store.queueDepth(now))
    })

    const loopFailed = (cause: Cause.Cause<PortError>) =>
      Effect.suspend(() => {
        if (Cause.hasInterruptsOnly(cause)) return Effect.void
        const failure = Option.getOrUndefined(Cause.findErrorOption(cause))
        const squashed = Cause.squash(cause)
        const text =
          failure !== undefined ? describe(failure) : oneLine(squashed instanceof Error ? squashed.message : String(squashed))
        loopState = "failed"
        loopError = text
        return Effect.andThen(Metric.update(M.loopFailures, 1), say("Error", undefined, () => `background loop failed: ${text}`))
      })

    const run: EngineShape["run"] = Effect.scoped(
      Effect.gen(function* () {
        activeRuns++
        loopState = "starting"
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            activeRuns--
            if (activeRuns === 0) loopState = "stopped"
          })
        )
        // another replica queued work or let go of an identity: claim again
        yield* Effect.forkScoped(Stream.runForEach(store.signals, () => Queue.offer(kick, undefined)))
        // After a restart nothing in memory says what was in flight: look at everyone once (level-based).
        yield* resyncAll
        loopState = "running"
        loopError = undefined
        yield* say("Info", undefined, () => `background loop running (replica ${lease.owner})`)
        let lastResync = yield* Clock.currentTimeMillis
        while (true) {
          yield* measureQueue
          yield* drain
          const now = yield* Clock.currentTimeMillis
          if (now - lastResync >= resyncEvery) {
            lastResync = now
            yield* resyncAll
            continue
          }
          const next = yield* nextDue
          const wait = Math.max(0, Math.min(next ?? Number.POSITIVE_INFINITY, lastResync + resyncEvery) - now)
          yield* Effect.raceFirst(Effect.sleep(Duration.millis(wait)), Queue.take(kick))
        }
      })
    ).pipe(Effect.tapCause(loopFailed))

    const events: EngineShape["events"] = (options) =>
      Effect.gen(function* () {
        const decoded = decodeFeedRequest(options ?? {})
        if (Result.isFailure(decoded)) {
          const message = oneLine(decoded.failure.message)
          const field = /\["?(after|limit)"?\]/.exec(message)?.[1]
          return yield* Effect.fail(
            new CommandRejected(field === undefined ? { reason: "InvalidInput", message } : { reason: "InvalidInput", message, field })
          )
        }
        const after = decoded.success.after === undefined ? 0 : seqOf(decoded.success.after)
        const page = yield* store.events({ after, limit: decoded.success.limit ?? 100 })
        const last = page[page.length - 1]
        return {
          events: page.map((e) => ({ cursor: cursorOf(e.seq), event: e.event })),
          next: cursorOf(last === undefined ? after : last.seq),
          missed: page[0] !== undefined && page[0].seq > after + 1
        } satisfies EventPage
      })

    const health: EngineShape["health"] = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const probe = yield* store.nextDue(lease.owner, now).pipe(
        Effect.timeoutOrElse({
          duration: Duration.seconds(2),
          orElse: () => Effect.fail(new PortError({ reason: "Transient", port: "Store", method: "nextDue", message: "no answer within 2 s" }))
        }),
        Effect.result
      )
      return {
        loop: loopState,
        ...(loopState === "failed" && loopError !== undefined ? { error: loopError } : {}),
        store: Result.isSuccess(probe) ? "reachable" : "unreachable",
        ...(Result.isFailure(probe) ? { storeError: describe(probe.failure) } : {}),
        stuck: stuckIndex.size
      } satisfies Health
    })

    // Families without labels exist from the start, so a scrape shows them before any work.
    yield* Metric.update(M.stuck, 0)
    yield* Metric.update(M.loopFailures, 0)

    return {
      execute,
      executeUnknown,
      get: (id) => Effect.map(load(id), (s) => s.state),
      lookup: (key) => Effect.map(store.lookup(key), Option.getOrUndefined),
      ingest,
      reconcile,
      drain,
      resyncAll,
      nextDue,
      run,
      live: Stream.fromPubSub(pubsub),
      events,
      stuck: Effect.sync(() => [...stuckIndex.values()].sort((a, b) => a.since - b.since)),
      health
    } satisfies EngineShape
  })
