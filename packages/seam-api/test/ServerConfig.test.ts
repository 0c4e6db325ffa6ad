/** The environment → server options, HID Origo backend included (no server is started). */
import { ConfigProvider, Effect, Exit, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { Persistence, ServerConfig } from "../src/index.js"

const read = (env: Record<string, string>, backends?: ServerConfig.StoreBackends) =>
  Effect.runPromiseExit(
    ServerConfig.fromEnv(undefined, backends).pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })))
  )

/** Backends that record what they were asked to open. */
const recording = () => {
  const opened: Array<string> = []
  const backends: ServerConfig.StoreBackends = {
    sqlite: ({ filename, workspaceId }) => {
      opened.push(`sqlite ${filename} ${workspaceId}`)
      return Persistence.memoryLayer()
    },
    postgres: ({ url, workspaceId }) => {
      opened.push(`postgres ${Redacted.value(url)} ${workspaceId}`)
      return Persistence.memoryLayer()
    }
  }
  return { opened, backends }
}

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

  it("puts the workspace in memory by default, in SQLite or in Postgres when told, never both", async () => {
    const none = recording()
    const memory = await read({}, none.backends)
    if (!Exit.isSuccess(memory)) throw new Error("config failed")
    expect(memory.value.workspaces[0]?.persistence).toBeUndefined()
    expect(none.opened).toEqual([])

    const sqlite = recording()
    const onFile = await read({ CREDSYNC_SEAM_SQLITE: "/tmp/ws.db", CREDSYNC_SEAM_WORKSPACE_ID: "w-1" }, sqlite.backends)
    if (!Exit.isSuccess(onFile)) throw new Error("config failed")
    expect(onFile.value.workspaces[0]?.persistence).toBeDefined()
    expect(sqlite.opened).toEqual(["sqlite /tmp/ws.db w-1"])

    const pg = recording()
    const onPg = await read({ CREDSYNC_SEAM_POSTGRES_URL: "postgres://u:pw@127.0.0.1/db", CREDSYNC_SEAM_WORKSPACE_ID: "w-2" }, pg.backends)
    if (!Exit.isSuccess(onPg)) throw new Error("config failed")
    expect(pg.opened).toEqual(["postgres postgres://u:pw@127.0.0.1/db w-2"])

    const both = recording()
    expect(Exit.isFailure(await read({ CREDSYNC_SEAM_SQLITE: "/tmp/ws.db", CREDSYNC_SEAM_POSTGRES_URL: "postgres://x" }, both.backends))).toBe(true)
    expect(both.opened).toEqual([])
  })
})
