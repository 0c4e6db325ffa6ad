/**
 * @credsync/testkit: the shared conformance suites every adapter runs, and the model-based
 * property test of the invariant.
 *
 * @since 0.1.0
 * @module @credsync/testkit
 */
export * from "./suites/index.js"
export * as MemoryProvider from "./MemoryProvider.js"
export * as Property from "./model/index.js"
export type { FaultProfile, Provider, Truth } from "./Provider.js"
export * as Loopback from "./Loopback.js"
export { World } from "./World.js"
export * as Postgres from "./Postgres.js"
