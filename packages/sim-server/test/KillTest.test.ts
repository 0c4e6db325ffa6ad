/**
 * Crash safety under real process kills (invariant item 4, docs/design.md). The simulator lives in this process,
 * served over loopback HTTP; the engine runs in a child process on a SQLite store file and is killed
 * with SIGKILL at seeded random moments while it works, then restarted on the same file. Checked
 * from the provider's ground truth, never from what the engine believes:
 * - at every observed moment (truth polled while children run): never two live credentials for one
 *   (endpoint, card profile) (invariant item 3);
 * - after each kill: every command the child acknowledged is in the store file (item 4);
 * - at quiet time: every active enrolled phone holds exactly one live credential per live parent,
 *   imported once into the ACS and assigned to the person's ACS user, and nothing else is live (items 1-2).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { Seeded, Simulator } from "@credsync/adapter-memory"
import type { Identity } from "@credsync/core"
import { Ids } from "@credsync/core"
import { SimServer } from "@credsync/sim-server"
import { SqliteStore } from "@credsync/store-sqlite"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import Database from "better-sqlite3"
import { build } from "esbuild"
import { Effect, Option } from "effect"
import { atMostOne, quietViolations } from "./crash/checks.js"
import { commands, identityCount, identityId, missingFromStore, wanted } from "./crash/workload.js"

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = resolve(here, "../../..")
// The worker is bundled once (esbuild, `source` condition) so that a restart takes ~0.3 s instead
// of the ~2 s of `node --conditions=source --import tsx worker.ts` (which also works). The bundle
// sits under this package's node_modules so that the native better-sqlite3 resolves from it.
const workerBundle = join(here, "..", "node_modules", ".cache", `credsync-kill-worker-${process.pid}.mjs`)
const KILLS = 25
const SEED = 20_261_128

let dir = ""
let server: SimServer.RunningServer | undefined
const children = new Set<ChildProcess>()

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "credsync-kill-"))
  await build({
    entryPoints: [join(here, "crash", "worker.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["source"],
    external: ["better-sqlite3"],
    outfile: workerBundle,
    logLevel: "warning"
  })
})
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
  rmSync(workerBundle, { force: true })
})

/** One engine child: its output lines are parsed as they come. */
interface Child {
  readonly proc: ChildProcess
  readonly ready: Promise<void>
  readonly allAcked: Promise<void>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>
}

const launch = (env: Record<string, string>, onLine: (line: string) => void): Child => {
  const proc = spawn(process.execPath, [workerBundle], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  children.add(proc)
  let stderr = ""
  proc.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString("utf8")
  })
  let readyResolve = () => {}
  let ackedResolve = () => {}
  const ready = new Promise<void>((r) => {
    readyResolve = r
  })
  const allAcked = new Promise<void>((r) => {
    ackedResolve = r
  })
  const lines = createInterface({ input: proc.stdout! })
  lines.on("line", (line) => {
    if (line === "READY") readyResolve()
    else if (line === "ALL_ACKED") ackedResolve()
    onLine(line)
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((r) =>
    // "close" comes after the child's stdout and stderr are drained ("exit" can come before them)
    proc.on("close", (code, signal) => {
      children.delete(proc)
      lines.close()
      r({ code, signal, stderr })
    })
  )
  return { proc, ready, allAcked, exited }
}

const within = <A>(p: Promise<A>, ms: number, what: string): Promise<A> =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))])

/** Read every workload identity's stored state from the file (no engine running). */
const readStore = (filename: string): Promise<Map<string, Identity.IdentityState>> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const store = yield* SqliteStore.make({ filename })
        const out = new Map<string, Identity.IdentityState>()
        for (let i = 0; i < identityCount; i++) {
          const s = yield* store.load(Ids.UserIdentityId.make(identityId(i)))
          if (Option.isSome(s)) out.set(identityId(i), s.value.state)
        }
        return out
      })
    )
  )

