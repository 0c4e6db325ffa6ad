/**
 * Domain events: the facts an identity's state is folded from (`evolve`), persisted by the Store and
 * published to hosts (forward them as webhooks). Every event carries the identity id and a time.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Automation, Child, Enrollment, Notice, Parent, Phone, Profile, Stuck } from "./Identity.js"
import { AcsSystemId, AcsUserId, AutomationId, CredentialId, PhoneId, ProviderRef, UserIdentityId } from "./Ids.js"

const base = { identity: UserIdentityId, at: Schema.Number }
const ev = <T extends string, F extends Schema.Struct.Fields>(tag: T, fields: F) =>
  Schema.TaggedStruct(tag, { ...base, ...fields })

/** A user identity was created (command `CreateUserIdentity`). */
export const IdentityCreated = ev("IdentityCreated", { profile: Profile })
/** The identity's profile changed (command `UpdateUserIdentity`); `profile` is the whole new profile. */
export const ProfileUpdated = ev("ProfileUpdated", { profile: Profile })
/** The identity is being deleted: its credentials are retired; a small tombstone stays. */
export const IdentityDeleted = ev("IdentityDeleted", {})
/** The identity was linked to the person's ACS user. */
export const AcsUserLinked = ev("AcsUserLinked", { acsUserId: AcsUserId, acsSystemId: AcsSystemId })
/** The identity's ACS user in that ACS was unlinked (command `UnlinkAcsUser`). */
export const AcsUserUnlinked = ev("AcsUserUnlinked", { acsUserId: AcsUserId, acsSystemId: AcsSystemId })
/** A phone came online for the first time (command `PhoneOnline`). */
export const PhoneRegistered = ev("PhoneRegistered", { phone: Phone })
/** A phone was deactivated (lost, logged out): its credentials are retired. */
export const PhoneDeactivated = ev("PhoneDeactivated", { phoneId: PhoneId })
/** An enrollment automation was launched: every phone of the identity is to be enrolled with its manager. */
export const AutomationLaunched = ev("AutomationLaunched", { automation: Automation })
/** An enrollment automation was deleted: phones not yet enrolled are no longer invited. */
export const AutomationDeleted = ev("AutomationDeleted", { automationId: AutomationId })
/** A multi-phone sync credential was created (command `CreateSyncCredential`). */
export const ParentCreated = ev("ParentCreated", { parent: Parent })
/** A multi-phone sync credential's validity window changed (command `UpdateSyncCredential`); absent times are none. */
export const ParentTimesChanged = ev("ParentTimesChanged", {
  credentialId: CredentialId,
  startsAt: Schema.optional(Schema.String),
  endsAt: Schema.optional(Schema.String)
})
/** Deletion of a multi-phone sync credential started: every phone credential of it is retired. */
export const ParentDeleted = ev("ParentDeleted", { credentialId: CredentialId })
/** The parent's last child is gone; the parent leaves the state. */
export const ParentRemoved = ev("ParentRemoved", { credentialId: CredentialId })
/** Intent: the parent is about to be created at a replicating manager (recorded before the call). */
export const ParentRemoteRequested = ev("ParentRemoteRequested", { credentialId: CredentialId })
/** The replicating manager confirmed the parent; `ref` is its id there. */
export const ParentBound = ev("ParentBound", { credentialId: CredentialId, ref: ProviderRef })
/** Intent: the automation is about to be launched at a replicating manager. */
export const AutomationRemoteRequested = ev("AutomationRemoteRequested", { automationId: AutomationId })
/** The replicating manager confirmed the automation; `ref` is its id there. */
export const AutomationBound = ev("AutomationBound", { automationId: AutomationId, ref: ProviderRef })
/** The identity's user at a credential manager is known (`ref`). */
export const ManagerUserBound = ev("ManagerUserBound", { managerId: AcsSystemId, ref: ProviderRef })
/** Intent: an invitation is about to be requested for this enrollment (recorded before the call). */
export const EnrollmentRequested = ev("EnrollmentRequested", { enrollment: Enrollment })
/** An invitation exists for the phone: hand `code` to the phone's app, which redeems it with the manager's SDK. */
export const InvitationCreated = ev("InvitationCreated", {
  key: Schema.String,
  invitation: ProviderRef,
  code: Schema.String,
  phoneId: PhoneId
})
/** The app redeemed its code: the phone has an endpoint (`endpoint`) at the manager. */
export const PhoneEnrolled = ev("PhoneEnrolled", { key: Schema.String, endpoint: ProviderRef, phoneId: PhoneId })
/** The invitation expired, was cancelled, vanished or could not be created; the enrollment is retried later. */
export const EnrollmentFailed = ev("EnrollmentFailed", { key: Schema.String, error: Notice })
/** An enrollment is over (`endpoint_removed`, `not_wanted` or `phone_deactivated`); a new one starts if the phone is still wanted. */
export const EnrollmentEnded = ev("EnrollmentEnded", { key: Schema.String, reason: Schema.String })
/** Intent: a phone credential is about to be issued (recorded before the call, keyed by parent and endpoint). */
export const CredentialRequested = ev("CredentialRequested", { child: Child })
/** The manager holds the phone credential (`active` false while it is still issuing). */
export const CredentialIssued = ev("CredentialIssued", {
  credentialId: CredentialId,
  ref: ProviderRef,
  active: Schema.Boolean,
  cardNumber: Schema.optional(Schema.String)
})
/** The manager failed the phone credential for good; `error` says why. */
export const CredentialFailed = ev("CredentialFailed", { credentialId: CredentialId, error: Notice })
/** The manager no longer holds a credential the engine believed in (deleted behind its back, or a
 *  request that never took effect). The child goes back to being wanted. */
