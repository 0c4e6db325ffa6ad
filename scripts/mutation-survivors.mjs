#!/usr/bin/env node
/**
 * The mutants the tests do not kill, per file, from the recorded Stryker result: where each is,
 * which mutator made it, and the source text it replaces (→ the replacement). The way to find
 * what the next test should assert; `pnpm mutate` writes the report this reads.
 *
 * Usage: node scripts/mutation-survivors.mjs [--report reports/stryker-incremental.json]
 *          [--status Survived,NoCoverage] [--file Plan.ts] [--lines 100-200]
 *   --status  the statuses to list (default: Survived,NoCoverage)
 *   --file    only files whose path ends with this
 *   --lines   only mutants starting in this line range
 */
import { readFileSync } from "node:fs"

const args = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? dflt : args[i + 1]
}
const reportPath = opt("report", "reports/stryker-incremental.json")
const statuses = opt("status", "Survived,NoCoverage").split(",")
const fileFilter = opt("file", "")
const [from, to] = (opt("lines", "") || "1-1000000000").split("-").map(Number)

const report = JSON.parse(readFileSync(reportPath, "utf8"))

/** The text between two 1-based line / 1-based column locations (Stryker's), on one line when short. */
const slice = (lines, { start, end }) => {
  const text =
    start.line === end.line
      ? lines[start.line - 1].slice(start.column - 1, end.column - 1)
      : [lines[start.line - 1].slice(start.column - 1), ...lines.slice(start.line, end.line - 1), lines[end.line - 1].slice(0, end.column - 1)].join("\n")
  return short(text)
}
const short = (text) => {
  const one = text.replace(/\s*\n\s*/g, " ")
  return one.length > 120 ? `${one.slice(0, 117)}...` : one
}

for (const [path, data] of Object.entries(report.files)) {
  if (!path.endsWith(fileFilter)) continue
  const lines = data.source.split("\n")
  const mutants = data.mutants
    .filter((m) => statuses.includes(m.status) && m.location.start.line >= from && m.location.start.line <= to)
    .sort((a, b) => a.location.start.line - b.location.start.line || a.location.start.column - b.location.start.column)
  const stale = (() => {
    try {
      return readFileSync(path, "utf8") !== data.source ? " (the file has changed since this report)" : ""
    } catch {
      return ""
    }
  })()
  console.log(`\n${path}: ${mutants.length} ${statuses.join("/")}${stale}`)
  for (const m of mutants) {
    const { start } = m.location
    const tag = m.status === "Survived" ? "" : ` [${m.status}]`
    console.log(`  ${start.line}:${start.column} ${m.mutatorName}${tag}: ${slice(lines, m.location)} → ${short(m.replacement ?? "")}`)
  }
}
