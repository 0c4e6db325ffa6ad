#!/usr/bin/env node
/**
 * `credsync-seam-api` (`pnpm start` at the repository root): serve the Seam-compatible API with the
 * configuration from the environment (see ServerConfig and the README). Ctrl-C stops it cleanly.
 * Arguments are parsed by effect/cli (`--help`, `--version`, `--verbose`); a failure to start is one
 * line with a hint (a busy port names `CREDSYNC_SEAM_PORT`, a missing variable is named).
 *
 * Logs go through Effect's Logger (`CREDSYNC_LOG_LEVEL`, `CREDSYNC_LOG_FORMAT`: JSON lines unless
 * stdout is a terminal), the server's own lines included; OTLP export follows the `OTEL_*`
 * variables (off by default); `/health`, `/ready` and `/metrics` are served (see Operations).
 *
 * @since 0.1.0
 */
import { Cli } from "@credsync/cli"
import { Observability } from "@credsync/core"
import { Effect, Layer, Redacted } from "effect"
import { Command, Flag } from "effect/cli"
import * as Server from "./Server.js"
import * as ServerConfig from "./ServerConfig.js"

const serve = Effect.gen(function* () {
  // built in the server's scope: the OTLP exporter lives (and flushes) as long as the server
  const observability = yield* Layer.build(Observability.layer({ serviceName: "credsync-seam-api" }))
  const logSync = Effect.runSyncWith(observability)
  const log = (line: string) => logSync(Effect.logInfo(line).pipe(Effect.annotateLogs({ component: "seam-api" })))
  const options = yield* ServerConfig.fromEnv(log)
  const running = yield* Server.serve(options).pipe(Effect.provideContext(observability))
  const ws = running.workspaces[0]
  log(`listening on ${running.url}`)
  for (const w of options.workspaces) {
    for (const key of w.apiKeys) {
      // only the built-in demo key is printed; a configured key is a secret
      const shown = Redacted.value(key) === ServerConfig.demoApiKey ? ServerConfig.demoApiKey : "<configured, not shown>"
      log(`workspace ${w.id} (${w.sandbox === false ? "production" : "sandbox"}) API key: ${shown}`)
    }
  }
  if (ws !== undefined) {
    log(`ACS systems: ${ws.acsSystems.map((a) => `${a.name} ${a.id}`).join(", ")}`)
    log(`credential managers: ${ws.managers.map((m) => `${m.name} ${m.id}`).join(", ")}${ws.hid === undefined ? " (simulated)" : " (HID Origo)"}`)
    if (ws.hidCallback !== undefined) log(`HID callbacks accepted on ${running.url}/hid/callbacks/${ws.id}`)
  }
  log(`try: curl -s -X POST ${running.url}/acs/systems/list -H 'Authorization: Bearer <key>' -H 'content-type: application/json' -d '{}'`)
  log(`operators: ${running.url}/health, ${running.url}/ready, ${running.url}/metrics`)
  log("Ctrl-C stops it")
  return yield* Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => log("stopped"))))
}).pipe(Effect.scoped)

const command = Command.make(
  "credsync-seam-api",
  { verbose: Flag.Boolean("verbose").pipe(Flag.withDescription("On an error, print its full cause."), Flag.withDefault(false)) },
  () => serve
).pipe(
  Command.withDescription(
    "Serve Seam Connect's mobile-credential routes over the credsync engine. Configured by CREDSYNC_SEAM_* " +
      "variables (see its README); defaults: 127.0.0.1:3020, a sandbox workspace, the simulator."
  )
)

/** A busy port names the variable that chooses another one. */
const explain: Cli.Explain = (error) => {
  const message = error instanceof Server.ServeError ? error.message : undefined
  if (message?.includes("EADDRINUSE")) {
    const where = /cannot listen on (\S+):/.exec(message)?.[1] ?? "its address"
    return {
      line: `cannot listen on ${where}: the port is already in use`,
      hint: "set CREDSYNC_SEAM_PORT to a free port, or stop the other server"
    }
  }
  return message === undefined ? undefined : { line: message }
}

Cli.run(command, { version: "0.1.0", explain, stopOk: true })
