/**
 * A Map-based `Store` for tests and single-process demos. It honours the Store contract
 * (optimistic versions, atomic saves of state + events + keys, unique keys, due queue, event log),
 * but it is not durable: everything is lost with the process, and it cannot be shared between
 * processes. Several engines in one process can share it (its leases and signals are real), which
 * is how tests run two replicas on one store. States are kept by reference (not copied): callers must treat saved states as immutable,
 * as the engine does.
 *
 * @since 0.1.0
 */
import { type Ids, PortError, Store } from "@credsync/core"
import { type Cause, Effect, Layer, Option, Queue, Stream } from "effect"
import { MinHeap } from "./internal/heap.js"

/** Options of {@link make}. */
export interface Options {
  /** How many of the latest events the log keeps (older ones are dropped). Default 10,000. */
  readonly retainEvents?: number | undefined
}

interface Held {
  /** Undefined once released. */
  owner: string | undefined
  expires: number
  holdUntil: number
}

interface Row {
  state: Store.Stored["state"]
  version: number
  keys: ReadonlyArray<string>
}

/** The same keys in the same order (the order lookupKeys gives them in is stable). */
const sameKeys = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const conflict = (method: string, message: string) =>
  new PortError.PortError({ reason: "Conflict", port: "Store", method, message })

