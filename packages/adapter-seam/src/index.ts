/**
 * @credsync/adapter-seam: the core ports on Seam Connect through the official `@seamapi/http`
 * client, for hosts that keep Seam as their credential provider. Seam replicates multi-phone sync
 * credentials itself; the engine creates them there, mirrors the copies per phone, and repairs or
 * reports what breaks the invariant.
 *
 * @since 0.1.0
 * @module @credsync/adapter-seam
 */
export * as SeamAccessControl from "./SeamAccessControl.js"
export * as SeamClient from "./SeamClient.js"
export * as SeamCredentialManager from "./SeamCredentialManager.js"
export * as SeamWebhooks from "./SeamWebhooks.js"
