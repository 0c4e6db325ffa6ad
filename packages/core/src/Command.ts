/**
 * Commands a host sends about one user identity. Decoded with Schema at the boundary (excess keys
 * are errors), then checked against the identity's state by `decide`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { AcsSystemId, AcsUserId, AutomationId, CredentialId, PhoneId, UserIdentityId } from "./Ids.js"

const who = { userIdentityId: UserIdentityId }

/** A new mobile-app user (Seam user identity). `key`, `email` and `phoneNumber` are unique. */
export const CreateUserIdentity = Schema.TaggedStruct("CreateUserIdentity", {
  ...who,
  key: Schema.optional(Schema.NonEmptyString),
  email: Schema.optional(Schema.String.check(Schema.isPattern(/^[^@\s]+@[^@\s]+$/))),
  phoneNumber: Schema.optional(Schema.String.check(Schema.isPattern(/^\+[1-9]\d{1,14}$/))),
  fullName: Schema.optional(Schema.String)
})
/** Retire everything the identity holds at the providers, then keep it as a tombstone. */
export const DeleteUserIdentity = Schema.TaggedStruct("DeleteUserIdentity", who)
/** The person's ACS user in one ACS (at most one per ACS). */
export const LinkAcsUser = Schema.TaggedStruct("LinkAcsUser", {
  ...who,
  acsUserId: AcsUserId,
  acsSystemId: AcsSystemId
})
/** The app reports the user logged in on a phone (idempotent for a known active phone). */
export const PhoneOnline = Schema.TaggedStruct("PhoneOnline", {
  ...who,
  phoneId: PhoneId,
  deviceType: Schema.Literals(["ios_phone", "android_phone"]),
  metadata: Schema.optional(Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Boolean])))
})
/** A lost phone: its credentials are revoked and it never receives another. */
export const DeactivatePhone = Schema.TaggedStruct("DeactivatePhone", { ...who, phoneId: PhoneId })
/** Enrol every phone of the identity with this credential manager as it comes online. */
export const LaunchAutomation = Schema.TaggedStruct("LaunchAutomation", {
  ...who,
  automationId: AutomationId,
  managerId: AcsSystemId
})
/** Stop enrolling new phones with this manager (enrolled phones keep their credentials). */
export const DeleteAutomation = Schema.TaggedStruct("DeleteAutomation", { ...who, automationId: AutomationId })
/** A multi-phone sync credential: shared card details only; the manager allocates card numbers. */
export const CreateSyncCredential = Schema.TaggedStruct("CreateSyncCredential", {
  ...who,
  credentialId: CredentialId,
  acsUserId: AcsUserId,
  managerId: AcsSystemId,
  cardFormat: Schema.NonEmptyString,
  facilityCode: Schema.NonEmptyString,
  startsAt: Schema.optional(Schema.String),
  endsAt: Schema.optional(Schema.String)
})
/** Revoke every phone credential of the parent, then forget it. */
export const DeleteSyncCredential = Schema.TaggedStruct("DeleteSyncCredential", { ...who, credentialId: CredentialId })

/**
 * Every command a host can send (`Engine.execute` decodes unknown input with this Schema).
 *
 * @since 0.1.0
 */
export const Command = Schema.Union([
  CreateUserIdentity,
  DeleteUserIdentity,
  LinkAcsUser,
  PhoneOnline,
  DeactivatePhone,
  LaunchAutomation,
  DeleteAutomation,
  CreateSyncCredential,
  DeleteSyncCredential
])
export type Command = typeof Command.Type

/** Fields that differ per card and so can never be part of a multi-phone sync credential. */
export const perCardFields: ReadonlyArray<string> = ["cardNumber", "card_number", "code", "pin"]

/**
 * A command refused, with a closed set of reasons and the offending field when there is one.
 * Nothing changes when a command is refused.
 *
 * @since 0.1.0
 */
export class CommandRejected extends Schema.TaggedError<CommandRejected>()("CommandRejected", {
  reason: Schema.Literals(["InvalidInput", "NotFound", "AlreadyExists", "Conflict"]),
  message: Schema.String,
  field: Schema.optional(Schema.String)
}) {}
