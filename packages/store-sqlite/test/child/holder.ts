/**
 * A process that opens a store file, for Processes.test.ts (bundled with esbuild and run with
 * `process.execPath`). It reports on stdout, one line each:
 * - `HELD <pid>` once it holds the file, `REFUSED <reason> <message>` when the file is refused,
 *   `FAILED <reason> <message>` for any other failure;
 * - MODE=hold: then, with LEASE=<id>, `LEASED <holdUntil>` or `NOT_LEASED` (the identity is saved
 *   first when missing), and it keeps the file until killed;
 * - MODE=loop: holds the file HOLDS times, each for a moment, retrying while refused; around each
 *   hold it counts holders in a separate PROBE database and prints `VIOLATION <n>` when it finds
 *   another; at the end `DONE <holds> <refusals>`.
 *
 * Env: FILE, MODE, START_AT (epoch ms to open at, so that children open together), LEASE, PROBE, HOLDS.
 */
import { PortError } from "@credsync/core"
import Database from "better-sqlite3"
import { Effect, Option } from "effect"
import { SqliteStore } from "../../src/index.js"
import { identityId, stateOf } from "../fixtures.js"

const env = (name: string): string | undefined => {
  const value = process.env[name]
  return value === undefined || value === "" ? undefined : value
}
const filename = env("FILE") ?? ""
const say = (line: string) => process.stdout.write(`${line}\n`)
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const report = (error: unknown) => {
  if (error instanceof PortError.PortError) {
    say(`${error.reason === "Conflict" && error.method === "open" ? "REFUSED" : "FAILED"} ${error.reason} ${error.message}`)
  } else say(`FAILED Defect ${String(error)}`)
}

const hold = async () => {
  const lease = env("LEASE")
  const program = Effect.gen(function* () {
    const store = yield* SqliteStore.make({ filename })
    say(`HELD ${process.pid}`)
    if (lease !== undefined) {
      const id = identityId(lease)
      if (Option.isNone(yield* store.load(id))) yield* store.save({ id, expected: 0, state: stateOf(lease), events: [], keys: [] })
      const claimed = yield* store.acquire({ owner: `child-${process.pid}`, ttl: 60_000, grace: 5_000 }, Date.now(), id)
      say(Option.isSome(claimed) ? `LEASED ${claimed.value.holdUntil}` : "NOT_LEASED")
    }
    // keep the file until killed (the store's timers do not keep a process alive)
    setInterval(() => {}, 1 << 30)
    return yield* Effect.never
  })
  await Effect.runPromise(Effect.scoped(program)).catch(report)
}

const loop = async () => {
  const probe = new Database(env("PROBE") ?? "", { timeout: 10_000 })
  const bump = probe.prepare("UPDATE probe SET n = n + ? RETURNING n").pluck()
  const wanted = Number(env("HOLDS") ?? "1")
  const deadline = Date.now() + 30_000
  let holds = 0
  let refusals = 0
  while (holds < wanted && Date.now() < deadline) {
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.gen(function* () {
          yield* SqliteStore.make({ filename })
          const n = Number(probe.transaction(() => bump.get(1)).immediate())
          if (n !== 1) say(`VIOLATION ${n}`)
          yield* Effect.promise(() => sleep(5 + Math.floor(Math.random() * 20)))
          probe.transaction(() => bump.get(-1)).immediate()
        })
      )
    )
    if (exit._tag === "Success") {
      holds++
    } else {
      const error = exit.cause.reasons.find((r) => r._tag === "Fail")
      if (error?._tag === "Fail" && error.error.reason === "Conflict") refusals++
      else {
        report(error?._tag === "Fail" ? error.error : exit.cause)
        break
      }
    }
    await sleep(Math.floor(Math.random() * 15))
  }
  say(`DONE ${holds} ${refusals}`)
  probe.close()
}

const startAt = Number(env("START_AT") ?? "0")
await sleep(Math.max(0, startAt - Date.now()))
if (env("MODE") === "loop") await loop()
else await hold()
