/**
 * The in-memory simulator as a property-test {@link Provider}.
 *
 * @since 0.1.0
 */
import { Simulator } from "@credsync/adapter-memory"
import { Ids } from "@credsync/core"
import { Effect } from "effect"
import type { FaultProfile, Provider } from "./Provider.js"

const clean = { transient: 0, rateLimited: 0, lostResponse: 0, crash: 0 }

/** A `Provider` over a fresh in-memory simulator (the property's default provider). */
export const make = (options: Simulator.Options = {}): { readonly sim: Simulator.Simulator; readonly provider: Provider } => {
  const sim = Simulator.make(options)
  const provider: Provider = {
    name: "memory",
    manager: sim.manager,
    acs: sim.acs,
    managerId: Simulator.defaultManagerId,
    acsSystemId: Simulator.defaultAcsId,
    redeem: (code) => sim.redeem(code),
    settle: sim.completeIssuances(),
    truth: Effect.map(sim.truth(), (t) => ({
      credentials: t.credentials.map((c) => ({
        ref: c.ref,
        endpoint: c.endpoint,
        cardFormat: c.cardFormat,
        facilityCode: c.facilityCode,
        cardNumber: c.cardNumber,
        live: c.live
      })),
      acsEntries: t.acsEntries.map((e) => ({ ref: e.ref, cardNumber: e.cardNumber, label: e.label, assignedTo: e.assignedTo }))
    })),
    callbacks: sim.takeCallbacks(),
    // the test itself creates ACS users (as a host would, outside the engine): keep those calls clean
    setFaults: (f: FaultProfile) =>
      sim.setFaults({ ...f, ops: { acsCreateUser: clean, acsGetUser: clean, observe: { lostResponse: 0 }, acsObserve: { lostResponse: 0 } } }),
    crashNext: Effect.gen(function* () {
      // crash after a write the engine cares most about: an issue whose outcome it has not recorded
      yield* sim.failNext("issue", "Crash")
    }),
    deleteCredential: (ref) => Effect.ignore(sim.deleteCredential(Ids.ProviderRef.make(ref))),
    duplicateCredential: (ref) => Effect.ignore(sim.duplicateCredential(Ids.ProviderRef.make(ref))),
    isCrash: Simulator.isSimulatedCrash
  }
  return { sim, provider }
}
