/**
 * @credsync/sim-server: the memory simulator served over loopback HTTP (`SimServer`), and clients
 * that provide `CredentialManager` and `AccessControl` over it (`SimClient`) plus its test controls
 * (`SimControls`). Lets a provider live outside the engine's process, e.g. for crash tests.
 *
 * @since 0.1.0
 * @module @credsync/sim-server
 */
export * as Protocol from "./Protocol.js"
export * as SimClient from "./SimClient.js"
export * as SimControls from "./SimControls.js"
export * as SimServer from "./SimServer.js"
