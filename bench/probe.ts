/**
 * One fleet in its own process (run with --expose-gc): converge N identities × 1 phone × 1 sync
 * credential on the memory adapters, measure retained heap per credential, then the mean cost of
 * handling one new-phone event (PhoneOnline → invite → redeem → issue → import → assign) at that size.
 * Prints one JSON line: { n, credentials, heapBytesPerCredential, eventCostMs, convergeS }.
 */
import { MemoryStore } from "@credsync/adapter-memory"
import { Effect } from "effect"
import * as Fleet from "./fleet.js"

const n = Number(process.argv[2] ?? "1000")
const samples = Number(process.argv[3] ?? "200")

const heap = (): number => {
  globalThis.gc?.()
  globalThis.gc?.()
  return process.memoryUsage().heapUsed
}

const program = Effect.gen(function* () {
  const before = heap()
  const fleet = yield* Fleet.make({ store: MemoryStore.layer() })
  const redeemed = new Set<string>()
  const t0 = performance.now()
  yield* Fleet.converge(fleet, n, 1, redeemed)
  const convergeS = (performance.now() - t0) / 1000
  redeemed.clear()
  const { live } = Fleet.liveStats(fleet.sim)
  const after = heap()
  const heapBytesPerCredential = (after - before) / live
  // new-phone events on identities spread over the fleet; the first tenth warms up
  const warm = Math.max(1, Math.floor(samples / 10))
  let total = 0
  const phones = new Map<number, number>()
  for (let k = 0; k < samples + warm; k++) {
    const i = Math.floor(((k * 7919) % samples) * (n / samples))
    const have = phones.get(i) ?? 1
    phones.set(i, have + 1)
    const t = performance.now()
    yield* Fleet.addPhone(fleet, i, have)
    yield* Fleet.settle(fleet, [i], have + 1, redeemed)
    if (k >= warm) total += performance.now() - t
  }
  return { n, credentials: live, heapBytesPerCredential, eventCostMs: total / samples, convergeS, gc: globalThis.gc !== undefined }
})

Effect.runPromise(Effect.scoped(program)).then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (e: unknown) => {
    process.stderr.write(`${String(e)}\n`)
    process.exit(1)
  }
)
