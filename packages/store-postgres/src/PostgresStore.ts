/**
 * The shared, durable `Store` and `Records` on PostgreSQL, for several engine processes
 * (replicas) working one workspace together. Postgres is the only coordinator: replicas lease
 * identities from the due queue (`FOR UPDATE … SKIP LOCKED`), every commit checks the identity's
 * version (and, for reconciles, the lease), and a replica is woken through `LISTEN/NOTIFY` when
 * another one queues work.
 *
 * One store instance serves one workspace of one Postgres schema (default `credsync`): every
 * table is keyed by workspace, so two workspaces on one database never see each other's
 * identities, keys, events, queue entries, leases or records.
 *
 * Semantics, beyond the Store contract in `@credsync/core`:
 * - `save` is one round trip: a server-side function writes state, keys, queue entry and events
 *   in one transaction. A key another identity holds fails it with `InvalidInput` naming the key.
 * - Events: `seq` is per workspace, from 1, and grows in commit order (each event-writing save
 *   bumps the workspace's counter row last, holding its row lock until commit), so a reader
 *   paging with `events({ after })` never misses an event that commits later with a lower `seq`.
 *   The price: event-writing saves of one workspace commit one at a time (the lock is held for
 *   the event insert and the commit only).
 * - Leases live on the identity row (`lease_owner`, `lease_expires`, `hold_until`); times are the
 *   caller's `now` (the engine's clock, epoch ms), never the database's. A schedule of an identity
 *   that was never saved is dropped (only stored identities are queued).
 * - `signals` holds one pooled connection in `LISTEN`; when it breaks it listens again with
 *   back-off (logging each failure) and emits once on every (re)subscription, since a NOTIFY sent
 *   meanwhile is lost. NOTIFY goes out (at commit) when an identity is queued or a lease is
 *   released on a queued identity.
 * - Failures are `PortError`s: a refused save is `Conflict` / `InvalidInput`; a lost connection is
 *   `Transient` (reads, connecting) or `Ambiguous` (a write whose outcome is unknown); a row that
 *   does not decode is `Unknown` naming its table and identity. Messages never contain the
 *   connection string or the password.
 *
 * @since 0.2.0
 */
import { type PortError, Records, Store } from "@credsync/core"
import { PgClient } from "@effect/sql-pg"
import { Config, Context, Effect, Layer, Option, Redacted, type Scope } from "effect"
import { Reactivity } from "effect/reactivity"
import { makeScrub, type Scrub, storeError, toPortError } from "./internal/errors.js"
import { LATEST_VERSION } from "./internal/migrations.js"
import * as internal from "./internal/store.js"

/**
 * The schema version this build writes (the highest row of `<schema>.migrations`).
 *
 * @since 0.2.0
 */
export const schemaVersion: number = LATEST_VERSION

/**
 * Which workspace, in which Postgres schema.
 *
 * @since 0.2.0
 */
export interface Target {
  /** The workspace this instance serves. Default `"default"`. */
  readonly workspace?: string | undefined
  /** The Postgres schema holding the tables; created and migrated when missing. Default `"credsync"`. */
  readonly schema?: string | undefined
}

/**
 * Options of {@link layer}.
 *
 * @since 0.2.0
 */
export interface Options<E = never> extends Target {
  /**
   * A connection URL (`postgres://user:password@host:port/database?sslmode=…`), kept `Redacted`;
   * or a `PgClient` layer of your own (then pool size and TLS are yours to set).
   */
  readonly connection: Redacted.Redacted<string> | Layer.Layer<PgClient.PgClient, E>
  /** Pool size when connecting by URL (one connection is held by `signals` while it runs). Default 10. */
  readonly maxConnections?: number | undefined
  /** `application_name` of the connections when connecting by URL. Default `"credsync"`. */
  readonly applicationName?: string | undefined
}

/**
 * The services a Postgres store provides.
 *
 * @since 0.2.0
 */
export type Services = Store.Store | Records.Records

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

