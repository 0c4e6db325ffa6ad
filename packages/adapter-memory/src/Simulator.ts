/**
 * A faithful in-memory simulator of credential managers (HID Origo style: users, invitations,
 * endpoints, asynchronous issuance, card-number pools) and of access control systems, with seeded
 * deterministic fault injection, provider callbacks and a ground-truth view for tests.
 *
 * Like HID Origo, the simulator never replicates by itself: the engine must issue one credential per
 * endpoint. By default it accepts a second credential with the same card profile on the same endpoint
 * (`rejectDuplicateIssue: true` answers `Conflict` instead, like HID's 412).
 *
 * Internals are synchronous and indexed (O(1) per call); the operations are Effects that read time
 * from the Effect `Clock`, so tests drive it with `TestClock`.
 *
 * @since 0.1.0
 */
import {
  AccessControl,
  CredentialManager,
  Ids,
  type Observation,
  PortError
} from "@credsync/core"
import { Clock, Data, Effect, Schema } from "effect"
import * as Faults from "./Faults.js"
import { MinHeap } from "./internal/heap.js"
import * as Seeded from "./Seeded.js"

// ---------------------------------------------------------------------------------------------
// public types
// ---------------------------------------------------------------------------------------------

/** The defect a simulated engine crash dies with (`crash` fault, or `failNext(op, "Crash")`). */
export class SimulatedCrash extends Error {
  readonly _tag = "SimulatedCrash"
  constructor(readonly operation: Faults.Operation) {
    super(`simulated crash after ${operation}`)
    this.name = "SimulatedCrash"
  }
}

/** Tells a {@link SimulatedCrash} defect apart from any other. */
export const isSimulatedCrash = (u: unknown): u is SimulatedCrash => u instanceof SimulatedCrash

/** One simulated credential-manager system. */
export interface ManagerOptions {
  readonly id: string
  readonly name?: string | undefined
  readonly externalType?: string | undefined
  /** First card number of the pool. Default 100000. */
  readonly cardNumberStart?: number | undefined
  /** Size of the card number pool. Default 1,000,000,000. */
  readonly cardNumberPoolSize?: number | undefined
}

/** One simulated ACS. */
export interface AcsOptions {
  readonly id: string
  readonly name?: string | undefined
  readonly externalType?: string | undefined
}

/** Options of {@link make}. */
export interface Options {
  /** PRNG seed for faults, callback shuffling and invitation codes. Default 1. */
  readonly seed?: number | undefined
  /** Default: one system `cm_sim` ("Simulated HID Origo", `hid_credential_manager_organization`). */
  readonly managers?: ReadonlyArray<ManagerOptions> | undefined
  /** Default: one system `acs_sim` (`pti_site`). */
  readonly acsSystems?: ReadonlyArray<AcsOptions> | undefined
  /** Ms of Clock time an issuance stays `issuing`. 0 (default) = active at once. */
  readonly issueDelay?: number | undefined
  /** Ms after which a pending invitation expires. Default: never. */
  readonly invitationTtl?: number | undefined
  /** Answer `Conflict` to a second live credential with the same card profile on one endpoint. Default false. */
  readonly rejectDuplicateIssue?: boolean | undefined
  /** Initial fault settings (replace them later with `setFaults`). Default: none. */
  readonly faults?: Faults.Faults | undefined
  /** Keep provider callbacks in the outbox (default true); turn off in benchmarks nobody drains. */
  readonly recordCallbacks?: boolean | undefined
  /**
   * Start from this state (from `state()` of an earlier simulator with the same systems) instead of
   * empty. It must name only systems this simulator has: `make` throws {@link InvalidState}
   * otherwise, so prefer {@link restore}, which fails with it as a typed error.
   */
  readonly state?: State | undefined
}

/** Id of the default simulated credential manager. */
export const defaultManagerId: Ids.AcsSystemId = Ids.AcsSystemId.make("cm_sim")
/** Id of the default simulated ACS. */
export const defaultAcsId: Ids.AcsSystemId = Ids.AcsSystemId.make("acs_sim")

/** Ground truth: a manager-side user. */
export interface TruthUser {
  readonly manager: Ids.AcsSystemId
  readonly ref: Ids.ProviderRef
  readonly identity: Ids.UserIdentityId
}
/** Ground truth: an invitation. */
export interface TruthInvitation {
  readonly manager: Ids.AcsSystemId
  readonly ref: Ids.ProviderRef
  readonly identity: Ids.UserIdentityId
  readonly code: string
  readonly status: CredentialManager.Invitation["status"]
}
/** Ground truth: an endpoint (credential container). */
export interface TruthEndpoint {
  readonly manager: Ids.AcsSystemId
  readonly ref: Ids.ProviderRef
  readonly identity: Ids.UserIdentityId
  readonly invitation: Ids.ProviderRef | undefined
  readonly status: CredentialManager.Endpoint["status"]
}
/** Ground truth: a credential. */
export interface TruthCredential {
  readonly manager: Ids.AcsSystemId
  readonly ref: Ids.ProviderRef
  readonly identity: Ids.UserIdentityId
  readonly endpoint: Ids.ProviderRef
  readonly cardFormat: string
  readonly facilityCode: string
  readonly cardNumber: string
  readonly status: CredentialManager.CredentialStatus
  readonly live: boolean
}
/** Ground truth: an ACS user. */
export interface TruthAcsUser {
  readonly acsSystemId: Ids.AcsSystemId
  readonly id: Ids.AcsUserId
  readonly fullName: string
}
/** Ground truth: an ACS entry (removed entries are gone). */
export interface TruthAcsEntry {
  readonly acsSystemId: Ids.AcsSystemId
  readonly ref: Ids.ProviderRef
  readonly cardNumber: string
  readonly cardFormat: string
  readonly facilityCode: string
  readonly label: string
  readonly assignedTo: Ids.AcsUserId | undefined
}

/** A plain snapshot of everything the simulator holds, plus call counters per operation. */
export interface Truth {
  readonly at: number
  readonly users: ReadonlyArray<TruthUser>
  readonly invitations: ReadonlyArray<TruthInvitation>
  readonly endpoints: ReadonlyArray<TruthEndpoint>
  readonly credentials: ReadonlyArray<TruthCredential>
  readonly acsUsers: ReadonlyArray<TruthAcsUser>
  readonly acsEntries: ReadonlyArray<TruthAcsEntry>
  readonly calls: Readonly<Record<Faults.Operation, number>>
}

