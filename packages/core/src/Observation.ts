/**
 * Observations: what providers report through callbacks and webhooks. The engine is level-based: an
 * observation only tells it which identity to look at again; the reconcile that follows reads the
 * providers' current state, so duplicated, reordered or lost callbacks cannot mislead it.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { AcsSystemId, ProviderRef, UserIdentityId } from "./Ids.js"

const fields = {
  managerId: AcsSystemId,
  /** Resolved by the adapter from the provider's user (whose external id is the identity id). */
  userIdentityId: UserIdentityId,
  at: Schema.optional(Schema.Number)
}

/** The manager created an invitation for the user. */
export const InvitationCreated = Schema.TaggedStruct("InvitationCreated", { ...fields, invitation: ProviderRef })
/** An invitation expired before it was redeemed. */
export const InvitationExpired = Schema.TaggedStruct("InvitationExpired", { ...fields, invitation: ProviderRef })
/** An endpoint (an enrolled app install) became active, usually from a redeemed invitation. */
export const EndpointActive = Schema.TaggedStruct("EndpointActive", {
  ...fields,
  endpoint: ProviderRef,
  invitation: Schema.optional(ProviderRef)
})
/** An endpoint was removed at the manager. */
export const EndpointRemoved = Schema.TaggedStruct("EndpointRemoved", { ...fields, endpoint: ProviderRef })
/** The manager issued (or finished issuing) a credential to an endpoint. */
export const CredentialIssued = Schema.TaggedStruct("CredentialIssued", {
  ...fields,
  credential: ProviderRef,
  endpoint: ProviderRef
})
/** The manager failed a credential. */
export const CredentialFailed = Schema.TaggedStruct("CredentialFailed", {
  ...fields,
  credential: ProviderRef,
  reason: Schema.String
})
/** A credential was revoked at the manager. */
export const CredentialRevoked = Schema.TaggedStruct("CredentialRevoked", { ...fields, credential: ProviderRef })
/** A card number was imported into an ACS. */
export const AcsImported = Schema.TaggedStruct("AcsImported", {
  acsSystemId: AcsSystemId,
  entry: ProviderRef,
  cardNumber: Schema.String,
  at: Schema.optional(Schema.Number)
})
/** A card number's entry was removed from an ACS. */
export const AcsRemoved = Schema.TaggedStruct("AcsRemoved", {
  acsSystemId: AcsSystemId,
  entry: ProviderRef,
  cardNumber: Schema.String,
  at: Schema.optional(Schema.Number)
})

/** Something about this identity changed at the manager (e.g. a parent or automation deleted there). */
export const Changed = Schema.TaggedStruct("Changed", { ...fields, what: Schema.String })

/**
 * Every observation a provider callback or webhook can carry (`Engine.ingest` decodes with it).
 *
 * @since 0.1.0
 */
export const Observation = Schema.Union([
  Changed,
  InvitationCreated,
  InvitationExpired,
  EndpointActive,
  EndpointRemoved,
  CredentialIssued,
  CredentialFailed,
  CredentialRevoked,
  AcsImported,
  AcsRemoved
])
export type Observation = typeof Observation.Type
