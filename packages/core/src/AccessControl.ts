/**
 * Port: the access control system (ACS) that reads credentials at the door. Phone credentials are
 * imported into it by card number and assigned to the person's ACS user.
 *
 * @since 0.1.0
 */
import { Context, type Effect, Schema } from "effect"
import type { CardProfile } from "./Card.js"
import { AcsSystemId, AcsUserId, ProviderRef } from "./Ids.js"
import type { PortError } from "./PortError.js"

/** An access control system this service serves. */
export const AcsSystem = Schema.Struct({ id: AcsSystemId, name: Schema.String, externalType: Schema.String })
export type AcsSystem = typeof AcsSystem.Type

/** A person's account in one ACS. */
export const AcsUser = Schema.Struct({
  id: AcsUserId,
  acsSystemId: AcsSystemId,
  fullName: Schema.String,
  email: Schema.optional(Schema.String)
})
export type AcsUser = typeof AcsUser.Type

/** A credential held by the ACS. `label` marks who imported it (the engine only touches its own). */
export const AcsEntry = Schema.Struct({
  ref: ProviderRef,
  cardNumber: Schema.String,
  cardFormat: Schema.String,
  facilityCode: Schema.String,
  label: Schema.String,
  assignedTo: Schema.optional(AcsUserId)
})
export type AcsEntry = typeof AcsEntry.Type

/** Entries the engine manages carry this label prefix. */
export const managedLabel = (childId: string): string => `credsync:${childId}`
/** Was this entry imported by the engine (and so is the engine's to remove)? */
export const isManaged = (e: AcsEntry): boolean => e.label.startsWith("credsync:")

/**
 * What the engine needs from an access control system: its users, and importing, assigning and removing phone credentials.
 *
 * @since 0.1.0
 */
export interface AccessControlShape {
  readonly systems: ReadonlyArray<AcsSystem>
  readonly createUser: (
    acs: AcsSystemId,
    user: { readonly fullName: string; readonly email?: string | undefined }
  ) => Effect.Effect<AcsUser, PortError>
  readonly getUser: (acs: AcsSystemId, user: AcsUserId) => Effect.Effect<AcsUser, PortError>
  /** Entries whose card number is in `cardNumbers` or that are assigned to one of `users`. */
  readonly observe: (
    acs: AcsSystemId,
    query: { readonly users: ReadonlyArray<AcsUserId>; readonly cardNumbers: ReadonlyArray<string> }
  ) => Effect.Effect<ReadonlyArray<AcsEntry>, PortError>
  /** Fails with `Conflict` when the card number is already imported. */
  readonly importCredential: (
    acs: AcsSystemId,
    entry: { readonly cardNumber: string; readonly card: CardProfile; readonly label: string }
  ) => Effect.Effect<AcsEntry, PortError>
  readonly assign: (acs: AcsSystemId, entry: ProviderRef, user: AcsUserId) => Effect.Effect<void, PortError>
  /** Idempotent. */
  readonly remove: (acs: AcsSystemId, entry: ProviderRef) => Effect.Effect<void, PortError>
}

/**
 * Service tag of the `AccessControl` port.
 *
 * @since 0.1.0
 */
export class AccessControl extends Context.Service<AccessControl, AccessControlShape>()("@credsync/core/AccessControl") {}
