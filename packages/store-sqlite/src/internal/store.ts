/**
 * The Store port over an open, held file, for one workspace: every statement is prepared once and
 * bound to the workspace, so nothing of another workspace is ever read, listed, leased or deleted.
 *
 * Every write is one synchronous `BEGIN IMMEDIATE` transaction that first checks this open still
 * holds the file (one primary-key read): a process whose file was taken over while it stalled
 * writes nothing more.
 *
 * @internal
 */
import { type Ids, type PortError, Store } from "@credsync/core"
import { Effect, Option, Result, Schema } from "effect"
import { Abort, toPortError } from "./errors.js"
import type { Held } from "./open.js"
import {
  ClaimRows,
  EventRow,
  IdColumn,
  IdColumns,
  LeaseRow,
  NullableNumber,
  NumberColumn,
  StateRow
} from "./rows.js"
import * as Signals from "./signals.js"

/** What `makeStore` needs beyond the open file. @internal */
export interface StoreOptions {
  readonly workspace: string
  /** Keep at most this many of the newest events of the workspace; undefined = all. */
  readonly retain: number | undefined
  readonly cacheSize: number
}

const PRUNE_EVERY_SAVES = 256

const decodeStateRow = Schema.decodeUnknownResult(StateRow)
const decodeEventRow = Schema.decodeUnknownResult(EventRow)
const decodeIds = Schema.decodeUnknownResult(IdColumns)
const decodeId = Schema.decodeUnknownResult(IdColumn)
const decodeNullableNumber = Schema.decodeUnknownResult(NullableNumber)
const decodeNumber = Schema.decodeUnknownResult(NumberColumn)
const decodeClaimRows = Schema.decodeUnknownResult(ClaimRows)
const decodeLeaseRow = Schema.decodeUnknownResult(LeaseRow)
const decodeFirstDue = Schema.decodeUnknownResult(Schema.Struct({ identity: IdColumn, at: Schema.Number }))

/**
 * The check every write makes first: this open's holder row is still there. Gone means another
 * process judged this one dead (its heartbeat stopped) and took the file over.
 *
 * @internal
 */
export const makeHolderCheck = (held: Held) => {
  const isHolder = held.db.prepare("SELECT 1 FROM holders WHERE token = ?").pluck()
  const holders = held.db.prepare("SELECT pid, host FROM holders ORDER BY opened_at DESC LIMIT 1")
  const holds = (): boolean => isHolder.get(held.token) !== undefined
  const ensure = (): void => {
    if (holds()) return
    const now: unknown = holders.get()
    const by =
      typeof now === "object" && now !== null && "pid" in now && "host" in now
        ? ` (now held by pid ${String(now.pid)} on host ${String(now.host)})`
        : ""
    throw new Abort(
      "Conflict",
      `this process no longer holds the store: another process took it over after this one stopped renewing its hold${by}; nothing was written`
    )
  }
  return { holds, ensure }
}

