import { Clock, Duration, Effect, Fiber, Option, PubSub, Queue, Result, Schema, Stream } from "effect"
import { AccessControl, type AcsEntry, managedLabel } from "../AccessControl.js"
import type { Action } from "../Action.js"
import { decide, decodeCommand, fold } from "../Aggregate.js"
import { CommandRejected } from "../Command.js"
import { CredentialManager, type ManagerView } from "../CredentialManager.js"
import { type Config, defaultRetry, type EngineShape, InvalidObservation, type ReconcileResult } from "../Engine.js"
import type { DomainEvent } from "../Event.js"
import { type IdentityState, lookupKeys } from "../Identity.js"
import { type AcsSystemId, type AcsUserId, randomUuid, type UserIdentityId } from "../Ids.js"
import { Observation } from "../Observation.js"
import { isRetryable, PortError } from "../PortError.js"
import { type Observed, plan } from "../Plan.js"
import { type Claimed, type Lease, Store } from "../Store.js"
import { makeKeyedLock } from "./keyedLock.js"

const ms = (d: Duration.Input | undefined, fallback: number) => (d === undefined ? fallback : Duration.toMillis(Duration.fromInputUnsafe(d)))

/** What running one action taught the engine, and whether the identity must be retried later. */
interface Outcome {
  readonly events: ReadonlyArray<DomainEvent>
  /** A retryable failure: look again after at least this long (ms). */
  readonly retryAfter?: number
  /** What the provider now holds after this call succeeded, applied to the last observation so the
   *  next round can plan without observing again. Absent: observe again before planning. */
  readonly patch?: (observed: Observed) => Observed
}

const done = (events: ReadonlyArray<DomainEvent> = []): Outcome => ({ events })

/** Events recorded before a remote create, so a lost response or a crash is resolved by observing. */
const isIntent = (e: DomainEvent): boolean =>
  e._tag === "CredentialRequested" ||
  e._tag === "EnrollmentRequested" ||
  e._tag === "ParentRemoteRequested" ||
  e._tag === "AutomationRemoteRequested"

const withManager = (o: Observed, m: AcsSystemId, f: (v: ManagerView) => ManagerView): Observed => {
  const v = o.managers.get(m)
  if (v === undefined) return o
  const managers = new Map(o.managers)
  managers.set(m, f(v))
  return { managers, acs: o.acs }
}

