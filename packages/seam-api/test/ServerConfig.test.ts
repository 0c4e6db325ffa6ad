/** The environment → server options, HID Origo backend included (no server is started). */
import { ConfigProvider, Effect, Exit, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { ServerConfig } from "../src/index.js"

const read = (env: Record<string, string>) =>
  Effect.runPromiseExit(ServerConfig.fromEnv().pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))))

const hidEnv = {
  CREDSYNC_SEAM_BACKEND: "hid-origo",
  HID_ORIGO_CLIENT_ID: "1234567-OSRV-test",
  HID_ORIGO_CLIENT_SECRET: "s3cret-value",
  HID_ORIGO_APPLICATION_ID: "HID-TEST",
  HID_ORIGO_APPLICATION_VERSION: "1.0",
  CREDSYNC_HID_PART_NUMBERS: "rfid48/9=MID-SUB-CRD_FTPN_700009, H10301/99=MID-SUB-CRD_FTPN_644245"
}

describe("ServerConfig", () => {
  it("defaults to the simulator", async () => {
    const exit = await read({})
    if (!Exit.isSuccess(exit)) throw new Error("config failed")
    expect(exit.value.workspaces[0]?.backend).toBeUndefined()
  })

  it("reads the HID Origo backend: client, part numbers, callbacks", async () => {
    const exit = await read({ ...hidEnv, CREDSYNC_HID_CALLBACK_API_KEY: "cb", CREDSYNC_HID_REGISTER_CALLBACK: "true", CREDSYNC_SEAM_RESYNC_MS: "600000" })
    if (!Exit.isSuccess(exit)) throw new Error("config failed")
    const backend = exit.value.workspaces[0]?.backend
    if (backend?._tag !== "hid-origo") throw new Error("expected the HID backend")
    expect(backend.partNumbers).toEqual({ "rfid48/9": "MID-SUB-CRD_FTPN_700009", "H10301/99": "MID-SUB-CRD_FTPN_644245" })
    expect(backend.client.environment).toBe("cert")
    expect(Redacted.value(backend.client.clientSecret)).toBe("s3cret-value")
    expect(String(backend.client.clientSecret)).not.toContain("s3cret-value")
    expect(backend.callbacks === undefined ? undefined : Redacted.value(backend.callbacks.apiKey)).toBe("cb")
    expect(backend.callbacks?.register).toEqual({ baseUrl: undefined })
    expect(backend.fakeControlUrl).toBeUndefined()
  })

  it("refuses HID mode without part numbers, or with malformed ones", async () => {
    const { CREDSYNC_HID_PART_NUMBERS: _, ...without } = hidEnv
    expect(Exit.isFailure(await read(without))).toBe(true)
    expect(Exit.isFailure(await read({ ...hidEnv, CREDSYNC_HID_PART_NUMBERS: "rfid48=MID-1" }))).toBe(true)
  })
})
