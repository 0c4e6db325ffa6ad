/**
 * The in-memory simulator as a property-test {@link Provider}.
 *
 * @since 0.1.0
 */
import { Simulator } from "@credsync/adapter-memory"
import { Ids } from "@credsync/core"
import { Effect } from "effect"
import type { FaultProfile, Provider, Truth } from "./Provider.js"

const clean = { transient: 0, rateLimited: 0, lostResponse: 0, crash: 0 }

const view = (t: Simulator.Truth): Truth => ({
  credentials: t.credentials.map((c) => ({
    ref: c.ref,
    endpoint: c.endpoint,
    cardFormat: c.cardFormat,
    facilityCode: c.facilityCode,
    cardNumber: c.cardNumber,
    live: c.live,
    status: c.status
  })),
  acsEntries: t.acsEntries.map((e) => ({ ref: e.ref, cardNumber: e.cardNumber, label: e.label, assignedTo: e.assignedTo })),
  endpoints: t.endpoints.map((e) => ({ ref: e.ref, status: e.status }))
})

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
    truth: Effect.map(sim.truth(), view),
    truthNow: (now) => view(sim.truthUnsafe(now)),
    nextEventAt: () => sim.nextEventAt(),
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
    removeEndpoint: (ref) => Effect.ignore(sim.removeEndpointBehindBack(Ids.ProviderRef.make(ref))),
    restoreEndpoint: (ref) => Effect.ignore(sim.restoreEndpoint(Ids.ProviderRef.make(ref))),
    expireInvitation: (ref) => Effect.ignore(sim.expireInvitation(Ids.ProviderRef.make(ref))),
    acsDrift: {
      remove: (ref) => Effect.ignore(sim.removeAcsEntry(Ids.ProviderRef.make(ref))),
      reassign: (ref, user) => Effect.ignore(sim.reassignAcsEntry(Ids.ProviderRef.make(ref), user === undefined ? undefined : Ids.AcsUserId.make(user))),
      duplicate: (ref) => Effect.ignore(sim.duplicateAcsEntry(Ids.ProviderRef.make(ref))),
      plant: (user, cardNumber) =>
        Effect.ignore(
          sim.plantAcsEntry(Simulator.defaultAcsId, {
            cardNumber,
            cardFormat: "rfid48",
            facilityCode: "9",
            label: "credsync:leftover",
            assignedTo: Ids.AcsUserId.make(user)
          })
        )
    },
    failNext: (op, reason) => sim.failNext(op, reason),
    isCrash: Simulator.isSimulatedCrash
  }
  return { sim, provider }
}
