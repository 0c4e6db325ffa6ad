/**
 * The core `CredentialManager` port on Seam Connect. Seam replicates by itself, so the capabilities
 * say `replicates: true` and the engine never invites or issues here: it creates the multi-phone
 * sync credential (the parent) and launches the enrollment automation at Seam, then mirrors the
 * children Seam makes, one per (parent, phone), and repairs or reports what breaks the invariant.
 *
 * Mapping (the manager-side user is the Seam user identity whose `user_identity_key` is the
 * credsync identity id):
 * - `ensureUser`: `/user_identities/get {user_identity_key}`, else `/user_identities/create`;
 * - `observe`: `/phones/list {owner_user_identity_id}` → `endpoints` (ref = `device_id`);
 *   `/acs/credentials/list {user_identity_id}` → `parents` (`is_multi_phone_sync_credential`) and
 *   `credentials` (children, `parent_acs_credential_id` → `parent`, `device_id` → `endpoint`;
 *   `is_issued` → active, a `being_deleted` warning on it or its parent → revoking, errors before
 *   issue → failed, else issuing); `/user_identities/enrollment_automations/list` → `automations`;
 * - `createParent`: links the ACS user to the identity if needed (`/user_identities/add_acs_user`),
 *   then `/acs/credentials/create` with `card_format` / `facility_code`;
 * - `launchAutomation`: `/user_identities/enrollment_automations/launch`;
 * - `revoke` / `deleteParent`: `/acs/credentials/delete`; `removeEndpoint`: `/phones/deactivate`
 *   (all idempotent: NotFound is success);
 * - `invite` / `issue` / `cancelInvitation`: `InvalidInput` (Seam enrols and replicates itself).
 *
 * @since 0.1.0
 */
import { CredentialManager, type Ids } from "@credsync/core"
import { type Effect, Layer } from "effect"
import * as internal from "./internal/manager.js"
import { SeamClient } from "./SeamClient.js"

/**
 * Options of the Seam credential manager: which Seam systems it serves and how it maps them.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The Seam credential manager (an `acs_system` with `is_credential_manager`) this layer serves. */
  readonly system: Ids.AcsSystemId
  readonly name?: string | undefined
  readonly externalType?: string | undefined
  /** Overrides of the defaults (e.g. a `listingLag` if Seam's listings lag behind its writes). */
  readonly capabilities?: Partial<CredentialManager.Capabilities> | undefined
}

/** `{ replicates: true, asyncIssue: true, listingLag: 0 }`. @since 0.1.0 */
export const defaultCapabilities: CredentialManager.Capabilities = internal.defaultCapabilities

/**
 * The `CredentialManager` port on Seam (a replicating manager), over a `SeamClient`.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<CredentialManager.CredentialManagerShape, never, SeamClient> =>
  SeamClient.useSync((client) => internal.makeManager(client, options))

/**
 * The `CredentialManager` port on Seam as a layer, over a `SeamClient`.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<CredentialManager.CredentialManager, never, SeamClient> =>
  Layer.effect(CredentialManager.CredentialManager, make(options))
