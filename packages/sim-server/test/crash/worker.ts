/**
 * The engine process of the kill test: the engine on a SQLite store file, against the simulator
 * served by the test process over HTTP. It executes the workload's commands from `START` on,
 * printing `ACK <i>` once command i is committed, and plays the phone apps (redeems the codes the
 * engine hands out, printing `REDEEM <phone> <code>` first). The test kills it with SIGKILL.
 *
 * Env: SIM_URL, CREDSYNC_DB, START, ACS_USERS (comma-separated ACS user ids, one per identity).
 * On a store it cannot open it prints `STORE_ERROR <reason>: <message>` on stderr and exits with 3.
 */
import { Engine } from "@credsync/core"
import { SimClient, SimControls } from "@credsync/sim-server"
import { SqliteStore } from "@credsync/store-sqlite"
import { Cause, Effect, Layer } from "effect"
import * as Phones from "./phones.js"
import { commands } from "./workload.js"

const env = (name: string): string => {
  const v = process.env[name]
  if (v === undefined || v === "") throw new Error(`${name} is required`)
  return v
}
const url = env("SIM_URL")
const filename = env("CREDSYNC_DB")
const start = Number(env("START"))
const all = commands(env("ACS_USERS").split(","))

const say = (line: string) => process.stdout.write(`${line}\n`)

const program = Effect.gen(function* () {
  const engine = yield* Engine.Engine
  const controls = SimControls.make(url)
  // a restarted engine looks at everything once: work may have been cut off anywhere
  yield* engine.resyncAll
  say("READY")
  yield* Effect.forkChild(engine.run)

  yield* Effect.forkChild(Phones.play(engine, controls, say))

  for (const [i, command] of all.entries()) {
    if (i < start) continue
    const exit = yield* Effect.exit(engine.execute(command))
    if (exit._tag === "Failure") {
      const e = exit.cause.reasons.find(Cause.isFailReason)?.error
      // the first command of a restarted run may have been committed by the previous run, which
      // died before acknowledging it
      const already =
        i === start && e?._tag === "CommandRejected" && (e.reason === "AlreadyExists" || (e.reason === "NotFound" && command._tag === "DeleteSyncCredential"))
      if (!already) return yield* Effect.die(new Error(`command ${i} failed: ${Cause.pretty(exit.cause)}`))
    }
    say(`ACK ${i}`)
    yield* Effect.sleep("30 millis")
  }
  say("ALL_ACKED")
  return yield* Effect.never
})

const layer = Engine.layer({ poll: "100 millis", backoff: { base: "50 millis", cap: "1 second" } }).pipe(
  Layer.provide(Layer.mergeAll(SimClient.layer(url), SqliteStore.layer({ filename })))
)

Effect.runPromiseExit(Effect.provide(program, layer)).then((exit) => {
  if (exit._tag === "Success") return
  const e = exit.cause.reasons.find(Cause.isFailReason)?.error
  if (e?._tag === "PortError" && e.port === "Store") {
    process.stderr.write(`STORE_ERROR ${e.reason}: ${e.message}\n`)
    process.exit(3)
  }
  process.stderr.write(`${Cause.pretty(exit.cause)}\n`)
  process.exit(1)
})
