/**
 * Several engine replicas on one Postgres (docs: "Running in production"). Three engine processes
 * share one database; the simulator runs in this process, served over loopback HTTP with latency
 * and faults. Commands go to a random live replica (a load balancer); replicas are killed with
 * SIGKILL at seeded random moments and started again under a new name. Checked from the provider's
 * ground truth, never from what the engines believe:
 * - at every observed moment: never two live credentials for one (endpoint, card profile);
 * - after each kill: every acknowledged command is in the database;
 * - at quiet time: every active enrolled phone holds exactly one live credential per live parent,
 *   imported once into the ACS and assigned to the person's ACS user, and nothing else is live.
 *
 * CREDSYNC_REPLICA_KILLS raises the number of kills (default 25).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { rmSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { Seeded, Simulator } from "@credsync/adapter-memory"
import { type Identity, Ids, Store } from "@credsync/core"
import { SimServer } from "@credsync/sim-server"
import { PostgresStore } from "@credsync/store-postgres"
import { Postgres } from "@credsync/testkit"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { build } from "esbuild"
import { Effect, Option, Redacted } from "effect"
import { atMostOne, quietViolations } from "./crash/checks.js"
import { commands, identityCount, identityId, missingFromStore, wanted } from "./crash/workload.js"

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = resolve(here, "../../..")
const workerBundle = join(here, "..", "node_modules", ".cache", `credsync-replica-${process.pid}.mjs`)
const KILLS = Number(process.env.CREDSYNC_REPLICA_KILLS ?? 25)
const REPLICAS = 3
const SEED = 20_261_129
const LEASE_TTL_MS = 2_000
const CALL_TIMEOUT_MS = 800

const pg = Postgres.setup()
let server: SimServer.RunningServer | undefined
const children = new Set<ChildProcess>()

beforeAll(async () => {
  await build({
    entryPoints: [join(here, "crash", "replica.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["source"],
    outfile: workerBundle,
    logLevel: "warning",
    // some dependencies are CommonJS: give the ESM bundle a `require`
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
  })
})
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
  await server?.close()
  rmSync(workerBundle, { force: true })
})

interface Replica {
  readonly name: string
  readonly proc: ChildProcess
  readonly ready: Promise<void>
  readonly exited: Promise<void>
  readonly send: (line: string) => void
  alive: boolean
}

const within = <A>(p: Promise<A>, ms: number, what: string): Promise<A> =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))])

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("replicas on Postgres", () => {
  it(`never two live credentials, nothing lost, converges: ${REPLICAS} replicas, ${KILLS} SIGKILLs`, async () => {
    const url = Redacted.value(pg.url())
    const sim = Simulator.make({ seed: 7, issueDelay: 40, recordCallbacks: false })
    const acsUsers: Array<string> = []
    for (let i = 0; i < identityCount; i++) {
      const u = await Effect.runPromise(sim.acs.createUser(Simulator.defaultAcsId, { fullName: `Person ${i}` }))
      acsUsers.push(u.id)
    }
    await Effect.runPromise(sim.setFaults({ transient: 0.03, lostResponse: 0.03, latency: 0.5, latencyMs: 20 }))
    server = await SimServer.start(sim)
    const all = commands(acsUsers)

    // what each ACK / REDEEM line says
    const acked = new Set<number>()
    const waiting = new Map<number, (ok: boolean) => void>()
    const phoneOfCode = new Map<string, string>()
    let incarnation = 0
    const launch = (): Replica => {
      const name = `replica-${++incarnation}`
      const proc = spawn(process.execPath, [workerBundle], {
        cwd: repoRoot,
        env: {
          ...process.env,
          SIM_URL: server!.url,
          CREDSYNC_PG_URL: url,
          REPLICA: name,
          ACS_USERS: acsUsers.join(","),
          LEASE_TTL_MS: String(LEASE_TTL_MS),
          CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS)
        },
        stdio: ["pipe", "pipe", "pipe"]
      })
      children.add(proc)
      // a line written to a replica just killed fails with EPIPE: the load balancer resends it
      proc.stdin?.on("error", () => {})
      let stderr = ""
      proc.stderr?.on("data", (d: Buffer) => {
        stderr += d.toString("utf8")
      })
      let readyResolve = () => {}
      const ready = new Promise<void>((r) => {
        readyResolve = r
      })
      const lines = createInterface({ input: proc.stdout! })
      lines.on("line", (line) => {
        const [kind, a, b] = line.split(" ")
        if (kind === "READY") readyResolve()
        else if (kind === "ACK" || kind === "NACK") {
          if (kind === "ACK") acked.add(Number(a))
          waiting.get(Number(a))?.(kind === "ACK")
        } else if (kind === "REDEEM" && a !== undefined && b !== undefined) phoneOfCode.set(b, a)
      })
      const replica: Replica = {
        name,
        proc,
        ready,
        alive: true,
        send: (line) => {
          proc.stdin?.write(`${line}\n`)
        },
        exited: new Promise<void>((r) =>
          // "close", not "exit": the ACK lines a killed replica wrote are still read
          proc.on("close", (_code, signal) => {
            replica.alive = false
            children.delete(proc)
            lines.close()
            if (signal !== "SIGKILL") unexpected.push(`${name} ended by itself: ${stderr.slice(-2000)}`)
            r()
          })
        )
      }
      return replica
    }
    const unexpected: Array<string> = []

    // never two live credentials for one (endpoint, profile), at every observed moment
    const seenTwice: Array<string> = []
    let observations = 0
    const poll = setInterval(() => {
      observations++
      for (const v of atMostOne(sim.truthUnsafe())) if (seenTwice.length < 10) seenTwice.push(v)
    }, 10)

    const readStates = () =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const store = yield* Store.Store
            const out = new Map<string, Identity.IdentityState>()
            for (let i = 0; i < identityCount; i++) {
              const s = yield* store.load(Ids.UserIdentityId.make(identityId(i)))
              if (Option.isSome(s)) out.set(identityId(i), s.value.state)
            }
            return out
          })
        ).pipe(Effect.provide(PostgresStore.layer({ connection: pg.url(), maxConnections: 1 })))
      )

    const random = Seeded.random(SEED)
    const replicas: Array<Replica> = []
    try {
      for (let k = 0; k < REPLICAS; k++) replicas.push(launch())
      await within(Promise.all(replicas.map((r) => r.ready)), 30_000, "replicas to start")

      // the load balancer: each command to a random live replica, again elsewhere if it dies first
      let commandsDone = false
      const submit = (async () => {
        for (let i = 0; i < all.length; i++) {
          while (!acked.has(i)) {
            const live = replicas.filter((r) => r.alive)
            const target = live[Math.floor(random() * live.length)]
            if (target === undefined) {
              await sleep(20)
              continue
            }
            await target.ready
            const answer = new Promise<boolean>((r) => waiting.set(i, r))
            target.send(`CMD ${i}`)
            const ok = await Promise.race([answer, target.exited.then(() => false)])
            waiting.delete(i)
            if (!ok && target.alive) unexpected.push(`command ${i} refused by ${target.name}`)
          }
          await sleep(20)
        }
        commandsDone = true
      })()

      // the chaos: kill a random replica now and then, start a fresh one in its place
      let kills = 0
      const lost: Array<string> = []
      while (kills < KILLS || !commandsDone) {
        await sleep(100 + Math.floor(random() * 500))
        if (kills >= KILLS) continue
        const index = Math.floor(random() * replicas.length)
        const victim = replicas[index]!
        victim.proc.kill("SIGKILL")
        await victim.exited
        kills++
        const fresh = launch()
        replicas[index] = fresh
        // nothing acknowledged is lost (read while the others keep working: what was acknowledged
        // before the read starts must be in it)
        const ackedPrefix = [...Array(all.length).keys()].findIndex((i) => !acked.has(i))
        const states = await readStates()
        for (const m of missingFromStore(all, ackedPrefix === -1 ? all.length : ackedPrefix, (id) => states.get(id))) {
          lost.push(`after kill ${kills}: ${m}`)
        }
        await within(fresh.ready, 30_000, `replica ${fresh.name} to start`)
      }
      await submit
      assert.deepStrictEqual(lost, [], "acknowledged commands lost")
      assert.deepStrictEqual(unexpected, [])

      // quiet: faults off; the replicas converge on their own
      await Effect.runPromise(sim.setFaults({}))
      const want = wanted(all)
      let violations: ReadonlyArray<string> = ["not checked yet"]
      let stable = 0
      const deadline = Date.now() + 60_000
      while (stable < 3 && Date.now() < deadline) {
        await sleep(250)
        violations = quietViolations(await Effect.runPromise(sim.truth()), want, phoneOfCode)
        stable = violations.length === 0 ? stable + 1 : 0
      }
      assert.deepStrictEqual(violations, [], "exactly one credential per (parent, phone), nothing else, at quiet time")
      const states = await readStates()
      assert.deepStrictEqual(missingFromStore(all, all.length, (id) => states.get(id)), [])
      assert.isAtLeast(kills, KILLS)
    } finally {
      clearInterval(poll)
      for (const r of replicas) if (r.alive) r.proc.kill("SIGKILL")
    }
    assert.deepStrictEqual(seenTwice, [], "two live credentials for one (endpoint, profile) at an observed moment")
    assert.isAbove(observations, 10)
  })
})