const withAcs = (o: Observed, a: AcsSystemId, f: (entries: ReadonlyArray<AcsEntry>) => ReadonlyArray<AcsEntry>): Observed => {
  const acs = new Map(o.acs)
  acs.set(a, f(o.acs.get(a) ?? []))
  return { managers: o.managers, acs }
}

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
  for (const p of Object.values(state.parents)) {
    if (replicates(p.managerId)) continue
    const q = query(p.acsSystemId)
    if (!q.users.includes(p.acsUserId)) q.users.push(p.acsUserId)
  }
  for (const c of Object.values(state.children)) {
    const p = state.parents[c.parentId]
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
    const held = new Map<string, number>()
    const managers: ReadonlySet<AcsSystemId> = new Set(cm.systems.map((s) => s.id))
    // read each time: a provider may change what it promises (e.g. its listing lag) while running
    const capabilities = (m: AcsSystemId) => cm.systems.find((s) => s.id === m)?.capabilities

    // Effect.retry costs tens of µs even when the first attempt succeeds; build it only on failure,
    // replaying that first failure into the schedule so the attempt count stays the schedule's.
    const retryTransient = <A>(eff: Effect.Effect<A, PortError>, retryable: (e: PortError) => boolean) =>
      eff.pipe(
        Effect.catchIf(retryable, (first) => {
          let replay = true
          return Effect.retry(
            Effect.suspend(() => {
              if (!replay) return eff
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

    const save = (
      id: UserIdentityId,
      version: number,
      state: IdentityState,
      events: ReadonlyArray<DomainEvent>,
      due?: number,
      owner?: string
    ): Effect.Effect<number, PortError> =>
      events.length === 0
        ? due === undefined
          ? Effect.succeed(version)
          : Effect.as(store.schedule(id, due), version)
        : store.save({ id, expected: version, state, events, keys: lookupKeys(state), due, owner }).pipe(
            Effect.tap(() => PubSub.publishAll(pubsub, events))
          )

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

    const execute: EngineShape["execute"] = (input) =>
      Effect.gen(function* () {
        const decoded = decodeCommand(input)
        if (Result.isFailure(decoded)) return yield* Effect.fail(decoded.failure)
        const command = decoded.success
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
          yield* save(id, before?.version ?? 0, after, result.success, result.success.length > 0 ? now : undefined)
          if (result.success.length > 0) yield* Queue.offer(kick, undefined)
          return after
        })
        const raced = (e: CommandRejected | PortError): boolean => e._tag === "PortError" && e.reason === "Conflict"
        return yield* withLock(
          id,
          attempt.pipe(
            // a reconcile (here or on another replica) committed in between: decide again on what it wrote
            Effect.retry({ times: 4, while: raced }),
            // still racing, or a lookup key (a phone id, a user_identity_key...) another identity holds
            Effect.mapError((e) =>
              e._tag === "PortError" && e.port === "Store" && (e.reason === "Conflict" || e.reason === "InvalidInput")
                ? new CommandRejected({ reason: "Conflict", message: e.message })
                : e
            )
          )
        )
      })

    // Observe every manager and ACS the identity touches. A failed observation leaves that system
    // out, so plan does nothing there that depends on its current state.
    const observe = (state: IdentityState) =>
      Effect.gen(function* () {
        const observed = { managers: new Map<AcsSystemId, ManagerView>(), acs: new Map<AcsSystemId, ReadonlyArray<AcsEntry>>() }
        let failed: PortError | undefined
        const read = <A>(into: Map<AcsSystemId, A>, key: AcsSystemId, eff: Effect.Effect<A, PortError>) =>
          Effect.match(retryTransient(eff, isRetryable), {
            onFailure: (e) => {
              failed = e
            },
            onSuccess: (v) => {
              into.set(key, v)
            }
          })
        const reads = [
          ...Object.values(state.managerUsers).map((u) => read(observed.managers, u.managerId, cm.observe(u.managerId, u.ref))),
          ...[...acsQueries(state, (m) => capabilities(m)?.replicates === true)].map(([a, q]) => read(observed.acs, a, acs.observe(a, q)))
        ]
        yield* Effect.all(reads, { concurrency: reads.length > 1 ? actionConcurrency : 1, discard: true })
        return { observed: observed satisfies Observed, failed }
      })

    // A provider call starts only while this replica's lease on the identity holds for at least
    // the call timeout, and is cut at the timeout: every call ends before the lease can pass to
    // another replica. A call cut short may have taken effect, so it is Ambiguous.
    const guarded = <A>(id: UserIdentityId, method: string, eff: Effect.Effect<A, PortError>): Effect.Effect<A, PortError> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const until = held.get(id)
        if (until === undefined || until - now < callTimeout) {
          return Effect.fail(
            new PortError({ reason: "Conflict", port: "Store", method: "lease", message: `the lease on identity ${id} ran out before ${method}` })
          )
        }
        return Effect.timeoutOrElse(eff, {
          duration: Duration.millis(callTimeout),
          orElse: () =>
            Effect.fail(
              new PortError({ reason: "Ambiguous", port: "CredentialManager", method, message: `${method} gave no answer within ${callTimeout} ms` })
            )
        })
      })

    const run1 = (state: IdentityState, action: Action, now: number): Effect.Effect<Outcome> => {
      const identity = state.id
      const call = <A>(
        raw: Effect.Effect<A, PortError>,
        onOk: (a: A) => ReadonlyArray<DomainEvent>,
        onTerminal?: (e: PortError) => ReadonlyArray<DomainEvent>,
        patch?: (a: A) => (o: Observed) => Observed
      ) =>
        retryTransient(guarded(identity, action._tag, raw), (e) => e.reason === "Transient").pipe(
          Effect.match({
            onSuccess: (a): Outcome => (patch === undefined ? done(onOk(a)) : { events: onOk(a), patch: patch(a) }),
            onFailure: (e): Outcome => {
              if (isRetryable(e)) return { events: [], retryAfter: e.retryAfter ?? 0 }
              // Ambiguous and Conflict are settled by the next observation, never by a blind retry.
              if (e.reason === "Ambiguous" || e.reason === "Conflict") return { events: [], retryAfter: 0 }
              return done(onTerminal?.(e) ?? [])
            }
          })
        )
      const user = (m: AcsSystemId) => state.managerUsers[m]?.ref
      switch (action._tag) {
        case "EnsureManagerUser":
          return call(
            cm.ensureUser(action.managerId, { id: identity, email: state.profile.email, fullName: state.profile.fullName }),
            (ref) => [{ _tag: "ManagerUserBound", identity, at: now, managerId: action.managerId, ref }]
            // no patch: an existing user may already hold things, so observe it
          )
        case "Invite": {
          const enrollment = state.enrollments[action.key]
          const u = user(action.managerId)
          if (enrollment === undefined || u === undefined) return Effect.succeed(done())
          return call(
            cm.invite(action.managerId, u),
            (inv) => [
              { _tag: "InvitationCreated", identity, at: now, key: action.key, invitation: inv.ref, code: inv.code, phoneId: enrollment.phoneId }
            ],
            (e) => [
              { _tag: "EnrollmentFailed", identity, at: now, key: action.key, error: { code: `invite_${e.reason}`, message: e.message, at: now } }
            ],
            (inv) => (o) => withManager(o, action.managerId, (v) => ({ ...v, invitations: [...v.invitations, inv] }))
          )
        }
        case "CancelInvitation":
          return call(cm.cancelInvitation(action.managerId, action.invitation), () => [])
        case "RemoveEndpoint":
          return call(cm.removeEndpoint(action.managerId, action.endpoint), () => [])
        case "Issue": {
          const u = user(action.managerId)
          if (u === undefined) return Effect.succeed(done())
          return call(
            cm.issue(action.managerId, { user: u, endpoint: action.endpoint, card: action.card }),
            (cred) => [
              {
                _tag: "CredentialIssued",
                identity,
                at: now,
                credentialId: action.credentialId,
                ref: cred.ref,
                active: cred.status === "active",
                ...(cred.cardNumber === undefined ? {} : { cardNumber: cred.cardNumber })
              }
            ],
            (e) => [
              {
                _tag: "CredentialFailed",
                identity,
                at: now,
                credentialId: action.credentialId,
                error: { code: "failed_to_issue", message: e.message, at: now }
              }
            ],
            (cred) => (o) => withManager(o, action.managerId, (v) => ({ ...v, credentials: [...v.credentials, cred] }))
          )
        }
        case "Revoke":
          return call(cm.revoke(action.managerId, action.credential), () => [])
        case "Import":
          return call(
            acs.importCredential(action.acsSystemId, {
              cardNumber: action.cardNumber,
              card: action.card,
              label: managedLabel(action.credentialId)
            }),
            (entry) => [{ _tag: "CredentialImported", identity, at: now, credentialId: action.credentialId, acsRef: entry.ref }],
            undefined,
            (entry) => (o) => withAcs(o, action.acsSystemId, (es) => [...es, entry])
          )
        case "Assign":
          return call(
            acs.assign(action.acsSystemId, action.entry, action.acsUserId),
            () => [{ _tag: "CredentialAssigned", identity, at: now, credentialId: action.credentialId }],
            undefined,
            () => (o) =>
              withAcs(o, action.acsSystemId, (es) => es.map((e) => (e.ref === action.entry ? { ...e, assignedTo: action.acsUserId } : e)))
          )
        case "RemoveFromAcs":
          return call(acs.remove(action.acsSystemId, action.entry), () => [])
        case "CreateRemoteParent": {
          const parent = state.parents[action.credentialId]
          const u = user(action.managerId)
          if (parent === undefined || u === undefined || cm.createParent === undefined) return Effect.succeed(done())
          return call(cm.createParent(action.managerId, { user: u, acsUserId: parent.acsUserId, card: parent.card }), (ref) => [
            { _tag: "ParentBound", identity, at: now, credentialId: parent.id, ref }
          ])
        }
        case "DeleteRemoteParent":
          return cm.deleteParent === undefined ? Effect.succeed(done()) : call(cm.deleteParent(action.managerId, action.parent), () => [])
        case "LaunchRemoteAutomation": {
          const u = user(action.managerId)
          if (u === undefined || cm.launchAutomation === undefined) return Effect.succeed(done())
          return call(cm.launchAutomation(action.managerId, u), (ref) => [
            { _tag: "AutomationBound", identity, at: now, automationId: action.automationId, ref }
          ])
        }
      }
    }

    // One reconcile: observe, plan, act, and again until quiet. The providers are observed once; after
    // calls that all succeeded, their results are applied to that observation instead of observing
    // again. Each round commits once: the last round's results together with this round's intents,
    // and always before this round's calls.
    const reconcileLocked = (id: UserIdentityId, holdUntil: number) =>
      Effect.gen(function* () {
        let rounds = 0
        let actions = 0
        let next: number | undefined
        let retryAt: number | undefined
        const stored = yield* store.load(id)
        if (Option.isNone(stored)) return { rounds, actions, next: undefined, failedRound: false, scheduled: undefined }
        let { state, version } = stored.value
        let observed: Observed | undefined
        let unsaved: ReadonlyArray<DomainEvent> = []
        let scheduled: number | undefined
        while (rounds < maxRounds) {
          rounds++
          if (observed === undefined) {
            const o = yield* observe(state)
            observed = o.observed
            if (o.failed !== undefined) retryAt = yield* Clock.currentTimeMillis
          }
          const now = yield* Clock.currentTimeMillis
          const p = planner(state, observed, { now, capabilities, ...planOptions, ...(holdUntil > now ? { inFlightUntil: holdUntil } : {}) })
          state = p.state
          const pending = unsaved.length === 0 ? p.events : [...unsaved, ...p.events]
          next = p.wakeAt
          // settled: nothing to do and nothing learned (what was learned may enable more work)
          const settled = p.actions.length === 0 && p.events.length === 0
          const quiet = settled && retryAt === undefined
          // Intents must be durable before their calls; what was only learned can wait for the next
          // commit (a crash loses nothing the next observation would not tell again).
          if (settled || p.events.some(isIntent)) {
            version = yield* save(id, version, state, pending, quiet ? next : undefined, lease.owner)
            unsaved = []
            if (quiet) scheduled = next
          } else {
            unsaved = pending
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
          for (const o of outcomes) patched = o.patch === undefined || patched === undefined ? undefined : o.patch(patched)
          observed = patched
          const waits = outcomes.flatMap((o) => (o.retryAfter === undefined ? [] : [o.retryAfter]))
          if (waits.some((w) => w > 0)) {
            retryAt = now + Math.max(...waits)
            break
          }
        }
        if (unsaved.length > 0) version = yield* save(id, version, state, unsaved, undefined, lease.owner)
        if (rounds >= maxRounds) retryAt = retryAt ?? (yield* Clock.currentTimeMillis)
        return {
          rounds,
          actions,
          next: retryAt === undefined ? next : Math.min(next ?? retryAt, retryAt),
          failedRound: retryAt !== undefined,
          scheduled
        }
      })

    // Keeps the lease while the identity is worked: renewed every third of its ttl; a renewal the
    // store refuses (another replica took it over) ends it, and calls stop (see `guarded`).
    const keepLease = (id: UserIdentityId) =>
      Effect.gen(function* () {
        while (true) {
          yield* Effect.sleep(Duration.millis(lease.ttl / 3))
          const now = yield* Clock.currentTimeMillis
          const kept = yield* Effect.orElseSucceed(store.renew(lease, now, [id]), () => undefined)
          // store unreachable: what was granted runs out on its own
          if (kept === undefined) continue
          if (kept.length === 0) {
            held.delete(id)
            return
          }
          held.set(id, now + lease.ttl)
        }
      })

    /** Work one identity whose lease this engine was just granted (at `grantedAt`). */
    const work = (claimed: Claimed, grantedAt: number) =>
      Effect.gen(function* () {
        const id = claimed.id
        held.set(id, grantedAt + lease.ttl)
        const renewer = yield* Effect.forkChild(keepLease(id))
        const r = yield* reconcileLocked(id, claimed.holdUntil).pipe(
          // The version moved (a command, or another replica after this one's lease ran out), or
          // the lease is gone: look again soon.
          Effect.catchIf(
            (e) => e.reason === "Conflict",
            () => Effect.map(Clock.currentTimeMillis, (now) => ({ rounds: 0, actions: 0, next: now, failedRound: true, scheduled: undefined }))
          ),
          Effect.ensuring(
            Effect.suspend(() => {
              held.delete(id)
              return Fiber.interrupt(renewer)
            })
          ),
          Effect.onError(() => Effect.ignore(store.release(lease.owner, id)))
        )
        const now = yield* Clock.currentTimeMillis
        let next = r.next
        if (r.failedRound) {
          const n = (failures.get(id) ?? 0) + 1
          failures.set(id, n)
          next = Math.max(next ?? now, now + Math.min(backoffCap, backoffBase * 2 ** (n - 1)))
        } else {
          failures.delete(id)
        }
        yield* store.release(lease.owner, id, next !== undefined && next !== r.scheduled ? next : undefined)
        return { rounds: r.rounds, actions: r.actions, next } satisfies ReconcileResult
      })

    const reconcile: EngineShape["reconcile"] = (id) =>
      withLock(
        id,
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const claimed = yield* store.acquire(lease, now, id)
          // unknown, or another replica works it now (and will look again when it is done)
          if (Option.isNone(claimed)) return { rounds: 0, actions: 0, next: undefined } satisfies ReconcileResult
          return yield* work(claimed.value, now)
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
          return yield* Effect.fail(new InvalidObservation(field === undefined ? { message } : { message, field }))
        }
        const o = decoded.success
        const id =
          "userIdentityId" in o
            ? o.userIdentityId
            : Option.getOrUndefined(yield* store.lookup(`card:${o.acsSystemId}:${o.cardNumber}`))
        if (id === undefined || Option.isNone(yield* store.load(id))) {
          return yield* Effect.fail(new InvalidObservation({ message: `observation names an unknown user identity`, field: "userIdentityId" }))
        }
        yield* schedule(id, yield* Clock.currentTimeMillis)
        return id
      })

    const run: EngineShape["run"] = Effect.scoped(
      Effect.gen(function* () {
        // another replica queued work or let go of an identity: claim again
        yield* Effect.forkScoped(Stream.runForEach(store.signals, () => Queue.offer(kick, undefined)))
        // After a restart nothing in memory says what was in flight: look at everyone once (level-based).
        yield* resyncAll
        let lastResync = yield* Clock.currentTimeMillis
        while (true) {
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
    )

    return {
      execute,
      get: (id) => Effect.map(load(id), (s) => s.state),
      lookup: (key) => Effect.map(store.lookup(key), Option.getOrUndefined),
      ingest,
      reconcile,
      drain,
      resyncAll,
      nextDue,
      run,
      events: Stream.fromPubSub(pubsub)
    } satisfies EngineShape
  })
