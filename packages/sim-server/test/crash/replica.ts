/**
 * One engine replica of the replicas test: the engine on a Postgres store shared with the other
 * replicas, against the simulator served by the test process over HTTP. It takes commands on stdin
 * (`CMD <i>`: execute the workload's command i) and answers `ACK <i>` once the command is committed
 * (a command the previous holder of the line may have committed before it died is acknowledged
 * too), runs the engine loop, and plays the phone apps (redeems the codes the engine hands out,
 * printing `REDEEM <phone> <code>` first). The test kills it with SIGKILL at random moments.
 *
 * Env: SIM_URL, CREDSYNC_PG_URL, REPLICA (this incarnation's unique name), ACS_USERS (comma-separated
 * ACS user ids, one per identity), LEASE_TTL_MS, CALL_TIMEOUT_MS.
 */
import { createInterface } from "node:readline"
import { Engine } from "@credsync/core"
import { SimClient, SimControls } from "@credsync/sim-server"
import { PostgresStore } from "@credsync/store-postgres"
import { Cause, Effect, Layer, Queue, Redacted } from "effect"
import * as Phones from "./phones.js"
import { commands } from "./workload.js"

const env = (name: string): string => {
  const v = process.env[name]
  if (v === undefined || v === "") throw new Error(`${name} is required`)
  return v
}
const url = env("SIM_URL")
const all = commands(env("ACS_USERS").split(","))

const say = (line: string) => process.stdout.write(`${line}\n`)

const program = Effect.gen(function* () {
  const engine = yield* Engine.Engine
  const controls = SimControls.make(url)
  yield* Effect.forkChild(engine.run)

  yield* Effect.forkChild(Phones.play(engine, controls, say))

  const lines = yield* Queue.unbounded<string>()
  const rl = createInterface({ input: process.stdin })
  rl.on("line", (line) => Queue.offerUnsafe(lines, line))
  say("READY")
  while (true) {
    const line = yield* Queue.take(lines)
    const [kind, n] = line.split(" ")
    if (kind !== "CMD") continue
    const i = Number(n)
    const command = all[i]
    if (command === undefined) {
      say(`NACK ${i} unknown command`)
      continue
    }
    const exit = yield* Effect.exit(engine.execute(command))
    if (exit._tag === "Failure") {
      const e = exit.cause.reasons.find(Cause.isFailReason)?.error
      // a replica that died before acknowledging may have committed it already
      const already =
        e?._tag === "CommandRejected" && (e.reason === "AlreadyExists" || (e.reason === "NotFound" && command._tag === "DeleteSyncCredential"))
      if (!already) {
        say(`NACK ${i} ${e?._tag === "CommandRejected" || e?._tag === "PortError" ? `${e._tag}/${e.reason}` : "defect"}`)
        continue
      }
    }
    say(`ACK ${i}`)
  }
})

const layer = Engine.layer({
  replica: env("REPLICA"),
  leaseTtl: Number(env("LEASE_TTL_MS")),
  callTimeout: Number(env("CALL_TIMEOUT_MS")),
  poll: "100 millis",
  backoff: { base: "50 millis", cap: "1 second" }
}).pipe(Layer.provide(Layer.mergeAll(SimClient.layer(url), PostgresStore.layer({ connection: Redacted.make(env("CREDSYNC_PG_URL")), maxConnections: 4 }))))

Effect.runPromiseExit(Effect.provide(program, layer)).then((exit) => {
  process.stderr.write(`${exit._tag === "Failure" ? Cause.pretty(exit.cause) : "ended"}\n`)
  process.exit(1)
})
