/**
 * @credsync/adapter-hid-origo: the CredentialManager port on HID Origo Mobile Identities v2.2, its
 * HTTP client, and the callback / polling intake.
 *
 * @since 0.1.0
 * @module @credsync/adapter-hid-origo
 */
export * as OrigoClient from "./OrigoClient.js"
export * as OrigoCredentialManager from "./OrigoCredentialManager.js"
export * as OrigoEvents from "./OrigoEvents.js"