/** The simulator: port implementations, test controls and ground truth. */
export interface Simulator {
  /** The credential-manager port served by the simulator (see `MemoryCredentialManager.layer`). */
  readonly manager: CredentialManager.IssuingManagerShape
  /** The ACS port served by the simulator (see `MemoryAccessControl.layer`). */
  readonly acs: AccessControl.AccessControlShape
  /** Options the simulator was made with. */
  readonly options: Options
  /** Current fault settings. */
  readonly faults: () => Faults.Faults
  /** Replace the fault settings. */
  readonly setFaults: (faults: Faults.Faults) => Effect.Effect<void>
  /** Script the next call of `op` to fail with `reason` (Ambiguous and Crash apply the change first). */
  readonly failNext: (op: Faults.Operation, reason: Faults.ScriptedFault) => Effect.Effect<void>
  /** Return and clear the provider callbacks, duplicated / reordered as the faults say. */
  readonly takeCallbacks: () => Effect.Effect<ReadonlyArray<Observation.Observation>>
  /** The phone SDK redeems an invitation code: creates the active endpoint. Returns its ref. */
  readonly redeem: (code: string) => Effect.Effect<Ids.ProviderRef, PortError.PortError>
  /** Finish every pending issuance now. */
  readonly completeIssuances: () => Effect.Effect<void>
  /** Expire a pending invitation. */
  readonly expireInvitation: (ref: Ids.ProviderRef) => Effect.Effect<void, PortError.PortError>
  /** Drift: delete a credential behind the engine's back (it disappears from listings). */
  readonly deleteCredential: (ref: Ids.ProviderRef) => Effect.Effect<void, PortError.PortError>
  /** Drift: a second live credential on the same endpoint, same profile, new card number. */
  readonly duplicateCredential: (ref: Ids.ProviderRef) => Effect.Effect<Ids.ProviderRef, PortError.PortError>
  /** Drift: remove an endpoint (and revoke its credentials) behind the engine's back. */
  readonly removeEndpointBehindBack: (ref: Ids.ProviderRef) => Effect.Effect<void, PortError.PortError>
  /** Drift: remove an ACS entry behind the engine's back. */
  readonly removeAcsEntry: (ref: Ids.ProviderRef) => Effect.Effect<void, PortError.PortError>
  /** Drift: an endpoint removed earlier comes back active (e.g. restored from a backup at the
   *  provider); its credentials stay revoked. */
  readonly restoreEndpoint: (ref: Ids.ProviderRef) => Effect.Effect<void, PortError.PortError>
  /** Drift: assign an ACS entry to another ACS user, or unassign it (`undefined`). No callback. */
  readonly reassignAcsEntry: (
    ref: Ids.ProviderRef,
    user: Ids.AcsUserId | undefined
  ) => Effect.Effect<void, PortError.PortError>
  /** Drift: a second ACS entry with the same card number and label as `ref` (an ACS that does not
   *  enforce unique card numbers, or an import repeated by hand). Returns the new entry. */
  readonly duplicateAcsEntry: (ref: Ids.ProviderRef) => Effect.Effect<Ids.ProviderRef, PortError.PortError>
  /** Drift: an entry nobody imported through this engine run (a leftover of an earlier
   *  installation, say), bypassing the unique card number check. Returns its ref. */
  readonly plantAcsEntry: (
    acs: Ids.AcsSystemId,
    entry: {
      readonly cardNumber: string
      readonly cardFormat: string
      readonly facilityCode: string
      readonly label: string
      readonly assignedTo?: Ids.AcsUserId | undefined
    }
  ) => Effect.Effect<Ids.ProviderRef, PortError.PortError>
  /** The earliest Clock time at which the simulator changes by itself (an issuance completes or
   *  an invitation expires), if any: a test's clock can move there without polling blindly. */
  readonly nextEventAt: () => number | undefined
  /** Ground truth at the current Clock time (pending issuances that are due are completed first). */
  readonly truth: () => Effect.Effect<Truth>
  /** Ground truth without the Clock: as of the latest time the simulator saw (or `now` when given). */
  readonly truthUnsafe: (now?: number) => Truth
  /** Call counters per operation (every call received, faulted or not). */
  readonly calls: Readonly<Record<Faults.Operation, number>>
  /**
   * Everything needed to continue this simulator elsewhere (`restore`, or `make({ state })`): its
   * records, the next ref and card numbers and the random generators' positions, as plain JSON.
   */
  readonly state: () => State
}

// ---------------------------------------------------------------------------------------------
// state: export and restore (a simulator that must survive its process keeps this somewhere)
// ---------------------------------------------------------------------------------------------

const InvitationStatus = CredentialManager.Invitation.fields.status
const EndpointStatus = CredentialManager.Endpoint.fields.status

/**
 * A simulator's complete state as JSON: users, invitations, endpoints, credentials (with their
 * issuance timing), ACS users and entries, plus what keeps a restored simulator from ever reusing
 * a ref (`seq`), a card number (`managers[].nextCard`) or an invitation code (the code generator's
 * position; codes are also checked against every invitation kept). Not part of it: fault settings
 * and scripted faults (options of the process), call counters, and provider callbacks not yet taken
 * (hints only: an engine resyncs after a restart). Arrays are in creation order.
 *
 * @since 0.2.0
 */
export const State = Schema.Struct({
  format: Schema.Literal(1),
  /** The latest Clock time the simulator saw. */
  now: Schema.Number,
  /** The last number used in a ref (`usr_7`, `cred_8`, `acsu_9`...): the next is above it. */
  seq: Schema.Int,
  /** Positions of the fault and invitation-code generators (see `Seeded.Generator`). */
  random: Schema.Int,
  codeRandom: Schema.Int,
  managers: Schema.Array(Schema.Struct({ id: Ids.AcsSystemId, nextCard: Schema.Int })),
  users: Schema.Array(Schema.Struct({ manager: Ids.AcsSystemId, ref: Ids.ProviderRef, identity: Ids.UserIdentityId })),
  invitations: Schema.Array(
    Schema.Struct({
      user: Ids.ProviderRef,
      ref: Ids.ProviderRef,
      code: Schema.String,
      status: InvitationStatus,
      prev: Schema.optional(InvitationStatus),
      createdAt: Schema.Number,
      changedAt: Schema.Number,
      expiresAt: Schema.optional(Schema.Number)
    })
  ),
  endpoints: Schema.Array(
    Schema.Struct({
      user: Ids.ProviderRef,
      ref: Ids.ProviderRef,
      invitation: Schema.optional(Ids.ProviderRef),
      status: EndpointStatus,
      prev: Schema.optional(EndpointStatus),
      createdAt: Schema.Number,
      changedAt: Schema.Number
    })
  ),
  credentials: Schema.Array(
    Schema.Struct({
      endpoint: Ids.ProviderRef,
      ref: Ids.ProviderRef,
      cardFormat: Schema.String,
      facilityCode: Schema.String,
      cardNumber: Schema.String,
      status: CredentialManager.CredentialStatus,
      prev: Schema.optional(CredentialManager.CredentialStatus),
      createdAt: Schema.Number,
      changedAt: Schema.Number,
      readyAt: Schema.Number,
      willFail: Schema.Boolean
    })
  ),
  acsUsers: Schema.Array(AccessControl.AcsUser),
  acsEntries: Schema.Array(
    Schema.Struct({
      acsSystemId: Ids.AcsSystemId,
      ref: Ids.ProviderRef,
      cardNumber: Schema.String,
      cardFormat: Schema.String,
      facilityCode: Schema.String,
      label: Schema.String,
      assignedTo: Schema.optional(Ids.AcsUserId)
    })
  )
})
/** @since 0.2.0 */
export type State = typeof State.Type

