/**
 * Branded identifiers. Every id is an opaque non-empty string; the brand keeps a phone id from being
 * passed where a credential id is expected.
 *
 * @since 0.1.0
 */
import { Effect, Random, Schema } from "effect"

/** A mobile-app user (Seam `user_identity_id`). */
export const UserIdentityId = Schema.NonEmptyString.pipe(Schema.brand("UserIdentityId"))
export type UserIdentityId = typeof UserIdentityId.Type

/** An access control system or credential manager (Seam `acs_system_id`). */
export const AcsSystemId = Schema.NonEmptyString.pipe(Schema.brand("AcsSystemId"))
export type AcsSystemId = typeof AcsSystemId.Type

/** A person's account in one ACS (Seam `acs_user_id`). */
export const AcsUserId = Schema.NonEmptyString.pipe(Schema.brand("AcsUserId"))
export type AcsUserId = typeof AcsUserId.Type

/** A phone (Seam `device_id`). */
export const PhoneId = Schema.NonEmptyString.pipe(Schema.brand("PhoneId"))
export type PhoneId = typeof PhoneId.Type

/** A phone's registration with one credential manager. */
export const EnrollmentId = Schema.NonEmptyString.pipe(Schema.brand("EnrollmentId"))
export type EnrollmentId = typeof EnrollmentId.Type

/** Seam `enrollment_automation_id`. */
export const AutomationId = Schema.NonEmptyString.pipe(Schema.brand("AutomationId"))
export type AutomationId = typeof AutomationId.Type

/** Seam `acs_credential_id`: both multi-phone sync credentials (parents) and phone credentials (children). */
export const CredentialId = Schema.NonEmptyString.pipe(Schema.brand("CredentialId"))
export type CredentialId = typeof CredentialId.Type

/** A credential manager's id for something it holds (user, invitation, endpoint, credential). Opaque. */
export const ProviderRef = Schema.NonEmptyString.pipe(Schema.brand("ProviderRef"))
export type ProviderRef = typeof ProviderRef.Type

/** A random UUID v4 from Effect's `Random` service (seedable in tests). */
export const randomUuid: Effect.Effect<string> = Effect.map(
  Effect.all([Random.nextIntBetween(0, 0xffff, { halfOpen: false }), Random.nextIntBetween(0, 0xffff, { halfOpen: false }), Random.nextIntBetween(0, 0xffff, { halfOpen: false }), Random.nextIntBetween(0, 0xfff, { halfOpen: false }), Random.nextIntBetween(0, 0x3fff, { halfOpen: false }), Random.nextIntBetween(0, 0xffff, { halfOpen: false }), Random.nextIntBetween(0, 0xffff, { halfOpen: false }), Random.nextIntBetween(0, 0xffff, { halfOpen: false })]),
  ([a, b, c, d, e, f, g, h]) => {
    const x = (n: number, w = 4) => n.toString(16).padStart(w, "0")
    return `${x(a)}${x(b)}-${x(c)}-4${x(d, 3)}-${x(0x8000 | e)}-${x(f)}${x(g)}${x(h)}`
  }
)
