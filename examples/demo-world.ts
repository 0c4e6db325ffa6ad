/**
 * The demo's world: the in-memory simulator behind a thin layer that
 * - counts every fault it injects (by kind and operation) and every issue call by its cause, so the
 *   verdict can explain each one;
 * - keeps a journal of every call and control, with its virtual time, so that a later run with the
 *   same `--db` file can rebuild the simulator exactly (it is seeded: the same calls in the same
 *   order give the same world) and resume the day.
 */
import { Seeded, Simulator } from "@credsync/adapter-memory"
import type { AccessControl, CredentialManager, Ids, Observation } from "@credsync/core"
import { Clock, Effect, Exit } from "effect"
import { TestClock } from "effect/testing"

/** Simulator options of the demo (the journal is only valid for the same ones). */
export const simulatorOptions = { seed: 2026, issueDelay: 90_000, invitationTtl: 45 * 60_000 } as const

type Manager = CredentialManager.IssuingManagerShape
type Acs = AccessControl.AccessControlShape

/** Every journaled operation, with the arguments it was called with. */
export type Op =
  | { readonly op: "ensureUser"; readonly args: Parameters<Manager["ensureUser"]> }
  | { readonly op: "observe"; readonly args: Parameters<Manager["observe"]> }
  | { readonly op: "invite"; readonly args: Parameters<Manager["invite"]> }
  | { readonly op: "cancelInvitation"; readonly args: Parameters<Manager["cancelInvitation"]> }
  | { readonly op: "issue"; readonly args: Parameters<Manager["issue"]> }
  | { readonly op: "revoke"; readonly args: Parameters<Manager["revoke"]> }
  | { readonly op: "removeEndpoint"; readonly args: Parameters<Manager["removeEndpoint"]> }
  | { readonly op: "acsCreateUser"; readonly args: Parameters<Acs["createUser"]> }
  | { readonly op: "acsGetUser"; readonly args: Parameters<Acs["getUser"]> }
  | { readonly op: "acsObserve"; readonly args: Parameters<Acs["observe"]> }
  | { readonly op: "acsImport"; readonly args: Parameters<Acs["importCredential"]> }
  | { readonly op: "acsAssign"; readonly args: Parameters<Acs["assign"]> }
  | { readonly op: "acsRemove"; readonly args: Parameters<Acs["remove"]> }
  | { readonly op: "redeem"; readonly args: Parameters<Simulator.Simulator["redeem"]> }
  | { readonly op: "setFaults"; readonly args: Parameters<Simulator.Simulator["setFaults"]> }
  | { readonly op: "failNext"; readonly args: Parameters<Simulator.Simulator["failNext"]> }
  | { readonly op: "deleteCredential"; readonly args: Parameters<Simulator.Simulator["deleteCredential"]> }
  | { readonly op: "takeCallbacks"; readonly args: [] }
  | { readonly op: "truth"; readonly args: [] }

/** A journal entry: an operation at a virtual time. */
export type Entry = Op & { readonly t: number }

/** Why an issue call was made, as the verdict lists them. */
export type IssueCause = "first" | "reenrolment" | "drift" | "loss" | "refused" | "faultTransient" | "faultRateLimited"

/** Kinds of injected faults. */
export type FaultKind = "Transient" | "RateLimited" | "Ambiguous" | "Crash"

/** What the world counted. */
export interface Counts {
  readonly issue: Record<IssueCause, number>
  readonly faults: Record<FaultKind, Record<string, number>>
  duplicatedCallbacks: number
  reorderedCallbacks: number
  /** Refs the engine revoked, in order. */
  readonly revoked: Array<string>
  /** The issue call cut by the engine crash: (endpoint, profile). */
  crashedIssue: { readonly endpoint: string; readonly profile: string } | undefined
}

/** The world: port implementations and controls that count and journal. */
export interface World {
  readonly sim: Simulator.Simulator
  readonly manager: Manager
  readonly acs: Acs
  readonly redeem: Simulator.Simulator["redeem"]
  readonly setFaults: Simulator.Simulator["setFaults"]
  readonly failNext: Simulator.Simulator["failNext"]
  readonly deleteCredential: Simulator.Simulator["deleteCredential"]
  readonly takeCallbacks: () => Effect.Effect<ReadonlyArray<Observation.Observation>>
  readonly truth: () => Effect.Effect<Simulator.Truth>
  readonly journal: ReadonlyArray<Entry>
  readonly counts: Counts
  /** Apply a journal from an earlier run (under a TestClock), rebuilding the simulator and the counts. */
  readonly replay: (entries: ReadonlyArray<Entry>) => Effect.Effect<void>
}

const profileOf = (c: { readonly cardFormat: string; readonly facilityCode: string }) => `${c.cardFormat}/${c.facilityCode}`

/**
 * Make the world. `phoneOf` maps an endpoint to the phone that enrolled it (the demo's apps know),
 * to tell a re-enrolment from a first issue.
 */
