/**
 * Provider callbacks (HID Origo's CloudEvents deliveries, Seam's webhooks) taken from a host's HTTP
 * handler: verified by the adapter that knows the provider, then handed to the engine.
 *
 * The core does not know how a provider signs its callbacks. An adapter contributes the check as
 * a service: `OrigoEvents.intakeLayer` (adapter-hid-origo) provides {@link HidOrigoIntake},
 * `SeamWebhooks.intakeLayer` (adapter-seam) provides {@link SeamWebhookIntake}. Merge it into the
 * layer given to `Client.make`, and `credsync.ingestHidOrigo` / `credsync.ingestSeamWebhook` use it.
 *
 * A forged, tampered or stale delivery is refused with {@link CallbackRejected} before anything
 * happens; a verified one only makes the engine look at the identities it concerns again (the
 * engine is level-based: it trusts what it observes, never a callback's content).
 *
 * @since 0.2.0
 */
import { Context, Effect, Schema } from "effect"
import type { EngineShape } from "./Engine.js"
import type { UserIdentityId } from "./Ids.js"
import type { Observation } from "./Observation.js"
import type { PortError } from "./PortError.js"

/**
 * A callback as the host's web framework hands it over: the raw body (exactly as received: a
 * signature covers its bytes) and the request headers.
 *
 * @since 0.2.0
 */
export interface CallbackRequest {
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly body: string | Uint8Array
}

/**
 * A delivery refused before anything happened. `Unauthenticated`: missing or wrong secret or
 * signature (forged or tampered); `Stale`: a signature whose timestamp is outside the provider's
 * tolerance (a replay); `UnsupportedMediaType`; `Malformed` (`field` says where); `NotConfigured`:
 * no intake for this provider was given to the client. Answer 401/400/415 and log it; the provider
 * must not redeliver it as is.
 *
 * @since 0.2.0
 */
export class CallbackRejected extends Schema.TaggedError<CallbackRejected>()("CallbackRejected", {
  provider: Schema.Literals(["hid-origo", "seam"]),
  reason: Schema.Literals(["Unauthenticated", "Stale", "UnsupportedMediaType", "Malformed", "NotConfigured"]),
  field: Schema.optional(Schema.String),
  message: Schema.String
}) {}

/**
 * What a verified delivery did: how many observations it carried, the identities queued for a
 * reconcile, and how many observations named nothing the engine knows (ignored, and logged).
 *
 * @since 0.2.0
 */
export interface Ingested {
  readonly observations: number
  readonly identities: ReadonlyArray<UserIdentityId>
  readonly ignored: number
}

/**
 * A provider's check: verify and decode one delivery into observations, or refuse it.
 *
 * @since 0.2.0
 */
export interface IntakeShape {
  readonly verify: (request: CallbackRequest) => Effect.Effect<ReadonlyArray<Observation>, CallbackRejected | PortError>
}

/** HID Origo callbacks (provided by adapter-hid-origo's `OrigoEvents.intakeLayer`). @since 0.2.0 */
export class HidOrigoIntake extends Context.Service<HidOrigoIntake, IntakeShape>()("@credsync/core/Callbacks/HidOrigoIntake") {}

/** Seam webhooks (provided by adapter-seam's `SeamWebhooks.intakeLayer`). @since 0.2.0 */
export class SeamWebhookIntake extends Context.Service<SeamWebhookIntake, IntakeShape>()("@credsync/core/Callbacks/SeamWebhookIntake") {}

/**
 * Verify a delivery with `intake`, then hand its observations to the engine. Nothing is handed
 * over unless the whole delivery verifies.
 *
 * @since 0.2.0
 */
export const ingest = (
  intake: IntakeShape,
  engine: EngineShape,
  request: CallbackRequest
): Effect.Effect<Ingested, CallbackRejected | PortError> =>
  Effect.gen(function* () {
    const observations = yield* intake.verify(request)
    const identities = new Set<UserIdentityId>()
    let ignored = 0
    for (const o of observations) {
      // an observation naming nobody the engine knows is logged and counted by the engine
      const id = yield* engine.ingest(o).pipe(Effect.catchTag("InvalidObservation", () => Effect.succeed(undefined)))
      if (id === undefined) ignored++
      else identities.add(id)
    }
    return { observations: observations.length, identities: [...identities], ignored }
  })
