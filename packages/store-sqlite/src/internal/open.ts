/**
 * Opening a store file: identify it, switch it to WAL, and — in one `BEGIN IMMEDIATE`
 * transaction — refuse it when another live process holds it, migrate it, take over from dead
 * holders and write this open's holder row. Also the heartbeat that keeps the row fresh and the
 * close that removes it.
 *
 * Concurrent first opens: the emptiness check reads the header and the schema in one statement
 * (one snapshot) and is repeated under the write lock; SQLITE_BUSY before that transaction
 * (switching a new file to WAL while another process does the same, a WAL being recovered) is
 * retried until the busy timeout. So of N processes creating one file at once, one holds it and
 * every other finds it held — none sees a half-created file.
 *
 * Times here are the wall clock (`Date.now()`), never the engine's clock: holders are compared
 * across processes, and an engine may run on a virtual clock.
 *
 * @internal
 */
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import type { PortError } from "@credsync/core"
import Database from "better-sqlite3"
import { Effect, Result, Schema } from "effect"
import { Abort, toPortError } from "./errors.js"
import { inUse, judge, me } from "./holder.js"
import { APPLICATION_ID, HOLDERS_VERSION, LATEST_VERSION, migrations } from "./migrations.js"
import { FileHeader, HolderRows } from "./rows.js"

/** The decoded options the open needs. @internal */
export interface OpenOptions {
  readonly filename: string
  readonly synchronous: "NORMAL" | "FULL"
  readonly busyTimeoutMs: number
  readonly staleAfterMs: number
}

/** An open file this process holds. @internal */
export interface Held {
  readonly db: Database.Database
  /** This open's row in `holders`. */
  readonly token: string
  /** The file within this process (its real path), or a unique name for a private database. */
  readonly file: string
}

/** The WAL file is truncated back to this size after checkpoints, so it does not keep its peak size. */
const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024

const decodeHeader = Schema.decodeUnknownResult(FileHeader)
const decodeHolders = Schema.decodeUnknownResult(HolderRows)

/** Thrown for a lock another connection holds for a moment: the open is tried again. */
class Busy extends Error {}

const codeOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const isBusy = (e: unknown): boolean => e instanceof Busy || (codeOf(e)?.startsWith("SQLITE_BUSY") ?? false)

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * A sleep on the real clock, for the open's retries and the heartbeat: both happen in real time
 * even when the engine runs on a test clock. `keepAlive: false` (the heartbeat, a background task)
 * lets the process exit meanwhile; the open's retries keep it alive, or a process whose only work
 * is waiting for the open would end silently in the middle of it (Node's exit code 13).
 *
 * @internal
 */
export const realSleep = (ms: number, options: { readonly keepAlive: boolean }): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), ms)
    if (!options.keepAlive) timer.unref()
    return Effect.sync(() => clearTimeout(timer))
  })

const newerFile = (filename: string, found: number): Abort =>
  new Abort(
    "Unknown",
    `the store file ${filename} was written by a newer credsync: its schema version is ${found}, ` +
      `this credsync supports schema versions up to ${LATEST_VERSION}. Upgrade credsync, or point it at another file; ` +
      "the file was not modified."
  )

const notOurs = (filename: string): Abort =>
  new Abort("Unknown", `${filename} is a non-empty SQLite database without a credsync schema version; refusing to migrate into it.`)

const readHeader = (db: Database.Database, filename: string) => {
  const header = decodeHeader(
    db
      .prepare(
        "SELECT a.application_id, v.user_version, (SELECT count(*) FROM sqlite_schema) AS tables " +
          "FROM pragma_application_id AS a, pragma_user_version AS v"
      )
      .get()
  )
  if (Result.isFailure(header)) throw new Abort("Unknown", `${filename}: the SQLite header could not be read`)
  return header.success
}

/** Identify the file before writing anything to it. Throws `Abort` for a file that is not ours. */
const check = (db: Database.Database, filename: string): void => {
  // reading the header is what fails on a file that is not a database (SQLITE_NOTADB)
  const header = readHeader(db, filename)
  if (header.application_id !== 0 && header.application_id !== APPLICATION_ID) {
    throw new Abort(
      "Unknown",
      `${filename} is a SQLite database of another application (application_id ${header.application_id}), not a credsync store; the file was not modified.`
    )
  }
  if (header.user_version > LATEST_VERSION) throw newerFile(filename, header.user_version)
  if (header.user_version === 0 && header.tables > 0) throw notOurs(filename)
}

/**
 * Under the write lock: check again, refuse a live holder, migrate, take over from dead holders
 * (releasing their leases), and write this open's row.
 */