export const make = (phoneOf: (endpoint: string) => string | undefined): World => {
  const sim = Simulator.make(simulatorOptions)
  const journal: Array<Entry> = []
  const counts: Counts = {
    issue: { first: 0, reenrolment: 0, drift: 0, loss: 0, refused: 0, faultTransient: 0, faultRateLimited: 0 },
    faults: { Transient: {}, RateLimited: {}, Ambiguous: {}, Crash: {} },
    duplicatedCallbacks: 0,
    reorderedCallbacks: 0,
    revoked: [],
    crashedIssue: undefined
  }
  // per (endpoint, profile): issue calls that took effect; per (phone, profile): endpoints issued to
  const applied = new Map<string, number>()
  const issuedOnPhone = new Map<string, Set<string>>()
  const deletedBehindBack = new Set<string>()
  const refKey = new Map<string, string>()

  const record = <A, E>(op: Op, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.flatMap(Clock.currentTimeMillis, (t) => {
      journal.push({ ...op, t } as Entry)
      return effect
    })
  const countFault = (kind: FaultKind, operation: string) => {
    const byOp = counts.faults[kind]
    byOp[operation] = (byOp[operation] ?? 0) + 1
  }
  /** Count the fault an exit shows (a failure with an injected reason, or the simulated crash). */
  const watch = <A, E>(operation: string, effect: Effect.Effect<A, E>, after?: (exit: Exit.Exit<A, E>) => void) =>
    Effect.onExit(effect, (exit) =>
      Effect.sync(() => {
        if (Exit.isFailure(exit)) {
          const crash = exit.cause.reasons.some((r) => r._tag === "Die" && Simulator.isSimulatedCrash(r.defect))
          const error = exit.cause.reasons.find((r) => r._tag === "Fail")
          const reason = error?._tag === "Fail" ? (error.error as { readonly reason?: unknown }).reason : undefined
          if (crash) countFault("Crash", operation)
          else if (reason === "Transient" || reason === "RateLimited" || reason === "Ambiguous") countFault(reason, operation)
        }
        after?.(exit)
      })
    )

  const issue: Manager["issue"] = (managerId, request) => {
    const profile = profileOf(request.card)
    const key = `${request.endpoint}|${profile}`
    return record(
      { op: "issue", args: [managerId, request] },
      watch("issue", sim.manager.issue(managerId, request), (exit) => {
        const reason = Exit.isFailure(exit)
          ? exit.cause.reasons.flatMap((r) => (r._tag === "Fail" ? [(r.error as { readonly reason?: unknown }).reason] : []))[0]
          : undefined
        if (reason === "Transient") return void counts.issue.faultTransient++
        if (reason === "RateLimited") return void counts.issue.faultRateLimited++
        if (Exit.isFailure(exit) && reason !== "Ambiguous" && !exit.cause.reasons.some((r) => r._tag === "Die")) {
          // refused by the manager for another reason (e.g. the endpoint is gone): nothing was issued
          return void counts.issue.refused++
        }
        const phone = phoneOf(request.endpoint) ?? request.endpoint
        const earlier = issuedOnPhone.get(`${phone}|${profile}`) ?? new Set<string>()
        if ((applied.get(key) ?? 0) > 0) {
          if (deletedBehindBack.has(key)) {
            counts.issue.drift++
            deletedBehindBack.delete(key)
          } else counts.issue.loss++
        } else if ([...earlier].some((e) => e !== request.endpoint)) counts.issue.reenrolment++
        else counts.issue.first++
        applied.set(key, (applied.get(key) ?? 0) + 1)
        earlier.add(request.endpoint)
        issuedOnPhone.set(`${phone}|${profile}`, earlier)
        if (Exit.isSuccess(exit)) refKey.set(exit.value.ref, key)
        if (Exit.isFailure(exit) && exit.cause.reasons.some((r) => r._tag === "Die")) {
          counts.crashedIssue = { endpoint: request.endpoint, profile }
        }
      })
    )
  }

  const manager: Manager = {
    kind: "issuing",
    get systems() {
      return sim.manager.systems
    },
    ensureUser: (m, identity) => record({ op: "ensureUser", args: [m, identity] }, watch("ensureUser", sim.manager.ensureUser(m, identity))),
    observe: (m, user) => record({ op: "observe", args: [m, user] }, watch("observe", sim.manager.observe(m, user))),
    invite: (m, user) => record({ op: "invite", args: [m, user] }, watch("invite", sim.manager.invite(m, user))),
    cancelInvitation: (m, ref) =>
      record({ op: "cancelInvitation", args: [m, ref] }, watch("cancelInvitation", sim.manager.cancelInvitation(m, ref))),
    issue,
    revoke: (m, ref) =>
      record(
        { op: "revoke", args: [m, ref] },
        watch("revoke", sim.manager.revoke(m, ref), (exit) => {
          if (Exit.isSuccess(exit) || exit.cause.reasons.some((r) => r._tag === "Fail" && (r.error as { readonly reason?: unknown }).reason === "Ambiguous")) {
            counts.revoked.push(ref)
          }
        })
      ),
    removeEndpoint: (m, ref) => record({ op: "removeEndpoint", args: [m, ref] }, watch("removeEndpoint", sim.manager.removeEndpoint(m, ref)))
  }
  const acs: Acs = {
    systems: sim.acs.systems,
    createUser: (a, user) => record({ op: "acsCreateUser", args: [a, user] }, watch("acsCreateUser", sim.acs.createUser(a, user))),
    getUser: (a, user) => record({ op: "acsGetUser", args: [a, user] }, watch("acsGetUser", sim.acs.getUser(a, user))),
    observe: (a, query) => record({ op: "acsObserve", args: [a, query] }, watch("acsObserve", sim.acs.observe(a, query))),
    importCredential: (a, entry) => record({ op: "acsImport", args: [a, entry] }, watch("acsImport", sim.acs.importCredential(a, entry))),
    assign: (a, ref, user) => record({ op: "acsAssign", args: [a, ref, user] }, watch("acsAssign", sim.acs.assign(a, ref, user))),
    remove: (a, ref) => record({ op: "acsRemove", args: [a, ref] }, watch("acsRemove", sim.acs.remove(a, ref)))
  }

  // Callbacks are duplicated and reordered here rather than inside the simulator, so each one is
  // counted (same rules as the simulator's: each callback twice with probability `duplicate`, each
  // position swapped with a random one with probability `reorder`).
  const deliveryRand = Seeded.random(simulatorOptions.seed ^ 0x2f6b)
  let delivery = { duplicate: 0, reorder: 0 }
  const takeCallbacks = () =>
    record(
      { op: "takeCallbacks", args: [] },
      Effect.map(sim.takeCallbacks(), (taken) => {
        const out: Array<Observation.Observation> = []
        for (const c of taken) {
          out.push(c)
          if (Seeded.roll(deliveryRand, delivery.duplicate)) {
            out.push(c)
            counts.duplicatedCallbacks++
          }
        }
        for (let i = 0; i < out.length; i++) {
          if (!Seeded.roll(deliveryRand, delivery.reorder)) continue
          const j = Math.floor(deliveryRand() * out.length)
          if (j === i) continue
          const a = out[i]!
          out[i] = out[j]!
          out[j] = a
          counts.reorderedCallbacks++
        }
        return out
      })
    )
  const setFaults = (faults: Parameters<Simulator.Simulator["setFaults"]>[0]) =>
    record(
      { op: "setFaults", args: [faults] },
      Effect.andThen(
        Effect.sync(() => {
          delivery = { duplicate: faults.duplicateCallbacks ?? 0, reorder: faults.reorderCallbacks ?? 0 }
        }),
        sim.setFaults({ ...faults, duplicateCallbacks: 0, reorderCallbacks: 0 })
      )
    )
  const deleteCredential = (ref: Ids.ProviderRef) =>
    record(
      { op: "deleteCredential", args: [ref] },
      Effect.tap(sim.deleteCredential(ref), () =>
        Effect.sync(() => {
          const key = refKey.get(ref)
          if (key !== undefined) deletedBehindBack.add(key)
        })
      )
    )

  const world: World = {
    sim,
    manager,
    acs,
    redeem: (code) => record({ op: "redeem", args: [code] }, sim.redeem(code)),
    setFaults,
    failNext: (op, reason) => record({ op: "failNext", args: [op, reason] }, sim.failNext(op, reason)),
    deleteCredential,
    takeCallbacks,
    truth: () => record({ op: "truth", args: [] }, sim.truth()),
    journal,
    counts,
    replay: (entries) =>
      Effect.forEach(
        entries,
        (e) => Effect.andThen(TestClock.setTime(e.t), Effect.exit(apply(world, e))),
        { discard: true }
      )
  }
  return world
}

const apply = (w: World, e: Op): Effect.Effect<unknown, unknown> => {
  switch (e.op) {
    case "ensureUser":
      return w.manager.ensureUser(...e.args)
    case "observe":
      return w.manager.observe(...e.args)
    case "invite":
      return w.manager.invite(...e.args)
    case "cancelInvitation":
      return w.manager.cancelInvitation(...e.args)
    case "issue":
      return w.manager.issue(...e.args)
    case "revoke":
      return w.manager.revoke(...e.args)
    case "removeEndpoint":
      return w.manager.removeEndpoint(...e.args)
    case "acsCreateUser":
      return w.acs.createUser(...e.args)
    case "acsGetUser":
      return w.acs.getUser(...e.args)
    case "acsObserve":
      return w.acs.observe(...e.args)
    case "acsImport":
      return w.acs.importCredential(...e.args)
    case "acsAssign":
      return w.acs.assign(...e.args)
    case "acsRemove":
      return w.acs.remove(...e.args)
    case "redeem":
      return w.redeem(...e.args)
    case "setFaults":
      return w.setFaults(...e.args)
    case "failNext":
      return w.failNext(...e.args)
    case "deleteCredential":
      return w.deleteCredential(...e.args)
    case "takeCallbacks":
      return w.takeCallbacks()
    case "truth":
      return w.truth()
  }
}
