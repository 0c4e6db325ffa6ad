/**
 * Port: a credential manager (HID Origo, Seam, the simulator). One service may serve several
 * manager systems; every call names the system (`AcsSystemId`) it is for.
 *
 * @since 0.1.0
 */
import { Context, type Effect, Schema } from "effect"
import type { CardProfile } from "./Card.js"
import { AcsSystemId, type AcsUserId, ProviderRef, type UserIdentityId } from "./Ids.js"
import type { PortError } from "./PortError.js"

/** What differs between providers of one kind; the engine works around what a provider lacks.
 *  Whether a manager replicates is its port's `kind`, not a capability. */
export const Capabilities = Schema.Struct({
  /** Issuance finishes later (`issuing` then `active`). */
  asyncIssue: Schema.Boolean,
  /** How long (ms) a fresh write may be missing from listings. The engine waits this out before it
   *  concludes that a request it could not confirm did not take effect. 0 = consistent. */
  listingLag: Schema.Number
})
export type Capabilities = typeof Capabilities.Type

/** A manager system this service serves (Seam: an acs_system with is_credential_manager = true). */
export const ManagerSystem = Schema.Struct({
  id: AcsSystemId,
  name: Schema.String,
  externalType: Schema.String,
  capabilities: Capabilities
})
export type ManagerSystem = typeof ManagerSystem.Type

/** A code the phone app redeems with the manager's SDK to enrol. */
export const Invitation = Schema.Struct({
  ref: ProviderRef,
  code: Schema.String,
  status: Schema.Literals(["pending", "redeemed", "expired", "cancelled"]),
  expiresAt: Schema.optional(Schema.Number)
})
export type Invitation = typeof Invitation.Type

/** An enrolled app install (HID: credential container). `invitation` names the invitation it came from. */
export const Endpoint = Schema.Struct({
  ref: ProviderRef,
  invitation: Schema.optional(ProviderRef),
  status: Schema.Literals(["active", "removed"])
})
export type Endpoint = typeof Endpoint.Type

/** `issuing` and `active` are live; `revoking`, `revoked` and `failed` are not. */
export const CredentialStatus = Schema.Literals(["issuing", "active", "revoking", "revoked", "failed"])
export type CredentialStatus = typeof CredentialStatus.Type

/** A credential the manager holds on an endpoint, with its card profile and number. */
export const ManagerCredential = Schema.Struct({
  ref: ProviderRef,
  endpoint: ProviderRef,
  cardFormat: Schema.String,
  facilityCode: Schema.String,
  status: CredentialStatus,
  cardNumber: Schema.optional(Schema.String),
  error: Schema.optional(Schema.String),
  /** At a replicating manager: the parent this credential was copied from. */
  parent: Schema.optional(ProviderRef)
})
export type ManagerCredential = typeof ManagerCredential.Type

/** Issuing or active: the credential opens doors, or will. */
export const isLive = (c: { readonly status: CredentialStatus }): boolean => c.status === "issuing" || c.status === "active"

/** A multi-phone sync credential held by a replicating manager (Seam). */
export const RemoteParent = Schema.Struct({
  ref: ProviderRef,
  cardFormat: Schema.String,
  facilityCode: Schema.String
})
export type RemoteParent = typeof RemoteParent.Type

/**
 * Everything one manager holds for one user: one observation, read without side effects.
 * At a replicating manager, `endpoints` are the user's phones (ref = the phone id), `credentials`
 * are the children (with `parent`), and `parents` / `automations` are listed too.
 */
export const ManagerView = Schema.Struct({
  user: ProviderRef,
  invitations: Schema.Array(Invitation),
  endpoints: Schema.Array(Endpoint),
  credentials: Schema.Array(ManagerCredential),
  parents: Schema.optional(Schema.Array(RemoteParent)),
  automations: Schema.optional(Schema.Array(Schema.Struct({ ref: ProviderRef })))
})
export type ManagerView = typeof ManagerView.Type

/** Issue one credential of this card profile to this endpoint of this user. */
export interface IssueRequest {
  readonly user: ProviderRef
  readonly endpoint: ProviderRef
  readonly card: CardProfile
}

/**
 * What the two kinds of credential manager share: systems, users, observation and removal.
 *
 * @since 0.2.0
 */
export interface BaseManagerShape {
  readonly systems: ReadonlyArray<ManagerSystem>
  /** Find or create the manager-side user for an identity (idempotent; keyed by the identity id). */
  readonly ensureUser: (
    manager: AcsSystemId,
    identity: { readonly id: UserIdentityId; readonly email?: string | undefined; readonly fullName?: string | undefined }
  ) => Effect.Effect<ProviderRef, PortError>
  readonly observe: (manager: AcsSystemId, user: ProviderRef) => Effect.Effect<ManagerView, PortError>
  /** Idempotent: revoking a revoked or unknown credential succeeds. */
  readonly revoke: (manager: AcsSystemId, credential: ProviderRef) => Effect.Effect<void, PortError>
  /** Terminate an endpoint (the phone must enrol again to receive credentials). Idempotent. */
  readonly removeEndpoint: (manager: AcsSystemId, endpoint: ProviderRef) => Effect.Effect<void, PortError>
}

/**
 * A manager that issues one credential per call (HID Origo, the simulator): the engine invites each
 * phone and issues a copy of each parent onto it.
 *
 * @since 0.2.0
 */
export interface IssuingManagerShape extends BaseManagerShape {
  readonly kind: "issuing"
  /** Create an invitation whose code the app redeems to enrol a phone. */
  readonly invite: (manager: AcsSystemId, user: ProviderRef) => Effect.Effect<Invitation, PortError>
  readonly cancelInvitation: (manager: AcsSystemId, invitation: ProviderRef) => Effect.Effect<void, PortError>
  readonly issue: (manager: AcsSystemId, request: IssueRequest) => Effect.Effect<ManagerCredential, PortError>
}

/**
 * A manager that enrols phones and copies a parent onto each of them itself (Seam): the engine
 * creates the parent and the enrolment there and mirrors the copies it makes.
 *
 * @since 0.2.0
 */
export interface ReplicatingManagerShape extends BaseManagerShape {
  readonly kind: "replicating"
  /** Create the parent (the manager copies it onto each enrolled phone). */
  readonly createParent: (
    manager: AcsSystemId,
    request: { readonly user: ProviderRef; readonly acsUserId: AcsUserId; readonly card: CardProfile }
  ) => Effect.Effect<ProviderRef, PortError>
  /** Delete the parent (and, at the manager, its copies). Idempotent. */
  readonly deleteParent: (manager: AcsSystemId, parent: ProviderRef) => Effect.Effect<void, PortError>
  /** Enrol every phone of the user as it comes online. */
  readonly launchAutomation: (manager: AcsSystemId, user: ProviderRef) => Effect.Effect<ProviderRef, PortError>
}

/**
 * What the engine needs from a credential manager: an issuing or a replicating one, told apart by
 * `kind`. Every system a service serves is of the service's kind.
 *
 * @since 0.1.0
 */
export type CredentialManagerShape = IssuingManagerShape | ReplicatingManagerShape

/**
 * The kind of a credential manager: `"issuing"` or `"replicating"`.
 *
 * @since 0.2.0
 */
export type ManagerKind = CredentialManagerShape["kind"]

/**
 * Service tag of the `CredentialManager` port.
 *
 * @since 0.1.0
 */
export class CredentialManager extends Context.Service<CredentialManager, CredentialManagerShape>()(
  "@credsync/core/CredentialManager"
) {}

