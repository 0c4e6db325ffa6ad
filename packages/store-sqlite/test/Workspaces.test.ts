/**
 * Workspaces: two stores given the same file never see each other's identities, keys, events,
 * queue, leases or records; and a file written before workspaces existed (schema version 1) is
 * migrated with its data kept, in workspace "default".
 */
import { assert, describe, it } from "@effect/vitest"
import Database from "better-sqlite3"
import { Effect, Exit, Option } from "effect"
import { SqliteStore } from "../src/index.js"
import { identityId, phoneRegistered, stateOf, tempFile } from "./fixtures.js"

const a = identityId("id-a")
const b = identityId("id-b")
const lease = (owner: string) => ({ owner, ttl: 60_000, grace: 1_000 })

describe("SqliteStore workspaces", () => {
  it.effect("two workspaces on one file: same ids and keys, nothing seen, listed, leased or deleted across", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      const one = yield* SqliteStore.open({ filename, workspace: "one" })
      const two = yield* SqliteStore.open({ filename, workspace: "two" })

      yield* one.store.save({ id: a, expected: 0, state: stateOf("id-a", 1), events: [phoneRegistered("id-a", 1)], keys: ["phone:1"], due: 100 })
      // the same id and the same key in the other workspace: no clash, its own version
      assert.isTrue(Option.isNone(yield* two.store.load(a)))
      assert.isTrue(Option.isNone(yield* two.store.lookup("phone:1")))
      assert.strictEqual(
        yield* two.store.save({ id: a, expected: 0, state: stateOf("id-a", 2), events: [phoneRegistered("id-a", 2)], keys: ["phone:1"] }),
        1
      )
      yield* two.store.save({ id: b, expected: 0, state: stateOf("id-b"), events: [], keys: ["phone:2"], due: 50 })
      assert.deepStrictEqual(Option.getOrThrow(yield* one.store.load(a)).state, stateOf("id-a", 1))
      assert.deepStrictEqual(Option.getOrThrow(yield* two.store.load(a)).state, stateOf("id-a", 2))
      assert.deepStrictEqual(yield* one.store.list({ limit: 10 }), [a])
      assert.deepStrictEqual(yield* two.store.list({ limit: 10 }), [a, b])
      assert.isTrue(Option.isNone(yield* one.store.lookup("phone:2")))
      assert.deepStrictEqual(
        (yield* one.store.events({ after: 0, limit: 10 })).map((e) => e.event),
        [phoneRegistered("id-a", 1)]
      )
      assert.deepStrictEqual(
        (yield* two.store.events({ after: 0, limit: 10 })).map((e) => e.event),
        [phoneRegistered("id-a", 2)]
      )

      // queue and leases: each workspace claims only its own entries; a lease in one does not block the other
      assert.deepStrictEqual(yield* one.store.nextDue("r", 0), Option.some(100))
      assert.deepStrictEqual(yield* two.store.nextDue("r", 0), Option.some(50))
      assert.deepStrictEqual(
        (yield* one.store.claim(lease("r1"), 1_000, 10)).map((c) => c.id),
        [a]
      )
      assert.isTrue(Option.isSome(yield* two.store.acquire(lease("r2"), 1_000, a)), "a's lease in workspace one does not hold a in two")
      assert.deepStrictEqual(yield* one.store.renew(lease("r1"), 1_000, [a]), [a])
      assert.deepStrictEqual(yield* two.store.renew(lease("r1"), 1_000, [a]), [])
      assert.strictEqual(yield* one.store.save({ id: a, expected: 1, state: stateOf("id-a", 3), events: [], keys: [], owner: "r1" }), 2)
      assert.deepStrictEqual(
        (yield* two.store.claim(lease("r2"), 1_000, 10)).map((c) => c.id),
        [b]
      )
      // keys freed in one are freed there only
      assert.isTrue(Option.isNone(yield* one.store.lookup("phone:1")))
      assert.deepStrictEqual(yield* two.store.lookup("phone:1"), Option.some(a))

      // records
      yield* one.records.put("acs_user", "u1", { ws: "one" }, 0)
      assert.isTrue(Option.isNone(yield* two.records.get("acs_user", "u1")))
      assert.strictEqual(yield* two.records.put("acs_user", "u1", { ws: "two" }, 0), 1)
      yield* one.records.remove("acs_user", "u1", 1)
      assert.deepStrictEqual(Option.map(yield* two.records.get("acs_user", "u1"), (r) => r.value), Option.some({ ws: "two" }))
      assert.deepStrictEqual(yield* one.records.list("acs_user", { limit: 10 }), [])
    })
  )

  it.effect("event retention prunes only the store's own workspace", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      const busy = yield* SqliteStore.open({ filename, workspace: "busy", retainEvents: 5 })
      const quiet = yield* SqliteStore.open({ filename, workspace: "quiet" })
      yield* quiet.store.save({ id: a, expected: 0, state: stateOf("id-a"), events: [phoneRegistered("id-a", 0)], keys: [] })
      let version = 0
      for (let i = 0; i < 300; i++) {
        version = yield* busy.store.save({ id: b, expected: version, state: stateOf("id-b"), events: [phoneRegistered("id-b", i)], keys: [] })
      }
      assert.isAtMost((yield* busy.store.events({ after: 0, limit: 1_000 })).length, 5 + 256)
      assert.deepStrictEqual(
        (yield* quiet.store.events({ after: 0, limit: 1_000 })).map((e) => e.seq),
        [1]
      )
    })
  )

  it.effect("options are decoded: an empty workspace is refused with InvalidInput", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      const exit = yield* Effect.exit(SqliteStore.open({ filename, workspace: "" }))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = exit.cause.reasons.find((r) => r._tag === "Fail")
        assert.strictEqual(error?._tag === "Fail" ? error.error.reason : undefined, "InvalidInput")
      }
    })
  )
})

