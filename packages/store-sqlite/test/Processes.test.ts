/**
 * One process per file, with real processes (test/child/holder.ts, bundled once with esbuild and
 * run with `process.execPath`, as the kill test runs its engine):
 * - N processes opening one new file at once: exactly one holds it, every other is refused with
 *   the "in use by pid …" Conflict — none sees any other error (a half-created file, SQLITE_BUSY);
 * - processes taking turns on one file never hold it at the same time;
 * - after SIGKILL of the holder, a new process opens the file at once and may lease at once what
 *   the dead one had leased.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import Database from "better-sqlite3"
import { build } from "esbuild"

const here = path.dirname(fileURLToPath(import.meta.url))
// under this package's node_modules, so that the native better-sqlite3 resolves from the bundle
const bundle = path.join(here, "..", "node_modules", ".cache", `credsync-sqlite-holder-${process.pid}.mjs`)
let dir = ""
const children = new Set<ChildProcess>()

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "credsync-sqlite-procs-"))
  await build({
    entryPoints: [path.join(here, "child", "holder.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["source"],
    external: ["better-sqlite3"],
    outfile: bundle,
    logLevel: "warning"
  })
})

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
  fs.rmSync(dir, { recursive: true, force: true })
  fs.rmSync(bundle, { force: true })
})

interface Child {
  readonly proc: ChildProcess
  /** The next stdout line (rejects when the child exits first). */
  readonly line: () => Promise<string>
  readonly exited: Promise<void>
  readonly stderr: () => string
}

const launch = (env: Record<string, string>): Child => {
  const proc = spawn(process.execPath, [bundle], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
  children.add(proc)
  let stderr = ""
  proc.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString("utf8")
  })
  const queued: Array<string> = []
  const waiting: Array<{ resolve: (line: string) => void; reject: (e: Error) => void }> = []
  let ended = false
  const lines = createInterface({ input: proc.stdout! })
  const seen: Array<string> = []
  lines.on("line", (line) => {
    seen.push(line)
    const w = waiting.shift()
    if (w === undefined) queued.push(line)
    else w.resolve(line)
  })
  const exited = new Promise<void>((resolve) =>
    // "close", not "exit": a refused child prints its line and exits at once, and "exit" can come
    // before its stdout is read (readline then reports the line after the readers were failed)
    proc.on("close", (code, signal) => {
      children.delete(proc)
      lines.close()
      ended = true
      for (const w of waiting.splice(0)) w.reject(new Error(`child ${proc.pid} exited (code ${code}, signal ${signal}) after ${JSON.stringify(seen)}: ${stderr}`))
      resolve()
    })
  )
  const line = () =>
    new Promise<string>((resolve, reject) => {
      const next = queued.shift()
      if (next !== undefined) resolve(next)
      else if (ended) reject(new Error(`child ${proc.pid} exited after ${JSON.stringify(seen)}: ${stderr}`))
      else waiting.push({ resolve, reject })
    })
  return { proc, line, exited, stderr: () => stderr }
}

const within = <A>(p: Promise<A>, ms: number, what: string): Promise<A> =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))])

const killed = async (child: Child) => {
  child.proc.kill("SIGKILL")
  await child.exited
}

describe("SqliteStore: one process per file (real processes)", () => {
  it("N processes opening one new file at once: one holds it, every other is refused naming the file and the holder", async () => {
    for (let round = 0; round < 3; round++) {
      const filename = path.join(dir, `new-${round}.db`)
      const startAt = String(Date.now() + 1_000)
      const group = Array.from({ length: 6 }, () => launch({ FILE: filename, MODE: "hold", START_AT: startAt }))
      try {
        const first = await within(Promise.all(group.map((c) => c.line())), 30_000, "every child to report")
        const held = first.filter((l) => l.startsWith("HELD "))
        assert.strictEqual(held.length, 1, `round ${round}: ${first.join(" | ")}`)
        const holder = held[0]!.slice("HELD ".length)
        for (const l of first.filter((l) => !l.startsWith("HELD "))) {
          assert.match(l, /^REFUSED Conflict /, `round ${round}: ${l}`)
          assert.include(l, `in use by pid ${holder} on host ${os.hostname()}`)
          assert.include(l, filename)
        }
      } finally {
        await Promise.all(group.map(killed))
      }
    }
  })

  it("processes taking turns on one file never hold it at the same time", async () => {
    const filename = path.join(dir, "turns.db")
    const probe = path.join(dir, "turns-probe.db")
    const db = new Database(probe)
    db.exec("CREATE TABLE probe (n INTEGER NOT NULL); INSERT INTO probe (n) VALUES (0)")
    db.close()
    const startAt = String(Date.now() + 1_000)
    const group = Array.from({ length: 4 }, () => launch({ FILE: filename, MODE: "loop", PROBE: probe, HOLDS: "4", START_AT: startAt }))
    try {
      const reports = await within(Promise.all(group.map(async (c) => {
        const out: Array<string> = []
        for (let l = await c.line(); ; l = await c.line()) {
          out.push(l)
          if (l.startsWith("DONE ") || l.startsWith("FAILED ")) return out
        }
      })), 60_000, "every child to take its turns")
      const all = reports.flat()
      assert.deepStrictEqual(all.filter((l) => !l.startsWith("DONE ")), [], "violations or failures")
      for (const r of reports) assert.match(r[r.length - 1]!, /^DONE 4 \d+$/)
      assert.isAbove(reports.reduce((n, r) => n + Number(r[r.length - 1]!.split(" ")[2]), 0), 0, "the turns should have collided")
    } finally {
      await Promise.all(group.map((c) => (c.proc.exitCode === null ? killed(c) : c.exited)))
    }
  })

  it("after SIGKILL of the holder a new process opens the file at once and leases what the dead one had leased", async () => {
    const filename = path.join(dir, "killed.db")
    const first = launch({ FILE: filename, MODE: "hold", LEASE: "id-x" })
    assert.match(await within(first.line(), 30_000, "the first holder"), /^HELD /)
    assert.strictEqual(await within(first.line(), 30_000, "its lease"), "LEASED 0")
    const second = launch({ FILE: filename, MODE: "hold", LEASE: "id-x" })
    assert.match(await within(second.line(), 30_000, "the second process"), new RegExp(`^REFUSED Conflict .*in use by pid ${first.proc.pid}`))
    await second.exited
    await killed(first)
    // no waiting for a heartbeat to expire: the dead pid is proof enough, and its 60 s lease is released
    const third = launch({ FILE: filename, MODE: "hold", LEASE: "id-x" })
    try {
      assert.strictEqual(await within(third.line(), 30_000, "the restarted process"), `HELD ${third.proc.pid}`)
      assert.strictEqual(await within(third.line(), 30_000, "its lease"), "LEASED 0")
    } finally {
      await killed(third)
    }
  })
})
