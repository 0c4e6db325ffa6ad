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
/**
 * Change the identity's profile. A field left out stays as it is; `null` removes it. `key` stays
 * unique (the store refuses a key another identity holds, and gives the old one up).
 *
 * @since 0.2.0
 */
export const UpdateUserIdentity = Schema.TaggedStruct("UpdateUserIdentity", {
  ...who,
  key: Schema.optional(Schema.NullOr(Schema.NonEmptyString)),
  email: Schema.optional(Schema.NullOr(Schema.String.check(Schema.isPattern(/^[^@\s]+@[^@\s]+$/)))),
  phoneNumber: Schema.optional(Schema.NullOr(Schema.String.check(Schema.isPattern(/^\+[1-9]\d{1,14}$/)))),
  fullName: Schema.optional(Schema.NullOr(Schema.String))
})
/** Retire everything the identity holds at the providers, then keep it as a tombstone. */
export const DeleteUserIdentity = Schema.TaggedStruct("DeleteUserIdentity", who)
/** The person's ACS user in one ACS (at most one per ACS). */
export const LinkAcsUser = Schema.TaggedStruct("LinkAcsUser", {
  ...who,
  acsUserId: AcsUserId,
  acsSystemId: AcsSystemId
})
/**
 * Undo `LinkAcsUser`: the identity no longer has this ACS user. Refused (`Conflict`) while a
 * multi-phone sync credential of the identity, live or still being deleted, is assigned to that ACS
 * user: the plan assigns a parent's phone credentials to the parent's ACS user, so unlinking under
 * it would leave entries nobody retires. Delete those credentials first.
 *
 * @since 0.2.0
 */
export const UnlinkAcsUser = Schema.TaggedStruct("UnlinkAcsUser", { ...who, acsUserId: AcsUserId })
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
/**
 * Change a multi-phone sync credential's validity window. A field left out stays; `null` removes
 * it. Its phone credentials share the parent's card details, so they carry the new times; a phone
 * credential is issued from the card details current at its issue.
 *
 * @since 0.2.0
 */
export const UpdateSyncCredential = Schema.TaggedStruct("UpdateSyncCredential", {
  ...who,
  credentialId: CredentialId,
  startsAt: Schema.optional(Schema.NullOr(Schema.String)),
  endsAt: Schema.optional(Schema.NullOr(Schema.String))
})
/** Revoke every phone credential of the parent, then forget it. */
export const DeleteSyncCredential = Schema.TaggedStruct("DeleteSyncCredential", { ...who, credentialId: CredentialId })

/**
 * Every command a host can send. `Engine.execute` takes the decoded type, {@link Command};
 * `Engine.executeUnknown` decodes untyped input (an HTTP body, parsed JSON) with this Schema first.
 *
 * @since 0.1.0
 */
export const Command = Schema.Union([
  CreateUserIdentity,
  UpdateUserIdentity,
  DeleteUserIdentity,
  LinkAcsUser,
  UnlinkAcsUser,
  PhoneOnline,
  DeactivatePhone,
  LaunchAutomation,
  DeleteAutomation,
  CreateSyncCredential,
  UpdateSyncCredential,
  DeleteSyncCredential
])
/**
 * A decoded command: ids are branded (`UserIdentityId`, `PhoneId`, …) and every field has been
 * checked. What `Engine.execute` takes; build one with {@link make} or the id Schemas' `make`.
 *
 * @since 0.1.0
 */
export type Command = typeof Command.Type

/**
 * A command in its plain form: ids are strings, as JSON and the Promise facade carry them.
 *
 * @since 0.2.0
 */
export type Encoded = typeof Command.Encoded

/**
 * The fields of one kind of command in its plain form, without `_tag`: the input of the Promise
 * facade's method for that command (`Client`).
 *
 * @since 0.2.0
 */
export type Fields<Tag extends Command["_tag"]> = Omit<Extract<Encoded, { readonly _tag: Tag }>, "_tag">

const makeCommand = Schema.decodeSync(Command)

/**
 * A typed command from its plain form, for commands a program builds itself:
 * `Command.make({ _tag: "PhoneOnline", userIdentityId: "u1", phoneId: "p1", deviceType: "ios_phone" })`.
 * The compiler checks the fields; the values the types cannot express (a non-empty id, an email's
 * shape) are checked here and a bad one throws (like an id Schema's `make`), since it is a
 * programming error. Input that is not typed (an HTTP body, parsed JSON) goes to
 * `Engine.executeUnknown` instead, which rejects it with a `CommandRejected` naming the field.
 *
 * @since 0.2.0
 */
export const make = (input: Encoded): Command => makeCommand(input, { onExcessProperty: "error" })

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
