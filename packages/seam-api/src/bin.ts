/**
 * `pnpm start`: serve the Seam-compatible API on 127.0.0.1 with the configuration from the
 * environment (see ServerConfig). Ctrl-C stops it cleanly.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit, Redacted, Scope } from "effect"
import * as Server from "./Server.js"
import * as ServerConfig from "./ServerConfig.js"

const log = (line: string) => console.log(`[seam-api] ${line}`)

const main = Effect.gen(function* () {
  const options = yield* ServerConfig.fromEnv(log)
  const scope = yield* Scope.make()
  const running = yield* Scope.provide(Server.serve(options), scope)
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
  return scope
})

Effect.runPromiseExit(main).then((exit) => {
  if (Exit.isFailure(exit)) {
    console.error(`[seam-api] failed to start: ${Cause.pretty(exit.cause)}`)
    process.exit(1)
  }
  const scope = exit.value
  const stop = () => {
    log("stopping")
    Effect.runPromise(Scope.close(scope, Exit.void)).then(() => process.exit(0))
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
})
