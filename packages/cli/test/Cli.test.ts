import { spawnSync } from "node:child_process"
import { createServer, type Server } from "node:net"
import { PortError } from "@credsync/core"
import { Config, ConfigProvider, Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Cli } from "../src/index.js"

const bin = (file: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ["--conditions=source", "--import", "tsx", file, ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, ...env }
  })

const configError = (variables: Record<string, string>) =>
  Effect.runSync(
    Effect.flip(
      Config.all({ id: Config.String("HID_ORIGO_CLIENT_ID"), port: Config.Port("CREDSYNC_SEAM_PORT") }).pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(variables)))
      )
    )
  )

describe("Cli.explain: one line and a hint", () => {
  it("names a missing environment variable, and an invalid one", () => {
    expect(Cli.explain(configError({ CREDSYNC_SEAM_PORT: "3020" }))).toEqual({
      line: "the environment variable HID_ORIGO_CLIENT_ID is not set",
      hint: "set HID_ORIGO_CLIENT_ID (the package's README lists every variable)"
    })
    const invalid = Cli.explain(configError({ HID_ORIGO_CLIENT_ID: "x", CREDSYNC_SEAM_PORT: "abc" }))
    expect(invalid.line).toMatch(/^the environment variable CREDSYNC_SEAM_PORT is invalid: expected /)
  })

  it("says what a port error is without dumping it", () => {
    const e = new PortError.PortError({ reason: "Unauthorized", port: "CredentialManager", method: "invite", message: "bad token\nat line 2" })
    expect(Cli.explain(e)).toEqual({
      line: "CredentialManager invite failed (Unauthorized): bad token",
      hint: "check the provider's credentials"
    })
  })
})

describe("the programs' command lines", () => {
  let busy: Server
  let port = 0
  beforeAll(async () => {
    busy = createServer()
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve))
    const address = busy.address()
    port = typeof address === "object" && address !== null ? address.port : 0
  })
  afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())))

  it("seam-api on a busy port: one line naming CREDSYNC_SEAM_PORT, no stack (exit 1)", () => {
    const run = bin("packages/seam-api/src/bin.ts", [], { CREDSYNC_SEAM_PORT: String(port) })
    expect(run.status).toBe(1)
    expect(run.stderr).toContain(`error: cannot listen on 127.0.0.1:${port}: the port is already in use`)
    expect(run.stderr).toContain("hint: set CREDSYNC_SEAM_PORT")
    expect(run.stderr).not.toMatch(/\n\s+at |ServeError|\{/)
    const verbose = bin("packages/seam-api/src/bin.ts", ["--verbose"], { CREDSYNC_SEAM_PORT: String(port) })
    expect(verbose.stderr).toContain("ServeError")
  })

  it("seam-api with HID Origo and no credentials: names the missing variable (exit 1)", () => {
    const run = bin("packages/seam-api/src/bin.ts", [], { CREDSYNC_SEAM_BACKEND: "hid-origo" })
    expect(run.status).toBe(1)
    expect(run.stderr).toContain("error: the environment variable HID_ORIGO_CLIENT_ID is not set")
    expect(run.stderr).not.toContain("SchemaError")
  })

  it("sim-server refuses an unknown flag with its usage (exit 2)", () => {
    const run = bin("packages/sim-server/src/bin.ts", ["--bogus"])
    expect(run.status).toBe(2)
    expect(run.stderr).toContain("Unrecognized flag: --bogus")
    expect(run.stderr).toContain("usage: credsync-sim-server [flags]")
  })
})
