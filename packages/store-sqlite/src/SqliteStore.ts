/**
 * The embedded, durable `Store` (and `Records`) for one engine process: a single SQLite file (WAL
 * mode) through better-sqlite3.
 *
 * Driver choice: better-sqlite3 is used directly rather than through `effect/unstable/sql`'s
 * `SqlClient`. better-sqlite3 is synchronous; a statement costs microseconds, so an async client
 * (semaphore, fiber per query, row transforms) would cost more than the work itself, and its
 * transaction helper would have to hold a lock across async boundaries. Directly, every statement
 * is prepared once when the store opens, every write is one `BEGIN IMMEDIATE … COMMIT` run without
 * yielding, and two writes can never interleave inside one process — which is what makes the
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
 * Workspaces: every table is keyed by workspace; a store serves the one it was opened with, so
 * several workspaces can share a file without ever seeing each other's identities, keys, events,
 * queue, leases or records.
 *
 * One process per file: SQLite is the single-node store. Opening writes a holder row (pid, host,
 * a random token, heartbeat) in a write transaction; a file another live process holds is refused
 * with a `Conflict` naming the file and the holder. A holder is taken over when its process is
 * gone from this machine (so a SIGKILLed engine restarts at once) or its heartbeat stopped; its
 * leases are then released. Every write checks that this open still holds the file. Several
 * stores in one process may share a file (other workspaces, or tests). Replicas belong on Postgres.
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
import { PortError, Records, Store } from "@credsync/core"
import { Config, Context, Effect, Layer, Result, Schema, type Scope } from "effect"
import { LATEST_VERSION } from "./internal/migrations.js"
import * as Open from "./internal/open.js"
import { makeRecords } from "./internal/records.js"
import { makeStore } from "./internal/store.js"

/**
 * The schema version this build of the store writes (the file's `PRAGMA user_version`).
 *
 * @since 0.1.0
 */
export const schemaVersion: number = LATEST_VERSION

/**
 * The workspace a store serves when none is given (and where the rows of files written before
 * workspaces existed land).
 *
 * @since 0.2.0
 */
export const defaultWorkspace = "default"

/**
 * Options of the SQLite store.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Path of the database file; created (with its schema) when missing. `":memory:"` works for tests. */
  readonly filename: string
  /**
   * The workspace this store serves (default `"default"`). Stores of different workspaces may share
   * a file; none reads, lists, leases or deletes another's identities, keys, events, queue or records.
   */
  readonly workspace?: string | undefined
  /**
   * `NORMAL` (default): survives process kills; an OS crash may lose the last transactions.
   * `FULL`: fsync on every commit; survives power loss too, much slower.
   */
  readonly synchronous?: "NORMAL" | "FULL" | undefined
  /** How long a write waits for another connection's lock before failing `Transient`. Default 5000 ms. */
  readonly busyTimeoutMs?: number | undefined
  /**
   * Event retention: keep at most this many of the newest events (older ones are pruned inside
   * save transactions, amortised, so up to 256 saves' worth more may be present). Counted in
   * `seq`, which is shared by every workspace of the file, so a workspace sharing its file keeps
   * fewer. At least 1: the newest event is always kept, which is what keeps `seq` from ever being
   * reused. Default: keep every event.
   */
  readonly retainEvents?: number | undefined
  /**
   * How many identities' decoded states are kept in memory (least recently used evicted). A cached
   * state is returned by `load` only while the row's version still equals the cached version (one
   * indexed read), so writes by other connections are seen. Saves that fail the Schema encode are
   * never cached. Default 1024; 0 disables the cache.
   */
  readonly cacheSize?: number | undefined
  /**
   * How long after this process's last heartbeat another process may presume it dead and take the
   * file over (default 15 000 ms; the heartbeat runs every fifth of it). Only matters when the
   * holder cannot be checked by pid: another machine or container, or a hung process.
   */
  readonly staleAfterMs?: number | undefined
}

const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

