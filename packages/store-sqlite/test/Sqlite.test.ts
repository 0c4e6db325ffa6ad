/**
 * SQLite-specific behaviour: files survive close/reopen, WAL is on, newer/foreign/corrupt files and
 * damaged rows fail with clear typed errors, concurrent writers race safely.
 */
import * as fs from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Store } from "@credsync/core"
import Database from "better-sqlite3"
import { ConfigProvider, Effect, Exit, Layer, Option } from "effect"
import { SqliteStore } from "../src/index.js"
import { identityId, phoneRegistered, stateOf, tempFile } from "./fixtures.js"

const a = identityId("id-a")

const portError = <A, E extends { readonly _tag: string; readonly reason: string; readonly message: string }>(
  exit: Exit.Exit<A, E>
) => {
  if (Exit.isSuccess(exit)) return assert.fail("expected a failure")
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (reason === undefined || reason._tag !== "Fail") return assert.fail(`expected a typed failure, got ${String(exit.cause)}`)
  assert.strictEqual(reason.error._tag, "PortError")
  return reason.error
}

const raw = (filename: string, f: (db: Database.Database) => void) =>
  Effect.sync(() => {
    const db = new Database(filename)
    try {
      f(db)
    } finally {
      db.close()
    }
  })

const seed = (filename: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const store = yield* SqliteStore.make({ filename })
      yield* store.save({ id: a, expected: 0, state: stateOf("id-a"), events: [phoneRegistered("id-a", 1)], keys: ["k-a"] })
      yield* store.schedule(a, 1234)
    })
  )

describe("SqliteStore file handling", () => {
  it.effect("reopening after close keeps state, version, keys, events and the due-queue", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      yield* seed(filename)
      yield* Effect.scoped(
        Effect.gen(function* () {
          const store = yield* SqliteStore.make({ filename })
          const loaded = Option.getOrThrow(yield* store.load(a))
          assert.strictEqual(loaded.version, 1)
          assert.deepStrictEqual(loaded.state, stateOf("id-a"))
          assert.deepStrictEqual(yield* store.lookup("k-a"), Option.some(a))
          assert.deepStrictEqual(yield* store.nextDue("r1", 0), Option.some(1234))
          const events = yield* store.events({ after: 0, limit: 10 })
          assert.deepStrictEqual(events, [{ seq: 1, event: phoneRegistered("id-a", 1) }])
          assert.strictEqual(
            yield* store.save({ id: a, expected: 1, state: stateOf("id-a", 2), events: [phoneRegistered("id-a", 2)], keys: [] }),
            2
          )
          assert.strictEqual((yield* store.events({ after: 1, limit: 10 }))[0]?.seq, 2)
        })
      )
    })
  )

  it.effect("the file is in WAL mode with the current schema version and credsync's application id", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      yield* seed(filename)
      yield* raw(filename, (db) => {
        assert.strictEqual(db.pragma("journal_mode", { simple: true }), "wal")
        assert.strictEqual(db.pragma("user_version", { simple: true }), SqliteStore.schemaVersion)
        assert.strictEqual(db.pragma("application_id", { simple: true }), 0x63726564)
      })
    })
  )

  it.effect("a file from a newer schema version is refused, naming both versions, and left untouched", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      yield* seed(filename)
      const newer = SqliteStore.schemaVersion + 1
      yield* raw(filename, (db) => db.pragma(`user_version = ${newer}`))
      const before = fs.readFileSync(filename)
      const error = portError(yield* Effect.exit(Effect.scoped(SqliteStore.make({ filename }))))
      assert.strictEqual(error.reason, "Unknown")
      assert.include(error.message, "newer credsync")
      assert.include(error.message, `schema version is ${newer}`)
      assert.include(error.message, `up to ${SqliteStore.schemaVersion}`)
      assert.include(error.message, filename)
      assert.isTrue(before.equals(fs.readFileSync(filename)))
    })
  )

  it.effect("a file that is not a database is refused as corrupt", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      fs.writeFileSync(filename, "this is not a SQLite database\n".repeat(200))
      const error = portError(yield* Effect.exit(Effect.scoped(SqliteStore.make({ filename }))))
      assert.strictEqual(error.reason, "Unknown")
      assert.include(error.message, "corrupt or not a database")
      assert.include(error.message, filename)
      assert.include(fs.readFileSync(filename, "utf8"), "this is not a SQLite database")
    })
  )

  it.effect("a SQLite database of another application is refused, not migrated into", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      yield* raw(filename, (db) => db.exec("CREATE TABLE other (x INTEGER)"))
      const error = portError(yield* Effect.exit(Effect.scoped(SqliteStore.make({ filename }))))
      assert.include(error.message, "without a credsync schema version")
      yield* raw(filename, (db) => db.pragma("application_id = 1234"))
      const foreign = portError(yield* Effect.exit(Effect.scoped(SqliteStore.make({ filename }))))
      assert.include(foreign.message, "another application")
    })
  )

  it.effect("damaged rows fail the read with a message naming the table and row", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      yield* seed(filename)
      yield* raw(filename, (db) => {
        db.prepare("UPDATE identities SET state = ? WHERE id = ?").run('{"id":"id-a","phones":7}', "id-a")
        db.prepare("UPDATE events SET body = ? WHERE seq = 1").run("{not json")
      })
      yield* Effect.scoped(
        Effect.gen(function* () {
          const store = yield* SqliteStore.make({ filename })
          const load = portError(yield* Effect.exit(store.load(a)))
          assert.strictEqual(load.reason, "Unknown")
          assert.include(load.message, "identity id-a")
          assert.include(load.message, "table identities")
          assert.include(load.message, "damaged")
          const events = portError(yield* Effect.exit(store.events({ after: 0, limit: 10 })))
          assert.include(events.message, "seq 1")
          assert.include(events.message, "table events")
          // the save path does not overwrite a damaged row blindly either: it is still version-checked
          assert.strictEqual(
            yield* store.save({ id: a, expected: 1, state: stateOf("id-a"), events: [], keys: [] }),
            2
          )
          assert.strictEqual(Option.getOrThrow(yield* store.load(a)).version, 2)
        })
      )
    })
  )

  it.effect("damaged pages surface as a typed corrupt-file error, never as a silent success", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      yield* Effect.scoped(
        Effect.gen(function* () {
          const store = yield* SqliteStore.make({ filename })
          for (let i = 0; i < 300; i++) {
            const id = identityId(`id-${String(i).padStart(4, "0")}`)
            yield* store.save({ id, expected: 0, state: stateOf(id), events: [phoneRegistered(id, i)], keys: [`k-${i}`] })
          }
        })
      )
      // closing checkpointed the WAL into the main file; now smash its pages past the header page.
      const bytes = fs.readFileSync(filename)
      for (let i = 4096; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff
      fs.writeFileSync(filename, bytes)
      const exit = yield* Effect.exit(
        Effect.scoped(
          Effect.gen(function* () {
            const store = yield* SqliteStore.make({ filename })
            yield* store.list({ limit: 1000 })
            yield* store.events({ after: 0, limit: 1000 })
            yield* store.load(identityId("id-0150"))
          })
        )
      )
      const error = portError(exit)
      assert.match(error.message, /corrupt|damaged|malformed/)
    })
  )

  it.effect("the store fails with a PortError, not a defect, once its scope is closed", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      const store = yield* Effect.scoped(SqliteStore.make({ filename }))
      const error = portError(yield* Effect.exit(store.load(a)))
      assert.strictEqual(error.reason, "Unknown")
    })
  )

  it.effect("layerConfig reads the file path from CREDSYNC_DB", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      yield* seed(filename)
      const version = yield* Effect.gen(function* () {
        const store = yield* Store.Store
        return Option.getOrThrow(yield* store.load(a)).version
      }).pipe(
        Effect.provide(
          SqliteStore.layerConfig().pipe(
            Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ CREDSYNC_DB: filename })))
          )
        )
      )
      assert.strictEqual(version, 1)
    })
  )
})

