/**
 * The Store and Records of one workspace on a `PgClient`. Every operation is one parameterised,
 * prepared statement (one round trip); `save` is a server-side function (see migrations.ts).
 *
 * @internal
 */
import { createHash } from "node:crypto"
import { type PortError, Records, Store } from "@credsync/core"
import type { PgClient } from "@effect/sql-pg/PgClient"
import { Duration, Effect, Option, Result, Schedule, Schema, type Scope, Stream } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import { detail, type Scrub, storeError, toPortError } from "./errors.js"
import { migrate } from "./migrate.js"
import { ClaimedRow, EventRow, IdRow, NextRow, RecordRow, StateRow, VersionRow } from "./rows.js"

/** @internal */
export interface Settings {
  readonly workspace: string
  /** The Postgres schema holding the tables, unquoted. */
  readonly schema: string
  readonly scrub: Scrub
}

/** @internal */
export interface Stores {
  readonly store: Store.StoreShape
  readonly records: Records.RecordsShape
}

type Row = Record<string, unknown>

/** A Postgres identifier, quoted. @internal */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`

/**
 * The NOTIFY channel of a workspace: a hash, because a channel name is an identifier of at most 63
 * bytes and a workspace name may be anything. A collision would only wake a replica for nothing.
 *
 * @internal
 */
export const channelOf = (schema: string, workspace: string): string =>
  `credsync_${createHash("sha256").update(`${schema}\u0000${workspace}`).digest("hex").slice(0, 32)}`

const decodeState = Schema.decodeUnknownResult(StateRow)
const decodeEvent = Schema.decodeUnknownResult(EventRow)
const decodeId = Schema.decodeUnknownResult(IdRow)
const decodeClaimed = Schema.decodeUnknownResult(ClaimedRow)
const decodeVersion = Schema.decodeUnknownResult(VersionRow)
const decodeNext = Schema.decodeUnknownResult(NextRow)
const decodeRecord = Schema.decodeUnknownResult(RecordRow)

const limitOf = (limit: number): number => (Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0)

/** Reconnect delays for the LISTEN connection: 100 ms doubling, at most 5 s, forever. */
const reconnect = Schedule.exponential("100 millis").pipe(
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(5))))
)

/**
 * Migrates the schema (when needed), registers the workspace and returns its Store and Records.
 *
 * @internal
 */
export const make = (sql: PgClient, settings: Settings): Effect.Effect<Stores, PortError.PortError, Scope.Scope> =>
  Effect.gen(function* () {
    const { workspace, scrub } = settings
    const s = quoteIdent(settings.schema)
    const context = `schema ${settings.schema}, workspace ${workspace}`
    const channel = channelOf(settings.schema, workspace)

    const query = (method: string, write: boolean, text: string, params: ReadonlyArray<unknown>) =>
      Effect.mapError(sql.unsafe<Row>(text, params), (e: SqlError) => toPortError(method, context, e, scrub, write))

    yield* migrate(sql, settings.schema, context, scrub)
    yield* query("open", true, `INSERT INTO ${s}.workspaces (workspace) VALUES ($1) ON CONFLICT DO NOTHING`, [workspace])

    /** Decodes every row or fails naming the table and the row. */
    const decodeRows = <A>(
      method: string,
      rows: ReadonlyArray<Row>,
      decode: (row: unknown) => Result.Result<A, Schema.SchemaError>,
      what: (row: Row) => string
    ): Effect.Effect<Array<A>, PortError.PortError> => {
      const out: Array<A> = []
      for (const row of rows) {
        const decoded = decode(row)
        if (Result.isFailure(decoded)) {
          return Effect.fail(
            storeError(
              "Unknown",
              method,
              `Postgres store (${context}): ${what(row)} is damaged or was written by an incompatible credsync: ${decoded.failure.message}`.replaceAll(/\s+/g, " ")
            )
          )
        }
        out.push(decoded.success)
      }
      return Effect.succeed(out)
    }
    const named = (column: string, table: string) => (row: Row) => `the row of ${column} ${String(row[column])} in table ${table}`

    const invalid = (method: string, message: string) => Effect.fail(storeError("InvalidInput", method, message))
    const badTime = (t: number | undefined) => t !== undefined && Number.isNaN(t)

    // ---- identities -------------------------------------------------------------------------

    const sLoad = `SELECT version, state FROM ${s}.identities WHERE workspace = $1 AND id = $2`
    const load: Store.StoreShape["load"] = (id) =>
      query("load", false, sLoad, [workspace, id]).pipe(
        Effect.flatMap((rows) => decodeRows("load", rows, decodeState, () => `the row of identity ${id} in table identities`)),
        Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), (r) => ({ state: r.state, version: r.version })))
      )

    const sSave =
      `SELECT ${s}.save($1::text, $2::text, $3::integer, $4::json, $5::text[], $6::text[], $7::float8, $8::text, $9::text) AS version`
    const save: Store.StoreShape["save"] = (request) =>
      Effect.suspend(() => {
        const { id, expected } = request
        if (request.state.id !== id) return invalid("save", `state of ${request.state.id} saved under ${id}`)
        if (!Number.isSafeInteger(expected) || expected < 0 || expected >= 2 ** 31 - 1) {
          return invalid("save", `expected version must be a non-negative integer, got ${expected}`)
        }
        if (badTime(request.due)) return invalid("save", `due time for ${id} is NaN`)
        // The state and event Schemas are JSON-native (no transformations), so their encoding is
        // JSON.stringify; rows are decoded with the Schemas on every read.
        const params = [
          workspace,
          id,
          expected,
          JSON.stringify(request.state),
          request.events.map((e) => JSON.stringify(e)),
          [...request.keys],
          request.due ?? null,
          request.owner ?? null,
          channel
        ]
        return query("save", true, sSave, params).pipe(
          Effect.flatMap((rows) => decodeRows("save", rows, decodeVersion, () => "the result of save()")),
          Effect.map((rows) => rows[0]?.version ?? expected + 1)
        )
      })

    const sLookup = `SELECT identity AS id FROM ${s}.keys WHERE workspace = $1 AND key = $2`
    const lookup: Store.StoreShape["lookup"] = (key) =>
      query("lookup", false, sLookup, [workspace, key]).pipe(
        Effect.flatMap((rows) => decodeRows("lookup", rows, decodeId, () => `the owner of key ${JSON.stringify(key)} in table keys`)),
        Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), (r) => r.id))
      )

    const sListFirst = `SELECT id FROM ${s}.identities WHERE workspace = $1 ORDER BY id LIMIT $2`
    const sListAfter = `SELECT id FROM ${s}.identities WHERE workspace = $1 AND id > $2 ORDER BY id LIMIT $3`
    const list: Store.StoreShape["list"] = ({ after, limit }) => {
      const n = limitOf(limit)
      if (n === 0) return Effect.succeed([])
      return query("list", false, after === undefined ? sListFirst : sListAfter, after === undefined ? [workspace, n] : [workspace, after, n]).pipe(
        Effect.flatMap((rows) => decodeRows("list", rows, decodeId, named("id", "identities"))),
        Effect.map((rows) => rows.map((r) => r.id))
      )
    }

    // ---- due queue and leases ---------------------------------------------------------------

    // Only stored identities are queued (the due table's foreign key): a schedule of an identity
    // never saved is dropped at once (the memory store drops it at the next claim instead).
    // NOTIFY only when the queue changed, as the memory store signals.
    const sSchedule = `WITH queued AS (
        INSERT INTO ${s}.due (workspace, identity, at)
          SELECT $1, $2, $3::float8 WHERE EXISTS (SELECT 1 FROM ${s}.identities WHERE workspace = $1 AND id = $2)
          ON CONFLICT (workspace, identity) DO UPDATE SET at = EXCLUDED.at WHERE ${s}.due.at > EXCLUDED.at
          RETURNING 1)
      SELECT pg_notify($4, '') FROM queued`
    const schedule: Store.StoreShape["schedule"] = (id, at) =>
      badTime(at)
        ? invalid("schedule", `schedule time for ${id} is NaN`)
        : Effect.asVoid(query("schedule", true, sSchedule, [workspace, id, at, channel]))

    // Due entries in due order whose identity nobody else holds, locked with SKIP LOCKED: two
    // replicas claiming at once lock disjoint rows, so no identity is leased twice, and a due entry
    // is deleted only together with the lease it was claimed for. Rows another claim or a save is
    // writing are skipped, not waited for (they are due again, or notified, when that commits).
    // Taking over a lease its holder let expire (never released) waits out the holder's calls:
    // hold_until = max(hold_until, old expiry + grace). A released lease keeps its hold_until.
    const sClaim = `WITH picked AS (
        SELECT d.identity, d.at, i.lease_owner AS prev_owner, i.lease_expires AS prev_expires
        FROM ${s}.due d JOIN ${s}.identities i ON i.workspace = d.workspace AND i.id = d.identity
        WHERE d.workspace = $1 AND d.at <= $2::float8
          AND (i.lease_owner IS NULL OR i.lease_owner = $3 OR i.lease_expires <= $2::float8)
        ORDER BY d.at, d.identity
        LIMIT $4
        FOR NO KEY UPDATE OF d, i SKIP LOCKED
      ), taken AS (
        DELETE FROM ${s}.due d USING picked p WHERE d.workspace = $1 AND d.identity = p.identity
      ), leased AS (
        UPDATE ${s}.identities i
          SET lease_owner = $3, lease_expires = $2::float8 + $5::float8,
              hold_until = CASE WHEN p.prev_owner IS NOT NULL AND p.prev_owner <> $3
                                THEN greatest(i.hold_until, p.prev_expires + $6::float8)
                                ELSE i.hold_until END
          FROM picked p WHERE i.workspace = $1 AND i.id = p.identity
          RETURNING i.id, i.hold_until
      )
      SELECT l.id, l.hold_until FROM leased l JOIN picked p ON p.identity = l.id ORDER BY p.at, p.identity`
    const claim: Store.StoreShape["claim"] = (lease, now, limit) => {
      const n = limitOf(limit)
      if (n === 0) return Effect.succeed([])
      return query("claim", true, sClaim, [workspace, now, lease.owner, n, lease.ttl, lease.grace]).pipe(
        Effect.flatMap((rows) => decodeRows("claim", rows, decodeClaimed, named("id", "identities"))),
        Effect.map((rows) => rows.map((r): Store.Claimed => ({ id: r.id, holdUntil: r.hold_until })))
      )
    }

    const sAcquire = `UPDATE ${s}.identities
        SET lease_owner = $3, lease_expires = $4::float8 + $5::float8,
            hold_until = CASE WHEN lease_owner IS NOT NULL AND lease_owner <> $3
                              THEN greatest(hold_until, lease_expires + $6::float8)
                              ELSE hold_until END
        WHERE workspace = $1 AND id = $2
          AND (lease_owner IS NULL OR lease_owner = $3 OR lease_expires <= $4::float8)
        RETURNING id, hold_until`
    const acquire: Store.StoreShape["acquire"] = (lease, now, id) =>
      query("acquire", true, sAcquire, [workspace, id, lease.owner, now, lease.ttl, lease.grace]).pipe(
        Effect.flatMap((rows) => decodeRows("acquire", rows, decodeClaimed, named("id", "identities"))),
        Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), (r): Store.Claimed => ({ id: r.id, holdUntil: r.hold_until })))
      )

    // The holder renews even a lease that ran out, as long as nobody took it over.
    const sRenew = `UPDATE ${s}.identities SET lease_expires = $3::float8 + $4::float8
        WHERE workspace = $1 AND id = ANY ($2::text[]) AND lease_owner = $5
        RETURNING id`
    const renew: Store.StoreShape["renew"] = (lease, now, ids) => {
      if (ids.length === 0) return Effect.succeed([])
      return query("renew", true, sRenew, [workspace, [...ids], now, lease.ttl, lease.owner]).pipe(
        Effect.flatMap((rows) => decodeRows("renew", rows, decodeId, named("id", "identities"))),
        Effect.map((rows) => {
          const kept = new Set<string>(rows.map((r) => r.id))
          return ids.filter((id) => kept.has(id))
        })
      )
    }

    // One statement: the lease let go, the identity queued (earliest wins), and a NOTIFY when it
    // is queued afterwards (whoever held it, as the memory store signals). CTEs share one
    // snapshot, so "queued afterwards" is "queued by this statement, or queued before it".
    const sRelease = `WITH released AS (
        UPDATE ${s}.identities SET lease_owner = NULL, lease_expires = NULL
          WHERE workspace = $1 AND id = $2 AND lease_owner = $3
          RETURNING 1
      ), queued AS (
        INSERT INTO ${s}.due (workspace, identity, at)
          SELECT $1, $2, $4::float8
          WHERE $4::float8 IS NOT NULL AND EXISTS (SELECT 1 FROM ${s}.identities WHERE workspace = $1 AND id = $2)
          ON CONFLICT (workspace, identity) DO UPDATE SET at = EXCLUDED.at WHERE ${s}.due.at > EXCLUDED.at
          RETURNING 1
      )
      SELECT pg_notify($5, '')
      WHERE EXISTS (SELECT 1 FROM queued) OR EXISTS (SELECT 1 FROM ${s}.due WHERE workspace = $1 AND identity = $2)`
    const release: Store.StoreShape["release"] = (owner, id, due) =>
      badTime(due)
        ? invalid("release", `due time for ${id} is NaN`)
        : Effect.asVoid(query("release", true, sRelease, [workspace, id, owner, due ?? null, channel]))

    // The earliest time any queued identity becomes claimable by $2: its due time, or the expiry
    // of another owner's live lease when later. Only entries due before the first entry's
    // claimable time can beat it, so the scan stays within the index range up to that time
    // (empty when the first entry is free).
    const effective = (d: string, i: string) =>
      `CASE WHEN ${i}.lease_owner IS NOT NULL AND ${i}.lease_owner <> $2 AND ${i}.lease_expires > $3::float8
            THEN greatest(${d}.at, ${i}.lease_expires) ELSE ${d}.at END`
    const sNextDue = `SELECT min(${effective("d", "i")}) AS next
      FROM ${s}.due d JOIN ${s}.identities i ON i.workspace = d.workspace AND i.id = d.identity
      WHERE d.workspace = $1 AND d.at <= (
        SELECT ${effective("d0", "i0")}
        FROM ${s}.due d0 JOIN ${s}.identities i0 ON i0.workspace = d0.workspace AND i0.id = d0.identity
        WHERE d0.workspace = $1 ORDER BY d0.at, d0.identity LIMIT 1)`
    const nextDue: Store.StoreShape["nextDue"] = (owner, now) =>
      query("nextDue", false, sNextDue, [workspace, owner, now]).pipe(
        Effect.flatMap((rows) => decodeRows("nextDue", rows, decodeNext, () => "a due time in table due")),
        Effect.map((rows) => Option.fromNullishOr(rows[0]?.next))
      )

    // ---- events -----------------------------------------------------------------------------

    const sSequence = `SELECT ${s}.sequence($1)`
    const sEvents = `SELECT seq, body FROM ${s}.events WHERE workspace = $1 AND seq > $2::int8 ORDER BY seq LIMIT $3`
    const events: Store.StoreShape["events"] = ({ after, limit }) => {
      const n = limitOf(limit)
      if (n === 0) return Effect.succeed([])
      // number what has committed since the last read first (see sequence() in migrations.ts)
      return query("events", true, sSequence, [workspace]).pipe(
        Effect.andThen(query("events", false, sEvents, [workspace, String(Math.floor(Math.max(0, after))), n])),
        Effect.flatMap((rows) => decodeRows("events", rows, decodeEvent, (row) => `the event seq ${String(row.seq)} in table events`)),
        Effect.map((rows) => rows.map((r): Store.StoredEvent => ({ seq: Number(r.seq), event: r.body })))
      )
    }

    // ---- signals ----------------------------------------------------------------------------

    // LISTEN holds one connection of the pool. When it breaks (server restart, network), the
    // subscription is made again with back-off, forever, and each failure is logged: the stream
    // never ends silently while the store is open. It emits once on every (re)subscription,
    // because a NOTIFY sent while nobody listened is lost and work may be waiting.
    let open = true
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        open = false
      })
    )
    const subscription: Stream.Stream<void, SqlError> = Stream.unwrap(
      Effect.suspend(() =>
        open
          ? Effect.map(sql.listen(channel), (queue) =>
              Stream.concat(
                Stream.succeed(undefined),
                Stream.map(Stream.fromQueue(queue), () => undefined)
              )
            )
          : Effect.succeed(Stream.empty)
      )
    )
    const signals: Stream.Stream<void> = subscription.pipe(
      Stream.tapError((e) =>
        Effect.logWarning(
          scrub(`Postgres store (${context}): the LISTEN connection failed (${detail(e)}); listening again`)
        )
      ),
      Stream.retry(reconnect),
      Stream.orDie
    )

    const store = Store.Store.of({ load, save, lookup, list, schedule, claim, acquire, renew, release, nextDue, signals, events })

    // ---- records ----------------------------------------------------------------------------

    const sGet = `SELECT key, version, value FROM ${s}.records WHERE workspace = $1 AND kind = $2 AND key = $3`
    const sCreate = `INSERT INTO ${s}.records (workspace, kind, key, version, value) VALUES ($1, $2, $3, 1, $4::json)
        ON CONFLICT (workspace, kind, key) DO NOTHING RETURNING version`
    const sReplace = `UPDATE ${s}.records SET version = version + 1, value = $4::json
        WHERE workspace = $1 AND kind = $2 AND key = $3 AND version = $5 RETURNING version`
    const sRemove = `DELETE FROM ${s}.records WHERE workspace = $1 AND kind = $2 AND key = $3 AND version = $4 RETURNING version`
    const sCurrent = `SELECT version FROM ${s}.records WHERE workspace = $1 AND kind = $2 AND key = $3`

    const recordName = (kind: string) => (row: Row) => `the record ${kind}/${String(row.key)} in table records`
    const current = (method: string, kind: string, key: string) =>
      query(method, false, sCurrent, [workspace, kind, key]).pipe(
        Effect.flatMap((rows) => decodeRows(method, rows, decodeVersion, () => `the record ${kind}/${key} in table records`)),
        Effect.map((rows) => rows[0]?.version ?? 0)
      )
    const conflict = (method: string, kind: string, key: string, expected: number) =>
      Effect.flatMap(current(method, kind, key), (version) =>
        Effect.fail(storeError("Conflict", method, `record ${kind}/${key} is at version ${version}, not ${expected}`))
      )
    const checkVersion = (method: string, expected: number) =>
      Number.isSafeInteger(expected) && expected >= 0 && expected < 2 ** 31 - 1
        ? undefined
        : storeError("InvalidInput", method, `expected version must be a non-negative integer, got ${expected}`)

    const records = Records.Records.of({
      get: (kind, key) =>
        query("get", false, sGet, [workspace, kind, key]).pipe(
          Effect.flatMap((rows) => decodeRows("get", rows, decodeRecord, recordName(kind))),
          Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), (r) => ({ kind, key, version: r.version, value: r.value })))
        ),
      put: (kind, key, value, expected) =>
        Effect.suspend(() => {
          const bad = checkVersion("put", expected)
          if (bad !== undefined) return Effect.fail(bad)
          let json: string | undefined
          try {
            json = JSON.stringify(value)
          } catch {
            json = undefined
          }
          if (json === undefined) return invalid("put", `record ${kind}/${key}: value is not JSON`)
          const written =
            expected === 0
              ? query("put", true, sCreate, [workspace, kind, key, json])
              : query("put", true, sReplace, [workspace, kind, key, json, expected])
          return written.pipe(
            Effect.flatMap((rows) => decodeRows("put", rows, decodeVersion, recordName(kind))),
            Effect.flatMap((rows) => {
              const row = rows[0]
              return row === undefined ? conflict("put", kind, key, expected) : Effect.succeed(row.version)
            })
          )
        }),
      remove: (kind, key, expected) =>
        Effect.suspend(() => {
          const bad = checkVersion("remove", expected)
          if (bad !== undefined) return Effect.fail(bad)
          return query("remove", true, sRemove, [workspace, kind, key, expected]).pipe(
            Effect.flatMap((rows) => (rows.length === 0 ? conflict("remove", kind, key, expected) : Effect.void))
          )
        }),
      list: (kind, { after, prefix, limit }) => {
        const n = limitOf(limit)
        if (n === 0) return Effect.succeed([])
        const where = [`workspace = $1`, `kind = $2`]
        const params: Array<unknown> = [workspace, kind]
        if (after !== undefined) {
          params.push(after)
          where.push(`key > $${params.length}`)
        }
        if (prefix !== undefined && prefix !== "") {
          params.push(prefix)
          // literal prefix (no LIKE patterns); the lower bound lets the primary key index range-scan
          where.push(`key >= $${params.length}`, `starts_with(key, $${params.length})`)
        }
        params.push(n)
        const text = `SELECT key, version, value FROM ${s}.records WHERE ${where.join(" AND ")} ORDER BY key LIMIT $${params.length}`
        return query("list", false, text, params).pipe(
          Effect.flatMap((rows) => decodeRows("list", rows, decodeRecord, recordName(kind))),
          Effect.map((rows) => rows.map((r): Records.Record => ({ kind, key: r.key, version: r.version, value: r.value })))
        )
      }
    })

    return { store, records }
  })

