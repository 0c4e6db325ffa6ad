/**
 * The core `CredentialManager` port on Seam Connect. Seam replicates by itself, so the port is a
 * `ReplicatingManagerShape` (no invite, cancelInvitation or issue): the engine creates the parent at Seam
 * and has Seam enrol the user's phones, then mirrors the children Seam makes, one per (parent,
 * phone), and repairs or reports what breaks the invariant.
 *
 * Two ways to drive Seam, chosen by `Options.via`:
 * - `"enrollment_automations"` (the default, as before this option existed): the parent is a
 *   multi-phone sync credential and the enrolment an enrollment automation. Seam marks every
 *   `/user_identities/enrollment_automations/*` route "Will be removed".
 * - `"access_grants"`: the parent is an Access Grant with a `mobile_key` access method; the grant
 *   enrols the identity's phones itself, and no `/user_identities/enrollment_automations/*` route is
 *   called. A grant names no card profile: Seam issues its mobile keys in the profile the credential
 *   manager is set up with, which `Options.grantCard` declares.
 *
 * Mapping common to both (the manager-side user is the Seam user identity whose
 * `user_identity_key` is the credsync identity id):
 * - `ensureUser`: `/user_identities/get {user_identity_key}`, else `/user_identities/create`;
 * - `observe`: `/phones/list {owner_user_identity_id}` → `endpoints` (ref = `device_id`);
 *   `/acs/credentials/list {user_identity_id}` → `credentials`: the children
 *   (`parent_acs_credential_id` → `parent`, `device_id` → `endpoint`; `is_issued` → active, a
 *   `being_deleted` warning on it or its multi-phone sync credential → revoking, errors before issue
 *   → failed, else issuing);
 * - `revoke`: `/acs/credentials/delete`; `removeEndpoint`: `/phones/deactivate` (idempotent:
 *   NotFound is success);
 *
 * With enrollment automations:
 * - `observe`: `parents` are the multi-phone sync credentials (`is_multi_phone_sync_credential`) not
 *   being deleted; `/user_identities/enrollment_automations/list` → `automations`;
 * - `createParent`: links the ACS user to the identity if needed (`/user_identities/add_acs_user`),
 *   then `/acs/credentials/create` with `card_format` / `facility_code`;
 * - `launchAutomation`: `/user_identities/enrollment_automations/launch`;
 * - `deleteParent`: `/acs/credentials/delete` (NotFound is success).
 *
 * With Access Grants (the port's parent ref is the `access_grant_id`):
 * - `observe`: `/access_grants/list {user_identity_id}` → `parents`: each grant with a live
 *   `mobile_key` access method (its `requested_access_methods[].created_access_method_ids` still in
 *   `access_method_ids`), no `being_deleted` warning on it or on its multi-phone sync credential, and
 *   no other credential manager holding that credential.
 *   Which multi-phone sync credential a mobile key stands for comes from
 *   `/access_methods/get_related {access_method_ids, include: ["acs_credentials"]}` (the related
 *   multi-phone sync credential, else the parent a related phone credential names; asked once per
 *   access method, then remembered: the relation never changes); a child's `parent` is that
 *   credential's grant, and a grant's card profile that credential's (`grantCard` until Seam lists
 *   it). `automations` is one derived entry, `access_grants:<user identity id>`, while the user holds
 *   a live grant, none otherwise;
 * - `createParent`: refuses (`InvalidInput`, naming `card`) a card profile other than `grantCard`;
 *   links the ACS user as above; reads the ACS user's `acs_system_id` (`/acs/users/get`) and its
 *   entrances (`/acs/entrances/list {acs_system_id}`), then `/access_grants/create {user_identity_id,
 *   acs_entrance_ids, requested_access_methods: [{mode: "mobile_key"}], starts_at?, ends_at?}`;
 * - `launchAutomation`: records nothing at Seam (the grant enrols the phones) and returns the derived
 *   ref. The engine's planner launches an automation for the user and binds it to what `observe`
 *   lists; it needs no automation before it creates a parent, so the derived entry keeps its picture
 *   consistent: bound at launch, listed while a grant enrols the phones;
 * - `deleteParent`: `/access_grants/delete {access_grant_id}` (NotFound is success): Seam deletes the
 *   grant's multi-phone sync credential and revokes every child.
 *
 * Limitations of the Access Grants mode: one card profile per manager (`grantCard`), so one parent
 * per user and manager; grants of the user not made by credsync are parents the engine holds no
 * claim on (it deletes them, as it deletes unknown multi-phone sync credentials in the other mode);
 * multi-phone sync credentials made by the other mode are not parents here (switching an existing
 * deployment's mode is not supported: the engine would take those parents as gone and ask for
 * grants); a grant's
 * times are set at creation only (the port has no update).
 *
 * @since 0.1.0
 */
import { type Card, CredentialManager, type Ids } from "@credsync/core"
import { type Effect, Layer } from "effect"
import * as internal from "./internal/manager.js"
import { SeamClient } from "./SeamClient.js"

/**
 * Which Seam routes the port drives: `"enrollment_automations"` (default) or `"access_grants"`.
 *
 * @since 0.2.0
 */
export type Via = internal.Via

/**
 * Options of the Seam credential manager common to both ways of driving Seam.
 *
 * @since 0.2.0
 */
export interface BaseOptions {
  /** The Seam credential manager (an `acs_system` with `is_credential_manager`) this layer serves. */
  readonly system: Ids.AcsSystemId
  readonly name?: string | undefined
  readonly externalType?: string | undefined
  /** Overrides of the defaults (e.g. a `listingLag` if Seam's listings lag behind its writes). */
  readonly capabilities?: Partial<CredentialManager.Capabilities> | undefined
}

/**
 * Options of the Seam credential manager: which Seam systems it serves, how it maps them, and
 * whether it drives Seam through enrollment automations (the default) or Access Grants.
 *
 * @since 0.1.0
 */
export type Options = BaseOptions &
  (
    | {
        /** Enrollment automations and multi-phone sync credentials (the default). */
        readonly via?: "enrollment_automations" | undefined
      }
    | {
        /** Access Grants with a `mobile_key` access method; no enrollment automation route is called. */
        readonly via: "access_grants"
        /** The card profile of the mobile keys Seam issues for a grant here (a grant names none):
         *  `createParent` refuses any other, and a parent whose credential Seam does not list yet
         *  shows this profile. */
        readonly grantCard: Pick<Card.CardProfile, "cardFormat" | "facilityCode">
      }
  )

/** `{ asyncIssue: true, listingLag: 0 }`. @since 0.1.0 */
export const defaultCapabilities: CredentialManager.Capabilities = internal.defaultCapabilities

/**
 * The `CredentialManager` port on Seam (a replicating manager), over a `SeamClient`.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<CredentialManager.ReplicatingManagerShape, never, SeamClient> =>
  SeamClient.useSync((client) => internal.makeManager(client, options))

/**
 * The `CredentialManager` port on Seam as a layer, over a `SeamClient`.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<CredentialManager.CredentialManager, never, SeamClient> =>
  Layer.effect(CredentialManager.CredentialManager, make(options))
