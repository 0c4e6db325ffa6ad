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
 * | `CREDSYNC_SEAM_SQLITE` | unset: in-memory store; else the SQLite file holding the workspace (engine and API records) |
 * | `CREDSYNC_SEAM_POSTGRES_URL` | unset; a Postgres URL holding the workspace instead (not with `CREDSYNC_SEAM_SQLITE`) |
 * | `CREDSYNC_SEAM_ISSUE_DELAY_MS` | `0` (simulated issuance time) |
 * | `CREDSYNC_SEAM_RESYNC_MS` | the engine's default (5 min): how often every identity is reconciled |
 * | `CREDSYNC_SEAM_BACKEND` | `simulator`; `hid-origo` for HID Origo (the ACS stays in memory) |
 * | `CREDSYNC_SEAM_WEBHOOK_ALLOW_PRIVATE` | `false`: webhooks go to public http(s) hosts only; `true` also allows loopback and private addresses (local testing) |
 * | `CREDSYNC_SEAM_MAX_WEBHOOKS` | `100`: webhooks per workspace |
 *
 * With `CREDSYNC_SEAM_BACKEND=hid-origo`, also the `HID_ORIGO_*` variables of
 * `OrigoClient.config` (adapter-hid-origo) and:
 *
 * | variable | default |
 * |---|---|
 * | `CREDSYNC_HID_PART_NUMBERS` | required: `format/facility=PART,...`, e.g. `H10301/99=MID-SUB-CRD_FTPN_644245` |
 * | `CREDSYNC_HID_MANAGER_ID` / `_NAME` | a UUID derived from the workspace id / `HID Origo` |
 * | `CREDSYNC_HID_CALLBACK_API_KEY` | unset: HID callbacks refused (polling and resync only); else the `X-API-Key` HID sends |
 * | `CREDSYNC_HID_REGISTER_CALLBACK` | `false`: register the callback URL with HID at start |
 * | `CREDSYNC_HID_CALLBACK_BASE_URL` | the server's own URL: the public base HID reaches it under |
 * | `CREDSYNC_HID_POLL_MS` | `30000` (0: off) |
 * | `CREDSYNC_HID_FAKE_URL` | unset; the local fake's URL: sandbox phones are redeemed through its `/test/*` controls |
 *
 * @since 0.1.0
 */
import { OrigoClient } from "@credsync/adapter-hid-origo"
import { PostgresStore } from "@credsync/store-postgres"
import { SqliteStore } from "@credsync/store-sqlite"
import { Config, ConfigProvider, Duration, Effect, Option, Redacted, Schema } from "effect"
import type * as HidOrigo from "./HidOrigo.js"
import type * as Persistence from "./Persistence.js"
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
  issueDelayMs: Config.Int("CREDSYNC_SEAM_ISSUE_DELAY_MS").pipe(Config.withDefault(0)),
  resyncMs: Config.option(Config.Int("CREDSYNC_SEAM_RESYNC_MS")),
  webhookAllowPrivate: Config.Boolean("CREDSYNC_SEAM_WEBHOOK_ALLOW_PRIVATE").pipe(Config.withDefault(false)),
  maxWebhooks: Config.Int("CREDSYNC_SEAM_MAX_WEBHOOKS").pipe(Config.withDefault(100))
})

const pair = String.raw`\s*[^\s=,/]+/[^\s=,/]+\s*=\s*[^\s=,]+\s*`
const PartNumbersText = Schema.String.check(
  Schema.isPattern(new RegExp(`^${pair}(,${pair})*$`), {
    message: "Expected format/facility=PART_NUMBER pairs separated by commas, e.g. H10301/99=MID-SUB-CRD_FTPN_644245"
  })
)

/** `"rfid48/9=MID-A, H10301/99=MID-B"` → `{ "rfid48/9": "MID-A", "H10301/99": "MID-B" }` (already checked). */
export const parsePartNumbers = (text: string): Readonly<Record<string, string>> => {
  const out: Record<string, string> = {}
  for (const item of text.split(",")) {
    const [profile = "", partNumber = ""] = item.split("=").map((x) => x.trim())
    out[profile] = partNumber
  }
  return out
}

/** The HID Origo backend from the environment (only read when `CREDSYNC_SEAM_BACKEND=hid-origo`). */
export const hidConfig: Config.Config<Omit<HidOrigo.Backend, "managerId"> & { readonly managerId: string | undefined }> = Config.all({
  client: OrigoClient.config,
  partNumbers: Config.schema(PartNumbersText, "CREDSYNC_HID_PART_NUMBERS").pipe(Config.map(parsePartNumbers)),
  managerId: Config.option(Config.NonEmptyString("CREDSYNC_HID_MANAGER_ID")),
  managerName: Config.NonEmptyString("CREDSYNC_HID_MANAGER_NAME").pipe(Config.withDefault("HID Origo")),
  callbackApiKey: Config.option(Config.Redacted("CREDSYNC_HID_CALLBACK_API_KEY")),
  register: Config.Boolean("CREDSYNC_HID_REGISTER_CALLBACK").pipe(Config.withDefault(false)),
  callbackBaseUrl: Config.option(Config.URL("CREDSYNC_HID_CALLBACK_BASE_URL")),
  pollMs: Config.Int("CREDSYNC_HID_POLL_MS").pipe(Config.withDefault(30_000)),
  fakeUrl: Config.option(Config.URL("CREDSYNC_HID_FAKE_URL"))
}).pipe(
  Config.map((c) => {
    const apiKey = Option.getOrUndefined(c.callbackApiKey)
    const baseUrl = Option.getOrUndefined(c.callbackBaseUrl)?.toString()
    return {
      _tag: "hid-origo" as const,
      client: c.client,
      partNumbers: c.partNumbers,
      managerId: Option.getOrUndefined(c.managerId),
      managerName: c.managerName,
      callbacks:
        apiKey === undefined ? undefined : { apiKey, register: c.register ? { baseUrl } : undefined },
      pollMs: c.pollMs,
      fakeControlUrl: Option.getOrUndefined(c.fakeUrl)?.toString()
    }
  })
)

