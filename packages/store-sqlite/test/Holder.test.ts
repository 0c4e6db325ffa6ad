/**
 * One process per file, within this process: holder rows written by hand stand for other
 * processes (a live one elsewhere, one whose heartbeat stopped, one whose pid is gone), so each
 * rule is checked without timing. The real multi-process races are in Processes.test.ts.
 */
import { spawnSync } from "node:child_process"
import { assert, describe, it } from "@effect/vitest"
import Database from "better-sqlite3"
import { Effect, Exit, Fiber, Option, Stream } from "effect"
import { SqliteStore } from "../src/index.js"
import { me } from "../src/internal/holder.js"
import { identityId, stateOf, tempFile } from "./fixtures.js"

const x = identityId("id-x")
const y = identityId("id-y")

const raw = <A>(filename: string, f: (db: Database.Database) => A): A => {
  const db = new Database(filename)
  try {
    return f(db)
  } finally {
    db.close()
  }
}

interface Row {
  readonly token: string
  readonly pid: number
  readonly host: string
  readonly machine: string | null
  readonly started: string | null
  readonly opened_at: number
  readonly heartbeat: number
  readonly stale_after: number
}

const insertHolder = (filename: string, row: Row) =>
  raw(filename, (db) =>
    db
      .prepare(
        "INSERT INTO holders (token, pid, host, machine, started, opened_at, heartbeat, stale_after) VALUES (@token, @pid, @host, @machine, @started, @opened_at, @heartbeat, @stale_after)"
      )
      .run(row)
  )

const insertLease = (filename: string, id: string, holder: string, lease: { expires: number; grace: number; holdUntil: number }) =>
  raw(filename, (db) =>
    db
      .prepare(
        "INSERT INTO leases (workspace, identity, owner, expires, grace, hold_until, holder) VALUES ('default', ?, 'replica-old', ?, ?, ?, ?)"
      )
      .run(id, lease.expires, lease.grace, lease.holdUntil, holder)
  )

const holders = (filename: string): ReadonlyArray<unknown> => raw(filename, (db) => db.prepare("SELECT token FROM holders").pluck().all())

/** A file with the schema and identities x and y, held by nobody. */
const prepared = Effect.gen(function* () {
  const filename = yield* tempFile
  yield* Effect.scoped(
    Effect.gen(function* () {
      const store = yield* SqliteStore.make({ filename })
      for (const id of [x, y]) yield* store.save({ id, expected: 0, state: stateOf(id), events: [], keys: [] })
    })
  )
  return filename
})

const newcomer = { owner: "replica-new", ttl: 60_000, grace: 1_000 }

const failure = <A>(exit: Exit.Exit<A, { readonly reason: string; readonly message: string }>) => {
  if (Exit.isSuccess(exit)) return assert.fail("expected a failure")
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (reason === undefined || reason._tag !== "Fail") return assert.fail(`expected a typed failure, got ${String(exit.cause)}`)
  return reason.error
}

