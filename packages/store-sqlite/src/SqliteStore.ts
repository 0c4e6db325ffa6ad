/**
 * The embedded, durable `Store` for one engine process: a single SQLite file (WAL mode) through
 * better-sqlite3.
 *
 * Driver choice: better-sqlite3 is used directly rather than through `effect/unstable/sql`'s
 * `SqlClient`. better-sqlite3 is synchronous; a statement costs microseconds, so an async client
 * (semaphore, fiber per query, row transforms) would cost more than the work itself, and its
 * transaction helper would have to hold a lock across async boundaries. Directly, every statement
 * is prepared once when the store opens, every `save` is one `BEGIN IMMEDIATE … COMMIT` run without
 * yielding, and two saves can never interleave inside one process — which is what makes the
 * optimistic version check exact. Nothing in the port asks for SQL composition, so the extra layer
 * would buy nothing.
 *
 * Durability: `journal_mode = WAL` with `synchronous = NORMAL` by default. A commit is in the WAL
 * file (in the OS page cache) when `save` returns, so a killed process (SIGKILL, crash, OOM) loses
 * no accepted request; only an OS crash or power loss can lose the last few transactions (never
 * corrupt the file). That is invariant item 4 in docs/design.md (a crash of the engine *process*). Pass
 * `synchronous: "FULL"` to also fsync the WAL on every commit and survive power loss, at a large
 * throughput cost.
 *
 * Files: the schema version lives in `PRAGMA user_version` and is migrated forward by an ordered
 * list of migrations in one transaction; a file written by a newer credsync, a SQLite file that
 * belongs to another program, a file that is not a database, and rows that fail their Schema
 * decode all fail with a `PortError` whose message says what is wrong. Nothing is repaired or
 * overwritten silently.
 *
 * Ordering note: `list` orders ids by SQLite's binary (UTF-8 byte) order, which equals JavaScript's
 * string order for every id made of characters below U+E000 (so for all ASCII ids).
 *
 * @since 0.1.0
 */
import { type Ids, type PortError, Store } from "@credsync/core"
import Database from "better-sqlite3"
import { Config, Effect, Layer, Option, Result, Schema, type Scope } from "effect"
import { Abort, toPortError } from "./internal/errors.js"
import { APPLICATION_ID, LATEST_VERSION, migrations } from "./internal/migrations.js"
import { EventRow, IdColumn, IdColumns, IntColumn, NullableNumber, StateRow } from "./internal/rows.js"

/**
 * The schema version this build of the store writes (the file's `PRAGMA user_version`).
 *
 * @since 0.1.0
 */
export const schemaVersion: number = LATEST_VERSION

/**
 * Options of the SQLite store.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Path of the database file; created (with its schema) when missing. `":memory:"` works for tests. */
  readonly filename: string
  /**
   * `NORMAL` (default): survives process kills; an OS crash may lose the last transactions.
   * `FULL`: fsync on every commit; survives power loss too, much slower.
   */
  readonly synchronous?: "NORMAL" | "FULL" | undefined
  /** How long a write waits for another connection's lock before failing `Transient`. Default 5000 ms. */
  readonly busyTimeoutMs?: number | undefined
  /**
   * Event retention: keep at most this many of the newest events (older ones are pruned inside
   * save transactions, amortised, so up to 256 saves' worth more may be present). At least 1: the
   * newest event is always kept, which is what keeps `seq` from ever being reused. Default: keep
   * every event.
   */
  readonly retainEvents?: number | undefined
  /**
   * How many identities' decoded states are kept in memory (least recently used evicted). A cached
   * state is returned by `load` only while the row's version still equals the cached version (one
   * indexed read), so writes by other connections are seen. Saves that fail the Schema encode are
   * never cached. Default 1024; 0 disables the cache.
   */
  readonly cacheSize?: number | undefined
}

const PRUNE_EVERY_SAVES = 256
/** WAL file is truncated back to this size after checkpoints, so it does not keep its peak size. */
const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024

const decodeStateRow = Schema.decodeUnknownResult(StateRow)
const decodeEventRow = Schema.decodeUnknownResult(EventRow)
const decodeIds = Schema.decodeUnknownResult(IdColumns)
const decodeId = Schema.decodeUnknownResult(IdColumn)
const decodeNullableNumber = Schema.decodeUnknownResult(NullableNumber)
const decodeInt = Schema.decodeUnknownResult(IntColumn)

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const readPragmaInt = (db: Database.Database, name: string): number => {
  const decoded = decodeInt(db.pragma(name, { simple: true }))
  if (Result.isFailure(decoded)) throw new Abort("Unknown", `PRAGMA ${name} returned a non-integer`)
  return decoded.success
}

