/**
 * @credsync/adapter-memory: an in-memory simulator of credential managers and access control
 * systems (with deterministic fault injection and a ground-truth view), its port layers, and an
 * in-memory Store. For tests, benchmarks and single-process demos.
 *
 * @since 0.1.0
 * @module @credsync/adapter-memory
 */
export * as Faults from "./Faults.js"
export * as MemoryAccessControl from "./MemoryAccessControl.js"
export * as MemoryCredentialManager from "./MemoryCredentialManager.js"
export * as MemoryRecords from "./MemoryRecords.js"
export * as MemoryStore from "./MemoryStore.js"
export * as Seeded from "./Seeded.js"
export * as Simulator from "./Simulator.js"