describe("crash safety under SIGKILL", () => {
  it("converges to invariant items 1-4 after repeated kills of the engine process", async () => {
    const sim = Simulator.make({ seed: 5, issueDelay: 40, recordCallbacks: false })
    const acsUsers: Array<string> = []
    for (let i = 0; i < identityCount; i++) {
      const u = await Effect.runPromise(sim.acs.createUser(Simulator.defaultAcsId, { fullName: `Person ${i}` }))
      acsUsers.push(u.id)
    }
    await Effect.runPromise(sim.setFaults({ transient: 0.03, lostResponse: 0.03 }))
    server = await SimServer.start(sim)
    const all = commands(acsUsers)
    const filename = join(dir, "kill.db")
    const env = { SIM_URL: server.url, CREDSYNC_DB: filename, ACS_USERS: acsUsers.join(",") }

    let acked = 0
    const phoneOfCode = new Map<string, string>()
    const onLine = (line: string) => {
      const [kind, a, b] = line.split(" ")
      if (kind === "ACK") acked = Math.max(acked, Number(a) + 1)
      if (kind === "REDEEM" && a !== undefined && b !== undefined) phoneOfCode.set(b, a)
    }

    // item 3 at every observed moment
    const seenTwice: Array<string> = []
    let observations = 0
    const poll = setInterval(() => {
      observations++
      for (const v of atMostOne(sim.truthUnsafe())) if (seenTwice.length < 10) seenTwice.push(v)
    }, 10)

    const random = Seeded.random(SEED)
    const lost: Array<string> = []
    let killsWithCommandsPending = 0
    try {
      for (let k = 0; k < KILLS; k++) {
        const child = launch({ ...env, START: String(acked) }, onLine)
        await within(child.ready, 30_000, `engine child ${k} to start`)
        await new Promise((r) => setTimeout(r, 50 + Math.floor(random() * 700)))
        if (acked < all.length) killsWithCommandsPending++
        child.proc.kill("SIGKILL")
        const exit = await child.exited
        assert.strictEqual(exit.signal, "SIGKILL", `child ${k} ended by itself: ${exit.stderr}`)
        // item 4: what was acknowledged is in the file
        const states = await readStore(filename)
        for (const m of missingFromStore(all, acked, (id) => states.get(id))) lost.push(`after kill ${k}: ${m}`)
      }
      assert.deepStrictEqual(lost, [], "acknowledged commands lost")
      assert.isAbove(killsWithCommandsPending, 2, "kills should land while commands are still being executed")

      // quiet: no faults, one last engine run to the end of the workload and until the truth holds
      await Effect.runPromise(sim.setFaults({}))
      const last = launch({ ...env, START: String(acked) }, onLine)
      await within(last.ready, 30_000, "last engine child to start")
      await within(last.allAcked, 30_000, "every command acknowledged")
      const want = wanted(all)
      let violations: ReadonlyArray<string> = ["not checked yet"]
      let stable = 0
      const deadline = Date.now() + 40_000
      while (stable < 3 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250))
        violations = quietViolations(await Effect.runPromise(sim.truth()), want, phoneOfCode)
        stable = violations.length === 0 ? stable + 1 : 0
      }
      last.proc.kill("SIGKILL")
      await last.exited
      assert.deepStrictEqual(violations, [], "items 1-2 at quiet time")
      const states = await readStore(filename)
      assert.deepStrictEqual(missingFromStore(all, all.length, (id) => states.get(id)), [])
    } finally {
      clearInterval(poll)
    }
    assert.deepStrictEqual(seenTwice, [], "item 3 at observed moments")
    assert.isAbove(observations, 10)
  })
})

describe("a store file the engine must not use", () => {
  const runWorker = async (filename: string) => {
    const sim = Simulator.make({ seed: 9 })
    const s = await SimServer.start(sim)
    try {
      const child = launch({ SIM_URL: s.url, CREDSYNC_DB: filename, ACS_USERS: Array.from({ length: identityCount }, (_, i) => `acs-user-${i}`).join(","), START: "0" }, () => {})
      return await within(child.exited, 30_000, "the engine child to refuse the file")
    } finally {
      await s.close()
    }
  }

  it("a file written by a newer schema: the engine process stops with a clear error, file untouched", async () => {
    const filename = join(dir, "newer.db")
    await Effect.runPromise(Effect.scoped(Effect.asVoid(SqliteStore.make({ filename }))))
    const db = new Database(filename)
    db.pragma(`user_version = ${SqliteStore.schemaVersion + 1}`)
    db.close()
    const before = readFileSync(filename)
    const exit = await runWorker(filename)
    assert.strictEqual(exit.code, 3, exit.stderr)
    assert.match(exit.stderr, /STORE_ERROR Unknown: .*written by a newer credsync/)
    assert.include(exit.stderr, `schema version is ${SqliteStore.schemaVersion + 1}`)
    assert.isTrue(readFileSync(filename).equals(before), "the file was modified")
  })

  it("a corrupt file: the engine process stops with a clear error, file untouched", async () => {
    const filename = join(dir, "corrupt.db")
    writeFileSync(filename, Buffer.from("this is not a SQLite database, just some bytes ".repeat(100)))
    const before = readFileSync(filename)
    const exit = await runWorker(filename)
    assert.strictEqual(exit.code, 3, exit.stderr)
    assert.match(exit.stderr, /STORE_ERROR Unknown: .*corrupt or not a database/)
    assert.isTrue(readFileSync(filename).equals(before), "the file was modified")
  })
})
