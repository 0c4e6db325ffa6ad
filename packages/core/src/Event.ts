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

export const IdentityCreated = ev("IdentityCreated", { profile: Profile })
export const IdentityDeleted = ev("IdentityDeleted", {})
export const AcsUserLinked = ev("AcsUserLinked", { acsUserId: AcsUserId, acsSystemId: AcsSystemId })
export const PhoneRegistered = ev("PhoneRegistered", { phone: Phone })
export const PhoneDeactivated = ev("PhoneDeactivated", { phoneId: PhoneId })
export const AutomationLaunched = ev("AutomationLaunched", { automation: Automation })
export const AutomationDeleted = ev("AutomationDeleted", { automationId: AutomationId })
export const ParentCreated = ev("ParentCreated", { parent: Parent })
export const ParentDeleted = ev("ParentDeleted", { credentialId: CredentialId })
/** The parent's last child is gone; the parent leaves the state. */
export const ParentRemoved = ev("ParentRemoved", { credentialId: CredentialId })
/** Intent: the parent is about to be created at a replicating manager (recorded before the call). */
export const ParentRemoteRequested = ev("ParentRemoteRequested", { credentialId: CredentialId })
export const ParentBound = ev("ParentBound", { credentialId: CredentialId, ref: ProviderRef })
/** Intent: the automation is about to be launched at a replicating manager. */
export const AutomationRemoteRequested = ev("AutomationRemoteRequested", { automationId: AutomationId })
export const AutomationBound = ev("AutomationBound", { automationId: AutomationId, ref: ProviderRef })
export const ManagerUserBound = ev("ManagerUserBound", { managerId: AcsSystemId, ref: ProviderRef })
/** Intent: an invitation is about to be requested for this enrollment (recorded before the call). */
export const EnrollmentRequested = ev("EnrollmentRequested", { enrollment: Enrollment })
export const InvitationCreated = ev("InvitationCreated", {
  key: Schema.String,
  invitation: ProviderRef,
  code: Schema.String,
  phoneId: PhoneId
})
export const PhoneEnrolled = ev("PhoneEnrolled", { key: Schema.String, endpoint: ProviderRef, phoneId: PhoneId })
export const EnrollmentFailed = ev("EnrollmentFailed", { key: Schema.String, error: Notice })
export const EnrollmentEnded = ev("EnrollmentEnded", { key: Schema.String, reason: Schema.String })
/** Intent: a phone credential is about to be issued (recorded before the call, keyed by parent and endpoint). */
export const CredentialRequested = ev("CredentialRequested", { child: Child })
export const CredentialIssued = ev("CredentialIssued", {
  credentialId: CredentialId,
  ref: ProviderRef,
  active: Schema.Boolean,
  cardNumber: Schema.optional(Schema.String)
})
export const CredentialFailed = ev("CredentialFailed", { credentialId: CredentialId, error: Notice })
/** The manager no longer holds a credential the engine believed in (deleted behind its back, or a
 *  request that never took effect). The child goes back to being wanted. */
export const CredentialLost = ev("CredentialLost", { credentialId: CredentialId, reason: Schema.String })
export const CredentialImported = ev("CredentialImported", { credentialId: CredentialId, acsRef: ProviderRef })
export const CredentialAssigned = ev("CredentialAssigned", { credentialId: CredentialId })
export const CredentialAcsLost = ev("CredentialAcsLost", { credentialId: CredentialId })
export const CredentialRetiring = ev("CredentialRetiring", { credentialId: CredentialId, reason: Schema.String })
/** Revoked at the manager and removed from the ACS; the child leaves the state. */
export const CredentialRevoked = ev("CredentialRevoked", { credentialId: CredentialId })

/** The engine cannot converge the identity (see `Identity.Stuck`); it keeps retrying with capped back-off. */
export const IdentityStuck = ev("IdentityStuck", { stuck: Stuck })
/** A reconcile of a stuck identity succeeded again. */
export const IdentityRecovered = ev("IdentityRecovered", {})

export const DomainEvent = Schema.Union([
  IdentityCreated,
  IdentityDeleted,
  AcsUserLinked,
  PhoneRegistered,
  PhoneDeactivated,
  AutomationLaunched,
  AutomationDeleted,
  ParentCreated,
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
export type EventTag = DomainEvent["_tag"]