const newerFile = (filename: string, found: number): Abort =>
  new Abort(
    "Unknown",
    `the store file ${filename} was written by a newer credsync: its schema version is ${found}, ` +
      `this credsync supports schema versions up to ${LATEST_VERSION}. Upgrade credsync, or point it at another file; ` +
      "the file was not modified."
  )

/** Opens, checks, configures and migrates the file. Throws `Abort` or a SQLite error; closes on failure. */
const openDatabase = (options: Options): Database.Database => {
  const { filename } = options
  const db = new Database(filename, { timeout: options.busyTimeoutMs ?? 5000 })
  try {
    // Identify the file before writing anything to it: reading the header is what fails on a file
    // that is not a database (SQLITE_NOTADB).
    const applicationId = readPragmaInt(db, "application_id")
    const fileVersion = readPragmaInt(db, "user_version")
    if (applicationId !== 0 && applicationId !== APPLICATION_ID) {
      throw new Abort(
        "Unknown",
        `${filename} is a SQLite database of another application (application_id ${applicationId}), not a credsync store; the file was not modified.`
      )
    }
    if (fileVersion > LATEST_VERSION) throw newerFile(filename, fileVersion)
    if (fileVersion === 0) {
      const tables = decodeInt(db.prepare("SELECT count(*) FROM sqlite_schema").pluck().get())
      if (Result.isFailure(tables) || tables.success > 0) {
        throw new Abort(
          "Unknown",
          `${filename} is a non-empty SQLite database without a credsync schema version; refusing to migrate into it.`
        )
      }
    }
    const mode = db.pragma("journal_mode = WAL", { simple: true })
    if (mode !== "wal" && !(db.memory && mode === "memory")) {
      throw new Abort("Unknown", `${filename}: could not switch to WAL mode (journal_mode is ${String(mode)})`)
    }
    db.pragma(`synchronous = ${options.synchronous ?? "NORMAL"}`)
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`)
    migrate(db, filename)
    return db
  } catch (error) {
    db.close()
    throw error
  }
}

const migrate = (db: Database.Database, filename: string): void => {
  db.transaction(() => {
    // Re-read under the write lock: another process may have migrated meanwhile.
    const current = readPragmaInt(db, "user_version")
    if (current > LATEST_VERSION) throw newerFile(filename, current)
    for (const migration of migrations) {
      if (migration.version <= current) continue
      try {
        db.exec(migration.sql)
      } catch (error) {
        throw new Abort(
          "Unknown",
          `${filename}: schema migration ${migration.version} (${migration.description}) failed: ${describe(error)}`
        )
      }
      db.pragma(`user_version = ${migration.version}`)
    }
    if (current < LATEST_VERSION) db.pragma(`application_id = ${APPLICATION_ID}`)
  }).immediate()
}

/**
 * A scoped SQLite store: opens (creating and migrating) the file, and closes it when the scope
 * closes. Fails with a `PortError` when the file cannot be used (newer schema, corrupt, foreign,
 * unreadable); the message says which and names the file.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Store.StoreShape, PortError.PortError, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.try({
        try: () => openDatabase(options),
        catch: (error) => toPortError("open", options.filename, error)
      }),
      (db) => Effect.sync(() => db.close())
    ),
    (db) => makeShape(db, options)
  )

const makeShape = (db: Database.Database, options: Options): Store.StoreShape => {
  const { filename } = options
  const retain = options.retainEvents === undefined ? undefined : Math.max(1, Math.floor(options.retainEvents))
  let savesSincePrune = 0
  const cacheSize = Math.max(0, Math.floor(options.cacheSize ?? 1024))
  /** Map insertion order is the LRU order: a hit is re-inserted at the end, eviction takes the first. */
  const cache = new Map<string, Store.Stored>()
  // The keys this connection last wrote for an identity, at that version: a save from that version
  // need not read them back. Keys only change through a save, which moves the version.
  const keysAt = new Map<string, { readonly version: number; readonly keys: ReadonlyArray<string> }>()
  const remember = (id: string, stored: Store.Stored): void => {
    if (cacheSize === 0) return
    cache.delete(id)
    cache.set(id, stored)
    if (cache.size > cacheSize) {
      const oldest = cache.keys().next()
      if (oldest.done !== true) {
        cache.delete(oldest.value)
        keysAt.delete(oldest.value)
      }
    }
  }

  const stmt = {
    selectState: db.prepare("SELECT version, state FROM identities WHERE id = ?"),
    selectVersion: db.prepare("SELECT version FROM identities WHERE id = ?").pluck(),
    insertState: db.prepare("INSERT INTO identities (id, version, state) VALUES (?, 1, ?) ON CONFLICT (id) DO NOTHING"),
    updateState: db.prepare("UPDATE identities SET version = version + 1, state = ? WHERE id = ? AND version = ?"),
    keysOf: db.prepare("SELECT key FROM keys WHERE identity = ?").pluck(),
    keyOwner: db.prepare("SELECT identity FROM keys WHERE key = ?").pluck(),
    insertKey: db.prepare("INSERT INTO keys (key, identity) VALUES (?, ?)"),
    deleteKey: db.prepare("DELETE FROM keys WHERE key = ? AND identity = ?"),
    insertEvent: db.prepare("INSERT INTO events (identity, tag, at, body) VALUES (?, ?, ?, ?)"),
    pruneEvents: db.prepare("DELETE FROM events WHERE seq <= ?"),
    listFirst: db.prepare("SELECT id FROM identities ORDER BY id LIMIT ?").pluck(),
    listAfter: db.prepare("SELECT id FROM identities WHERE id > ? ORDER BY id LIMIT ?").pluck(),
    schedule: db.prepare(
      "INSERT INTO due (identity, at) VALUES (?, ?) ON CONFLICT (identity) DO UPDATE SET at = min(at, excluded.at)"
    ),
    selectDue: db.prepare("SELECT identity FROM due WHERE at <= ? ORDER BY at, identity LIMIT ?").pluck(),
    deleteDue: db.prepare("DELETE FROM due WHERE identity = ?"),
    nextDue: db.prepare("SELECT min(at) FROM due").pluck(),
    selectEvents: db.prepare("SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?")
  }

  const attempt = <A>(method: string, body: () => A): Effect.Effect<A, PortError.PortError> =>
    Effect.try({ try: body, catch: (error) => toPortError(method, filename, error) })

  const storedVersion = (id: string): number => {
    const decoded = decodeNullableNumber(stmt.selectVersion.get(id) ?? null)
    return Result.isSuccess(decoded) && decoded.success !== null ? decoded.success : 0
  }

  /** Diff the identity's keys against the requested set; a key owned by someone else aborts. */
  const replaceKeys = (id: string, keys: ReadonlyArray<string>, expected: number): void => {
    const wanted = new Set(keys)
    const known = keysAt.get(id)
    const owned = new Set<string>(known?.version === expected ? known.keys : [])
    if (known?.version !== expected) for (const key of stmt.keysOf.all(id)) if (typeof key === "string") owned.add(key)
    for (const key of wanted) {
      if (owned.has(key)) continue
      const owner: unknown = stmt.keyOwner.get(key)
      if (owner !== undefined) {
        throw new Abort("Conflict", `key ${JSON.stringify(key)} is held by identity ${String(owner)}; nothing was saved`)
      }
      stmt.insertKey.run(key, id)
    }
    for (const key of owned) if (!wanted.has(key)) stmt.deleteKey.run(key, id)
  }

  type Encoded = { readonly tag: string; readonly at: number; readonly body: string }

  const saveTx = db.transaction(
    (request: Store.SaveRequest, state: string, events: ReadonlyArray<Encoded>): number => {
      const { id, expected } = request
      const changes =
        expected === 0 ? stmt.insertState.run(id, state).changes : stmt.updateState.run(state, id, expected).changes
      if (changes !== 1) {
        throw new Abort(
          "Conflict",
          `identity ${id} is at version ${storedVersion(id)}, the save expected version ${expected}; nothing was saved`
        )
      }
      replaceKeys(id, request.keys, expected)
      let lastSeq = 0
      for (const event of events) {
        lastSeq = Number(stmt.insertEvent.run(id, event.tag, event.at, event.body).lastInsertRowid)
      }
      if (request.due !== undefined && !Number.isNaN(request.due)) stmt.schedule.run(id, request.due)
      if (retain !== undefined && events.length > 0 && ++savesSincePrune >= PRUNE_EVERY_SAVES) {
        savesSincePrune = 0
        stmt.pruneEvents.run(lastSeq - retain)
      }
      return expected + 1
    }
  )

  const save = (request: Store.SaveRequest): Effect.Effect<number, PortError.PortError> =>
    attempt("save", () => {
      if (!Number.isSafeInteger(request.expected) || request.expected < 0) {
        throw new Abort("InvalidInput", `expected version must be a non-negative integer, got ${request.expected}`)
      }
      // The state and event Schemas are JSON-native (no transformations), so their encoding is
      // JSON.stringify; validating typed values again on every write cost a quarter of a save.
      // Rows are still decoded with the Schemas on every load.
      const state = { success: JSON.stringify(request.state) }
      const events: Array<Encoded> = request.events.map((event) => ({ tag: event._tag, at: event.at, body: JSON.stringify(event) }))
      // immediate: take the write lock up front, so a concurrent writer waits (busy timeout) instead
      // of failing half way with SQLITE_BUSY on lock upgrade.
      try {
        const version = saveTx.immediate(request, state.success, events)
        remember(request.id, { state: request.state, version })
        if (cacheSize > 0) keysAt.set(request.id, { version, keys: request.keys })
        return version
      } catch (error) {
        cache.delete(request.id)
        keysAt.delete(request.id)
        throw error
      }
    })

  const load = (id: Ids.UserIdentityId) =>
    attempt("load", () => {
      const cached = cache.get(id)
      if (cached !== undefined) {
        if (storedVersion(id) === cached.version) {
          remember(id, cached)
          return Option.some(cached)
        }
        cache.delete(id)
      }
      const row: unknown = stmt.selectState.get(id)
      if (row === undefined) return Option.none<Store.Stored>()
      const decoded = decodeStateRow(row)
      if (Result.isFailure(decoded)) {
        throw new Abort(
          "Unknown",
          `${filename}: the stored row of identity ${id} (table identities) is damaged or was written by an incompatible credsync ` +
            `(it does not decode as IdentityState): ${decoded.failure.message}`
        )
      }
      const stored: Store.Stored = { state: decoded.success.state, version: decoded.success.version }
      remember(id, stored)
      return Option.some(stored)
    })

  const lookup = (key: string) =>
    attempt("lookup", () => {
      const owner: unknown = stmt.keyOwner.get(key)
      if (owner === undefined) return Option.none()
      const decoded = decodeId(owner)
      if (Result.isFailure(decoded)) {
        throw new Abort("Unknown", `${filename}: the owner of key ${JSON.stringify(key)} (table keys) is damaged`)
      }
      return Option.some(decoded.success)
    })

  const decodeIdList = (table: string, rows: ReadonlyArray<unknown>) => {
    const decoded = decodeIds(rows)
    if (Result.isFailure(decoded)) {
      throw new Abort("Unknown", `${filename}: an identity id in table ${table} is damaged: ${decoded.failure.message}`)
    }
    return decoded.success
  }

  const limitOf = (limit: number): number => (Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0)

  const list: Store.StoreShape["list"] = ({ after, limit }) =>
    attempt("list", () => {
      const n = limitOf(limit)
      if (n === 0) return []
      return decodeIdList("identities", after === undefined ? stmt.listFirst.all(n) : stmt.listAfter.all(after, n))
    })

  const schedule: Store.StoreShape["schedule"] = (id, at) =>
    attempt("schedule", () => {
      if (Number.isNaN(at)) throw new Abort("InvalidInput", `schedule time for ${id} is NaN`)
      stmt.schedule.run(id, at)
    })

  const takeDueTx = db.transaction((now: number, n: number) => {
    const ids = decodeIdList("due", stmt.selectDue.all(now, n))
    for (const id of ids) stmt.deleteDue.run(id)
    return ids
  })

  const takeDue: Store.StoreShape["takeDue"] = (now, limit) =>
    attempt("takeDue", () => {
      const n = limitOf(limit)
      return n === 0 ? [] : takeDueTx.immediate(now, n)
    })

  const nextDue: Store.StoreShape["nextDue"] = attempt("nextDue", () => {
    const decoded = decodeNullableNumber(stmt.nextDue.get() ?? null)
    if (Result.isFailure(decoded)) throw new Abort("Unknown", `${filename}: a due time (table due) is damaged`)
    return Option.fromNullishOr(decoded.success)
  })

  const events: Store.StoreShape["events"] = ({ after, limit }) =>
    attempt("events", () => {
      const n = limitOf(limit)
      if (n === 0) return []
      const out: Array<Store.StoredEvent> = []
      for (const row of stmt.selectEvents.all(after, n)) {
        const decoded = decodeEventRow(row)
        if (Result.isFailure(decoded)) {
          const seq = typeof row === "object" && row !== null && "seq" in row ? ` seq ${String(row.seq)}` : ""
          throw new Abort(
            "Unknown",
            `${filename}: the stored event${seq} (table events) is damaged or was written by an incompatible credsync ` +
              `(it does not decode as DomainEvent): ${decoded.failure.message}`
          )
        }
        out.push({ seq: decoded.success.seq, event: decoded.success.body })
      }
      return out
    })

  return Store.Store.of({ load, save, lookup, list, schedule, takeDue, nextDue, events })
}

/**
 * The SQLite `Store` as a layer; the file is closed when the layer's scope closes.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Store.Store, PortError.PortError> =>
  Layer.effect(Store.Store, make(options))

/**
 * The SQLite `Store`, its file path read from config `CREDSYNC_DB` (or the `filename` config given).
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options: Omit<Options, "filename"> = {},
  filename: Config.Config<string> = Config.NonEmptyString("CREDSYNC_DB")
): Layer.Layer<Store.Store, PortError.PortError | Config.ConfigError> =>
  Layer.effect(
    Store.Store,
    Effect.flatMap(filename, (file) => make({ ...options, filename: file }))
  )
