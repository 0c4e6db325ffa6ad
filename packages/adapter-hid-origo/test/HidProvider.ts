/**
 * The HID Origo adapter + fake as a property-test {@link Provider} (packages/testkit): the engine talks to
 * the real HTTP client and CredentialManager, the fake plays HID (on 127.0.0.1, port 0), the phone apps
 * redeem through the fake's control, and an in-memory ACS (the simulator's) stands in for the door system.
 *
 * - callbacks: the loopback receiver is subscribed with HID as the adapter does it (an event filter and a
 *   callback registration with an X-API-Key); the fake delivers CloudEvents batches over HTTP to it and
 *   `callbacks` turns the batches received since the last call into core Observations through
 *   `OrigoEvents.ingest` (a batch whose intake fails, e.g. on an injected fault, is lost, as it would be
 *   when the receiver answers HID 5xx: HID does not redeliver).
 * - faults: `transient` → 503, `rateLimited` → 403, `lostResponse` → the request is applied and the socket
 *   closed (no answer), each on that share of HID requests (the fake's seeded `probability`); the same mix
 *   is applied to the memory ACS. The `transient` plus `lostResponse` share (at most 30%) of the issuances a
 *   sync finishes fail (CREDENTIAL_CREATION_FAILURE), which the engine must repair. `duplicateCallbacks` → the fake delivers
 *   every batch twice; `reorderCallbacks` → observations shuffled here. `lagMs` does not apply: HID's listing
 *   reads back its own writes (capability `listingLag: 0`).
 * - crashNext: the next issue goes through to HID, then the engine dies (a defect), like the simulator's
 *   `failNext("issue", "Crash")`.
 * - drift: `deleteCredential` takes a credential from its phone behind the engine's back: revoked from HID's
 *   back office, or (an issued one, on a seeded coin toss) UNBOUND; `duplicateCredential` is not offered (HID refuses a second credential
 *   of one part number on a container with 412).
 *
 * Time: the engine runs on the World's TestClock. Nothing on its path sleeps: the client's rate limiter
 * is set far above anything a run does, the adapter has no in-call retry of its own, and the fake's rate
 * limits are raised too. The fake keeps real time (tokens and invitations last hours; no run gets near).
 */
import { Seeded, Simulator } from "@credsync/adapter-memory"
import { type CredentialManager, Ids, type Observation, PortError } from "@credsync/core"
import { HidOrigoFake } from "@credsync/hid-origo-fake"
import { type FaultProfile, Loopback, type Provider, type Truth } from "@credsync/testkit"
import { Effect, Exit, Redacted } from "effect"
import { OrigoClient, OrigoCredentialManager, OrigoEvents } from "../src/index.js"

export const managerId = Ids.AcsSystemId.make("hid-origo")

/** The property's two card profiles (testkit model), each on its own part-number pool with disjoint card numbers. */
export const partNumbers: Readonly<Record<string, string>> = {
  "rfid48/9": "MID-SUB-CRD_FTPN_700009",
  "h10301/42": "MID-SUB-CRD_FTPN_700042"
}

export const pools: ReadonlyArray<HidOrigoFake.PartNumberSeed> = [
  {
    id: "4924_700009",
    partNumber: "MID-SUB-CRD_FTPN_700009",
    facilityCode: "9",
    formatNumber: "TRK-RFID48",
    firstNumber: 100_000,
    lastNumber: 199_999
  },
  {
    id: "4924_700042",
    partNumber: "MID-SUB-CRD_FTPN_700042",
    facilityCode: "42",
    formatNumber: "TRK-H10301",
    firstNumber: 200_000,
    lastNumber: 299_999
  }
]

/** The defect a provoked engine crash dies with. */
export class ProviderCrash extends Error {
  override readonly name = "ProviderCrash"
  constructor() {
    super("simulated engine crash after an issue reached HID")
  }
}


