/**
 * The one error every port (CredentialManager, AccessControl, Store) fails with. Its `reason` is a
 * closed set; adapters translate vendor errors into it and keep the vendor error as `cause`. Only the
 * engine decides what is retried, resolved by observing, or surfaced on a resource.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The closed set of reasons a port call fails with.
 *
 * @since 0.1.0
 */
export const Reason = Schema.Literals([
  "NotFound",
  "Conflict",
  "RateLimited",
  "Unauthorized",
  "Transient",
  "Ambiguous",
  "InvalidInput",
  "Unknown"
])
export type Reason = typeof Reason.Type

/**
 * - `Transient`: nothing happened; safe to retry.
 * - `Ambiguous`: the request may have taken effect (response lost, timeout after send). Never retried
 *   blindly: the engine observes the provider to learn the outcome.
 * - `Conflict`: the provider's state disagrees (already exists, already revoked, version mismatch).
 *   Resolved by observing.
 * - `RateLimited`: retry after `retryAfter` milliseconds when given.
 *
 * @since 0.1.0
 */
export class PortError extends Schema.TaggedError<PortError>()("PortError", {
  reason: Reason,
  port: Schema.Literals(["CredentialManager", "AccessControl", "Store"]),
  method: Schema.String,
  message: Schema.String,
  retryAfter: Schema.optional(Schema.Number),
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * `Transient` and `RateLimited` failures may succeed if tried again; the others will not.
 *
 * @since 0.1.0
 */
export const isRetryable = (e: PortError): boolean => e.reason === "Transient" || e.reason === "RateLimited"
