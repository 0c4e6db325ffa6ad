import { Clock, Duration, Effect, Option, PubSub, Queue, Result, Schema, Stream } from "effect"
import { AccessControl, type AcsEntry, managedLabel } from "../AccessControl.js"
import type { Action } from "../Action.js"
import { decide, decodeCommand, fold } from "../Aggregate.js"
import { CommandRejected } from "../Command.js"
import { CredentialManager, type ManagerView } from "../CredentialManager.js"
import { type Config, defaultRetry, type EngineShape, InvalidObservation, type ReconcileResult } from "../Engine.js"
import type { DomainEvent } from "../Event.js"
import { type IdentityState, lookupKeys } from "../Identity.js"
import type { AcsSystemId, AcsUserId, UserIdentityId } from "../Ids.js"
import { Observation } from "../Observation.js"
import { isRetryable, type PortError } from "../PortError.js"
import { type Observed, plan } from "../Plan.js"
import { Store } from "../Store.js"
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
      due?: number
    ): Effect.Effect<number, PortError> =>
      events.length === 0
        ? due === undefined
          ? Effect.succeed(version)
          : Effect.as(store.schedule(id, due), version)
        : store.save({ id, expected: version, state, events, keys: lookupKeys(state), due }).pipe(
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
        return yield* withLock(
          id,
          Effect.gen(function* () {
            const stored = yield* store.load(id)
            const before = Option.getOrUndefined(stored)
            const now = yield* Clock.currentTimeMillis
            const result = decide(before?.state, command, { now, managers })
            if (Result.isFailure(result)) return yield* Effect.fail(result.failure)
            const after = fold(before?.state, result.success)
            if (after === undefined) return yield* Effect.fail(new CommandRejected({ reason: "NotFound", message: `user identity ${id} not found` }))
            // the reconcile it calls for is queued in the same write
            yield* save(id, before?.version ?? 0, after, result.success, result.success.length > 0 ? now : undefined).pipe(
              Effect.catchIf(
                (e) => e.reason === "Conflict",
                (e) => Effect.fail(new CommandRejected({ reason: "Conflict", message: e.message }))
              )
            )
            if (result.success.length > 0) yield* Queue.offer(kick, undefined)
            return after
          })
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

    const run1 = (state: IdentityState, action: Action, now: number): Effect.Effect<Outcome> => {
      const identity = state.id
      const call = <A>(
        eff: Effect.Effect<A, PortError>,
        onOk: (a: A) => ReadonlyArray<DomainEvent>,
        onTerminal?: (e: PortError) => ReadonlyArray<DomainEvent>,
        patch?: (a: A) => (o: Observed) => Observed
      ) =>
        retryTransient(eff, (e) => e.reason === "Transient").pipe(
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
    const reconcileLocked = (id: UserIdentityId) =>
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
          const p = planner(state, observed, { now, capabilities, ...planOptions })
          state = p.state
          const pending = unsaved.length === 0 ? p.events : [...unsaved, ...p.events]
          next = p.wakeAt
          // settled: nothing to do and nothing learned (what was learned may enable more work)
          const settled = p.actions.length === 0 && p.events.length === 0
          const quiet = settled && retryAt === undefined
          // Intents must be durable before their calls; what was only learned can wait for the next
          // commit (a crash loses nothing the next observation would not tell again).
          if (settled || p.events.some(isIntent)) {
            version = yield* save(id, version, state, pending, quiet ? next : undefined)
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
        if (unsaved.length > 0) version = yield* save(id, version, state, unsaved)
        if (rounds >= maxRounds) retryAt = retryAt ?? (yield* Clock.currentTimeMillis)
        return {
          rounds,
          actions,
          next: retryAt === undefined ? next : Math.min(next ?? retryAt, retryAt),
          failedRound: retryAt !== undefined,
          scheduled
        }
      })

    const reconcile: EngineShape["reconcile"] = (id) =>
      withLock(
        id,
        Effect.gen(function* () {
          const r = yield* reconcileLocked(id).pipe(
            // A concurrent writer (another process) moved the version: look again soon.
            Effect.catchIf(
              (e) => e.reason === "Conflict",
              () => Effect.map(Clock.currentTimeMillis, (now) => ({ rounds: 0, actions: 0, next: now, failedRound: true, scheduled: undefined }))
            )
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
          if (next !== undefined && next !== r.scheduled) yield* store.schedule(id, next)
          return { rounds: r.rounds, actions: r.actions, next } satisfies ReconcileResult
        })
      )

    const drain: EngineShape["drain"] = Effect.gen(function* () {
      let total = 0
      while (true) {
        const now = yield* Clock.currentTimeMillis
        const due = yield* store.takeDue(now, Math.max(64, concurrency * 8))
        if (due.length === 0) return total
        total += due.length
        yield* Effect.forEach(due, reconcile, { concurrency, discard: true })
      }
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

    const nextDue: EngineShape["nextDue"] = Effect.map(store.nextDue, Option.getOrUndefined)

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

    const run: EngineShape["run"] = Effect.gen(function* () {
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
        const due = Option.getOrUndefined(yield* store.nextDue)
        const wait = Math.max(0, Math.min(due ?? Number.POSITIVE_INFINITY, lastResync + resyncEvery) - now)
        yield* Effect.raceFirst(Effect.sleep(Duration.millis(wait)), Queue.take(kick))
      }
    })

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
