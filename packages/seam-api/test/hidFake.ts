/**
 * A local HID Origo fake for trying seam-api in HID mode by hand (not a test):
 *
 *   npx tsx --conditions=source packages/seam-api/test/hidFake.ts      # prints the environment to use
 *
 * It listens on 127.0.0.1 (`HID_FAKE_PORT`, default 4010) until Ctrl-C, with the fake's default account
 * and part-number pools (H10301 at facility codes 99 and 100). The account is the fake's built-in test
 * account, not a secret.
 */
import { HidOrigoFake } from "@credsync/hid-origo-fake"

const port = Number(process.env.HID_FAKE_PORT ?? "4010")
const fake = await HidOrigoFake.start({ host: "127.0.0.1", port })
const env = {
  CREDSYNC_SEAM_BACKEND: "hid-origo",
  HID_ORIGO_CLIENT_ID: fake.account.clientId,
  HID_ORIGO_CLIENT_SECRET: fake.account.clientSecret,
  HID_ORIGO_APPLICATION_ID: "HID-CREDSYNC-LOCAL",
  HID_ORIGO_APPLICATION_VERSION: "0.1.0",
  HID_ORIGO_ENVIRONMENT: "custom",
  HID_ORIGO_IDP_URL: fake.environment.idp,
  HID_ORIGO_MI_URL: fake.environment.mi,
  HID_ORIGO_EVENTS_URL: fake.environment.events,
  HID_ORIGO_CALLBACKS_URL: fake.environment.callbacks,
  CREDSYNC_HID_PART_NUMBERS: HidOrigoFake.defaultPartNumbers.map((p) => `H10301/${p.facilityCode}=${p.partNumber}`).join(","),
  CREDSYNC_HID_CALLBACK_API_KEY: "local-fake-callback-key",
  CREDSYNC_HID_REGISTER_CALLBACK: "true",
  CREDSYNC_HID_POLL_MS: "5000",
  CREDSYNC_HID_FAKE_URL: fake.url
}
console.log(`HID Origo fake on ${fake.url}; start seam-api against it with:\n`)
console.log(`${Object.entries(env)
  .map(([k, v]) => `${k}=${v}`)
  .join(" \\\n")} \\\npnpm start\n`)
const stop = () => {
  void fake.stop().then(() => process.exit(0))
}
process.once("SIGINT", stop)
process.once("SIGTERM", stop)