/**
 * A state that does not fit the simulator it is given to (a system it does not have, a record that
 * points at a missing one, a ref used twice). Nothing is started from it.
 *
 * @since 0.2.0
 */
export class InvalidState extends Data.TaggedError("InvalidState")<{ readonly message: string }> {}

/**
 * Make a simulator that continues from `state` (see {@link Simulator.state}); fails with
 * {@link InvalidState} when the state does not fit `options`' systems.
 *
 * @since 0.2.0
 */
export const restore = (state: State, options: Omit<Options, "state"> = {}): Effect.Effect<Simulator, InvalidState> =>
  Effect.try({
    try: () => make({ ...options, state }),
    catch: (e) => (e instanceof InvalidState ? e : new InvalidState({ message: e instanceof Error ? e.message : String(e) }))
  })

// ---------------------------------------------------------------------------------------------
// internal records (kept small: 100,000 credentials must fit comfortably)
// ---------------------------------------------------------------------------------------------

type InvStatus = CredentialManager.Invitation["status"]
type EpStatus = CredentialManager.Endpoint["status"]
type CredStatus = CredentialManager.CredentialStatus

interface ManagerRec {
  readonly system: CredentialManager.ManagerSystem
  readonly usersByIdentity: Map<string, UserRec>
  nextCard: number
  readonly lastCard: number
}

interface UserRec {
  readonly manager: ManagerRec
  readonly ref: Ids.ProviderRef
  readonly identity: Ids.UserIdentityId
  // A record's lists grow by concat, which allocates what they hold: push (and a spread) leaves
  // room for 16 more, ~130 bytes per list, several lists per identity, and a user has a handful.
  invitations: ReadonlyArray<InvRec>
  endpoints: ReadonlyArray<EpRec>
  credentials: ReadonlyArray<CredRec>
}

interface InvRec {
  readonly user: UserRec
  readonly ref: Ids.ProviderRef
  readonly code: string
  status: InvStatus
  prev?: InvStatus | undefined
  readonly createdAt: number
  changedAt: number
  readonly expiresAt?: number | undefined
}

interface EpRec {
  readonly user: UserRec
  readonly ref: Ids.ProviderRef
  readonly invitation?: Ids.ProviderRef | undefined
  status: EpStatus
  prev?: EpStatus | undefined
  readonly createdAt: number
  changedAt: number
  credentials: ReadonlyArray<CredRec>
}

interface CredRec {
  readonly endpoint: EpRec
  readonly ref: Ids.ProviderRef
  readonly cardFormat: string
  readonly facilityCode: string
  readonly cardNumber: string
  status: CredStatus
  prev?: CredStatus | undefined
  readonly createdAt: number
  changedAt: number
  /** When an `issuing` credential completes. */
  readonly readyAt: number
  /** Completes as `failed` instead of `active`. */
  readonly willFail: boolean
}

interface AcsRec {
  readonly system: AccessControl.AcsSystem
  readonly users: Map<string, AccessControl.AcsUser>
  /** Entries per card number: one, unless drift duplicated it. */
  readonly byCard: Map<string, Array<EntryRec>>
  readonly byUser: Map<string, Set<EntryRec>>
}

interface EntryRec {
  readonly acs: AcsRec
  readonly ref: Ids.ProviderRef
  readonly cardNumber: string
  readonly cardFormat: string
  readonly facilityCode: string
  readonly label: string
  assignedTo?: Ids.AcsUserId | undefined
}

const isLiveStatus = (s: CredStatus): boolean => s === "issuing" || s === "active"
const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
const trusted = { disableChecks: true } as const

type Port = "CredentialManager" | "AccessControl"

const portError = (
  port: Port,
  method: string,
  reason: PortError.Reason,
  message: string,
  retryAfter?: number
): PortError.PortError =>
  new PortError.PortError(
    retryAfter === undefined ? { reason, port, method, message } : { reason, port, method, message, retryAfter }
  )

const portOf = (op: Faults.Operation): Port => (op.startsWith("acs") ? "AccessControl" : "CredentialManager")