describe("SqliteStore concurrency", () => {
  it.effect("concurrent saves with the same expected version: exactly one wins (one store)", () =>
    Effect.gen(function* () {
      const store = yield* Effect.flatMap(tempFile, (filename) => SqliteStore.make({ filename }))
      yield* store.save({ id: a, expected: 0, state: stateOf("id-a"), events: [], keys: [] })
      const exits = yield* Effect.all(
        Array.from({ length: 8 }, (_, i) =>
          Effect.exit(store.save({ id: a, expected: 1, state: stateOf("id-a", i), events: [phoneRegistered("id-a", i)], keys: [] }))
        ),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(exits.filter(Exit.isSuccess).length, 1)
      for (const exit of exits.filter(Exit.isFailure)) assert.strictEqual(portError(exit).reason, "Conflict")
      assert.strictEqual(Option.getOrThrow(yield* store.load(a)).version, 2)
      assert.strictEqual((yield* store.events({ after: 0, limit: 100 })).length, 1)
    })
  )

  it.effect("two connections to one file: exactly one of two racing saves wins", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      const one = yield* SqliteStore.make({ filename })
      const two = yield* SqliteStore.make({ filename })
      const exits = yield* Effect.all(
        [one, two].map((store, i) =>
          Effect.exit(store.save({ id: a, expected: 0, state: stateOf("id-a", i), events: [phoneRegistered("id-a", i)], keys: ["k"] }))
        ),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(exits.filter(Exit.isSuccess).length, 1)
      assert.strictEqual(portError(exits.find(Exit.isFailure) ?? assert.fail("no loser")).reason, "Conflict")
      assert.strictEqual((yield* two.events({ after: 0, limit: 10 })).length, 1)
    })
  )

  it.effect("the state cache never hides a write made through another connection", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      const one = yield* SqliteStore.make({ filename })
      const two = yield* SqliteStore.make({ filename })
      yield* one.save({ id: a, expected: 0, state: stateOf("id-a"), events: [], keys: [] })
      assert.strictEqual(Option.getOrThrow(yield* one.load(a)).version, 1)
      yield* two.save({ id: a, expected: 1, state: stateOf("id-a", 5), events: [], keys: [] })
      const seen = Option.getOrThrow(yield* one.load(a))
      assert.strictEqual(seen.version, 2)
      assert.deepStrictEqual(seen.state, stateOf("id-a", 5))
      const uncached = yield* SqliteStore.make({ filename, cacheSize: 0 })
      assert.deepStrictEqual(Option.getOrThrow(yield* uncached.load(a)), seen)
    })
  )

  it.effect("a write lock held past the busy timeout fails Transient and writes nothing", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      const store = yield* SqliteStore.make({ filename, busyTimeoutMs: 50 })
      const blocker = new Database(filename)
      blocker.exec("BEGIN IMMEDIATE")
      const exit = yield* Effect.exit(store.save({ id: a, expected: 0, state: stateOf("id-a"), events: [], keys: [] }))
      blocker.exec("ROLLBACK")
      blocker.close()
      assert.strictEqual(portError(exit).reason, "Transient")
      assert.isTrue(Option.isNone(yield* store.load(a)))
    })
  )
})