/** The Store port for one workspace of an open, held file. @internal */
export const makeStore = (held: Held, options: StoreOptions): Store.StoreShape => {
  const { db } = held
  const ws = options.workspace
  const hub = `${held.file}\u0000${ws}`
  const holder = makeHolderCheck(held)
  const retain = options.retain
  let savesSincePrune = 0
  const cacheSize = options.cacheSize
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
    selectState: db.prepare("SELECT version, state FROM identities WHERE workspace = ? AND id = ?"),
    selectVersion: db.prepare("SELECT version FROM identities WHERE workspace = ? AND id = ?").pluck(),
    insertState: db.prepare(
      "INSERT INTO identities (workspace, id, version, state) VALUES (?, ?, 1, ?) ON CONFLICT (workspace, id) DO NOTHING"
    ),
    updateState: db.prepare(
      "UPDATE identities SET version = version + 1, state = ? WHERE workspace = ? AND id = ? AND version = ?"
    ),
    keysOf: db.prepare("SELECT key FROM keys WHERE workspace = ? AND identity = ?").pluck(),
    keyOwner: db.prepare("SELECT identity FROM keys WHERE workspace = ? AND key = ?").pluck(),
    insertKey: db.prepare("INSERT INTO keys (workspace, key, identity) VALUES (?, ?, ?)"),
    deleteKey: db.prepare("DELETE FROM keys WHERE workspace = ? AND key = ? AND identity = ?"),
    insertEvent: db.prepare("INSERT INTO events (workspace, identity, tag, at, body) VALUES (?, ?, ?, ?, ?)"),
    pruneEvents: db.prepare("DELETE FROM events WHERE workspace = ? AND seq <= ?"),
    listFirst: db.prepare("SELECT id FROM identities WHERE workspace = ? ORDER BY id LIMIT ?").pluck(),
    listAfter: db.prepare("SELECT id FROM identities WHERE workspace = ? AND id > ? ORDER BY id LIMIT ?").pluck(),
    // changes = 1 only when the entry is new or moved earlier: that is when a signal is worth sending
    schedule: db.prepare(
      "INSERT INTO due (workspace, identity, at) VALUES (?, ?, ?) ON CONFLICT (workspace, identity) DO UPDATE SET at = excluded.at WHERE excluded.at < due.at"
    ),
    isDue: db.prepare("SELECT 1 FROM due WHERE workspace = ? AND identity = ?").pluck(),
    deleteDue: db.prepare("DELETE FROM due WHERE workspace = ? AND identity = ?"),
    // due entries another owner's live lease does not block, earliest first; `saved` says whether
    // the identity exists (entries of never-saved identities are dropped)
    claimable: db.prepare(
      "SELECT d.identity AS id, EXISTS (SELECT 1 FROM identities i WHERE i.workspace = d.workspace AND i.id = d.identity) AS saved " +
        "FROM due d LEFT JOIN leases l ON l.workspace = d.workspace AND l.identity = d.identity " +
        "WHERE d.workspace = @ws AND d.at <= @now AND (l.owner IS NULL OR l.owner = @owner OR l.expires <= @now) " +
        "ORDER BY d.at, d.identity LIMIT @limit"
    ),
    exists: db.prepare("SELECT 1 FROM identities WHERE workspace = ? AND id = ?").pluck(),
    lease: db.prepare("SELECT owner, expires FROM leases WHERE workspace = ? AND identity = ?"),
    leaseOwner: db.prepare("SELECT owner FROM leases WHERE workspace = ? AND identity = ?").pluck(),
    // Taking over a lease another owner let expire (it did not release it): its calls may still
    // land until its expiry plus the grace. SET expressions read the row's values before the update.
    take: db.prepare(
      "INSERT INTO leases (workspace, identity, owner, expires, grace, hold_until, holder) VALUES (@ws, @id, @owner, @expires, @grace, 0, @holder) " +
        "ON CONFLICT (workspace, identity) DO UPDATE SET " +
        "hold_until = max(leases.hold_until, CASE WHEN leases.owner IS NOT NULL AND leases.owner <> excluded.owner THEN leases.expires + excluded.grace ELSE 0 END), " +
        "owner = excluded.owner, expires = excluded.expires, grace = excluded.grace, holder = excluded.holder " +
        "RETURNING hold_until"
    ).pluck(),
    // only the open that took a lease renews it: a process whose file was taken over must not
    // keep the lease of an owner id a restarted process reuses
    renew: db.prepare("UPDATE leases SET expires = ? WHERE workspace = ? AND identity = ? AND owner = ? AND holder = ?"),
    dropLease: db.prepare("DELETE FROM leases WHERE workspace = ? AND identity = ? AND owner = ? AND hold_until = 0"),
    releaseLease: db.prepare("UPDATE leases SET owner = NULL WHERE workspace = ? AND identity = ? AND owner = ?"),
    nextDue: db.prepare("SELECT identity, at FROM due WHERE workspace = ? ORDER BY at, identity LIMIT 1"),
    nextDueAll: db
      .prepare(
        "SELECT min(CASE WHEN l.owner IS NOT NULL AND l.owner <> @owner AND l.expires > @now THEN max(d.at, l.expires) ELSE d.at END) " +
          "FROM due d LEFT JOIN leases l ON l.workspace = d.workspace AND l.identity = d.identity WHERE d.workspace = @ws"
      )
      .pluck(),
    selectEvents: db.prepare("SELECT seq, body FROM events WHERE workspace = ? AND seq > ? ORDER BY seq LIMIT ?")
  }

  const attempt = <A>(method: string, body: () => A): Effect.Effect<A, PortError.PortError> =>
    Effect.try({ try: body, catch: (error) => toPortError(method, error) })

  const storedVersion = (id: string): number => {
    const decoded = decodeNullableNumber(stmt.selectVersion.get(ws, id) ?? null)
    return Result.isSuccess(decoded) && decoded.success !== null ? decoded.success : 0
  }

  /** Another owner's unexpired lease on `id`, if any. */
  const heldByOther = (owner: string, id: string, now: number): boolean => {
    const row: unknown = stmt.lease.get(ws, id)
    if (row === undefined) return false
    const decoded = decodeLeaseRow(row)
    if (Result.isFailure(decoded)) throw new Abort("Unknown", `the lease of identity ${id} (table leases) is damaged`)
    return decoded.success.owner !== null && decoded.success.owner !== owner && decoded.success.expires > now
  }

  const take = (lease: Store.Lease, now: number, id: Ids.UserIdentityId): Store.Claimed => {
    const holdUntil = decodeNumber(stmt.take.get({ ws, id, owner: lease.owner, expires: now + lease.ttl, grace: lease.grace, holder: held.token }))
    if (Result.isFailure(holdUntil)) throw new Abort("Unknown", `the lease of identity ${id} (table leases) is damaged`)
    return { id, holdUntil: holdUntil.success }
  }

  /** Diff the identity's keys against the requested set; a key owned by someone else aborts. */
  const replaceKeys = (id: string, keys: ReadonlyArray<string>, expected: number): void => {
    const wanted = new Set(keys)
    const known = keysAt.get(id)
    const owned = new Set<string>(known?.version === expected ? known.keys : [])
    if (known?.version !== expected) for (const key of stmt.keysOf.all(ws, id)) if (typeof key === "string") owned.add(key)
    for (const key of wanted) {
      if (owned.has(key)) continue
      const owner: unknown = stmt.keyOwner.get(ws, key)
      if (owner !== undefined) {
        // not a race: saving again cannot succeed while the other identity keeps the key
        throw new Abort("InvalidInput", `key ${JSON.stringify(key)} is held by identity ${String(owner)}; nothing was saved`)
      }
      stmt.insertKey.run(ws, key, id)
    }
    for (const key of owned) if (!wanted.has(key)) stmt.deleteKey.run(ws, key, id)
  }

  type Encoded = { readonly tag: string; readonly at: number; readonly body: string }

  /** Returns the new version and whether the due time moved (worth a signal). */
  const saveTx = db.transaction(
    (request: Store.SaveRequest, state: string, events: ReadonlyArray<Encoded>): { version: number; queued: boolean } => {
      const { id, expected } = request
      holder.ensure()
      if (request.owner !== undefined && stmt.leaseOwner.get(ws, id) !== request.owner) {
        throw new Abort("Conflict", `${request.owner} does not hold the lease of identity ${id}; nothing was saved`)
      }
      const changes =
        expected === 0 ? stmt.insertState.run(ws, id, state).changes : stmt.updateState.run(state, ws, id, expected).changes
      if (changes !== 1) {
        throw new Abort(
          "Conflict",
          `identity ${id} is at version ${storedVersion(id)}, the save expected version ${expected}; nothing was saved`
        )
      }
      replaceKeys(id, request.keys, expected)
      let lastSeq = 0
      for (const event of events) {
        lastSeq = Number(stmt.insertEvent.run(ws, id, event.tag, event.at, event.body).lastInsertRowid)
      }
      const queued = request.due !== undefined && !Number.isNaN(request.due) && stmt.schedule.run(ws, id, request.due).changes === 1
      if (retain !== undefined && events.length > 0 && ++savesSincePrune >= PRUNE_EVERY_SAVES) {
        savesSincePrune = 0
        // seq counts the events of every workspace of the file: this keeps at most `retain`
        stmt.pruneEvents.run(ws, lastSeq - retain)
      }
      return { version: expected + 1, queued }
    }
  )

  const save = (request: Store.SaveRequest): Effect.Effect<number, PortError.PortError> =>
    attempt("save", () => {
      if (!Number.isSafeInteger(request.expected) || request.expected < 0) {
        throw new Abort("InvalidInput", `expected version must be a non-negative integer, got ${request.expected}`)
      }
      if (request.state.id !== request.id) {
        throw new Abort("InvalidInput", `the state of identity ${request.state.id} was saved under identity ${request.id}`)
      }
      // The state and event Schemas are JSON-native (no transformations), so their encoding is
      // JSON.stringify; validating typed values again on every write cost a quarter of a save.
      // Rows are still decoded with the Schemas on every load.
      const state = JSON.stringify(request.state)
      const events: Array<Encoded> = request.events.map((event) => ({ tag: event._tag, at: event.at, body: JSON.stringify(event) }))
      // immediate: take the write lock up front, so a concurrent writer waits (busy timeout) instead
      // of failing half way with SQLITE_BUSY on lock upgrade.
      try {
        const { version, queued } = saveTx.immediate(request, state, events)
        remember(request.id, { state: request.state, version })
        if (cacheSize > 0) keysAt.set(request.id, { version, keys: request.keys })
        if (queued) Signals.emit(hub)
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
      const row: unknown = stmt.selectState.get(ws, id)
      if (row === undefined) return Option.none<Store.Stored>()
      const decoded = decodeStateRow(row)
      if (Result.isFailure(decoded)) {
        throw new Abort(
          "Unknown",
          `the stored row of identity ${id} (table identities) is damaged or was written by an incompatible credsync ` +
            `(it does not decode as IdentityState): ${decoded.failure.message}`
        )
      }
      const stored: Store.Stored = { state: decoded.success.state, version: decoded.success.version }
      remember(id, stored)
      return Option.some(stored)
    })

  const lookup = (key: string) =>
    attempt("lookup", () => {
      const owner: unknown = stmt.keyOwner.get(ws, key)
      if (owner === undefined) return Option.none()
      const decoded = decodeId(owner)
      if (Result.isFailure(decoded)) throw new Abort("Unknown", `the owner of key ${JSON.stringify(key)} (table keys) is damaged`)
      return Option.some(decoded.success)
    })

  const decodeIdList = (table: string, rows: ReadonlyArray<unknown>) => {
    const decoded = decodeIds(rows)
    if (Result.isFailure(decoded)) throw new Abort("Unknown", `an identity id in table ${table} is damaged: ${decoded.failure.message}`)
    return decoded.success
  }

  const limitOf = (limit: number): number => (Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0)

  const list: Store.StoreShape["list"] = ({ after, limit }) =>
    attempt("list", () => {
      const n = limitOf(limit)
      if (n === 0) return []
      return decodeIdList("identities", after === undefined ? stmt.listFirst.all(ws, n) : stmt.listAfter.all(ws, after, n))
    })

  const scheduleTx = db.transaction((id: string, at: number): boolean => {
    holder.ensure()
    return stmt.schedule.run(ws, id, at).changes === 1
  })

  const schedule: Store.StoreShape["schedule"] = (id, at) =>
    attempt("schedule", () => {
      if (Number.isNaN(at)) throw new Abort("InvalidInput", `schedule time for ${id} is NaN`)
      if (scheduleTx.immediate(id, at)) Signals.emit(hub)
    })

  const claimTx = db.transaction((lease: Store.Lease, now: number, limit: number): Array<Store.Claimed> => {
    holder.ensure()
    const claimed: Array<Store.Claimed> = []
    while (claimed.length < limit) {
      const want = limit - claimed.length
      const rows = decodeClaimRows(stmt.claimable.all({ ws, now, owner: lease.owner, limit: want }))
      if (Result.isFailure(rows)) throw new Abort("Unknown", `an identity id in table due is damaged: ${rows.failure.message}`)
      for (const row of rows.success) {
        stmt.deleteDue.run(ws, row.id)
        // never saved: nothing to work
        if (row.saved !== 0) claimed.push(take(lease, now, row.id))
      }
      if (rows.success.length < want) break
    }
    return claimed
  })

  const claim: Store.StoreShape["claim"] = (lease, now, limit) =>
    attempt("claim", () => {
      const n = limitOf(limit)
      return n === 0 ? [] : claimTx.immediate(lease, now, n)
    })

  const acquireTx = db.transaction((lease: Store.Lease, now: number, id: Ids.UserIdentityId): Option.Option<Store.Claimed> => {
    holder.ensure()
    if (stmt.exists.get(ws, id) === undefined || heldByOther(lease.owner, id, now)) return Option.none()
    return Option.some(take(lease, now, id))
  })

  const acquire: Store.StoreShape["acquire"] = (lease, now, id) => attempt("acquire", () => acquireTx.immediate(lease, now, id))

  const renewTx = db.transaction((lease: Store.Lease, now: number, ids: ReadonlyArray<Ids.UserIdentityId>) => {
    // a process that no longer holds the file holds no lease either
    if (!holder.holds()) return []
    return ids.filter((id) => stmt.renew.run(now + lease.ttl, ws, id, lease.owner, held.token).changes === 1)
  })

  const renew: Store.StoreShape["renew"] = (lease, now, ids) =>
    attempt("renew", () => (ids.length === 0 ? [] : renewTx.immediate(lease, now, ids)))

  const releaseTx = db.transaction((owner: string, id: Ids.UserIdentityId, due: number | undefined): boolean => {
    holder.ensure()
    // a lease whose hold still matters keeps its row (without owner) for the next holder
    if (stmt.dropLease.run(ws, id, owner).changes === 0) stmt.releaseLease.run(ws, id, owner)
    if (due !== undefined && !Number.isNaN(due)) stmt.schedule.run(ws, id, due)
    return stmt.isDue.get(ws, id) !== undefined
  })

  const release: Store.StoreShape["release"] = (owner, id, due) =>
    attempt("release", () => {
      // queued and now free: whoever skipped it may claim it
      if (releaseTx.immediate(owner, id, due)) Signals.emit(hub)
    })

  const nextDue: Store.StoreShape["nextDue"] = (owner, now) =>
    attempt("nextDue", () => {
      const top: unknown = stmt.nextDue.get(ws)
      if (top === undefined) return Option.none()
      const decoded = decodeFirstDue(top)
      if (Result.isFailure(decoded)) throw new Abort("Unknown", "a due time (table due) is damaged")
      if (!heldByOther(owner, decoded.success.identity, now)) return Option.some(decoded.success.at)
      // the earliest is leased elsewhere: look at everything queued (rare: only when two engines share a file)
      const all = decodeNullableNumber(stmt.nextDueAll.get({ ws, owner, now }) ?? null)
      if (Result.isFailure(all)) throw new Abort("Unknown", "a due time (table due) is damaged")
      return Option.fromNullishOr(all.success)
    })

  const events: Store.StoreShape["events"] = ({ after, limit }) =>
    attempt("events", () => {
      const n = limitOf(limit)
      if (n === 0) return []
      const out: Array<Store.StoredEvent> = []
      for (const row of stmt.selectEvents.all(ws, after, n)) {
        const decoded = decodeEventRow(row)
        if (Result.isFailure(decoded)) {
          const seq = typeof row === "object" && row !== null && "seq" in row ? ` seq ${String(row.seq)}` : ""
          throw new Abort(
            "Unknown",
            `the stored event${seq} (table events) is damaged or was written by an incompatible credsync ` +
              `(it does not decode as DomainEvent): ${decoded.failure.message}`
          )
        }
        out.push({ seq: decoded.success.seq, event: decoded.success.body })
      }
      return out
    })

  return Store.Store.of({
    load,
    save,
    lookup,
    list,
    schedule,
    claim,
    acquire,
    renew,
    release,
    nextDue,
    signals: Signals.stream(hub),
    events
  })
}