const statusOf = (e: unknown): number | undefined =>
  typeof e === "object" && e !== null && "status" in e && typeof e.status === "number" ? e.status : undefined

const redeemError = (e: unknown): PortError.PortError =>
  new PortError.PortError({
    reason: statusOf(e) === 404 ? "NotFound" : statusOf(e) === 412 ? "Conflict" : "Unknown",
    port: "CredentialManager",
    method: "redeem",
    message: e instanceof Error ? e.message : String(e),
    cause: e
  })


export interface HidProviderOptions {
  /** Seeds the fake's fault draws and the callback shuffling. */
  readonly seed?: number
  /**
   * HID's request limit, applied by the fake (per real-time window) and by the client (per the engine's
   * clock). Default: far above anything a run does, so that only injected 403s limit.
   */
  readonly rateLimit?: { readonly limit: number; readonly windowMs: number }
}

/** A provider with its fake and adapter at hand (for tests that look at what HID saw). */
export interface HidProvider extends Provider {
  readonly fake: HidOrigoFake.RunningFake
  readonly client: OrigoClient.OrigoClientShape
  readonly events: OrigoEvents.OrigoEventsShape
  /** The key HID sends in X-API-Key with each delivery. */
  readonly apiKey: Redacted.Redacted<string>
}

/** Starts a fake, a callback receiver and the adapter on them. `close()` stops everything. */
export const make = async (options: HidProviderOptions = {}): Promise<HidProvider> => {
  const seed = options.seed ?? 1
  const random = Seeded.random(seed ^ 0x9e3779b9)
  // The engine makes thousands of requests in a run: keep HID's (documented) limits out of the way unless a
  // test asks for them; the 403 behaviour has its own tests and is injected below as a fault.
  const rateLimit = options.rateLimit ?? { limit: 10_000_000, windowMs: 300_000 }
  const fake = await HidOrigoFake.start({
    seed,
    partNumbers: pools,
    rateLimit,
    authRateLimit: { limit: 10_000_000, windowMs: 300_000 }
  })
  const receiver = await Loopback.receiver("/hid/callbacks")
  const apiKey = Redacted.make(`cb-${seed}-${Math.random().toString(36).slice(2)}`)
  const config: OrigoClient.OrigoConfig = {
    clientId: fake.account.clientId,
    clientSecret: Redacted.make(fake.account.clientSecret),
    applicationId: "HID-CREDSYNC-TEST",
    applicationVersion: "0.1.0",
    environment: fake.environment,
    timeoutMs: 10_000,
    // Never wait on the limiter (it would sleep on the engine's TestClock).
    rateLimit: { ...rateLimit, onLimit: "fail" }
  }
  const { client, manager: origo, events } = await Effect.runPromise(
    Effect.gen(function* () {
      // Registration is set-up, done with its own client on the real clock.
      const setup = yield* OrigoClient.make(config)
      yield* OrigoEvents.subscribe(setup, { url: receiver.url, apiKey })
      const client = yield* OrigoClient.make(config)
      const manager = yield* OrigoCredentialManager.make(client, { system: managerId, name: "HID Origo (fake)", partNumbers })
      const events = yield* OrigoEvents.make(client, { system: managerId, authentication: { _tag: "ApiKey", apiKey } })
      return { client, manager, events }
    })
  )
  const sim = Simulator.make({ seed })
  const profileOf = new Map(
    Object.entries(partNumbers).map(([key, pn]) => {
      const [cardFormat = key, facilityCode = ""] = key.split("/")
      return [pn, { cardFormat, facilityCode }] as const
    })
  )

  let crashArmed = false
  let reorder = 0
  const manager: CredentialManager.CredentialManagerShape = {
    ...origo,
    issue: (m, request) =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(origo.issue(m, request))
        if (crashArmed) {
          crashArmed = false
          return yield* Effect.die(new ProviderCrash())
        }
        return yield* Exit.isSuccess(exit) ? Effect.succeed(exit.value) : Effect.failCause(exit.cause)
      })
  }

  const setFaults = (f: FaultProfile) =>
    Effect.gen(function* () {
      const c = fake.controls
      c.clearFaults()
      const times = Number.POSITIVE_INFINITY
      const transient = f.transient ?? 0
      const rateLimited = f.rateLimited ?? 0
      const lostResponse = f.lostResponse ?? 0
      // Several may match one request: the first that draws a hit wins.
      if (transient > 0) c.injectFault({ kind: "status", status: 503, probability: transient, times })
      if (rateLimited > 0) c.injectFault({ kind: "status", status: 403, probability: rateLimited, times })
      if (lostResponse > 0) c.injectFault({ kind: "lostResponse", probability: lostResponse, times })
      c.setIssuanceFailure(Math.min(0.3, transient + lostResponse))
      c.setCallbackDelivery((f.duplicateCallbacks ?? 0) > 0 ? "duplicate" : "deliver")
      reorder = f.reorderCallbacks ?? 0
      const clean = { transient: 0, rateLimited: 0, lostResponse: 0, crash: 0 }
      // The same mix on the ACS; the test itself creates and reads ACS users (as a host would): keep those clean.
      yield* sim.setFaults({
        transient,
        rateLimited,
        lostResponse,
        ops: { acsCreateUser: clean, acsGetUser: clean, acsObserve: { lostResponse: 0 } }
      })
    })

  const callbacks = Effect.gen(function* () {
    yield* Effect.promise(() => fake.controls.callbacksIdle())
    const out: Array<Observation.Observation> = []
    for (const delivery of receiver.take()) {
      const exit = yield* Effect.exit(events.ingest({ headers: delivery.headers, body: delivery.body }))
      if (Exit.isSuccess(exit)) out.push(...exit.value)
    }
    // the fake duplicates deliveries itself; reordering is done here
    return Seeded.deliver(out, random, { reorder })
  })

  const truth: Effect.Effect<Truth> = Effect.gen(function* () {
    const snapshot = fake.controls.snapshot()
    const acs = yield* sim.truth()
    return {
      credentials: snapshot.credentials.flatMap((c) => {
        if (c.containerId === undefined) return []
        const profile = profileOf.get(c.partNumber) ?? { cardFormat: c.partNumber, facilityCode: "" }
        return [
          {
            ref: c.id,
            endpoint: c.containerId,
            cardFormat: profile.cardFormat,
            facilityCode: profile.facilityCode,
            cardNumber: c.cardNumber,
            live: c.status === "ISSUE_INITIATED" || c.status === "ISSUED"
          }
        ]
      }),
      acsEntries: acs.acsEntries.map((e) => ({ ref: e.ref, cardNumber: e.cardNumber, label: e.label, assignedTo: e.assignedTo }))
    }
  })

  const provider: HidProvider = {
    name: "hid-origo",
    fake,
    client,
    events,
    apiKey,
    manager,
    acs: sim.acs,
    managerId,
    acsSystemId: Simulator.defaultAcsId,
    redeem: (code) =>
      Effect.try({
        try: () => fake.controls.redeem(code).containerId,
        catch: redeemError
      }),
    settle: Effect.sync(() => {
      fake.controls.settle()
    }),
    truth,
    callbacks,
    setFaults,
    crashNext: Effect.sync(() => {
      crashArmed = true
    }),
    deleteCredential: (ref) =>
      Effect.ignore(
        Effect.try(() => {
          const status = fake.controls.snapshot().credentials.find((c) => c.id === ref)?.status
          if (status === "ISSUED" && random() < 0.5) fake.controls.unbindCredential(ref)
          else fake.controls.revokeCredential(ref)
        })
      ),
    isCrash: (defect) => defect instanceof ProviderCrash,
    close: async () => {
      await fake.stop()
      await receiver.close()
    }
  }
  return provider
}
