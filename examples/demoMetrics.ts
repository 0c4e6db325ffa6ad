/**
 * What the engine's metrics saw during the demo (examples/demo.ts prints it at the end): provider
 * calls by outcome, in-call retries and back-offs, and the time from a phone coming online to its
 * credential being assigned in the ACS. Read from the metric registry of the context it runs in.
 */
import { Observability } from "@credsync/core"
import { Effect, Metric } from "effect"

const total = (snapshots: ReadonlyArray<Metric.Metric.Snapshot>, id: string, by?: string) => {
  const out = new Map<string, number>()
  for (const s of snapshots) {
    if (s.id !== id || s.type !== "Counter") continue
    const key = by === undefined ? "" : String(s.attributes?.[by] ?? "?")
    out.set(key, (out.get(key) ?? 0) + Number(s.state.count))
  }
  return out
}

const minutes = (seconds: number) => `${(seconds / 60).toFixed(1)} min`

/** The summary, a few lines of text. */
export const summary: Effect.Effect<string> = Effect.gen(function* () {
  const snapshots = yield* Metric.snapshot
  const calls = total(snapshots, "credsync_port_calls_total", "outcome")
  const retries = total(snapshots, "credsync_retries_total").get("") ?? 0
  const backoffs = total(snapshots, "credsync_backoffs_total").get("") ?? 0
  const toAcs = yield* Metric.value(Observability.metrics.timeToAcs)
  const byOutcome = [...calls].sort((a, b) => b[1] - a[1]).map(([outcome, n]) => `${outcome} ${n}`)
  return [
    "What the metrics saw",
    `  provider calls by outcome: ${byOutcome.join(", ") || "none"}`,
    `  in-call retries: ${retries}; reconciles backed off: ${backoffs}`,
    toAcs.count === 0
      ? "  phone online -> credential in the ACS: none yet"
      : `  phone online -> credential in the ACS (${toAcs.count} credentials):\n    mean ${minutes(toAcs.sum / toAcs.count)}, fastest ${minutes(toAcs.min)}, slowest ${minutes(toAcs.max)}`
  ].join("\n")
})