/**
 * Make an in-memory store. `takeDue` and `schedule` are O(log n) (binary heap with lazy deletion);
 * `list` is O(limit) after a sort that only happens when ids were added out of order.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Store.StoreShape => {
  const retain = Math.max(0, options.retainEvents ?? 10_000)
  const rows = new Map<string, Row>()
  const keys = new Map<string, Ids.UserIdentityId>()
  // ids in id order; `sorted` is false when an id was appended out of order.
  const ids: Array<Ids.UserIdentityId> = []
  let sorted = true
  const due = new Map<string, number>()
  const heap = new MinHeap<Ids.UserIdentityId>()
  const leases = new Map<string, Held>()
  const listeners = new Set<Queue.Enqueue<void, Cause.Done>>()
  const signal = () => {
    for (const q of listeners) Queue.offerUnsafe(q, undefined)
  }
  let log: Array<Store.StoredEvent> = []
  let logHead = 0
  let lastSeq = 0

  const sortedIds = (): Array<Ids.UserIdentityId> => {
    if (!sorted) {
      ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      sorted = true
    }
    return ids
  }
  // Drop stale heap entries (rescheduled earlier or taken) from the top.
  const cleanTop = () => {
    for (let top = heap.peek(); top !== undefined && due.get(top.id) !== top.at; top = heap.peek()) heap.pop()
  }

  const scheduleNow = (id: Ids.UserIdentityId, at: number) => {
    const current = due.get(id)
    if (current !== undefined && current <= at) return
    due.set(id, at)
    heap.push({ at, id })
    signal()
  }

  /** Another owner's unexpired lease on `id`, if any. */
  const heldByOther = (owner: string, id: string, now: number): Held | undefined => {
    const held = leases.get(id)
    return held !== undefined && held.owner !== undefined && held.owner !== owner && held.expires > now ? held : undefined
  }

  const take = (lease: Store.Lease, now: number, id: Ids.UserIdentityId): Store.Claimed => {
    const held = leases.get(id)
    // an earlier holder that neither released nor renewed may still have calls in flight
    const taken = held?.owner !== undefined && held.owner !== lease.owner
    const holdUntil = Math.max(held?.holdUntil ?? 0, taken ? held.expires + lease.grace : 0)
    leases.set(id, { owner: lease.owner, expires: now + lease.ttl, holdUntil })
    return { id, holdUntil }
  }

  return Store.Store.of({
    load: (id) =>
      Effect.sync(() => {
        const row = rows.get(id)
        return row === undefined ? Option.none() : Option.some({ state: row.state, version: row.version })
      }),
    save: (request) =>
      Effect.suspend(() => {
        const row = rows.get(request.id)
        const current = row?.version ?? 0
        if (request.state.id !== request.id) {
          return Effect.fail(
            new PortError.PortError({
              reason: "InvalidInput",
              port: "Store",
              method: "save",
              message: `state of ${request.state.id} saved under ${request.id}`
            })
          )
        }
        if (request.expected !== current) {
          return Effect.fail(
            conflict("save", `identity ${request.id} is at version ${current}, not ${request.expected}`)
          )
        }
        if (request.owner !== undefined && leases.get(request.id)?.owner !== request.owner) {
          return Effect.fail(conflict("save", `${request.owner} does not hold the lease of identity ${request.id}`))
        }
        // Keys rarely change between saves: the same list as the row's is this identity's already.
        // A changed list is checked whole before the index changes, then replaces the index's
        // entries, so that the index and the row hold the same strings, not two copies of each.
        const same = row !== undefined && sameKeys(row.keys, request.keys)
        if (!same) {
          for (const k of request.keys) {
            const owner = keys.get(k)
            if (owner !== undefined && owner !== request.id) {
              return Effect.fail(
                new PortError.PortError({
                  reason: "InvalidInput",
                  port: "Store",
                  method: "save",
                  message: `key ${k} is held by identity ${owner}; nothing was saved`
                })
              )
            }
          }
          if (row !== undefined) for (const k of row.keys) keys.delete(k)
          for (const k of request.keys) keys.set(k, request.id)
        }
        // validated: apply the rest synchronously (atomic)
        const version = current + 1
        if (row === undefined) {
          rows.set(request.id, { state: request.state, version, keys: [...request.keys] })
          const last = ids[ids.length - 1]
          if (last !== undefined && last > request.id) sorted = false
          ids.push(request.id)
        } else {
          row.state = request.state
          row.version = version
          if (!same) row.keys = [...request.keys]
        }
        if (retain > 0) {
          for (const event of request.events) log.push({ seq: ++lastSeq, event })
          const excess = log.length - logHead - retain
          if (excess > 0) logHead += excess
          if (logHead > 1024 && logHead * 2 > log.length) {
            log = log.slice(logHead)
            logHead = 0
          }
        } else {
          lastSeq += request.events.length
        }
        if (request.due !== undefined) scheduleNow(request.id, request.due)
        return Effect.succeed(version)
      }),
    lookup: (key) => Effect.sync(() => Option.fromNullishOr(keys.get(key))),
    list: ({ after, limit }) =>
      Effect.sync(() => {
        const all = sortedIds()
        let lo = 0
        if (after !== undefined) {
          let hi = all.length
          while (lo < hi) {
            const mid = (lo + hi) >> 1
            if (all[mid]! <= after) lo = mid + 1
            else hi = mid
          }
        }
        return all.slice(lo, lo + Math.max(0, limit))
      }),
    schedule: (id, at) => Effect.sync(() => scheduleNow(id, at)),
    claim: (lease, now, limit) =>
      Effect.sync(() => {
        const claimed: Array<Store.Claimed> = []
        const skipped: Array<{ at: number; id: Ids.UserIdentityId }> = []
        cleanTop()
        for (let top = heap.peek(); top !== undefined && top.at <= now && claimed.length < limit; top = heap.peek()) {
          heap.pop()
          const other = heldByOther(lease.owner, top.id, now)
          if (!rows.has(top.id)) due.delete(top.id) // never saved: nothing to work
          else if (other === undefined) {
            due.delete(top.id)
            claimed.push(take(lease, now, top.id))
          } else skipped.push(top)
          cleanTop()
        }
        for (const s of skipped) heap.push(s)
        return claimed
      }),
    acquire: (lease, now, id) =>
      Effect.sync(() =>
        !rows.has(id) || heldByOther(lease.owner, id, now) !== undefined ? Option.none() : Option.some(take(lease, now, id))
      ),
    renew: (lease, now, ids) =>
      Effect.sync(() =>
        ids.filter((id) => {
          const held = leases.get(id)
          if (held?.owner !== lease.owner) return false
          held.expires = now + lease.ttl
          return true
        })
      ),
    release: (owner, id, at) =>
      Effect.sync(() => {
        const held = leases.get(id)
        if (held?.owner === owner) {
          held.owner = undefined
          if (held.holdUntil === 0) leases.delete(id)
        }
        if (at !== undefined) scheduleNow(id, at)
        if (due.has(id)) signal()
      }),
    signals: Stream.callback<void>((queue) =>
      Effect.acquireRelease(
        Effect.sync(() => listeners.add(queue)),
        () => Effect.sync(() => listeners.delete(queue))
      ),
      { bufferSize: 1, strategy: "sliding" }
    ),
    // O(queue): the engine asks at most once a second
    queueDepth: (now) =>
      Effect.sync(() => {
        let n = 0
        for (const at of due.values()) if (at <= now) n++
        return n
      }),
    nextDue: (owner, now) =>
      Effect.sync(() => {
        cleanTop()
        const top = heap.peek()
        if (top === undefined) return Option.none()
        if (heldByOther(owner, top.id, now) === undefined) return Option.some(top.at)
        // the earliest is leased elsewhere: look at everything queued (rare: replicas share a store)
        let next = Number.POSITIVE_INFINITY
        for (const [id, at] of due) next = Math.min(next, Math.max(at, heldByOther(owner, id, now)?.expires ?? at))
        return Option.some(next)
      }),
    events: ({ after, limit }) =>
      Effect.sync(() => {
        const first = log[logHead]?.seq
        if (first === undefined || limit <= 0) return []
        const start = logHead + Math.max(0, after + 1 - first)
        return log.slice(start, start + limit)
      })
  })
}

/**
 * A layer with a fresh in-memory store.
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<Store.Store> =>
  Layer.sync(Store.Store, () => make(options))
