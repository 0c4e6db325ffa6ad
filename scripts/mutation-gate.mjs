#!/usr/bin/env node
/**
 * The mutation-score gate, cheap enough for every CI run: reads the recorded Stryker result
 * (reports/stryker-incremental.json: written by `pnpm mutate`, committed, and the base of its
 * next incremental run) and fails when
 * - a gated file's source differs from the one the report was made on (the report is stale: run
 *   `pnpm mutate`, which is incremental, and commit reports/), or
 * - a gated file's score is under the threshold.
 * Score = (killed + timed out) / (all mutants - ignored - compile / runtime errors), as Stryker
 * computes it; mutants listed as equivalent in stryker.equivalent.mjs are Ignored, and counted
 * separately. It reads the committed report only (no Stryker run): instant.
 *
 * Usage: node scripts/mutation-gate.mjs [--threshold 85] [--report reports/stryker-incremental.json]
 */
import { readFileSync } from "node:fs"

const args = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? dflt : args[i + 1]
}
const threshold = Number(opt("threshold", "85"))
const reportPath = opt("report", "reports/stryker-incremental.json")
const gated = ["packages/core/src/Plan.ts", "packages/core/src/Aggregate.ts", "packages/core/src/internal/engine.ts"]

let report
try {
  report = JSON.parse(readFileSync(reportPath, "utf8"))
} catch (e) {
  console.error(`mutation gate: no report at ${reportPath} (${e.message}); run pnpm mutate`)
  process.exit(1)
}

let failed = false
const rows = []
for (const file of gated) {
  const entry = Object.entries(report.files).find(([p]) => p.endsWith(file))
  if (entry === undefined) {
    console.error(`mutation gate: ${file} is not in the report; run pnpm mutate`)
    failed = true
    continue
  }
  const [, data] = entry
  const stale = readFileSync(file, "utf8") !== data.source
  const count = (...statuses) => data.mutants.filter((m) => statuses.includes(m.status)).length
  const killed = count("Killed", "Timeout")
  const ignored = count("Ignored")
  const valid = data.mutants.length - ignored - count("CompileError", "RuntimeError")
  const score = valid === 0 ? 100 : (100 * killed) / valid
  rows.push({ file, score: score.toFixed(2), killed, survived: count("Survived"), noCoverage: count("NoCoverage"), ignored, stale })
  if (stale) failed = true
  if (score < threshold) failed = true
}
console.table(rows)
if (failed) {
  console.error(`mutation gate: failed (threshold ${threshold}%, or a stale report: run pnpm mutate and commit reports/)`)
  process.exit(1)
}
console.log(`mutation gate: every gated file at or above ${threshold}%`)
