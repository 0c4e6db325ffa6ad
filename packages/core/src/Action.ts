/**
 * Actions: what `plan` asks the engine to do, as plain data. Nothing in the core performs them.
 *
 * @since 0.1.0
 */
import type { CardProfile } from "./Card.js"
import type { AcsSystemId, AcsUserId, AutomationId, CredentialId, ProviderRef } from "./Ids.js"

/** Every action `plan` can ask for; the engine runs each through a port. */
export type Action =
  | { readonly _tag: "EnsureManagerUser"; readonly managerId: AcsSystemId }
  | { readonly _tag: "Invite"; readonly managerId: AcsSystemId; readonly key: string }
  | { readonly _tag: "CancelInvitation"; readonly managerId: AcsSystemId; readonly invitation: ProviderRef }
  | { readonly _tag: "RemoveEndpoint"; readonly managerId: AcsSystemId; readonly endpoint: ProviderRef }
  | {
      readonly _tag: "Issue"
      readonly managerId: AcsSystemId
      readonly credentialId: CredentialId
      readonly endpoint: ProviderRef
      readonly card: CardProfile
    }
  | { readonly _tag: "Revoke"; readonly managerId: AcsSystemId; readonly credential: ProviderRef; readonly why: string }
  | {
      readonly _tag: "Import"
      readonly acsSystemId: AcsSystemId
      readonly credentialId: CredentialId
      readonly cardNumber: string
      readonly card: CardProfile
    }
  | {
      readonly _tag: "Assign"
      readonly acsSystemId: AcsSystemId
      readonly credentialId: CredentialId
      readonly entry: ProviderRef
      readonly acsUserId: AcsUserId
    }
  | { readonly _tag: "RemoveFromAcs"; readonly acsSystemId: AcsSystemId; readonly entry: ProviderRef; readonly why: string }
  | { readonly _tag: "CreateRemoteParent"; readonly managerId: AcsSystemId; readonly credentialId: CredentialId }
  | { readonly _tag: "DeleteRemoteParent"; readonly managerId: AcsSystemId; readonly parent: ProviderRef }
  | { readonly _tag: "LaunchRemoteAutomation"; readonly managerId: AcsSystemId; readonly automationId: AutomationId }

/** The actions only an issuing manager takes: the engine invites phones and issues credentials there. */
export type IssuingAction = Extract<Action, { readonly _tag: "Invite" | "CancelInvitation" | "Issue" }>

/** The actions only a replicating manager takes: the engine creates parents and enrolment there. */
export type ReplicatingAction = Extract<Action, { readonly _tag: "CreateRemoteParent" | "DeleteRemoteParent" | "LaunchRemoteAutomation" }>

/** The name of an action (`Action["_tag"]`). */
export type ActionTag = Action["_tag"]
