/**
 * Who holds a store file: this process's identity as written into a `holders` row, and the
 * judgement of another row (same process, live, certainly dead, presumed dead).
 *
 * Why not a file lock: SQLite's own locks last one transaction, and an OS advisory lock (flock /
 * fcntl) is not reachable from better-sqlite3, is silently ignored on some network file systems
 * and dies with nothing recorded. A row written in a write transaction is seen by every SQLite
 * connection, carries what the refusal message needs (pid, host, since) and lets the next
 * process release what a dead one held.
 *
 * @internal
 */
import * as fs from "node:fs"
import * as os from "node:os"
import type { HolderRow } from "./rows.js"

/** This process, as a holder row describes it. @internal */
export interface Me {
  readonly pid: number
  readonly host: string
  /**
   * Boot id and pid namespace (Linux), so that "same host" means "same kernel and same pids":
   * two containers given one hostname, or a host after a reboot, are not judged by pid. Null
   * where /proc is missing; then the host name alone decides.
   */
  readonly machine: string | null
  /** The process's start time in clock ticks since boot (Linux), so a reused pid is told apart. */
  readonly started: string | null
}

const readText = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, "utf8").trim()
  } catch {
    return undefined
  }
}

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces and parentheses). */
const statOf = (pid: number): { readonly state: string; readonly start: string } | undefined => {
  const text = readText(`/proc/${pid}/stat`)
  if (text === undefined) return undefined
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
  // field 3 (state) is fields[0]; field 22 (starttime) is fields[19]
  const state = fields[0]
  const start = fields[19]
  return state === undefined || start === undefined ? undefined : { state, start }
}

const machineId = (): string | null => {
  const boot = readText("/proc/sys/kernel/random/boot_id")
  let ns: string | undefined
  try {
    ns = fs.readlinkSync("/proc/self/ns/pid")
  } catch {
    ns = undefined
  }
  return boot === undefined || ns === undefined ? null : `${boot}/${ns}`
}

let self: Me | undefined

/** This process (computed once). @internal */
export const me = (): Me => {
  if (self === undefined) {
    self = { pid: process.pid, host: os.hostname(), machine: machineId(), started: statOf(process.pid)?.start ?? null }
  }
  return self
}

/**
 * Whether a process with this pid runs on this machine. `kill(pid, 0)` sends nothing; ESRCH means
 * no such process, EPERM means it exists under another user. A zombie (dead, not yet reaped by
 * its parent) is dead: it can hold nothing.
 */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch (error) {
    if (typeof error === "object" && error !== null && "code" in error && error.code === "ESRCH") return false
  }
  const state = statOf(pid)?.state
  return state !== "Z" && state !== "X"
}

/**
 * - `ours`: a row of this very process (another open store in it): they coexist.
 * - `dead`: its process is certainly gone (same machine, pid gone or reused): take over at once;
 *   whatever calls it had in flight died with it.
 * - `stale`: its heartbeat stopped (another machine, or a hung process): presumed dead, take over,
 *   but its calls may still land somewhere.
 * - `live`: refuse.
 *
 * @internal
 */
export type Verdict = "ours" | "dead" | "stale" | "live"

/** How the open judges another open's holder row (see {@link Verdict}). @internal */
export const judge = (row: HolderRow, now: number): Verdict => {
  const i = me()
  if (row.host === i.host && row.machine === i.machine) {
    if (row.pid === i.pid) return row.started === i.started ? "ours" : "dead"
    if (!alive(row.pid)) return "dead"
    if (row.started !== null) {
      const started = statOf(row.pid)?.start
      if (started !== undefined && started !== row.started) return "dead"
    }
  }
  return now - row.heartbeat > row.stale_after ? "stale" : "live"
}

/**
 * The refusal: names the file and its holder, and says what to do instead.
 *
 * @internal
 */
export const inUse = (filename: string, row: HolderRow, now: number): string =>
  `the store file ${filename} is in use by pid ${row.pid} on host ${row.host} since ` +
  `${new Date(row.opened_at).toISOString()} (last heartbeat ${Math.max(0, Math.round((now - row.heartbeat) / 1000))} s ago); ` +
  "a SQLite store serves one process at a time: stop that process first, or run several replicas on the Postgres store"