const resolve = (target: Target, scrub: Scrub): Effect.Effect<internal.Settings, PortError.PortError> => {
  const workspace = target.workspace ?? "default"
  const schema = target.schema ?? "credsync"
  if (workspace.length === 0 || workspace.includes("\u0000")) {
    return Effect.fail(storeError("InvalidInput", "open", "workspace must be a non-empty string without NUL characters"))
  }
  if (!SCHEMA_NAME.test(schema)) {
    return Effect.fail(
      storeError("InvalidInput", "open", `schema ${JSON.stringify(schema)} is not a plain identifier (letters, digits, _; at most 63)`)
    )
  }
  return Effect.succeed({ workspace, schema, scrub })
}

/** Every way a secret could show up in a message: the URL, and its password raw and encoded. */
const secretsOf = (url: Redacted.Redacted<string> | undefined): ReadonlyArray<string> => {
  if (url === undefined) return []
  const text = Redacted.value(url)
  try {
    const parsed = new URL(text)
    return [text, parsed.password, decodeURIComponent(parsed.password)]
  } catch {
    return [text]
  }
}

/**
 * The Store and Records of one workspace over a `PgClient` from the context: migrates the schema
 * when needed (refusing a newer or foreign one), registers the workspace and returns both.
 *
 * @since 0.2.0
 */
export const make = (
  target: Target = {}
): Effect.Effect<{ readonly store: Store.StoreShape; readonly records: Records.RecordsShape }, PortError.PortError, PgClient.PgClient | Scope.Scope> =>
  Effect.gen(function* () {
    const sql = yield* PgClient.PgClient
    const { password } = sql.config
    const secrets = [...secretsOf(sql.config.url), ...(Redacted.isRedacted(password) ? [String(Redacted.value(password))] : [])]
    const settings = yield* resolve(target, makeScrub(secrets))
    return yield* internal.make(sql, settings)
  })

const toContext = (stores: { readonly store: Store.StoreShape; readonly records: Records.RecordsShape }) =>
  Context.make(Store.Store, stores.store).pipe(Context.add(Records.Records, stores.records))

/**
 * `Store` and `Records` of one workspace over a `PgClient` the host provides (shared with its own
 * queries, say).
 *
 * @since 0.2.0
 */
export const layerClient = (target: Target = {}): Layer.Layer<Services, PortError.PortError, PgClient.PgClient> =>
  Layer.effectContext(Effect.map(make(target), toContext))

/**
 * `Store` and `Records` of one workspace on its own connection pool (closed with the layer), or
 * on the `PgClient` layer given as `connection`.
 *
 * @since 0.2.0
 */
export const layer = <E = never>(options: Options<E>): Layer.Layer<Services, PortError.PortError | E> => {
  const { connection } = options
  if (!Redacted.isRedacted(connection)) return layerClient(options).pipe(Layer.provide(connection))
  const scrub = makeScrub(secretsOf(connection))
  return Layer.effectContext(
    Effect.gen(function* () {
      const settings = yield* resolve(options, scrub)
      const sql = yield* PgClient.make({
        url: connection,
        maxConnections: options.maxConnections ?? 10,
        applicationName: options.applicationName ?? "credsync"
      }).pipe(Effect.mapError((e) => toPortError("open", `schema ${settings.schema}, workspace ${settings.workspace}`, e, scrub, false)))
      return toContext(yield* internal.make(sql, settings))
    })
  ).pipe(Layer.provide(Reactivity.layer))
}

/**
 * {@link layer} configured from the environment: the URL from `CREDSYNC_PG_URL` (read as a
 * secret), the workspace from `CREDSYNC_PG_WORKSPACE` when set (else `options.workspace`, else
 * `"default"`).
 *
 * @since 0.2.0
 */
export const layerConfig = (
  options: Omit<Options, "connection"> = {}
): Layer.Layer<Services, PortError.PortError | Config.ConfigError> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const url = yield* Config.Redacted("CREDSYNC_PG_URL")
      const workspace = yield* Config.option(Config.NonEmptyString("CREDSYNC_PG_WORKSPACE"))
      return layer({ ...options, connection: url, workspace: Option.getOrElse(workspace, () => options.workspace) })
    })
  )