export const CredentialLost = ev("CredentialLost", { credentialId: CredentialId, reason: Schema.String })
/** The phone credential's card number was imported into the ACS (`acsRef`). */
export const CredentialImported = ev("CredentialImported", { credentialId: CredentialId, acsRef: ProviderRef })
/** The ACS entry is assigned to the person's ACS user: the phone opens doors. */
export const CredentialAssigned = ev("CredentialAssigned", { credentialId: CredentialId })
/** The phone credential's ACS entry disappeared; it is imported again. */
export const CredentialAcsLost = ev("CredentialAcsLost", { credentialId: CredentialId })
/** The phone credential is no longer wanted (`parent_deleted`, `phone_deactivated`, `endpoint_removed`) and is being revoked. */
export const CredentialRetiring = ev("CredentialRetiring", { credentialId: CredentialId, reason: Schema.String })
/** Revoked at the manager and removed from the ACS; the child leaves the state. */
export const CredentialRevoked = ev("CredentialRevoked", { credentialId: CredentialId })

/** The engine cannot converge the identity (see `Identity.Stuck`); it keeps retrying with capped back-off. */
export const IdentityStuck = ev("IdentityStuck", { stuck: Stuck })
/** A reconcile of a stuck identity succeeded again. */
export const IdentityRecovered = ev("IdentityRecovered", {})

/** Every domain event (see docs/events.md for meaning, units, ordering and delivery). */
export const DomainEvent = Schema.Union([
  IdentityCreated,
  ProfileUpdated,
  IdentityDeleted,
  AcsUserLinked,
  AcsUserUnlinked,
  PhoneRegistered,
  PhoneDeactivated,
  AutomationLaunched,
  AutomationDeleted,
  ParentCreated,
  ParentTimesChanged,
  ParentDeleted,
  ParentRemoved,
  ParentRemoteRequested,
  ParentBound,
  AutomationRemoteRequested,
  AutomationBound,
  ManagerUserBound,
  EnrollmentRequested,
  InvitationCreated,
  PhoneEnrolled,
  EnrollmentFailed,
  EnrollmentEnded,
  CredentialRequested,
  CredentialIssued,
  CredentialFailed,
  CredentialLost,
  CredentialImported,
  CredentialAssigned,
  CredentialAcsLost,
  CredentialRetiring,
  CredentialRevoked,
  IdentityStuck,
  IdentityRecovered
])
export type DomainEvent = typeof DomainEvent.Type
/** The name of a domain event (`DomainEvent["_tag"]`). */
export type EventTag = DomainEvent["_tag"]
