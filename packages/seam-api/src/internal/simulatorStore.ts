/**
 * The sandbox simulator behind a workspace, kept in the workspace's store so that a restart
 * continues the same provider (same users, invitations, endpoints, credentials, ACS users and
 * entries; never a ref, card number or invitation code again).
 *
 * The simulator's state is written after every mutating call (success or failure: a lost response
 * is a change too) before the call returns to the engine. A crash between the simulator's change
 * and that write is therefore exactly a lost response at a real provider: the engine never saw the
 * result, and settles it by observing. When the write fails, the call answers `Ambiguous` and every
 * later call first writes the state again (`Transient` while it cannot), so the engine is never told
 * anything the store does not hold.
 *
 * @internal
 */
import { Simulator } from "@credsync/adapter-memory"
import { type AccessControl, type CredentialManager, PortError, type Records } from "@credsync/core"
import { Cause, Effect, Exit, Option, Semaphore } from "effect"
import * as Rec from "./records.js"

const SimulatorState = Rec.kind("seam-simulator", Simulator.State)
const key = "state"

/** A simulator whose changes are persisted, with the ports the engine uses. */
export interface PersistedSimulator {
  readonly simulator: Simulator.Simulator
  readonly manager: CredentialManager.IssuingManagerShape
  readonly acs: AccessControl.AccessControlShape
  /** Write the simulator's state now (after a test control such as `redeem`). */
  readonly persist: Effect.Effect<void, PortError.PortError>
}

/**
 * Restore the simulator from the store (or make a fresh one), or use `shared` as it is: an
 * in-process simulator that several workspace instances use at once, standing in for one provider.
 */
export const make = (
  records: Records.RecordsShape,
  source: { readonly _tag: "Own"; readonly options: Simulator.Options } | { readonly _tag: "Shared"; readonly simulator: Simulator.Simulator },
  log: (line: string) => void
): Effect.Effect<PersistedSimulator, PortError.PortError> =>
  Effect.gen(function* () {
    const sim =
      source._tag === "Shared"
        ? source.simulator
        : yield* Effect.flatMap(Rec.get(records, SimulatorState, key), (stored) =>
            Option.match(stored, {
              onNone: () => Effect.sync(() => Simulator.make(source.options)),
              onSome: (r) =>
                Simulator.restore(r.value, source.options).pipe(
                  Effect.mapError(
                    (e) => new PortError.PortError({ reason: "Unknown", port: "Store", method: "restore", message: `the stored ${e.message}` })
                  )
                )
            })
          )
    const lock = yield* Semaphore.make(1)
    let written: string | undefined
    let dirty = false

    // Writes the current state unless it is what this instance wrote last. A lost race means another
    // instance (sharing this simulator) wrote: write again over its version, with the state as it is now.
    const write = lock.withPermits(1)(
      Effect.gen(function* () {
        for (let races = 0; ; races++) {
          const state = sim.state()
          const json = JSON.stringify(state)
          if (json === written) {
            dirty = false
            return
          }
          const current = yield* records.get(SimulatorState.name, key)
          const version = Option.match(current, { onNone: () => 0, onSome: (r) => r.version })
          const exit = yield* Effect.exit(Rec.replace(records, SimulatorState, key, state, version))
          if (Exit.isSuccess(exit)) {
            written = json
            dirty = false
            return
          }
          const failure = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
          if (failure === undefined || !Rec.isConflict(failure) || races >= 16) return yield* Effect.failCause(exit.cause)
        }
      })
    )
    const persist = Effect.tapError(write, (e) =>
      Effect.sync(() => {
        dirty = true
        log(`simulator state not saved (retried before the next call): ${e.message}`)
      })
    )
    const unsaved = (port: "CredentialManager" | "AccessControl", method: string, reason: "Ambiguous" | "Transient") =>
      new PortError.PortError({
        reason,
        port,
        method,
        message:
          reason === "Ambiguous"
            ? "the simulator applied the call but its state could not be saved"
            : "the simulator's state could not be saved"
      })
    // A previous change not saved yet is saved before anything else is answered.
    const flush = (port: "CredentialManager" | "AccessControl", method: string) =>
      Effect.suspend(() => (dirty ? Effect.mapError(persist, () => unsaved(port, method, "Transient")) : Effect.void))
    const reading =
      (port: "CredentialManager" | "AccessControl", method: string) =>
      <A>(call: Effect.Effect<A, PortError.PortError>): Effect.Effect<A, PortError.PortError> =>
        Effect.andThen(flush(port, method), call)
    const mutating =
      (port: "CredentialManager" | "AccessControl", method: string) =>
      <A>(call: Effect.Effect<A, PortError.PortError>): Effect.Effect<A, PortError.PortError> =>
        Effect.gen(function* () {
          yield* flush(port, method)
          const exit = yield* Effect.exit(call)
          const saved = yield* Effect.exit(persist)
          if (Exit.isFailure(saved)) return yield* Effect.fail(unsaved(port, method, "Ambiguous"))
          return yield* exit
        })

    const inner = sim.manager
    const manager: CredentialManager.IssuingManagerShape = {
      kind: "issuing",
      get systems() {
        return inner.systems
      },
      ensureUser: (m, identity) => mutating("CredentialManager", "ensureUser")(inner.ensureUser(m, identity)),
      observe: (m, user) => reading("CredentialManager", "observe")(inner.observe(m, user)),
      invite: (m, user) => mutating("CredentialManager", "invite")(inner.invite(m, user)),
      cancelInvitation: (m, ref) => mutating("CredentialManager", "cancelInvitation")(inner.cancelInvitation(m, ref)),
      issue: (m, request) => mutating("CredentialManager", "issue")(inner.issue(m, request)),
      revoke: (m, ref) => mutating("CredentialManager", "revoke")(inner.revoke(m, ref)),
      removeEndpoint: (m, ref) => mutating("CredentialManager", "removeEndpoint")(inner.removeEndpoint(m, ref))
    }
    const innerAcs = sim.acs
    const acs: AccessControl.AccessControlShape = {
      systems: innerAcs.systems,
      createUser: (a, user) => mutating("AccessControl", "createUser")(innerAcs.createUser(a, user)),
      getUser: (a, id) => reading("AccessControl", "getUser")(innerAcs.getUser(a, id)),
      observe: (a, query) => reading("AccessControl", "observe")(innerAcs.observe(a, query)),
      importCredential: (a, entry) => mutating("AccessControl", "importCredential")(innerAcs.importCredential(a, entry)),
      assign: (a, entry, user) => mutating("AccessControl", "assign")(innerAcs.assign(a, entry, user)),
      remove: (a, entry) => mutating("AccessControl", "remove")(innerAcs.remove(a, entry))
    }
    return { simulator: sim, manager, acs, persist }
  })
