/** Shared test wiring: a fake HID Origo per layer build, the client and the port on top of it. */
import { HidOrigoFake } from "@credsync/hid-origo-fake"
import { CredentialManager, Ids } from "@credsync/core"
import { Context, Effect, Layer, Redacted } from "effect"
import { OrigoClient, OrigoCredentialManager, OrigoEvents } from "../src/index.js"

export class Fake extends Context.Service<Fake, HidOrigoFake.RunningFake>()("test/HidOrigoFake") {}

export const fakeLayer = (options: HidOrigoFake.Options = {}): Layer.Layer<Fake> =>
  Layer.effect(
    Fake,
    Effect.acquireRelease(
      Effect.promise(() => HidOrigoFake.start(options)),
      (fake) => Effect.promise(() => fake.stop())
    )
  )

/** The port from the test stack, narrowed: HID's is always an issuing manager. */
export const origoManager = Effect.gen(function* () {
  const cm = yield* CredentialManager.CredentialManager
  if (cm.kind !== "issuing") return yield* Effect.die(new Error(`the HID Origo port is issuing, not ${cm.kind}`))
  return cm
})

export const SECRET = "fake-client-secret"
/** The key HID sends in X-API-Key with each callback delivery (the test stack's). */
export const API_KEY = "callback-api-key"
export const system = Ids.AcsSystemId.make("hid-origo-test")
export const partNumbers = { "H10301/99": "MID-SUB-CRD_FTPN_644245", "H10301/100": "MID-SUB-CRD_FTPN_644246" }
export const card = { cardFormat: "H10301", facilityCode: "99" }

export const configFor = (fake: HidOrigoFake.RunningFake, overrides: Partial<OrigoClient.OrigoConfig> = {}): OrigoClient.OrigoConfig => ({
  clientId: fake.account.clientId,
  clientSecret: Redacted.make(fake.account.clientSecret),
  applicationId: "HID-CREDSYNC-TEST",
  applicationVersion: "0.1.0",
  environment: fake.environment,
  timeoutMs: 5_000,
  ...overrides
})

export const clientLayer = (overrides: Partial<OrigoClient.OrigoConfig> = {}): Layer.Layer<OrigoClient.OrigoClient, never, Fake> =>
  Layer.effect(
    OrigoClient.OrigoClient,
    Effect.gen(function* () {
      return yield* OrigoClient.make(configFor(yield* Fake, overrides))
    })
  )

/** Fake + client + port + event intake. */
export const stack = (
  options: { fake?: HidOrigoFake.Options; client?: Partial<OrigoClient.OrigoConfig>; apiKey?: string } = {}
): Layer.Layer<CredentialManager.CredentialManager | OrigoEvents.OrigoEvents | OrigoClient.OrigoClient | Fake> =>
  Layer.mergeAll(
    OrigoCredentialManager.layer({ system, partNumbers }),
    OrigoEvents.layer({ system, authentication: { _tag: "ApiKey", apiKey: Redacted.make(options.apiKey ?? API_KEY) } })
  ).pipe(Layer.provideMerge(clientLayer(options.client)), Layer.provideMerge(fakeLayer(options.fake)))