/**
 * Where the workspace is kept, as configured: in memory, a SQLite file, or a Postgres database.
 *
 * @since 0.2.0
 */
export type StoreChoice =
  | { readonly _tag: "memory" }
  | { readonly _tag: "sqlite"; readonly filename: string }
  | { readonly _tag: "postgres"; readonly url: Redacted.Redacted<string> }

/**
 * The durable stores this server can put a workspace in: each opens the engine's `Store` and the
 * API's `Records` of one workspace (its rows kept apart from any other workspace's, whatever file
 * or database several workspaces are given).
 *
 * @since 0.2.0
 */
export interface StoreBackends {
  readonly sqlite: (options: { readonly filename: string; readonly workspaceId: string }) => Persistence.Source
  readonly postgres: (options: { readonly url: Redacted.Redacted<string>; readonly workspaceId: string }) => Persistence.Source
}

/**
 * The backends of this build: the SQLite file or Postgres database, each providing the engine's
 * `Store` and the API's `Records` for the workspace.
 *
 * @since 0.2.0
 */
export const defaultBackends: StoreBackends = {
  sqlite: ({ filename, workspaceId }) => SqliteStore.layer({ filename, workspace: workspaceId }),
  postgres: ({ url, workspaceId }) => PostgresStore.layer({ connection: url, workspace: workspaceId })
}

/**
 * Where the server keeps its workspace, from the environment: `CREDSYNC_SEAM_SQLITE` (a file) or
 * `CREDSYNC_SEAM_POSTGRES_URL`, at most one of them; neither: in memory.
 *
 * @since 0.2.0
 */
export const storeConfig: Config.Config<StoreChoice> = Config.all({
  sqlite: Config.option(Config.NonEmptyString("CREDSYNC_SEAM_SQLITE")),
  postgres: Config.option(Config.Redacted("CREDSYNC_SEAM_POSTGRES_URL"))
}).pipe(
  Config.mapEffect(({ sqlite, postgres }) =>
    Option.isSome(sqlite) && Option.isSome(postgres)
      ? Effect.fail(
          new Config.ConfigError(new ConfigProvider.SourceError({ message: "set CREDSYNC_SEAM_SQLITE or CREDSYNC_SEAM_POSTGRES_URL, not both" }))
        )
      : Effect.succeed<StoreChoice>(
          Option.isSome(sqlite)
            ? { _tag: "sqlite", filename: sqlite.value }
            : Option.isSome(postgres)
              ? { _tag: "postgres", url: postgres.value }
              : { _tag: "memory" }
        )
  )
)

/**
 * The persistence of one workspace for a configured choice; undefined: the workspace's default
 * (in memory).
 *
 * @since 0.2.0
 */
export const persistence = (choice: StoreChoice, workspaceId: string, backends: StoreBackends = defaultBackends): Persistence.Source | undefined => {
  switch (choice._tag) {
    case "memory":
      return undefined
    case "sqlite":
      return backends.sqlite({ filename: choice.filename, workspaceId })
    case "postgres":
      return backends.postgres({ url: choice.url, workspaceId })
  }
}

/** Which credential manager backs the workspace. */
export const backendConfig = Config.Literals(["simulator", "hid-origo"], "CREDSYNC_SEAM_BACKEND").pipe(Config.withDefault("simulator"))

/**
 * Server options from the environment.
 *
 * @since 0.1.0
 */
export const fromEnv = (
  log?: (line: string) => void,
  backends: StoreBackends = defaultBackends
): Effect.Effect<Server.Options, Config.ConfigError> =>
  Effect.gen(function* () {
    const c = yield* config
    const stored = persistence(yield* storeConfig, c.workspaceId, backends)
    const backend = (yield* backendConfig) === "hid-origo" ? yield* hidConfig : undefined
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
        ...(stored === undefined ? {} : { persistence: stored }),
        simulator: { issueDelay: c.issueDelayMs },
        webhooks: { allowPrivateUrls: c.webhookAllowPrivate, maxPerWorkspace: c.maxWebhooks },
        ...(backend === undefined ? {} : { backend }),
        ...Option.match(c.resyncMs, { onNone: () => ({}), onSome: (ms) => ({ engine: { resyncEvery: Duration.millis(ms) } }) })
      }
    ]
    }
  })