/**
 * Make a simulator. Its state lives in this object; build layers over it with
 * `MemoryCredentialManager.layer(sim)` and `MemoryAccessControl.layer(sim)`.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Simulator => {
  const issueDelay = options.issueDelay ?? 0
  const invitationTtl = options.invitationTtl
  const recordCallbacks = options.recordCallbacks ?? true
  const seed = options.seed ?? 1
  // a restored simulator continues both sequences where they were (never the same codes again)
  const rand = Seeded.random(options.state?.random ?? seed)
  const codeRand = Seeded.random(options.state?.codeRandom ?? seed ^ 0x5bd1e995)

  let faults: Faults.Faults = options.faults ?? {}
  let resolved = new Map<Faults.Operation, Faults.ResolvedFaults>()
  const resolveAll = () => {
    resolved = new Map(Faults.operations.map((op) => [op, Faults.resolve(faults, op)]))
  }
  resolveAll()
  const scripted = new Map<Faults.Operation, Array<Faults.ScriptedFault>>()
  const calls: Record<Faults.Operation, number> = {
    ensureUser: 0,
    observe: 0,
    invite: 0,
    cancelInvitation: 0,
    issue: 0,
    revoke: 0,
    removeEndpoint: 0,
    acsCreateUser: 0,
    acsGetUser: 0,
    acsObserve: 0,
    acsImport: 0,
    acsAssign: 0,
    acsRemove: 0
  }

  let seq = 0
  const nextRef = (prefix: string): Ids.ProviderRef => Ids.ProviderRef.make(`${prefix}_${++seq}`, trusted)
  let lastNow = 0

  // --- systems -------------------------------------------------------------------------------
  const managers = new Map<string, ManagerRec>()
  for (const m of options.managers ?? [{ id: "cm_sim" }]) {
    const start = m.cardNumberStart ?? 100000
    managers.set(m.id, {
      system: {
        id: Ids.AcsSystemId.make(m.id),
        name: m.name ?? "Simulated HID Origo",
        externalType: m.externalType ?? "hid_credential_manager_organization",
        capabilities: { asyncIssue: issueDelay > 0, listingLag: 0 }
      },
      usersByIdentity: new Map(),
      nextCard: start,
      lastCard: start + (m.cardNumberPoolSize ?? 1_000_000_000) - 1
    })
  }
  const acsSystems = new Map<string, AcsRec>()
  for (const a of options.acsSystems ?? [{ id: "acs_sim" }]) {
    acsSystems.set(a.id, {
      system: {
        id: Ids.AcsSystemId.make(a.id),
        name: a.name ?? "Simulated ACS",
        externalType: a.externalType ?? "pti_site"
      },
      users: new Map(),
      byCard: new Map(),
      byUser: new Map()
    })
  }

  // --- global indexes (refs are unique across systems) ----------------------------------------
  const usersByRef = new Map<string, UserRec>()
  const invitationsByRef = new Map<string, InvRec>()
  const invitationsByCode = new Map<string, InvRec>()
  const endpointsByRef = new Map<string, EpRec>()
  const credentialsByRef = new Map<string, CredRec>()
  const entriesByRef = new Map<string, EntryRec>()
  // time-ordered queues (readyAt / expiresAt, then ref): robust to clock resets between tests
  const issuing = new MinHeap<Ids.ProviderRef>()
  const expiring = new MinHeap<Ids.ProviderRef>()
  let outbox: Array<Observation.Observation> = []

  const emit = (o: Observation.Observation) => {
    if (recordCallbacks) outbox.push(o)
  }
  const base = (user: UserRec, at: number) => ({
    managerId: user.manager.system.id,
    userIdentityId: user.identity,
    at
  })

  // --- time-driven provider progress (never run by observe) -----------------------------------
  const complete = (c: CredRec, at: number) => {
    if (c.status !== "issuing") return
    c.prev = c.status
    c.changedAt = at
    const user = c.endpoint.user
    if (c.willFail) {
      c.status = "failed"
      emit({ _tag: "CredentialFailed", ...base(user, at), credential: c.ref, reason: "simulated issuance failure" })
    } else {
      c.status = "active"
      emit({ _tag: "CredentialIssued", ...base(user, at), credential: c.ref, endpoint: c.endpoint.ref })
    }
  }
  const expire = (i: InvRec, at: number) => {
    if (i.status !== "pending") return
    i.prev = i.status
    i.status = "expired"
    i.changedAt = at
    emit({ _tag: "InvitationExpired", ...base(i.user, at), invitation: i.ref })
  }
  const settle = (now: number) => {
    if (now > lastNow) lastNow = now
    for (let top = issuing.peek(); top !== undefined && top.at <= now; top = issuing.peek()) {
      issuing.pop()
      const c = credentialsByRef.get(top.id)
      if (c !== undefined) complete(c, top.at)
    }
    for (let top = expiring.peek(); top !== undefined && top.at <= now; top = expiring.peek()) {
      expiring.pop()
      const i = invitationsByRef.get(top.id)
      if (i !== undefined) expire(i, top.at)
    }
  }

  // Effective state at `now` without mutating anything (observe has no side effects).
  const credAt = (c: CredRec, now: number): { status: CredStatus; prev?: CredStatus | undefined; changedAt: number } =>
    c.status === "issuing" && c.readyAt <= now
      ? { status: c.willFail ? "failed" : "active", prev: "issuing", changedAt: c.readyAt }
      : c
  const invAt = (i: InvRec, now: number): { status: InvStatus; prev?: InvStatus | undefined; changedAt: number } =>
    i.status === "pending" && i.expiresAt !== undefined && i.expiresAt <= now
      ? { status: "expired", prev: "pending", changedAt: i.expiresAt }
      : i
  const lagged = <S>(s: { status: S; prev?: S | undefined; changedAt: number }, now: number, lag: number): S =>
    lag > 0 && s.prev !== undefined && now - s.changedAt < lag ? s.prev : s.status

  // --- the call wrapper: counters, latency, faults ---------------------------------------------
  const roll = (p: number): boolean => Seeded.roll(rand, p)
  const call = <A>(
    op: Faults.Operation,
    mutates: boolean,
    apply: (now: number) => A | PortError.PortError
  ): Effect.Effect<A, PortError.PortError> =>
    Effect.suspend(() => {
      calls[op]++
      const f = resolved.get(op)!
      const port = portOf(op)
      const body = Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<A, PortError.PortError> => {
        const script = scripted.get(op)?.shift()
        if (script !== undefined && script !== "Ambiguous" && script !== "Crash") {
          return Effect.fail(
            portError(port, op, script, `scripted ${script}`, script === "RateLimited" ? f.retryAfter : undefined)
          )
        }
        if (roll(f.transient)) return Effect.fail(portError(port, op, "Transient", "simulated transient failure"))
        if (roll(f.rateLimited)) {
          return Effect.fail(portError(port, op, "RateLimited", "simulated rate limit", f.retryAfter))
        }
        if (mutates) settle(now)
        const out = apply(now)
        if (out instanceof PortError.PortError) return Effect.fail(out)
        if (script === "Ambiguous" || roll(f.lostResponse)) {
          return Effect.fail(portError(port, op, "Ambiguous", "simulated lost response (the change was applied)"))
        }
        if (script === "Crash" || roll(f.crash)) return Effect.die(new SimulatedCrash(op))
        return Effect.succeed(out)
      })
      return f.latencyMs > 0 && roll(f.latency) ? Effect.andThen(Effect.sleep(f.latencyMs), body) : body
    })

  // --- lookups -------------------------------------------------------------------------------
  const getManager = (op: string, id: Ids.AcsSystemId): ManagerRec | PortError.PortError =>
    managers.get(id) ?? portError("CredentialManager", op, "NotFound", `unknown credential manager ${id}`)
  const getUser = (op: string, m: ManagerRec, ref: Ids.ProviderRef): UserRec | PortError.PortError => {
    const u = usersByRef.get(ref)
    return u !== undefined && u.manager === m
      ? u
      : portError("CredentialManager", op, "NotFound", `unknown user ${ref} in ${m.system.id}`)
  }
  const getAcs = (op: string, id: Ids.AcsSystemId): AcsRec | PortError.PortError =>
    acsSystems.get(id) ?? portError("AccessControl", op, "NotFound", `unknown access control system ${id}`)

  // --- manager mutations shared by port calls and test controls ---------------------------------
  const revokeRec = (c: CredRec, now: number) => {
    if (!isLiveStatus(c.status)) return
    c.prev = c.status
    c.status = "revoked"
    c.changedAt = now
    emit({ _tag: "CredentialRevoked", ...base(c.endpoint.user, now), credential: c.ref })
  }
  const removeEndpointRec = (e: EpRec, now: number) => {
    if (e.status === "removed") return
    for (const c of e.credentials) revokeRec(c, now)
    e.prev = e.status
    e.status = "removed"
    e.changedAt = now
    emit({ _tag: "EndpointRemoved", ...base(e.user, now), endpoint: e.ref })
  }
  const newCredential = (
    op: string,
    e: EpRec,
    card: { readonly cardFormat: string; readonly facilityCode: string },
    now: number,
    delay: number
  ): CredRec | PortError.PortError => {
    const m = e.user.manager
    if (m.nextCard > m.lastCard) {
      return portError("CredentialManager", op, "InvalidInput", "card number pool exhausted")
    }
    const c: CredRec = {
      endpoint: e,
      ref: nextRef("cred"),
      cardFormat: card.cardFormat,
      facilityCode: card.facilityCode,
      cardNumber: String(m.nextCard++),
      status: "issuing",
      prev: undefined,
      createdAt: now,
      changedAt: now,
      readyAt: now + delay,
      willFail: roll(faults.issueFailure ?? 0)
    }
    credentialsByRef.set(c.ref, c)
    e.credentials = e.credentials.concat(c)
    e.user.credentials = e.user.credentials.concat(c)
    if (delay > 0) {
      issuing.push({ at: c.readyAt, id: c.ref })
      emit({ _tag: "CredentialIssued", ...base(e.user, now), credential: c.ref, endpoint: e.ref })
    } else {
      complete(c, now)
      c.prev = undefined
    }
    return c
  }
  const newCode = (): string => {
    for (;;) {
      let s = ""
      for (let i = 0; i < 16; i++) {
        if (i > 0 && i % 4 === 0) s += "-"
        s += codeAlphabet[Math.floor(codeRand() * codeAlphabet.length)]
      }
      if (!invitationsByCode.has(s)) return s
    }
  }

  // --- views ---------------------------------------------------------------------------------
  const invitationView = (i: InvRec, status: InvStatus): CredentialManager.Invitation =>
    i.expiresAt === undefined
      ? { ref: i.ref, code: i.code, status }
      : { ref: i.ref, code: i.code, status, expiresAt: i.expiresAt }
  const endpointView = (e: EpRec, status: EpStatus): CredentialManager.Endpoint =>
    e.invitation === undefined ? { ref: e.ref, status } : { ref: e.ref, invitation: e.invitation, status }
  const credentialView = (c: CredRec, status: CredStatus): CredentialManager.ManagerCredential =>
    status === "failed"
      ? {
          ref: c.ref,
          endpoint: c.endpoint.ref,
          cardFormat: c.cardFormat,
          facilityCode: c.facilityCode,
          status,
          cardNumber: c.cardNumber,
          error: "simulated issuance failure"
        }
      : {
          ref: c.ref,
          endpoint: c.endpoint.ref,
          cardFormat: c.cardFormat,
          facilityCode: c.facilityCode,
          status,
          cardNumber: c.cardNumber
        }
  const entryView = (e: EntryRec): AccessControl.AcsEntry =>
    e.assignedTo === undefined
      ? { ref: e.ref, cardNumber: e.cardNumber, cardFormat: e.cardFormat, facilityCode: e.facilityCode, label: e.label }
      : {
          ref: e.ref,
          cardNumber: e.cardNumber,
          cardFormat: e.cardFormat,
          facilityCode: e.facilityCode,
          label: e.label,
          assignedTo: e.assignedTo
        }

  // --- the credential-manager port -------------------------------------------------------------
  const manager: CredentialManager.IssuingManagerShape = {
    kind: "issuing",
    get systems() {
      const lag = faults.lagMs ?? 0
      return [...managers.values()].map((m) => ({
        ...m.system,
        capabilities: { ...m.system.capabilities, asyncIssue: (faults.issueDelayMs ?? issueDelay) > 0, listingLag: lag }
      }))
    },
    ensureUser: (managerId, identity) =>
      call("ensureUser", true, () => {
        const m = getManager("ensureUser", managerId)
        if (m instanceof PortError.PortError) return m
        const found = m.usersByIdentity.get(identity.id)
        if (found !== undefined) return found.ref
        const u: UserRec = {
          manager: m,
          ref: nextRef("usr"),
          identity: identity.id,
          invitations: [],
          endpoints: [],
          credentials: []
        }
        m.usersByIdentity.set(identity.id, u)
        usersByRef.set(u.ref, u)
        return u.ref
      }),
    observe: (managerId, userRef) =>
      call("observe", false, (now): CredentialManager.ManagerView | PortError.PortError => {
        const m = getManager("observe", managerId)
        if (m instanceof PortError.PortError) return m
        const u = getUser("observe", m, userRef)
        if (u instanceof PortError.PortError) return u
        const lag = faults.lagMs ?? 0
        const fresh = (createdAt: number) => lag > 0 && now - createdAt < lag
        const invitations: Array<CredentialManager.Invitation> = []
        for (const i of u.invitations) {
          if (!fresh(i.createdAt)) invitations.push(invitationView(i, lagged(invAt(i, now), now, lag)))
        }
        const endpoints: Array<CredentialManager.Endpoint> = []
        for (const e of u.endpoints) if (!fresh(e.createdAt)) endpoints.push(endpointView(e, lagged(e, now, lag)))
        const credentials: Array<CredentialManager.ManagerCredential> = []
        for (const c of u.credentials) {
          if (!fresh(c.createdAt)) credentials.push(credentialView(c, lagged(credAt(c, now), now, lag)))
        }
        return { user: u.ref, invitations, endpoints, credentials }
      }),
    invite: (managerId, userRef) =>
      call("invite", true, (now): CredentialManager.Invitation | PortError.PortError => {
        const m = getManager("invite", managerId)
        if (m instanceof PortError.PortError) return m
        const u = getUser("invite", m, userRef)
        if (u instanceof PortError.PortError) return u
        const i: InvRec = {
          user: u,
          ref: nextRef("inv"),
          code: newCode(),
          status: "pending",
          prev: undefined,
          createdAt: now,
          changedAt: now,
          expiresAt: invitationTtl === undefined ? undefined : now + invitationTtl
        }
        invitationsByRef.set(i.ref, i)
        invitationsByCode.set(i.code, i)
        u.invitations = u.invitations.concat(i)
        if (i.expiresAt !== undefined) expiring.push({ at: i.expiresAt, id: i.ref })
        emit({ _tag: "InvitationCreated", ...base(u, now), invitation: i.ref })
        return invitationView(i, i.status)
      }),
    cancelInvitation: (managerId, ref) =>
      call("cancelInvitation", true, (now): undefined | PortError.PortError => {
        const m = getManager("cancelInvitation", managerId)
        if (m instanceof PortError.PortError) return m
        const i = invitationsByRef.get(ref)
        if (i === undefined || i.user.manager !== m) {
          return portError("CredentialManager", "cancelInvitation", "NotFound", `unknown invitation ${ref}`)
        }
        if (i.status !== "pending") return
        i.prev = i.status
        i.status = "cancelled"
        i.changedAt = now
      }),
    issue: (managerId, request) =>
      call("issue", true, (now): CredentialManager.ManagerCredential | PortError.PortError => {
        const m = getManager("issue", managerId)
        if (m instanceof PortError.PortError) return m
        const u = getUser("issue", m, request.user)
        if (u instanceof PortError.PortError) return u
        const e = endpointsByRef.get(request.endpoint)
        if (e === undefined || e.user.manager !== m) {
          return portError("CredentialManager", "issue", "NotFound", `unknown endpoint ${request.endpoint}`)
        }
        if (e.user !== u) {
          return portError("CredentialManager", "issue", "InvalidInput", `endpoint ${e.ref} belongs to another user`)
        }
        if (e.status !== "active") {
          return portError("CredentialManager", "issue", "Conflict", `endpoint ${e.ref} is removed`)
        }
        if (options.rejectDuplicateIssue === true) {
          const dup = e.credentials.find(
            (c) =>
              isLiveStatus(c.status) &&
              c.cardFormat === request.card.cardFormat &&
              c.facilityCode === request.card.facilityCode
          )
          if (dup !== undefined) {
            return portError(
              "CredentialManager",
              "issue",
              "Conflict",
              `endpoint ${e.ref} already holds ${dup.ref} with this card profile`
            )
          }
        }
        const c = newCredential("issue", e, request.card, now, faults.issueDelayMs ?? issueDelay)
        return c instanceof PortError.PortError ? c : credentialView(c, c.status)
      }),
    revoke: (managerId, ref) =>
      call("revoke", true, (now): undefined | PortError.PortError => {
        const m = getManager("revoke", managerId)
        if (m instanceof PortError.PortError) return m
        const c = credentialsByRef.get(ref)
        if (c !== undefined && c.endpoint.user.manager === m) revokeRec(c, now)
      }),
    removeEndpoint: (managerId, ref) =>
      call("removeEndpoint", true, (now): undefined | PortError.PortError => {
        const m = getManager("removeEndpoint", managerId)
        if (m instanceof PortError.PortError) return m
        const e = endpointsByRef.get(ref)
        if (e !== undefined && e.user.manager === m) removeEndpointRec(e, now)
      })
  }

  // --- the ACS port ----------------------------------------------------------------------------
  const unassign = (a: AcsRec, e: EntryRec) => {
    if (e.assignedTo === undefined) return
    const set = a.byUser.get(e.assignedTo)
    set?.delete(e)
    if (set !== undefined && set.size === 0) a.byUser.delete(e.assignedTo)
    e.assignedTo = undefined
  }
  const removeEntry = (e: EntryRec, now: number) => {
    unassign(e.acs, e)
    const same = (e.acs.byCard.get(e.cardNumber) ?? []).filter((x) => x !== e)
    if (same.length === 0) e.acs.byCard.delete(e.cardNumber)
    else e.acs.byCard.set(e.cardNumber, same)
    entriesByRef.delete(e.ref)
    emit({ _tag: "AcsRemoved", acsSystemId: e.acs.system.id, entry: e.ref, cardNumber: e.cardNumber, at: now })
  }
  const addEntry = (e: EntryRec) => {
    e.acs.byCard.set(e.cardNumber, [...(e.acs.byCard.get(e.cardNumber) ?? []), e])
    entriesByRef.set(e.ref, e)
  }
  const assignEntry = (a: AcsRec, e: EntryRec, userId: Ids.AcsUserId | undefined) => {
    unassign(a, e)
    if (userId === undefined) return
    e.assignedTo = userId
    let set = a.byUser.get(userId)
    if (set === undefined) {
      set = new Set()
      a.byUser.set(userId, set)
    }
    set.add(e)
  }
  const acs: AccessControl.AccessControlShape = {
    systems: [...acsSystems.values()].map((a) => a.system),
    createUser: (acsId, user) =>
      call("acsCreateUser", true, (): AccessControl.AcsUser | PortError.PortError => {
        const a = getAcs("createUser", acsId)
        if (a instanceof PortError.PortError) return a
        const id = Ids.AcsUserId.make(`acsu_${++seq}`, trusted)
        const u: AccessControl.AcsUser =
          user.email === undefined
            ? { id, acsSystemId: a.system.id, fullName: user.fullName }
            : { id, acsSystemId: a.system.id, fullName: user.fullName, email: user.email }
        a.users.set(id, u)
        return u
      }),
    getUser: (acsId, userId) =>
      call("acsGetUser", false, (): AccessControl.AcsUser | PortError.PortError => {
        const a = getAcs("getUser", acsId)
        if (a instanceof PortError.PortError) return a
        return a.users.get(userId) ?? portError("AccessControl", "getUser", "NotFound", `unknown ACS user ${userId}`)
      }),
    observe: (acsId, query) =>
      call("acsObserve", false, (): ReadonlyArray<AccessControl.AcsEntry> | PortError.PortError => {
        const a = getAcs("observe", acsId)
        if (a instanceof PortError.PortError) return a
        const seen = new Set<EntryRec>()
        for (const n of query.cardNumbers) {
          for (const e of a.byCard.get(n) ?? []) seen.add(e)
        }
        for (const u of query.users) for (const e of a.byUser.get(u) ?? []) seen.add(e)
        return [...seen].map(entryView)
      }),
    importCredential: (acsId, entry) =>
      call("acsImport", true, (now): AccessControl.AcsEntry | PortError.PortError => {
        const a = getAcs("importCredential", acsId)
        if (a instanceof PortError.PortError) return a
        const existing = a.byCard.get(entry.cardNumber)?.[0]
        if (existing !== undefined) {
          return portError(
            "AccessControl",
            "importCredential",
            "Conflict",
            `card number ${entry.cardNumber} is already imported as ${existing.ref}`
          )
        }
        const e: EntryRec = {
          acs: a,
          ref: nextRef("acse"),
          cardNumber: entry.cardNumber,
          cardFormat: entry.card.cardFormat,
          facilityCode: entry.card.facilityCode,
          label: entry.label,
          assignedTo: undefined
        }
        addEntry(e)
        emit({ _tag: "AcsImported", acsSystemId: a.system.id, entry: e.ref, cardNumber: e.cardNumber, at: now })
        return entryView(e)
      }),
    assign: (acsId, ref, userId) =>
      call("acsAssign", true, (): undefined | PortError.PortError => {
        const a = getAcs("assign", acsId)
        if (a instanceof PortError.PortError) return a
        const e = entriesByRef.get(ref)
        if (e === undefined || e.acs !== a) {
          return portError("AccessControl", "assign", "NotFound", `unknown ACS entry ${ref}`)
        }
        if (!a.users.has(userId)) return portError("AccessControl", "assign", "NotFound", `unknown ACS user ${userId}`)
        assignEntry(a, e, userId)
      }),
    remove: (acsId, ref) =>
      call("acsRemove", true, (now): undefined | PortError.PortError => {
        const a = getAcs("remove", acsId)
        if (a instanceof PortError.PortError) return a
        const e = entriesByRef.get(ref)
        if (e !== undefined && e.acs === a) removeEntry(e, now)
      })
  }

  // --- test controls -----------------------------------------------------------------------------
  const control = <A>(
    f: (now: number) => A | PortError.PortError
  ): Effect.Effect<A, PortError.PortError> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      settle(now)
      const out = f(now)
      return out instanceof PortError.PortError ? Effect.fail(out) : Effect.succeed(out)
    })
  const findCred = (method: string, ref: Ids.ProviderRef): CredRec | PortError.PortError =>
    credentialsByRef.get(ref) ?? portError("CredentialManager", method, "NotFound", `unknown credential ${ref}`)

  const snapshot = (now: number): Truth => {
    const users: Array<TruthUser> = []
    const invitations: Array<TruthInvitation> = []
    const endpoints: Array<TruthEndpoint> = []
    const credentials: Array<TruthCredential> = []
    for (const u of usersByRef.values()) {
      users.push({ manager: u.manager.system.id, ref: u.ref, identity: u.identity })
    }
    for (const i of invitationsByRef.values()) {
      const u = i.user
      invitations.push({ manager: u.manager.system.id, ref: i.ref, identity: u.identity, code: i.code, status: i.status })
    }
    for (const e of endpointsByRef.values()) {
      const u = e.user
      endpoints.push({
        manager: u.manager.system.id,
        ref: e.ref,
        identity: u.identity,
        invitation: e.invitation,
        status: e.status
      })
    }
    for (const c of credentialsByRef.values()) {
      const u = c.endpoint.user
      credentials.push({
        manager: u.manager.system.id,
        ref: c.ref,
        identity: u.identity,
        endpoint: c.endpoint.ref,
        cardFormat: c.cardFormat,
        facilityCode: c.facilityCode,
        cardNumber: c.cardNumber,
        status: c.status,
        live: isLiveStatus(c.status)
      })
    }
    const acsUsers: Array<TruthAcsUser> = []
    for (const a of acsSystems.values()) {
      for (const u of a.users.values()) acsUsers.push({ acsSystemId: a.system.id, id: u.id, fullName: u.fullName })
    }
    const acsEntries: Array<TruthAcsEntry> = []
    for (const e of entriesByRef.values()) {
      acsEntries.push({
        acsSystemId: e.acs.system.id,
        ref: e.ref,
        cardNumber: e.cardNumber,
        cardFormat: e.cardFormat,
        facilityCode: e.facilityCode,
        label: e.label,
        assignedTo: e.assignedTo
      })
    }
    return { at: now, users, invitations, endpoints, credentials, acsUsers, acsEntries, calls: { ...calls } }
  }

  // --- state export / restore ------------------------------------------------------------------
  const exportState = (): State => {
    const acsUsers: Array<AccessControl.AcsUser> = []
    for (const a of acsSystems.values()) acsUsers.push(...a.users.values())
    return {
      format: 1,
      now: lastNow,
      seq,
      random: rand.position(),
      codeRandom: codeRand.position(),
      managers: [...managers.values()].map((m) => ({ id: m.system.id, nextCard: m.nextCard })),
      users: [...usersByRef.values()].map((u) => ({ manager: u.manager.system.id, ref: u.ref, identity: u.identity })),
      // a record is its state entry with links in place of refs (and the link lists left out)
      invitations: [...invitationsByRef.values()].map(({ user, ...i }) => ({ ...i, user: user.ref })),
      endpoints: [...endpointsByRef.values()].map(({ user, credentials: _, ...e }) => ({ ...e, user: user.ref })),
      credentials: [...credentialsByRef.values()].map(({ endpoint, ...c }) => ({ ...c, endpoint: endpoint.ref })),
      acsUsers,
      acsEntries: [...entriesByRef.values()].map(({ acs, ...e }) => ({ ...e, acsSystemId: acs.system.id }))
    }
  }

  // Rebuilds every record and index from a state, checking that it fits this simulator's systems.
  // `seq` and the card counters are also raised above every ref and card number present, so even a
  // hand-edited state cannot make the simulator hand one out twice.
  const restoreState = (s: State): void => {
    const invalid = (message: string) => new InvalidState({ message: `simulator state: ${message}` })
    const refNumber = (ref: string) => {
      const n = Number(/_(\d+)$/.exec(ref)?.[1] ?? 0)
      return Number.isSafeInteger(n) ? n : 0
    }
    const fresh = (index: Map<string, unknown>, ref: string) => {
      if (index.has(ref)) throw invalid(`ref ${ref} is used twice`)
      seq = Math.max(seq, refNumber(ref))
    }
    seq = Math.max(0, s.seq)
    lastNow = Math.max(lastNow, s.now)
    for (const m of s.managers) {
      const rec = managers.get(m.id)
      if (rec === undefined) throw invalid(`unknown credential manager ${m.id}`)
      rec.nextCard = Math.max(rec.nextCard, m.nextCard)
    }
    for (const u of s.users) {
      const m = managers.get(u.manager)
      if (m === undefined) throw invalid(`user ${u.ref} belongs to unknown credential manager ${u.manager}`)
      if (m.usersByIdentity.has(u.identity)) throw invalid(`two users for identity ${u.identity} in ${u.manager}`)
      fresh(usersByRef, u.ref)
      const rec: UserRec = { manager: m, ref: u.ref, identity: u.identity, invitations: [], endpoints: [], credentials: [] }
      m.usersByIdentity.set(u.identity, rec)
      usersByRef.set(u.ref, rec)
    }
    for (const i of s.invitations) {
      const user = usersByRef.get(i.user)
      if (user === undefined) throw invalid(`invitation ${i.ref} belongs to unknown user ${i.user}`)
      if (invitationsByCode.has(i.code)) throw invalid(`invitation code of ${i.ref} is used twice`)
      fresh(invitationsByRef, i.ref)
      const rec: InvRec = { ...i, user }
      invitationsByRef.set(rec.ref, rec)
      invitationsByCode.set(rec.code, rec)
      user.invitations = user.invitations.concat(rec)
      if (rec.status === "pending" && rec.expiresAt !== undefined) expiring.push({ at: rec.expiresAt, id: rec.ref })
    }
    for (const e of s.endpoints) {
      const user = usersByRef.get(e.user)
      if (user === undefined) throw invalid(`endpoint ${e.ref} belongs to unknown user ${e.user}`)
      fresh(endpointsByRef, e.ref)
      const rec: EpRec = { ...e, user, credentials: [] }
      endpointsByRef.set(rec.ref, rec)
      user.endpoints = user.endpoints.concat(rec)
    }
    for (const c of s.credentials) {
      const endpoint = endpointsByRef.get(c.endpoint)
      if (endpoint === undefined) throw invalid(`credential ${c.ref} is on unknown endpoint ${c.endpoint}`)
      fresh(credentialsByRef, c.ref)
      const rec: CredRec = { ...c, endpoint }
      credentialsByRef.set(rec.ref, rec)
      endpoint.credentials = endpoint.credentials.concat(rec)
      endpoint.user.credentials = endpoint.user.credentials.concat(rec)
      const m = endpoint.user.manager
      const n = Number(rec.cardNumber)
      if (Number.isSafeInteger(n) && n >= m.nextCard) m.nextCard = n + 1
      if (rec.status === "issuing") issuing.push({ at: rec.readyAt, id: rec.ref })
    }
    for (const u of s.acsUsers) {
      const a = acsSystems.get(u.acsSystemId)
      if (a === undefined) throw invalid(`ACS user ${u.id} belongs to unknown access control system ${u.acsSystemId}`)
      if (a.users.has(u.id)) throw invalid(`ACS user ${u.id} is listed twice`)
      seq = Math.max(seq, refNumber(u.id))
      a.users.set(u.id, u)
    }
    for (const e of s.acsEntries) {
      const a = acsSystems.get(e.acsSystemId)
      if (a === undefined) throw invalid(`ACS entry ${e.ref} belongs to unknown access control system ${e.acsSystemId}`)
      if (e.assignedTo !== undefined && !a.users.has(e.assignedTo)) throw invalid(`ACS entry ${e.ref} is assigned to unknown user ${e.assignedTo}`)
      fresh(entriesByRef, e.ref)
      const { acsSystemId: _, ...entry } = e
      const rec: EntryRec = { ...entry, acs: a }
      // an ACS may hold one card number twice (an entry imported again behind the engine's back)
      addEntry(rec)
      if (rec.assignedTo !== undefined) {
        let set = a.byUser.get(rec.assignedTo)
        if (set === undefined) {
          set = new Set()
          a.byUser.set(rec.assignedTo, set)
        }
        set.add(rec)
      }
    }
  }
  if (options.state !== undefined) restoreState(options.state)

  return {
    manager,
    acs,
    options,
    faults: () => faults,
    setFaults: (next) =>
      Effect.sync(() => {
        faults = next
        resolveAll()
      }),
    failNext: (op, reason) =>
      Effect.sync(() => {
        const q = scripted.get(op)
        if (q === undefined) scripted.set(op, [reason])
        else q.push(reason)
      }),
    takeCallbacks: () =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        settle(now)
        const dropIssue = faults.dropIssueCallbacks ?? 0
        const taken =
          dropIssue > 0
            ? outbox.filter((o) => !((o._tag === "CredentialIssued" || o._tag === "CredentialFailed") && roll(dropIssue)))
            : outbox
        outbox = []
        return Seeded.deliver(taken, rand, {
          duplicate: faults.duplicateCallbacks,
          reorder: faults.reorderCallbacks,
          drop: faults.dropCallbacks
        })
      }),
    redeem: (code) =>
      control((now): Ids.ProviderRef | PortError.PortError => {
        const i = invitationsByCode.get(code)
        if (i === undefined) return portError("CredentialManager", "redeem", "NotFound", `unknown invitation code ${code}`)
        if (i.status !== "pending") {
          return portError("CredentialManager", "redeem", "Conflict", `invitation ${i.ref} is ${i.status}`)
        }
        i.prev = i.status
        i.status = "redeemed"
        i.changedAt = now
        const e: EpRec = {
          user: i.user,
          ref: nextRef("ep"),
          invitation: i.ref,
          status: "active",
          prev: undefined,
          createdAt: now,
          changedAt: now,
          credentials: []
        }
        endpointsByRef.set(e.ref, e)
        i.user.endpoints = i.user.endpoints.concat(e)
        emit({ _tag: "EndpointActive", ...base(i.user, now), endpoint: e.ref, invitation: i.ref })
        return e.ref
      }),
    completeIssuances: () =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        settle(now)
        for (let top = issuing.pop(); top !== undefined; top = issuing.pop()) {
          const c = credentialsByRef.get(top.id)
          if (c !== undefined) complete(c, now)
        }
      }),
    expireInvitation: (ref) =>
      control((now): undefined | PortError.PortError => {
        const i = invitationsByRef.get(ref)
        if (i === undefined) {
          return portError("CredentialManager", "expireInvitation", "NotFound", `unknown invitation ${ref}`)
        }
        expire(i, now)
      }),
    deleteCredential: (ref) =>
      control((now): undefined | PortError.PortError => {
        const c = findCred("deleteCredential", ref)
        if (c instanceof PortError.PortError) return c
        const wasLive = isLiveStatus(c.status)
        credentialsByRef.delete(c.ref)
        c.endpoint.credentials = c.endpoint.credentials.filter((x) => x !== c)
        c.endpoint.user.credentials = c.endpoint.user.credentials.filter((x) => x !== c)
        c.status = "revoked"
        if (wasLive) emit({ _tag: "CredentialRevoked", ...base(c.endpoint.user, now), credential: c.ref })
      }),
    duplicateCredential: (ref) =>
      control((now): Ids.ProviderRef | PortError.PortError => {
        const c = findCred("duplicateCredential", ref)
        if (c instanceof PortError.PortError) return c
        const d = newCredential("duplicateCredential", c.endpoint, c, now, 0)
        if (d instanceof PortError.PortError) return d
        if (d.status === "issuing") complete(d, now)
        return d.ref
      }),
    removeEndpointBehindBack: (ref) =>
      control((now): undefined | PortError.PortError => {
        const e = endpointsByRef.get(ref)
        if (e === undefined) {
          return portError("CredentialManager", "removeEndpointBehindBack", "NotFound", `unknown endpoint ${ref}`)
        }
        removeEndpointRec(e, now)
      }),
    removeAcsEntry: (ref) =>
      control((now): undefined | PortError.PortError => {
        const e = entriesByRef.get(ref)
        if (e === undefined) return portError("AccessControl", "removeAcsEntry", "NotFound", `unknown ACS entry ${ref}`)
        removeEntry(e, now)
      }),
    restoreEndpoint: (ref) =>
      control((now): undefined | PortError.PortError => {
        const e = endpointsByRef.get(ref)
        if (e === undefined) {
          return portError("CredentialManager", "restoreEndpoint", "NotFound", `unknown endpoint ${ref}`)
        }
        if (e.status === "active") return
        e.prev = e.status
        e.status = "active"
        e.changedAt = now
        emit({
          _tag: "EndpointActive",
          ...base(e.user, now),
          endpoint: e.ref,
          ...(e.invitation === undefined ? {} : { invitation: e.invitation })
        })
      }),
    reassignAcsEntry: (ref, user) =>
      control((): undefined | PortError.PortError => {
        const e = entriesByRef.get(ref)
        if (e === undefined) return portError("AccessControl", "reassignAcsEntry", "NotFound", `unknown ACS entry ${ref}`)
        assignEntry(e.acs, e, user)
      }),
    duplicateAcsEntry: (ref) =>
      control((now): Ids.ProviderRef | PortError.PortError => {
        const e = entriesByRef.get(ref)
        if (e === undefined) return portError("AccessControl", "duplicateAcsEntry", "NotFound", `unknown ACS entry ${ref}`)
        const d: EntryRec = { ...e, ref: nextRef("acse"), assignedTo: undefined }
        addEntry(d)
        assignEntry(e.acs, d, e.assignedTo)
        emit({ _tag: "AcsImported", acsSystemId: e.acs.system.id, entry: d.ref, cardNumber: d.cardNumber, at: now })
        return d.ref
      }),
    plantAcsEntry: (acsId, entry) =>
      control((now): Ids.ProviderRef | PortError.PortError => {
        const a = getAcs("plantAcsEntry", acsId)
        if (a instanceof PortError.PortError) return a
        const e: EntryRec = {
          acs: a,
          ref: nextRef("acse"),
          cardNumber: entry.cardNumber,
          cardFormat: entry.cardFormat,
          facilityCode: entry.facilityCode,
          label: entry.label,
          assignedTo: undefined
        }
        addEntry(e)
        assignEntry(a, e, entry.assignedTo)
        emit({ _tag: "AcsImported", acsSystemId: a.system.id, entry: e.ref, cardNumber: e.cardNumber, at: now })
        return e.ref
      }),
    nextEventAt: () => {
      const times = [issuing.peek()?.at, expiring.peek()?.at].filter((t): t is number => t !== undefined)
      return times.length === 0 ? undefined : Math.min(...times)
    },
    truth: () =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        settle(now)
        return snapshot(now)
      }),
    truthUnsafe: (now) => {
      if (now !== undefined) settle(now)
      return snapshot(now ?? lastNow)
    },
    calls,
    state: exportState
  }
}