const hold = (db: Database.Database, options: OpenOptions, token: string): void => {
  const { filename } = options
  db.transaction(() => {
    const header = readHeader(db, filename)
    const current = header.user_version
    if (current > LATEST_VERSION) throw newerFile(filename, current)
    if (current === 0 && header.tables > 0) throw notOurs(filename)
    const now = Date.now()
    const gone: Array<{ readonly token: string; readonly certain: boolean }> = []
    if (current >= HOLDERS_VERSION) {
      const rows = decodeHolders(db.prepare("SELECT * FROM holders ORDER BY opened_at").all())
      if (Result.isFailure(rows)) {
        throw new Abort("Unknown", `${filename}: a row of table holders is damaged: ${rows.failure.message}`)
      }
      for (const row of rows.success) {
        const verdict = judge(row, now)
        if (verdict === "live") throw new Abort("Conflict", inUse(filename, row, now))
        if (verdict !== "ours") gone.push({ token: row.token, certain: verdict === "dead" })
      }
    }
    for (const migration of migrations) {
      if (migration.version <= current) continue
      try {
        db.exec(migration.sql)
      } catch (error) {
        throw new Abort("Unknown", `${filename}: schema migration ${migration.version} (${migration.description}) failed: ${describe(error)}`)
      }
      db.pragma(`user_version = ${migration.version}`)
    }
    if (current < LATEST_VERSION) db.pragma(`application_id = ${APPLICATION_ID}`)
    // A dead holder's leases can never be renewed: release them so its identities are worked at
    // once. Certainly dead (its pid is gone from this machine): its calls died with it. Presumed
    // dead (heartbeat stopped): its calls may still land until its lease would have run out plus
    // the grace it was taken with, so the next holder waits that out.
    const releaseCertain = db.prepare("UPDATE leases SET owner = NULL WHERE holder = ? AND owner IS NOT NULL")
    const releasePresumed = db.prepare(
      "UPDATE leases SET owner = NULL, hold_until = max(hold_until, expires + grace) WHERE holder = ? AND owner IS NOT NULL"
    )
    const forget = db.prepare("DELETE FROM holders WHERE token = ?")
    for (const g of gone) {
      ;(g.certain ? releaseCertain : releasePresumed).run(g.token)
      forget.run(g.token)
    }
    const i = me()
    db.prepare(
      "INSERT INTO holders (token, pid, host, machine, started, opened_at, heartbeat, stale_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    ).run(token, i.pid, i.host, i.machine, i.started, now, now, options.staleAfterMs)
  }).immediate()
}

const openOnce = (options: OpenOptions): Held => {
  const { filename } = options
  const db = new Database(filename, { timeout: options.busyTimeoutMs })
  try {
    check(db, filename)
    const mode = db.pragma("journal_mode = WAL", { simple: true })
    if (mode !== "wal" && !(db.memory && mode === "memory")) {
      // another connection held the file for a moment (it is switching it to WAL too)
      throw new Busy(`could not switch to WAL mode (journal_mode is ${String(mode)})`)
    }
    db.pragma(`synchronous = ${options.synchronous}`)
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`)
    const token = randomUUID()
    hold(db, options, token)
    let file = `private:${token}`
    if (!db.memory) {
      try {
        file = fs.realpathSync(filename)
      } catch {
        file = filename
      }
    }
    return { db, token, file }
  } catch (error) {
    db.close()
    throw error
  }
}

/**
 * Open and hold the file, retrying a momentarily busy file until the busy timeout.
 *
 * @internal
 */
export const open = (options: OpenOptions): Effect.Effect<Held, PortError.PortError> =>
  Effect.suspend(() => {
    const deadline = Date.now() + options.busyTimeoutMs
    const attempt = (): Effect.Effect<Held, PortError.PortError> =>
      Effect.suspend(() => {
        try {
          return Effect.succeed(openOnce(options))
        } catch (error) {
          if (isBusy(error) && Date.now() < deadline) return Effect.andThen(realSleep(5 + Math.floor(Math.random() * 20), { keepAlive: true }), attempt)
          if (error instanceof Busy) {
            return Effect.fail(toPortError("open", new Abort("Transient", `${options.filename}: ${error.message}`), options.filename))
          }
          return Effect.fail(toPortError("open", error, options.filename))
        }
      })
    return attempt()
  })

/**
 * Refresh the heartbeat; false once the row is gone (another process took the file over).
 * Throws on SQLite errors (busy): the caller tries again at the next beat.
 *
 * @internal
 */
export const beat = (held: Held): boolean =>
  held.db.prepare("UPDATE holders SET heartbeat = ? WHERE token = ?").run(Date.now(), held.token).changes === 1

/**
 * Give the file up: release this open's leases (its engine has stopped: nothing of it is in
 * flight), remove its holder row, close the connection. Never fails: a row left behind by a
 * failure here is judged dead by the next process once this one is gone.
 *
 * @internal
 */
export const close = (held: Held): void => {
  try {
    held.db
      .transaction(() => {
        held.db.prepare("UPDATE leases SET owner = NULL WHERE holder = ? AND owner IS NOT NULL").run(held.token)
        held.db.prepare("DELETE FROM holders WHERE token = ?").run(held.token)
      })
      .immediate()
  } catch {
    // busy or closed: see above
  }
  try {
    held.db.close()
  } catch {
    // already closed
  }
}