/** The options as decoded at the boundary (a host may hand them over from config or JSON). */
const OptionsSchema = Schema.Struct({
  filename: Schema.NonEmptyString,
  workspace: Schema.optional(Schema.NonEmptyString),
  synchronous: Schema.optional(Schema.Literals(["NORMAL", "FULL"])),
  busyTimeoutMs: Schema.optional(NonNegative),
  retainEvents: Schema.optional(NonNegative),
  cacheSize: Schema.optional(NonNegative),
  staleAfterMs: Schema.optional(Schema.Finite.check(Schema.isGreaterThan(0)))
})

const decodeOptions = Schema.decodeUnknownResult(OptionsSchema)

/**
 * An open store file: the engine's `Store` and a front-end's `Records`, on one connection and one
 * workspace.
 *
 * @since 0.2.0
 */
export interface Opened {
  readonly store: Store.StoreShape
  readonly records: Records.RecordsShape
}

/**
 * Opens (creating and migrating) the file and holds it until the scope closes: then the holder row
 * is removed, this open's leases are released and the file is closed. Fails with a `PortError`
 * when the file cannot be used: held by another live process (`Conflict`, naming the holder),
 * newer schema, corrupt, foreign, unreadable (`Unknown`); options that do not decode
 * (`InvalidInput`).
 *
 * @since 0.2.0
 */
export const open = (options: Options): Effect.Effect<Opened, PortError.PortError, Scope.Scope> =>
  Effect.gen(function* () {
    const decoded = decodeOptions(options, { errors: "all" })
    if (Result.isFailure(decoded)) {
      return yield* new PortError.PortError({
        reason: "InvalidInput",
        port: "Store",
        method: "open",
        message: `invalid SQLite store options: ${decoded.failure.message}`
      })
    }
    const o = decoded.success
    const staleAfterMs = o.staleAfterMs ?? 15_000
    const held = yield* Effect.acquireRelease(
      Open.open({
        filename: o.filename,
        synchronous: o.synchronous ?? "NORMAL",
        busyTimeoutMs: o.busyTimeoutMs ?? 5000,
        staleAfterMs
      }),
      (held) => Effect.sync(() => Open.close(held))
    )
    // Keep the holder row fresh while the scope is open (interrupted before the close above runs).
    // A failed beat (file busy) is tried again at the next; a vanished row means another process
    // took the file over: every write fails from then on, so there is nothing left to refresh.
    yield* Effect.forkScoped(
      Effect.gen(function* () {
        while (true) {
          yield* Open.realSleep(staleAfterMs / 5, { keepAlive: false })
          const kept = Result.try(() => Open.beat(held))
          if (Result.isSuccess(kept) && !kept.success) return
        }
      })
    )
    const workspace = o.workspace ?? defaultWorkspace
    return {
      store: makeStore(held, {
        workspace,
        retain: o.retainEvents === undefined ? undefined : Math.max(1, Math.floor(o.retainEvents)),
        cacheSize: Math.floor(o.cacheSize ?? 1024)
      }),
      records: makeRecords(held, workspace)
    }
  })

/**
 * A scoped SQLite store (the `Store` of {@link open}).
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Store.StoreShape, PortError.PortError, Scope.Scope> =>
  Effect.map(open(options), (opened) => opened.store)

const services = (opened: Opened) =>
  Context.make(Store.Store, opened.store).pipe(Context.add(Records.Records, opened.records))

/**
 * The SQLite `Store` and `Records` as a layer; the file is held until the layer's scope closes.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Store.Store | Records.Records, PortError.PortError> =>
  Layer.effectContext(Effect.map(open(options), services))

/**
 * The SQLite `Store` and `Records`, the file path read from config `CREDSYNC_DB` (or the
 * `filename` config given).
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options: Omit<Options, "filename"> = {},
  filename: Config.Config<string> = Config.NonEmptyString("CREDSYNC_DB")
): Layer.Layer<Store.Store | Records.Records, PortError.PortError | Config.ConfigError> =>
  Layer.effectContext(
    Effect.flatMap(filename, (file) => Effect.map(open({ ...options, filename: file }), services))
  )
