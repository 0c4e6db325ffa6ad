/**
 * @credsync/hid-origo-fake: a local fake of the HID Origo Mobile Identities v2.2 API for tests.
 *
 * @since 0.1.0
 * @module @credsync/hid-origo-fake
 */
export * as HidOrigoFake from "./HidOrigoFake.js"
