/**
 * Server configuration from the environment (effect `Config`), with embedded defaults so that
 * `pnpm start` serves a sandbox workspace with a demo key and no setup:
 *
 * | variable | default |
 * |---|---|
 * | `CREDSYNC_SEAM_HOST` | `127.0.0.1` |
 * | `CREDSYNC_SEAM_PORT` | `3020` |
 * | `CREDSYNC_SEAM_API_KEY` | `seam_credsync_demo_key` (printed at start) |
 * | `CREDSYNC_SEAM_WORKSPACE_ID` | a fixed UUID |
 * | `CREDSYNC_SEAM_WORKSPACE_NAME` | `credsync sandbox` |
 * | `CREDSYNC_SEAM_SANDBOX` | `true` |
 * | `CREDSYNC_SEAM_SQLITE` | unset: in-memory store; else the SQLite file of the engine |
 * | `CREDSYNC_SEAM_ISSUE_DELAY_MS` | `0` (simulated issuance time) |
 *
 * @since 0.1.0
 */
import { Config, Effect, Option, Redacted } from "effect"
import type * as Server from "./Server.js"

/** The demo key served when none is configured. Not a secret: it only opens the local sandbox. */
export const demoApiKey = "seam_credsync_demo_key"

/** The default workspace id. */
export const defaultWorkspaceId = "5e3a1c9e-2f4b-4c7d-9a1e-8b6f0d2c4a10"

/** Everything the server reads from the environment. */
export const config = Config.all({
  host: Config.String("CREDSYNC_SEAM_HOST").pipe(Config.withDefault("127.0.0.1")),
  port: Config.Port("CREDSYNC_SEAM_PORT").pipe(Config.withDefault(3020)),
  apiKey: Config.Redacted("CREDSYNC_SEAM_API_KEY").pipe(Config.withDefault(Redacted.make(demoApiKey))),
  workspaceId: Config.String("CREDSYNC_SEAM_WORKSPACE_ID").pipe(Config.withDefault(defaultWorkspaceId)),
  workspaceName: Config.String("CREDSYNC_SEAM_WORKSPACE_NAME").pipe(Config.withDefault("credsync sandbox")),
  sandbox: Config.Boolean("CREDSYNC_SEAM_SANDBOX").pipe(Config.withDefault(true)),
  sqlite: Config.option(Config.NonEmptyString("CREDSYNC_SEAM_SQLITE")),
  issueDelayMs: Config.Int("CREDSYNC_SEAM_ISSUE_DELAY_MS").pipe(Config.withDefault(0))
})

/**
 * Server options from the environment.
 *
 * @since 0.1.0
 */
export const fromEnv = (log?: (line: string) => void): Effect.Effect<Server.Options, Config.ConfigError> =>
  Effect.gen(function* () {
    const c = yield* config
    return {
    host: c.host,
    port: c.port,
    log,
    workspaces: [
      {
        id: c.workspaceId,
        name: c.workspaceName,
        apiKeys: [c.apiKey],
        sandbox: c.sandbox,
        sqliteFile: Option.getOrUndefined(c.sqlite),
        simulator: { issueDelay: c.issueDelayMs }
      }
    ]
    }
  })
