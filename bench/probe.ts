/**
 * One fleet in its own process (run with --expose-gc), driven by bench/run.ts over stdin/stdout:
 * it converges N identities × 1 phone × 1 sync credential on the memory adapters, measures retained
 * heap per credential and prints one JSON line `{ type: "ready", n, credentials,
 * heapBytesPerCredential, convergeS, gc }`. Then, for each line `batch <count>` it reads, it measures
 * the mean cost of handling `count` new-phone events (PhoneOnline → invite → redeem → issue → import
 * → assign) at that size and prints `{ type: "batch", meanMs, samples }`; it exits on end of input.
 *
 * The process stays alive between batches so that run.ts can interleave batches of two fleet sizes
 * (1k, 100k, 1k, 100k, …) and take a ratio per round: a burst of load from elsewhere on the machine
 * then spoils one round, not the whole figure, and converging 100,000 identities happens once.
 *
 * argv: `n` (fleet size) and `spread` (how many distinct identities the new phones go to, the same in
 * every process of a comparison, so that both sizes handle the same sequence of events).
 */
import { createInterface } from "node:readline"
import { MemoryStore } from "@credsync/adapter-memory"
import { Effect } from "effect"
import * as Fleet from "./fleet.js"

const n = Number(process.argv[2] ?? "1000")
const spread = Math.min(n, Number(process.argv[3] ?? "200"))

const heap = (): number => {
  globalThis.gc?.()
  globalThis.gc?.()
  return process.memoryUsage().heapUsed
}

const say = (message: object) => Effect.sync(() => process.stdout.write(`${JSON.stringify(message)}\n`))

const program = Effect.gen(function* () {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
  const before = heap()
  const fleet = yield* Fleet.make({ store: MemoryStore.layer() })
  const redeemed = new Set<string>()
  const t0 = performance.now()
  yield* Fleet.converge(fleet, n, 1, redeemed)
  const convergeS = (performance.now() - t0) / 1000
  redeemed.clear()
  const { live } = Fleet.liveStats(fleet.sim)
  const after = heap()
  // the provider's share: a simulator alone, driven to the same end (then dropped)
  const simulatorBytesPerCredential = yield* Effect.map(Fleet.simulatorAlone(live), (sim) => (heap() - after) / Math.max(1, Fleet.liveStats(sim).live))
  yield* say({
    type: "ready",
    n,
    credentials: live,
    heapBytesPerCredential: (after - before) / live,
    simulatorBytesPerCredential,
    convergeS,
    gc: globalThis.gc !== undefined
  })

  // the k-th new phone goes to identity i(k): `spread` identities evenly over the fleet, visited in a
  // fixed scattered order, the same order in every process (so sizes compare the same events)
  let k = 0
  const phones = new Map<number, number>()
  while (true) {
    const line = yield* Effect.promise(() => lines.next())
    if (line.done === true) return
    const count = Number(/^batch (\d+)$/.exec(line.value.trim())?.[1])
    if (!Number.isInteger(count) || count <= 0) return yield* Effect.fail(new Error(`probe: unknown request ${JSON.stringify(line.value)}`))
    let total = 0
    for (let s = 0; s < count; s++, k++) {
      const i = Math.floor(((k * 7919) % spread) * (n / spread))
      const have = phones.get(i) ?? 1
      phones.set(i, have + 1)
      const t = performance.now()
      yield* Fleet.addPhone(fleet, i, have)
      yield* Fleet.settle(fleet, [i], have + 1, redeemed)
      total += performance.now() - t
    }
    yield* say({ type: "batch", meanMs: total / count, samples: count })
  }
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${String(e)}\n`)
    process.exit(1)
  }
)
