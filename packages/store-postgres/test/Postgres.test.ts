// Real time throughout: these tests do network I/O, and the times the port takes are passed explicitly.
import { type Ids, PortError, Records, Store } from "@credsync/core"
import { PostgresStore } from "@credsync/store-postgres"
import { Postgres, sampleEvents, sampleState } from "@credsync/testkit"
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Duration, Effect, Exit, Layer, Option, Queue, Redacted, Stream } from "effect"
import { Reactivity } from "effect/reactivity"

const pg = Postgres.setup()
let counter = 0
const unique = (label: string) => `${label}-${++counter}`
const id = (label: string) => unique(label) as Ids.UserIdentityId

/** One store instance (its own pool) in the current scope. */
const open = (workspace: string, schema?: string) =>
  Effect.map(
    Layer.build(PostgresStore.layer({ connection: pg.url(), workspace, schema, maxConnections: 3 })),
    (ctx) => ({ store: Context.get(ctx, Store.Store), records: Context.get(ctx, Records.Records) })
  )

/** A plain client on the test database, for what the port cannot do (damage a row, kill a backend). */
const raw = Effect.suspend(() => Effect.provide(PgClient.make({ url: pg.url(), maxConnections: 2 }), Reactivity.layer))

const first = (store: Store.StoreShape, label: string, keys: ReadonlyArray<string> = []) => {
  const x = id(label)
  return Effect.as(store.save({ id: x, expected: 0, state: sampleState(x), events: sampleEvents(x), keys }), x)
}

const lease = (owner: string): Store.Lease => ({ owner, ttl: 10_000, grace: 3_000 })

const failure = <A>(effect: Effect.Effect<A, PortError.PortError>) =>
  Effect.map(Effect.flip(effect), (e) => {
    assert.instanceOf(e, PortError.PortError)
    return e
  })

