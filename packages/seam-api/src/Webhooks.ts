/**
 * Outgoing webhooks, signed the way Svix signs Seam's: headers `svix-id`, `svix-timestamp` (seconds)
 * and `svix-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the base64 part of
 * a `whsec_` secret, so `@seamapi/webhook`'s `SeamWebhook.verify` accepts them.
 *
 * @since 0.1.0
 */
import * as UrlPolicy from "./internal/urlPolicy.js"
import { createHmac, randomBytes } from "node:crypto"
import { Data, Duration, Effect, Redacted, Schedule, Schema } from "effect"

/**
 * A registered webhook as the workspace's store keeps it. The secret is stored as it must be to
 * sign (HMAC needs it), and is `Redacted` once decoded: everywhere but in the create/get responses.
 *
 * @since 0.2.0
 */
export const WebhookSchema = Schema.Struct({
  webhook_id: Schema.NonEmptyString,
  url: Schema.String,
  event_types: Schema.optional(Schema.Array(Schema.String)),
  secret: Schema.RedactedFromValue(Schema.String),
  created_at: Schema.String
})

/** A registered webhook. The secret stays `Redacted` everywhere but in the create/get responses. */
export type Webhook = typeof WebhookSchema.Type

/** A fresh Svix-style secret: `whsec_` + base64 of 24 random bytes. */
export const newSecret = (): Redacted.Redacted<string> => Redacted.make(`whsec_${randomBytes(24).toString("base64")}`)

/**
 * The `svix-signature` value for one message.
 *
 * @since 0.1.0
 */
export const sign = (secret: Redacted.Redacted<string>, id: string, timestampSeconds: number, body: string): string => {
  const key = Buffer.from(Redacted.value(secret).replace(/^whsec_/, ""), "base64")
  return `v1,${createHmac("sha256", key).update(`${id}.${timestampSeconds}.${body}`).digest("base64")}`
}

/** The headers of one signed delivery. */
export const headers = (
  secret: Redacted.Redacted<string>,
  id: string,
  body: string,
  now: number
): Record<string, string> => {
  const timestamp = Math.floor(now / 1000)
  return {
    "content-type": "application/json",
    "svix-id": id,
    "svix-timestamp": String(timestamp),
    "svix-signature": sign(secret, id, timestamp, body)
  }
}

/** A delivery the receiver did not accept (non-2xx, network error or timeout). */
export class DeliveryFailed extends Data.TaggedError("DeliveryFailed")<{
  readonly url: string
  readonly message: string
}> {}

/** Does this webhook want this event type? (No filter = every type.) */
export const wants = (webhook: Webhook, eventType: string): boolean =>
  webhook.event_types === undefined || webhook.event_types.length === 0 || webhook.event_types.includes(eventType)

/** Delivery tuning. Seam retries over hours; a self-hosted default retries for about a minute. */
export interface DeliveryOptions {
  readonly retry?: Schedule.Schedule<unknown, DeliveryFailed> | undefined
  /** One attempt's time limit. Default 10 s. */
  readonly timeout?: Duration.Input | undefined
  /**
   * An instance delivering an event renews its claim on it before every attempt; a claim older than
   * this is taken over by another instance (or by this workspace after a restart). Keep it above one
   * attempt's `timeout`. Default 30 s.
   */
  readonly takeoverAfter?: Duration.Input | undefined
  /** How often each instance looks for deliveries to take over. Default 5 s. */
  readonly sweepEvery?: Duration.Input | undefined
  /**
   * Deliver to loopback, private and link-local addresses too (the workspace's webhook URL policy,
   * `Workspace.Options.webhooks.allowPrivateUrls`). Default false: the URL's host is resolved again
   * before each attempt and a non-public address fails the attempt.
   */
  readonly allowPrivateUrls?: boolean | undefined
}

/** The default retry schedule: exponential from 1 s, 6 retries. */
export const defaultRetry: Schedule.Schedule<unknown, DeliveryFailed> = Schedule.max([
  Schedule.exponential("1 second"),
  Schedule.recurs(6)
])

/**
 * POST one event to one webhook, once (the raw event JSON is the body), signed for `messageId`.
 *
 * @since 0.2.0
 */
export const post = (webhook: Webhook, messageId: string, event: unknown, options: DeliveryOptions = {}): Effect.Effect<void, DeliveryFailed> => {
  const body = JSON.stringify(event)
  const timeout = Duration.toMillis(Duration.fromInputUnsafe(options.timeout ?? "10 seconds"))
  return Effect.tryPromise({
    try: async () => {
      const refused = await UrlPolicy.check(webhook.url, options.allowPrivateUrls === true)
      if (refused !== undefined) throw new Error(refused)
      const response = await fetch(webhook.url, {
        method: "POST",
        headers: headers(webhook.secret, messageId, body, Date.now()),
        body,
        // a redirect could lead anywhere, past the URL policy: a 3xx is a failed delivery
        redirect: "manual",
        signal: AbortSignal.timeout(timeout)
      })
      await response.body?.cancel()
      if (!response.ok) throw new Error(`receiver answered ${response.status}`)
    },
    catch: (e) => new DeliveryFailed({ url: webhook.url, message: e instanceof Error ? e.message : String(e) })
  })
}

/**
 * POST one event (the raw event JSON is the body) to one webhook, retrying failures. The message id
 * is stable across retries so the receiver can de-duplicate.
 *
 * @since 0.1.0
 */
export const deliver = (
  webhook: Webhook,
  messageId: string,
  event: unknown,
  options: DeliveryOptions = {}
): Effect.Effect<void, DeliveryFailed> => post(webhook, messageId, event, options).pipe(Effect.retry(options.retry ?? defaultRetry))
