/**
 * Webhook intake: Seam's Svix-signed deliveries verified with `@seamapi/webhook`, decoded, and
 * turned into core `Observation`s for `engine.ingest`. Observations only make the engine reconcile
 * the identity (it then reads Seam's current state), so a duplicated, reordered or late delivery
 * cannot mislead it.
 *
 * The identity is resolved from the event through the Seam API (the credential's or automation's
 * `user_identity_id`, whose `user_identity_key` is the credsync identity id). A resource already
 * gone is resolved from what the client saw in earlier listings (`SeamClient.ownerOf`) and, for
 * phones, through the host's `lookup` (pass `engine.lookup`: `phone:<device_id>`). Events that
 * resolve to no credsync identity, and event types that need no reconcile, yield no observation.
 *
 * | event | observation |
 * |---|---|
 * | `acs_credential.issued`, `.reissued` | `CredentialIssued` |
 * | `acs_credential.deleted` | `CredentialRevoked` |
 * | `acs_credential.invalidated` | `CredentialFailed` (`invalidated`) |
 * | `phone.deactivated` | `EndpointRemoved` |
 * | `enrollment_automation.deleted` | `InvitationExpired` (the core has no automation observation) |
 *
 * A bad signature or a malformed event fails with `WebhookRejected`; nothing is changed.
 *
 * For a host without Effect, {@link intakeLayer} plugs this check into the Promise facade
 * (`credsync.ingestSeamWebhook({ headers, body })`).
 *
 * @since 0.1.0
 */
import { Callbacks, Engine, type Ids, type Observation, type PortError } from "@credsync/core"
import { Config, Context, Effect, Layer, type Redacted, Schema } from "effect"
import * as internal from "./internal/webhooks.js"
import { SeamClient } from "./SeamClient.js"

/** Request headers as Node (`IncomingHttpHeaders`) or a plain record gives them. */
export type Headers = internal.Headers

/** A delivery refused before anything happened. @since 0.1.0 */
export class WebhookRejected extends Schema.TaggedError<WebhookRejected>()("WebhookRejected", {
  reason: Schema.Literals(["BadSignature", "Malformed"]),
  message: Schema.String
}) {}

/** The verified event, as far as credsync reads it. @since 0.1.0 */
export interface SeamEvent {
  readonly event_id: string
  readonly event_type: string
  readonly occurred_at?: string | undefined
  readonly acs_credential_id?: string | undefined
  readonly device_id?: string | undefined
  readonly enrollment_automation_id?: string | undefined
}

/**
 * Options of the Seam webhook intake: the signing secret and the manager's system id.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The webhook's `whsec_...` secret. */
  readonly secret: Redacted.Redacted<string>
  /** The credential manager the observations are for. */
  readonly system: Ids.AcsSystemId
  /** Resolve a lookup key to a credsync identity (pass `engine.lookup`). */
  readonly lookup?: ((key: string) => Effect.Effect<Ids.UserIdentityId | undefined, PortError.PortError>) | undefined
}

/**
 * Verifies Seam webhooks (Svix signatures) and turns them into observations for `Engine.ingest`.
 *
 * @since 0.1.0
 */
export interface SeamWebhooksShape {
  /** Verify the signature and decode the event. */
  readonly verify: (body: string, headers: Headers) => Effect.Effect<SeamEvent, WebhookRejected>
  /** Verify, decode and resolve: the observations to hand to `engine.ingest` (often one, maybe none). */
  readonly intake: (
    body: string,
    headers: Headers
  ) => Effect.Effect<ReadonlyArray<Observation.Observation>, WebhookRejected | PortError.PortError>
}

/**
 * Service tag of the Seam webhook intake.
 *
 * @since 0.1.0
 */
export class SeamWebhooks extends Context.Service<SeamWebhooks, SeamWebhooksShape>()("@credsync/adapter-seam/SeamWebhooks") {}

/**
 * Build the webhook intake over a Seam client.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<SeamWebhooksShape, never, SeamClient> =>
  SeamClient.useSync((client) => {
    const w = internal.makeWebhooks(client, options)
    const verify = (body: string, headers: Headers) => Effect.mapError(w.verify(body, headers), (r) => new WebhookRejected(r))
    return {
      verify,
      intake: (body, headers) =>
        Effect.flatMap(verify(body, headers), (event) =>
          Effect.tap(w.observations(event), (observations) =>
            observations.length > 0
              ? Effect.void
              : Effect.logInfo(`Seam webhook ${event.event_type} ignored: nothing to reconcile, or no credsync identity it concerns`).pipe(
                  Effect.annotateLogs({ provider: "seam", event_id: event.event_id, event_type: event.event_type })
                )
          )
        )
    }
  })

/**
 * The Seam webhook intake as a layer, over a `SeamClient`.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<SeamWebhooks, never, SeamClient> => Layer.effect(SeamWebhooks, make(options))

/**
 * From the environment: `SEAM_WEBHOOK_SECRET` (read as `Redacted`).
 *
 * @since 0.1.0
 */
export const layerConfig = (options: Omit<Options, "secret">): Layer.Layer<SeamWebhooks, Config.ConfigError, SeamClient> =>
  Layer.effect(
    SeamWebhooks,
    Effect.flatMap(Config.Redacted("SEAM_WEBHOOK_SECRET"), (secret) => make({ ...options, secret }))
  )

/**
 * The Promise facade's Seam webhook intake: `credsync.ingestSeamWebhook({ headers, body })` verifies
 * the Svix signature and timestamp, decodes and routes the event (phones through `engine.lookup`),
 * then hands the observations to the engine. Refusals become core's `Callbacks.CallbackRejected`
 * (`provider: "seam"`): `Stale` for a timestamp outside Svix's tolerance (a replay),
 * `Unauthenticated` for any other signature failure, `Malformed` for an undecodable event.
 *
 * @since 0.2.0
 */
export const intakeLayer = (
  options: Omit<Options, "lookup">
): Layer.Layer<Callbacks.SeamWebhookIntake, never, SeamClient | Engine.Engine> =>
  Layer.effect(
    Callbacks.SeamWebhookIntake,
    Effect.gen(function* () {
      const engine = yield* Engine.Engine
      const webhooks = yield* make({ ...options, lookup: engine.lookup })
      const decoder = new TextDecoder()
      return Callbacks.SeamWebhookIntake.of({
        verify: (request) =>
          webhooks.intake(typeof request.body === "string" ? request.body : decoder.decode(request.body), request.headers).pipe(
            Effect.catchTag("WebhookRejected", (e) =>
              Effect.fail(
                new Callbacks.CallbackRejected({
                  provider: "seam",
                  // Svix refuses a timestamp too old or too new with these words
                  reason: e.reason === "Malformed" ? "Malformed" : /timestamp too (old|new)/i.test(e.message) ? "Stale" : "Unauthenticated",
                  message: e.message
                })
              )
            )
          )
      })
    })
  )
