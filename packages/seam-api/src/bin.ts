/**
 * `pnpm start`: serve the Seam-compatible API on 127.0.0.1 with the configuration from the
 * environment (see ServerConfig). Ctrl-C stops it cleanly.
 *
 * Logs go through Effect's Logger (`CREDSYNC_LOG_LEVEL`, `CREDSYNC_LOG_FORMAT`: JSON lines unless
 * stdout is a terminal), the server's own lines included; OTLP export follows the `OTEL_*`
 * variables (off by default); `/health`, `/ready` and `/metrics` are served (see Operations).
 *
 * @since 0.1.0
 */
import { Observability } from "@credsync/core"
import { Cause, Effect, Exit, Layer, Redacted, Scope } from "effect"
import * as Server from "./Server.js"
import * as ServerConfig from "./ServerConfig.js"

const main = Effect.gen(function* () {
  const scope = yield* Scope.make()
  // built in the server's scope: the OTLP exporter lives (and flushes) as long as the server
  const observability = yield* Layer.buildWithScope(Observability.layer({ serviceName: "credsync-seam-api" }), scope)
  const logSync = Effect.runSyncWith(observability)
  const log = (line: string) => logSync(Effect.logInfo(line).pipe(Effect.annotateLogs({ component: "seam-api" })))
  const options = yield* ServerConfig.fromEnv(log)
  const running = yield* Scope.provide(Server.serve(options), scope).pipe(Effect.provideContext(observability))
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
  return { scope, log }
})

Effect.runPromiseExit(main).then((exit) => {
  if (Exit.isFailure(exit)) {
    console.error(`[seam-api] failed to start: ${Cause.pretty(exit.cause)}`)
    process.exit(1)
  }
  const { scope, log } = exit.value
  const stop = () => {
    log("stopping")
    Effect.runPromise(Scope.close(scope, Exit.void)).then(() => process.exit(0))
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
})
