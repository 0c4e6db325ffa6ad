#!/usr/bin/env node
/**
 * The mutation-score gate, cheap enough for every CI run: reads the recorded Stryker result
 * (reports/stryker-incremental.json: written by `pnpm mutate`, committed, and the base of its
 * next incremental run) and fails when
 * - a gated file's source differs from the one the report was made on, or a gated file is not in
 *   the report (the report is stale: run `pnpm mutate`, which is incremental, and commit reports/), or
 * - a gated unit's score is under the threshold.
 * The units are the planner (Plan.ts and its phase modules in internal/plan/, scored together:
 * one phase module alone can be a handful of mutants), Aggregate.ts and internal/engine.ts. Every
 * file's own score is printed too.
 * Score = (killed + timed out) / (all mutants - ignored - compile / runtime errors), as Stryker
 * computes it; mutants listed as equivalent in stryker.equivalent.mjs are Ignored, and counted
 * separately. It reads the committed report only (no Stryker run): instant.
 *
 * Usage: node scripts/mutation-gate.mjs [--threshold 85] [--report reports/stryker-incremental.json]
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"

const args = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? dflt : args[i + 1]
}
const threshold = Number(opt("threshold", "85"))
const reportPath = opt("report", "reports/stryker-incremental.json")

const src = "packages/core/src"
const phases = `${src}/internal/plan`
const ts = (dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".ts")).map((f) => `${dir}/${f}`) : [])
/** The gated units, each with the files it is scored over. */
const units = [
  { unit: "planner", files: [`${src}/Plan.ts`, ...ts(phases)] },
  { unit: "Aggregate.ts", files: [`${src}/Aggregate.ts`] },
  { unit: "engine", files: [`${src}/internal/engine.ts`, `${src}/internal/actions.ts`] }
]

let report
try {
  report = JSON.parse(readFileSync(reportPath, "utf8"))
} catch (e) {
  console.error(`mutation gate: no report at ${reportPath} (${e.message}); run pnpm mutate`)
  process.exit(1)
}

const tally = (mutants) => {
  const count = (...statuses) => mutants.filter((m) => statuses.includes(m.status)).length
  const killed = count("Killed", "Timeout")
  const ignored = count("Ignored")
  const valid = mutants.length - ignored - count("CompileError", "RuntimeError")
  return {
    score: valid === 0 ? 100 : (100 * killed) / valid,
    killed,
    survived: count("Survived"),
    noCoverage: count("NoCoverage"),
    ignored
  }
}

let failed = false
const rows = []
for (const { unit, files } of units) {
  const all = []
  for (const file of files) {
    const data = report.files[file]
    if (data === undefined) {
      console.error(`mutation gate: ${file} is not in the report; run pnpm mutate`)
      failed = true
      continue
    }
    const stale = readFileSync(file, "utf8") !== data.source
    if (stale) failed = true
    all.push(...data.mutants)
    const t = tally(data.mutants)
    rows.push({ unit, file: file.slice(src.length + 1), ...t, score: t.score.toFixed(2), stale })
  }
  const t = tally(all)
  if (files.length > 1) rows.push({ unit, file: "(all)", ...t, score: t.score.toFixed(2), stale: "" })
  if (t.score < threshold) {
    console.error(`mutation gate: ${unit} scores ${t.score.toFixed(2)}%, under ${threshold}%`)
    failed = true
  }
}
console.table(rows)
if (failed) {
  console.error(`mutation gate: failed (threshold ${threshold}%, or a stale report: run pnpm mutate and commit reports/)`)
  process.exit(1)
}
console.log(`mutation gate: every gated unit at or above ${threshold}%`)
