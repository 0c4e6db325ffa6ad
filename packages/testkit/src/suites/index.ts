/**
 * Conformance suites: functions that register vitest tests against any implementation of a port.
 *
 * @since 0.1.0
 */
export { type AccessControlHarness, accessControlSuite } from "./AccessControlSuite.js"
export { type CredentialManagerHarness, credentialManagerSuite } from "./CredentialManagerSuite.js"
export { type ReplicatingManagerHarness, replicatingManagerSuite } from "./ReplicatingManagerSuite.js"
export { sampleEvents, sampleState, storeSuite } from "./StoreSuite.js"
export { recordsSuite } from "./RecordsSuite.js"