describe("SqliteStore holder", () => {
  it.effect("a file a live process holds is refused with Conflict naming the file, the holder and Postgres", () =>
    Effect.gen(function* () {
      const filename = yield* prepared
      const openedAt = Date.UTC(2026, 10, 28, 9, 30)
      insertHolder(filename, {
        token: "other",
        pid: 4242,
        host: "engine-7.internal",
        machine: null,
        started: null,
        opened_at: openedAt,
        heartbeat: Date.now(),
        stale_after: 15_000
      })
      const error = failure(yield* Effect.exit(SqliteStore.open({ filename })))
      assert.strictEqual(error.reason, "Conflict")
      assert.include(error.message, filename)
      assert.include(error.message, "pid 4242")
      assert.include(error.message, "host engine-7.internal")
      assert.include(error.message, new Date(openedAt).toISOString())
      assert.include(error.message, "Postgres")
      assert.notInclude(error.message, "\n")
      assert.deepStrictEqual(holders(filename), ["other"], "the holder is left alone")
    })
  )

  it.effect("a holder whose heartbeat stopped is taken over: its leases are released, their calls waited out", () =>
    Effect.gen(function* () {
      const filename = yield* prepared
      insertHolder(filename, {
        token: "stale",
        pid: 4242,
        host: "engine-7.internal",
        machine: null,
        started: null,
        opened_at: 0,
        heartbeat: Date.now() - 60_000,
        stale_after: 15_000
      })
      insertLease(filename, x, "stale", { expires: 5_000, grace: 700, holdUntil: 0 })
      insertLease(filename, y, "stale", { expires: 1_000, grace: 0, holdUntil: 9_999 })
      const { store } = yield* SqliteStore.open({ filename })
      assert.notInclude(holders(filename), "stale")
      // released: claimable at once (the old lease had not run out at 0), but its calls may land until 5 000 + 700
      assert.deepStrictEqual(yield* store.acquire(newcomer, 0, x), Option.some({ id: x, holdUntil: 5_700 }))
      assert.deepStrictEqual(yield* store.acquire(newcomer, 0, y), Option.some({ id: y, holdUntil: 9_999 }), "an earlier hold is kept")
    })
  )

  it.effect("a holder whose process is gone from this machine is taken over at once, its leases released with no hold", () =>
    Effect.gen(function* () {
      const filename = yield* prepared
      const gone = spawnSync(process.execPath, ["-e", ""]).pid
      const i = me()
      insertHolder(filename, {
        token: "dead",
        pid: gone,
        host: i.host,
        machine: i.machine,
        started: "1",
        opened_at: 0,
        // its heartbeat is fresh: only the pid says it is dead
        heartbeat: Date.now(),
        stale_after: 15_000
      })
      insertLease(filename, x, "dead", { expires: 5_000, grace: 700, holdUntil: 0 })
      const { store } = yield* SqliteStore.open({ filename })
      assert.notInclude(holders(filename), "dead")
      assert.deepStrictEqual(yield* store.acquire(newcomer, 0, x), Option.some({ id: x, holdUntil: 0 }))
    })
  )

  it.effect("a row with this process's pid but another start time is a dead process whose pid was reused", () =>
    Effect.gen(function* () {
      const i = me()
      // only where the start time can be read (Linux); elsewhere such a row counts as this process
      if (i.started === null) return
      const filename = yield* prepared
      insertHolder(filename, {
        token: "reused",
        pid: i.pid,
        host: i.host,
        machine: i.machine,
        started: `${i.started}0`,
        opened_at: 0,
        heartbeat: Date.now(),
        stale_after: 15_000
      })
      yield* SqliteStore.open({ filename })
      assert.notInclude(holders(filename), "reused")
    })
  )

  it.effect("a stalled process whose file was taken over writes nothing more (Conflict), and renews no lease", () =>
    Effect.gen(function* () {
      const filename = yield* prepared
      const stalled = yield* SqliteStore.open({ filename })
      assert.isTrue(Option.isSome(yield* stalled.store.acquire(newcomer, 0, x)))
      // it stops beating (as seen from elsewhere), and another process takes the file over
      raw(filename, (db) => db.prepare("UPDATE holders SET host = 'elsewhere', heartbeat = ?").run(Date.now() - 60_000))
      const next = yield* SqliteStore.open({ filename })
      const save = failure(
        yield* Effect.exit(stalled.store.save({ id: x, expected: 1, state: stateOf("id-x", 9), events: [], keys: [], owner: newcomer.owner }))
      )
      assert.strictEqual(save.reason, "Conflict")
      assert.include(save.message, "no longer holds")
      assert.include(save.message, `pid ${process.pid}`)
      assert.deepStrictEqual(yield* stalled.store.renew(newcomer, 1, [x]), [])
      assert.strictEqual(failure(yield* Effect.exit(stalled.store.claim(newcomer, 0, 10))).reason, "Conflict")
      assert.strictEqual(failure(yield* Effect.exit(stalled.store.schedule(x, 0))).reason, "Conflict")
      assert.strictEqual(failure(yield* Effect.exit(stalled.records.put("k", "v", 1, 0))).reason, "Conflict")
      // the new holder works: x is free, with the stalled lease's calls waited out
      assert.deepStrictEqual(yield* next.store.acquire({ ...newcomer, owner: "replica-3" }, 0, x), Option.some({ id: x, holdUntil: 60_000 + 1_000 }))
      assert.strictEqual(Option.getOrThrow(yield* next.store.load(x)).version, 1)
    })
  )

  it.effect("closing removes the holder row and releases the open's leases", () =>
    Effect.gen(function* () {
      const filename = yield* prepared
      yield* Effect.scoped(
        Effect.gen(function* () {
          const store = yield* SqliteStore.make({ filename })
          assert.isTrue(Option.isSome(yield* store.acquire({ ...newcomer, owner: "replica-1" }, 0, x)))
          assert.strictEqual(holders(filename).length, 1)
        })
      )
      assert.deepStrictEqual(holders(filename), [])
      const { store } = yield* SqliteStore.open({ filename })
      assert.deepStrictEqual(yield* store.acquire(newcomer, 0, x), Option.some({ id: x, holdUntil: 0 }))
    })
  )

  it.effect("stores of one process share a file, and its signals", () =>
    Effect.gen(function* () {
      const filename = yield* prepared
      const one = yield* SqliteStore.open({ filename })
      const two = yield* SqliteStore.open({ filename })
      const other = yield* SqliteStore.open({ filename, workspace: "other" })
      const woken = yield* Effect.forkChild(Stream.runHead(two.store.signals), { startImmediately: true })
      const elsewhere = yield* Effect.forkChild(Stream.runHead(other.store.signals), { startImmediately: true })
      yield* one.store.schedule(x, 5)
      assert.deepStrictEqual(yield* Fiber.join(woken), Option.some(undefined))
      assert.isUndefined(elsewhere.pollUnsafe(), "another workspace is not woken")
      yield* Fiber.interrupt(elsewhere)
    })
  )

  it.live("the heartbeat keeps the holder row fresh", () =>
    Effect.gen(function* () {
      const filename = yield* prepared
      yield* SqliteStore.open({ filename, staleAfterMs: 100 })
      raw(filename, (db) => db.prepare("UPDATE holders SET heartbeat = 0").run())
      let heartbeat = 0
      for (let i = 0; i < 500 && heartbeat === 0; i++) {
        yield* Effect.sleep("10 millis")
        heartbeat = Number(raw(filename, (db) => db.prepare("SELECT heartbeat FROM holders").pluck().get()))
      }
      assert.isAbove(heartbeat, 0)
    })
  )
})
