/**
 * Brings the store's Postgres schema to the version this build writes. Safe when several
 * processes start at once on a fresh database: migrating happens in one transaction under a
 * transaction-scoped advisory lock per schema, and the version is read again under the lock.
 * Refuses (and changes nothing) when the schema was written by a newer credsync, or when it
 * exists with tables but without credsync's bookkeeping (it belongs to something else).
 *
 * @internal
 */
import { PortError } from "@credsync/core"
import type { PgClient } from "@effect/sql-pg/PgClient"
import { Effect, Result, Schema } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import { type Scrub, storeError, toPortError } from "./errors.js"
import { LATEST_VERSION, migrations } from "./migrations.js"

/** Advisory lock class for migrations ("cred" in ASCII); the second key is the schema's hash. */
const LOCK_CLASS = 0x63726564

const Probe = Schema.Struct({ tables: Schema.BigInt, bookkeeping: Schema.NullOr(Schema.String) })
const Applied = Schema.Struct({ version: Schema.NullOr(Schema.Int) })
const decodeProbe = Schema.decodeUnknownResult(Probe)
const decodeApplied = Schema.decodeUnknownResult(Applied)

type State =
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Foreign"; readonly tables: number }
  | { readonly _tag: "At"; readonly version: number }

/** @internal */
export const migrate = (
  sql: PgClient,
  schema: string,
  context: string,
  scrub: Scrub
): Effect.Effect<void, PortError.PortError> => {
  const s = `"${schema.replaceAll('"', '""')}"`
  const fail = (e: SqlError) => toPortError("migrate", context, e, scrub, true)
  const damaged = (what: string) =>
    storeError("Unknown", "migrate", `Postgres store (${context}): could not read the schema version (${what})`)

  const state: Effect.Effect<State, PortError.PortError> = Effect.gen(function* () {
    const probeRows = yield* Effect.mapError(
      sql.unsafe(
        `SELECT (SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1) AS tables,
                to_regclass(format('%I.migrations', $1::text))::text AS bookkeeping`,
        [schema]
      ),
      fail
    )
    const probe = decodeProbe(probeRows[0])
    if (Result.isFailure(probe)) return yield* Effect.fail(damaged(probe.failure.message))
    const { tables, bookkeeping } = probe.success
    if (bookkeeping === null) return tables === 0n ? { _tag: "Missing" } : { _tag: "Foreign", tables: Number(tables) }
    const appliedRows = yield* Effect.mapError(sql.unsafe(`SELECT max(version) AS version FROM ${s}.migrations`), fail)
    const applied = decodeApplied(appliedRows[0])
    if (Result.isFailure(applied)) return yield* Effect.fail(damaged(applied.failure.message))
    return { _tag: "At", version: applied.success.version ?? 0 }
  })

  const refuse = (current: State): PortError.PortError | undefined => {
    if (current._tag === "Foreign") {
      return storeError(
        "Unknown",
        "migrate",
        `Postgres store (${context}): schema ${schema} holds ${current.tables} tables or other objects but no credsync ` +
          "schema version; it belongs to something else. Choose another schema; nothing was changed."
      )
    }
    if (current._tag === "At" && current.version > LATEST_VERSION) {
      return storeError(
        "Unknown",
        "migrate",
        `Postgres store (${context}): schema ${schema} was written by a newer credsync (schema version ${current.version}; ` +
          `this credsync supports up to ${LATEST_VERSION}). Upgrade credsync, or use another schema; nothing was changed.`
      )
    }
    return undefined
  }

  const exec = (statement: string, params: ReadonlyArray<unknown> = []) =>
    Effect.mapError(sql.unsafe(statement, params).unprepared, fail)

  const underLock = Effect.gen(function* () {
    yield* exec("SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))", [LOCK_CLASS, schema])
    // read again: another process may have migrated while this one waited for the lock
    const current = yield* state
    const refused = refuse(current)
    if (refused !== undefined) return yield* Effect.fail(refused)
    let from = 0
    if (current._tag === "Missing") {
      // CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege even when the schema exists: an
      // empty schema made by an administrator for credsync must be usable without it
      yield* exec(`DO $do$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = ${quoteLiteral(schema)}) THEN
            CREATE SCHEMA ${s};
          END IF;
        END $do$`)
      yield* exec(`CREATE TABLE ${s}.migrations (
          version     integer PRIMARY KEY,
          description text NOT NULL,
          applied_at  timestamptz NOT NULL DEFAULT now()
        )`)
    } else if (current._tag === "At") {
      from = current.version
    }
    for (const migration of migrations) {
      if (migration.version <= from) continue
      for (const statement of migration.statements(s)) {
        yield* exec(statement).pipe(
          Effect.mapError((e) =>
            storeError(
              e.reason,
              "migrate",
              `Postgres store (${context}): schema migration ${migration.version} (${migration.description}) failed: ${e.message}`
            )
          )
        )
      }
      yield* exec(`INSERT INTO ${s}.migrations (version, description) VALUES ($1, $2)`, [
        migration.version,
        migration.description
      ])
    }
  })

  return Effect.gen(function* () {
    // the common case, an up-to-date schema, takes no lock
    const current = yield* state
    const refused = refuse(current)
    if (refused !== undefined) return yield* Effect.fail(refused)
    if (current._tag === "At" && current.version === LATEST_VERSION) return
    yield* Effect.mapError(sql.withTransaction(underLock), (e) => (e instanceof PortError.PortError ? e : fail(e)))
  })
}

const quoteLiteral = (value: string): string => `'${value.replaceAll("'", "''")}'`