/** The schema of credsync files before workspaces (version 1), as released. */
const VERSION_1 = `
  CREATE TABLE identities (id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL CHECK (version >= 1), state TEXT NOT NULL);
  CREATE TABLE events (seq INTEGER PRIMARY KEY, identity TEXT NOT NULL, tag TEXT NOT NULL, at REAL NOT NULL, body TEXT NOT NULL);
  CREATE TABLE keys (key TEXT PRIMARY KEY NOT NULL, identity TEXT NOT NULL) WITHOUT ROWID;
  CREATE INDEX keys_by_identity ON keys (identity);
  CREATE TABLE due (identity TEXT PRIMARY KEY NOT NULL, at REAL NOT NULL);
  CREATE INDEX due_by_time ON due (at, identity);
`

describe("SqliteStore migration from schema version 1", () => {
  it.effect("a version-1 file keeps its identities, keys, events and queue, in workspace \"default\"", () =>
    Effect.gen(function* () {
      const filename = yield* tempFile
      const db = new Database(filename)
      db.pragma("journal_mode = WAL")
      db.exec(VERSION_1)
      const events = [phoneRegistered("id-a", 1), phoneRegistered("id-b", 2), phoneRegistered("id-a", 3)]
      db.prepare("INSERT INTO identities (id, version, state) VALUES (?, ?, ?)").run("id-a", 3, JSON.stringify(stateOf("id-a", 3)))
      db.prepare("INSERT INTO identities (id, version, state) VALUES (?, ?, ?)").run("id-b", 1, JSON.stringify(stateOf("id-b")))
      for (const e of events) db.prepare("INSERT INTO events (identity, tag, at, body) VALUES (?, ?, ?, ?)").run(e.identity, e._tag, e.at, JSON.stringify(e))
      db.prepare("INSERT INTO keys (key, identity) VALUES (?, ?)").run("phone:a", "id-a")
      db.prepare("INSERT INTO keys (key, identity) VALUES (?, ?)").run("phone:b", "id-b")
      db.prepare("INSERT INTO due (identity, at) VALUES (?, ?)").run("id-b", 777)
      db.pragma("user_version = 1")
      db.pragma(`application_id = ${0x63726564}`)
      db.close()

      const { store } = yield* SqliteStore.open({ filename })
      assert.deepStrictEqual(yield* store.load(a), Option.some({ state: stateOf("id-a", 3), version: 3 }))
      assert.deepStrictEqual(yield* store.load(b), Option.some({ state: stateOf("id-b"), version: 1 }))
      assert.deepStrictEqual(yield* store.list({ limit: 10 }), [a, b])
      assert.deepStrictEqual(yield* store.lookup("phone:a"), Option.some(a))
      assert.deepStrictEqual(yield* store.lookup("phone:b"), Option.some(b))
      assert.deepStrictEqual(yield* store.events({ after: 0, limit: 10 }), events.map((event, i) => ({ seq: i + 1, event })))
      assert.deepStrictEqual(yield* store.nextDue("r1", 0), Option.some(777))
      // and it keeps working: versions go on, new events continue the seq, keys still clash
      assert.strictEqual(yield* store.save({ id: a, expected: 3, state: stateOf("id-a", 4), events: [phoneRegistered("id-a", 4)], keys: ["phone:a"] }), 4)
      assert.deepStrictEqual((yield* store.events({ after: 3, limit: 10 })).map((e) => e.seq), [4])
      const clash = yield* Effect.flip(store.save({ id: b, expected: 1, state: stateOf("id-b"), events: [], keys: ["phone:a"] }))
      assert.strictEqual(clash.reason, "InvalidInput")
      assert.deepStrictEqual((yield* store.claim(lease("r1"), 1_000, 10)).map((c) => c.id), [b])

      // another workspace of the migrated file is empty
      const other = yield* SqliteStore.open({ filename, workspace: "other" })
      assert.deepStrictEqual(yield* other.store.list({ limit: 10 }), [])
      assert.deepStrictEqual(yield* other.store.events({ after: 0, limit: 10 }), [])
      assert.isTrue(Option.isNone(yield* other.store.lookup("phone:a")))

      const raw = new Database(filename, { readonly: true })
      try {
        assert.strictEqual(raw.pragma("user_version", { simple: true }), SqliteStore.schemaVersion)
      } finally {
        raw.close()
      }
    })
  )
})
