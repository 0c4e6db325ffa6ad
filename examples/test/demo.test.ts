import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const demo = (...args: ReadonlyArray<string>) =>
  spawnSync(process.execPath, ["--conditions=source", "--import", "tsx", "examples/demo.ts", ...args], {
    encoding: "utf8",
    timeout: 110_000
  })

const dir = mkdtempSync(join(tmpdir(), "credsync-demo-test-"))
const db = join(dir, "day.db")
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const tooWide = (text: string) => text.split("\n").filter((line) => [...line].length > 100)

/** "Issue calls at the credential manager: N", then one line per cause, then "N  in all". */
const issueCalls = (out: string) => {
  const lines = out.split("\n")
  const start = lines.findIndex((l) => l.startsWith("Issue calls at the credential manager:"))
  const total = Number(lines[start]?.split(":")[1])
  const causes: Array<{ readonly n: number; readonly why: string }> = []
  for (const line of lines.slice(start + 1)) {
    const m = /^\s+(\d+)\s{2}(.+)$/.exec(line)
    if (m === null) break
    causes.push({ n: Number(m[1]), why: m[2]! })
  }
  const all = causes.pop()
  return { total, causes, all }
}

// The README's first command runs this: keep it true.
describe("the demo (pnpm demo)", () => {
  it("plays its day, the invariant holds (exit 0), every line fits 100 columns, and every issue call is explained", () => {
    const run = demo(`--db=${db}`)
    expect(run.stderr).toBe("")
    expect(run.status).toBe(0)
    expect(run.stdout).toContain("INVARIANT HOLDS")
    expect(tooWide(run.stdout)).toEqual([])
    expect(run.stdout).not.toMatch(/\(index\)|'[a-z_]+'/) // no console.table index column, no quoted values
    const { total, causes, all } = issueCalls(run.stdout)
    expect(total).toBeGreaterThan(0)
    expect(all?.why).toBe("in all")
    expect(causes.reduce((n, c) => n + c.n, 0)).toBe(total)
    expect(all?.n).toBe(total)
    expect(causes.map((c) => c.why)).toContain("first issue of a sync credential to a phone")
    expect(causes.map((c) => c.why)).toContain("reissue after a credential was deleted behind the engine's back")
    // the crash line is followed by the recovery
    const lines = run.stdout.split("\n")
    const crash = lines.findIndex((l) => l.includes("the engine process died"))
    expect(crash).toBeGreaterThan(0)
    const next = [lines[crash + 1], lines[crash + 2]].join(" ").replace(/\s+/g, " ")
    expect(next).toMatch(/^ \d\d:\d\d recovered: .*adopted, not issued again/)
    expect(run.stdout).toMatch(/\d+ {2}engine crash \(1 issue\)/)
    expect(run.stdout).toMatch(/\d+ {2}transient errors/)
    // reason codes are shown in words
    expect(run.stdout).not.toMatch(/phone_deactivated|parent_deleted|invitation_expired/)
  })

  it("resumes the day kept in --db when run again with the same file (exit 0 both times)", () => {
    const again = demo(`--db=${db}`)
    expect(again.stderr).toBe("")
    expect(again.status).toBe(0)
    expect(again.stdout).toContain("resuming the day kept in")
    expect(again.stdout).toContain("INVARIANT HOLDS")
    expect(tooWide(again.stdout)).toEqual([])
  })

  it("refuses an unknown flag with the usage (exit 2) and explains its flags with --help", () => {
    const bogus = demo("--bogus")
    expect(bogus.status).toBe(2)
    expect(bogus.stderr).toContain("Unrecognized flag: --bogus")
    expect(bogus.stderr).toContain("usage: demo [flags]")
    expect(bogus.stdout).not.toContain("credsync demo:")
    // `pnpm demo -- --bogus` passes the `--` on: it is not an argument
    const viaPnpm = demo("--", "--bogus")
    expect(viaPnpm.status).toBe(2)
    expect(viaPnpm.stderr).toContain("Unrecognized flag: --bogus")
    const help = demo("--help")
    expect(help.status).toBe(0)
    expect(help.stdout).toContain("--db string")
    expect(help.stdout).toContain("--stop-at")
    expect(tooWide(help.stdout)).toEqual([])
  })
})