describe("PostgresStore", () => {
  it.live("two workspaces on one database never see each other's identities, keys, events, queue, leases or records", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const a = yield* open(unique("ws-a"))
        const b = yield* open(unique("ws-b"))
        const x = yield* first(a.store, "shared", ["phone:shared"])
        yield* a.store.schedule(x, 100)
        assert.isTrue(Option.isSome(yield* a.store.acquire(lease("r1"), 100, x)))
        yield* a.records.put("acs_user", "u1", { name: "a" }, 0)

        assert.isTrue(Option.isNone(yield* b.store.load(x)))
        assert.isTrue(Option.isNone(yield* b.store.lookup("phone:shared")))
        assert.deepStrictEqual(yield* b.store.list({ limit: 10 }), [])
        assert.deepStrictEqual(yield* b.store.events({ after: 0, limit: 10 }), [])
        assert.isTrue(Option.isNone(yield* b.store.nextDue("r2", 100)))
        assert.deepStrictEqual(yield* b.store.claim(lease("r2"), 1000, 10), [])
        assert.isTrue(Option.isNone(yield* b.records.get("acs_user", "u1")))

        // the same id and key are free in the other workspace; its events start at 1 too
        assert.strictEqual(yield* b.store.save({ id: x, expected: 0, state: sampleState(x), events: sampleEvents(x), keys: ["phone:shared"] }), 1)
        assert.deepStrictEqual(yield* b.store.acquire(lease("r2"), 100, x), Option.some({ id: x, holdUntil: 0 }), "a's lease does not exist in b")
        assert.deepStrictEqual((yield* b.store.events({ after: 0, limit: 10 })).map((e) => e.seq), [1, 2, 3])
        assert.deepStrictEqual((yield* a.store.events({ after: 0, limit: 10 })).map((e) => e.seq), [1, 2, 3])
        assert.deepStrictEqual(yield* a.store.lookup("phone:shared"), Option.some(x))
      })
    )
  )

  it.live("runs over a PgClient layer the host provides", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const ctx = yield* Layer.build(PostgresStore.layer({ connection: PgClient.layer({ url: pg.url(), maxConnections: 2 }), workspace: unique("host") }))
        const store = Context.get(ctx, Store.Store)
        const x = yield* first(store, "hosted", ["hosted:key"])
        assert.deepStrictEqual(yield* store.lookup("hosted:key"), Option.some(x))
        assert.strictEqual(Option.getOrThrow(yield* store.load(x)).version, 1)
      })
    )
  )

  it.live("concurrent saves of one identity from two pools: exactly one wins, the other gets Conflict", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const workspace = unique("race")
        const one = yield* open(workspace)
        const two = yield* open(workspace)
        const x = id("raced")
        const attempt = (s: Store.StoreShape, expected: number, tag: string) =>
          Effect.result(s.save({ id: x, expected, state: { ...sampleState(x), createdAt: expected }, events: sampleEvents(x).slice(0, 1), keys: [`k:${tag}`] }))
        for (let version = 0; version < 10; version++) {
          const [r1, r2] = yield* Effect.all([attempt(one.store, version, "one"), attempt(two.store, version, "two")], { concurrency: 2 })
          const wins = [r1, r2].filter((r) => r._tag === "Success")
          const losses = [r1, r2].flatMap((r) => (r._tag === "Failure" ? [r.failure] : []))
          assert.strictEqual(wins.length, 1, `round ${version}: exactly one save wins`)
          assert.strictEqual(losses[0]?.reason, "Conflict", losses[0]?.message)
        }
        const stored = Option.getOrThrow(yield* one.store.load(x))
        assert.strictEqual(stored.version, 10)
        assert.strictEqual((yield* one.store.events({ after: 0, limit: 100 })).length, 10, "only the winners' events were written")
      })
    )
  )

  it.live("a key wanted by two identities at once goes to one; the other save is InvalidInput and writes nothing", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const workspace = unique("keys")
        const one = yield* open(workspace)
        const two = yield* open(workspace)
        for (let round = 0; round < 5; round++) {
          const key = `phone:${round}`
          const [a, b] = [id("ka"), id("kb")]
          const save = (s: Store.StoreShape, x: Ids.UserIdentityId) =>
            Effect.result(s.save({ id: x, expected: 0, state: sampleState(x), events: [], keys: [key, `own:${x}`] }))
          const results = yield* Effect.all([save(one.store, a), save(two.store, b)], { concurrency: 2 })
          const failed = results.flatMap((r) => (r._tag === "Failure" ? [r.failure] : []))
          assert.strictEqual(failed.length, 1)
          assert.strictEqual(failed[0]?.reason, "InvalidInput")
          assert.include(failed[0]?.message, key)
          const winner = Option.getOrThrow(yield* one.store.lookup(key))
          const loser = winner === a ? b : a
          assert.isTrue(Option.isNone(yield* one.store.load(loser)))
          assert.isTrue(Option.isNone(yield* one.store.lookup(`own:${loser}`)))
        }
      })
    )
  )

  it.live("replicas claiming at once (separate pools) never lease an identity twice and lose none", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const workspace = unique("claims")
        const replicas = yield* Effect.all(Array.from({ length: 4 }, () => open(workspace)))
        const seed = replicas[0]!.store
        const all = yield* Effect.forEach(Array.from({ length: 240 }, (_, i) => i), (i) =>
          Effect.flatMap(first(seed, "many"), (x) => Effect.as(seed.schedule(x, i % 7), x))
        )
        const claimedBy = yield* Effect.all(
          replicas.map((r, n) =>
            Effect.gen(function* () {
              const mine: Array<Ids.UserIdentityId> = []
              while (true) {
                const got = yield* r.store.claim(lease(`replica-${n}`), 100, 7)
                if (got.length === 0) return mine
                mine.push(...got.map((c) => c.id))
              }
            })
          ),
          { concurrency: "unbounded" }
        )
        const flat = claimedBy.flat()
        assert.strictEqual(new Set(flat).size, flat.length, "no identity claimed twice")
        assert.deepStrictEqual([...flat].sort(), [...all].sort(), "every due identity claimed")
        assert.isTrue(Option.isNone(yield* seed.nextDue("anyone", 100)), "the queue is empty")
        // and each is leased to the replica that claimed it: nobody else can acquire it
        for (const [n, ids] of claimedBy.entries()) {
          const x = ids[0]
          if (x === undefined) continue
          assert.isTrue(Option.isNone(yield* seed.acquire(lease(`replica-${(n + 1) % 4}`), 200, x)))
        }
      })
    )
  )

  it.live("event seq follows commit order: a reader paging with `after` never sees a gap", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const workspace = unique("order")
        const writers = yield* Effect.all(Array.from({ length: 3 }, () => open(workspace)))
        const reader = yield* open(workspace)
        let done = false
        const write = (s: Store.StoreShape) =>
          Effect.gen(function* () {
            for (let i = 0; i < 25; i++) {
              const x = id("ev")
              yield* s.save({ id: x, expected: 0, state: sampleState(x), events: sampleEvents(x).slice(0, 2), keys: [] })
            }
          })
        const read = Effect.gen(function* () {
          let cursor = 0
          const seen: Array<number> = []
          while (true) {
            const finished = done
            const page = yield* reader.store.events({ after: cursor, limit: 1000 })
            for (const e of page) {
              assert.strictEqual(e.seq, cursor + 1, `after ${cursor} the reader saw ${e.seq}: an event committed out of seq order`)
              cursor = e.seq
              seen.push(e.seq)
            }
            if (finished && page.length === 0) return seen
          }
        })
        const [, seen] = yield* Effect.all(
          [Effect.ensuring(Effect.all(writers.map((w) => write(w.store)), { concurrency: "unbounded" }), Effect.sync(() => {
            done = true
          })), read],
          { concurrency: "unbounded" }
        )
        assert.strictEqual(seen.length, 3 * 25 * 2)
      })
    )
  )

  it.live("several store layers starting at once on a fresh schema all open; the schema is migrated once", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const schema = `fresh_${++counter}`
        yield* Effect.all(Array.from({ length: 5 }, (_, i) => open(`ws-${i}`, schema)), { concurrency: "unbounded" })
        const sql = yield* raw
        const rows = yield* sql.unsafe(`SELECT version FROM ${schema}.migrations ORDER BY version`)
        assert.deepStrictEqual(rows, [{ version: PostgresStore.schemaVersion }])
      })
    )
  )

  it.live("a schema written by a newer credsync, or one that belongs to something else, is refused and left alone", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const sql = yield* raw
        const newer = `newer_${++counter}`
        yield* open("w", newer)
        yield* sql.unsafe(`INSERT INTO ${newer}.migrations (version, description) VALUES (99, 'from the future')`)
        const refused = yield* failure(Effect.scoped(open("w", newer)))
        assert.strictEqual(refused.reason, "Unknown")
        assert.include(refused.message, "newer credsync")
        assert.include(refused.message, "99")

        const foreign = `foreign_${++counter}`
        yield* sql.unsafe(`CREATE SCHEMA ${foreign}`)
        yield* sql.unsafe(`CREATE TABLE ${foreign}.identities (x int)`)
        const other = yield* failure(Effect.scoped(open("w", foreign)))
        assert.include(other.message, "belongs to something else")
        const tables = yield* sql.unsafe(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, [foreign])
        assert.deepStrictEqual(tables, [{ table_name: "identities" }], "nothing was changed")
      })
    )
  )

  it.live("a damaged row fails with Unknown naming the table and the identity", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const workspace = unique("damaged")
        const { store } = yield* open(workspace)
        const sql = yield* raw
        const x = yield* first(store, "broken")
        yield* sql.unsafe(`UPDATE credsync.identities SET state = '{"id": 5}' WHERE workspace = $1 AND id = $2`, [workspace, x])
        const e = yield* failure(store.load(x))
        assert.strictEqual(e.reason, "Unknown")
        assert.include(e.message, "table identities")
        assert.include(e.message, x)
        // events are numbered when first read
        assert.isAtLeast((yield* store.events({ after: 0, limit: 10 })).length, 2)
        yield* sql.unsafe(`UPDATE credsync.events SET body = '{"_tag": "Nope"}' WHERE workspace = $1 AND seq = 2`, [workspace])
        const ev = yield* failure(store.events({ after: 0, limit: 10 }))
        assert.strictEqual(ev.reason, "Unknown")
        assert.include(ev.message, "seq 2 in table events")
      })
    )
  )

  it.live("the connection string and password never appear in an error", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const url = new URL(Redacted.value(pg.url()))
        const password = decodeURIComponent(url.password)
        const wrong = new URL(url)
        wrong.password = "Wrong-Secret-1234"
        const closed = new URL(url)
        closed.port = "1"
        for (const [what, target, reason] of [
          ["wrong password", wrong, "Unauthorized"],
          ["nothing listening", closed, "Transient"]
        ] as const) {
          const exit = yield* Effect.exit(
            Effect.scoped(Layer.build(PostgresStore.layer({ connection: Redacted.make(target.toString()), workspace: "w" })))
          )
          assert.isTrue(Exit.isFailure(exit), what)
          if (!Exit.isFailure(exit)) continue
          const error = Cause.squash(exit.cause)
          assert.instanceOf(error, PortError.PortError, what)
          if (error instanceof PortError.PortError) assert.strictEqual(error.reason, reason, `${what}: ${error.message}`)
          const everything = `${String(error)} ${Cause.pretty(exit.cause)}`
          for (const secret of [target.toString(), target.password, password, "Wrong-Secret-1234"]) {
            assert.notInclude(everything, secret, `${what}: the error shows a secret`)
          }
        }
      })
    )
  )

  it.live("signals: a NOTIFY from one instance reaches another's stream, also after its connection was killed", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const workspace = unique("signals")
        const listener = yield* open(workspace)
        const sender = yield* open(workspace)
        const other = yield* open(unique("elsewhere"))
        const got = yield* Queue.unbounded<void>()
        yield* Effect.forkScoped(Stream.runForEach(listener.store.signals, () => Queue.offer(got, undefined)))
        const next = (what: string) =>
          Queue.take(got).pipe(
            Effect.timeoutOrElse({ duration: Duration.seconds(10), orElse: () => Effect.fail(new Error(`no signal: ${what}`)) })
          )
        yield* next("subscribed")
        const x = yield* first(sender.store, "sig")
        yield* sender.store.schedule(x, 500)
        yield* next("schedule from another instance")

        // another workspace's queue does not wake this one
        const y = yield* first(other.store, "sig-other")
        yield* other.store.schedule(y, 500)
        yield* Effect.sleep(Duration.millis(200))
        assert.strictEqual(yield* Queue.size(got), 0, "no signal from another workspace")

        // kill the LISTEN backend: the stream listens again and keeps delivering
        const sql = yield* raw
        const killed = yield* sql.unsafe(
          `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'`
        )
        assert.isAtLeast(killed.length, 1)
        yield* next("subscribed again")
        yield* sender.store.schedule(x, 100)
        yield* next("schedule after the reconnect")
      })
    )
  )
})

