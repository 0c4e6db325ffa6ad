/**
 * The Seam event log and webhook delivery of one workspace, in its store, correct with several
 * instances serving the workspace on one store (behind a load balancer) and across restarts.
 *
 * Records:
 * - `seam-tail/feed`: the cursor over the store's domain-event feed — the last `seq` turned into
 *   Seam events and the translator's fold at that point (`SeamEvents.FoldState`). A (re)started
 *   instance continues from it, never from the feed's start.
 * - `seam-event/<event_id>`: one Seam event, with the webhooks it is still to be delivered to, each
 *   holding the claim (instance, time) of whoever delivers it. Created with an expected version of
 *   0: event ids are deterministic (from the feed's `seq`), so when several instances translate the
 *   same part of the feed exactly one creates each event, and only that one starts delivering it.
 *   Event records are never removed, so an event can never be created (and delivered) twice.
 * - `seam-outbox/<event_id>`: a marker for events with deliveries left, written before the event
 *   record (and again after it), so that no event with pending deliveries is ever without one.
 *   Sweepers list the markers, not the whole log; a marker whose event is fully delivered is removed.
 * - `seam-event-order/<position>`: the log's order, newest first, for `/events/list` to read page by
 *   page. The key is derived from the event alone (its `created_at`, its feed `seq`, its id, each
 *   inverted so that the Records port's ascending key order is newest first), so every instance that
 *   records the same event writes the same key. It is written before the event record, with an
 *   expected version of 0 whoever writes it (a second writer's Conflict means it is there): an event
 *   record never exists without its entry. An entry whose event record does not exist (its recorder
 *   died in between) is skipped when read; for events from the feed the tail records the event again
 *   (the cursor had not moved), for events the API produced nothing does.
 * - `seam-event-order-meta/indexed`: written once every event recorded before the order existed
 *   (an older version of this server) has its entry: the first instance to read the log in order
 *   adds the missing entries in one pass over the event records, then writes it.
 *
 * Delivery: before every attempt the deliverer renews its claim with a versioned put; each instance
 * sweeps the markers every `sweepEvery` and takes over a claim older than `takeoverAfter` (an
 * instance that died between recording and delivering, or a workspace restarted mid-delivery).
 * Delivery is at least once: an instance that stalls past `takeoverAfter` in the middle of a POST,
 * or dies after the receiver got it but before the record says so, leads to a second POST with the
 * same Svix message id (`svix-id: msg_<event_id>`), by which receivers de-duplicate (Seam's own
 * webhooks are at least once too). A webhook that keeps failing is given up after the retry
 * schedule (logged); a deleted webhook is skipped.
 *
 * @internal
 */
import type { PortError, Records, Store } from "@credsync/core"
import { Clock, Duration, Effect, FiberSet, Option, Schema, type Scope, Semaphore } from "effect"
import * as SeamEvents from "../SeamEvents.js"
import * as Webhooks from "../Webhooks.js"
import * as Rec from "./records.js"

const Claim = Schema.Struct({ owner: Schema.String, at: Schema.Number })
const EventRecord = Rec.kind(
  "seam-event",
  Schema.Struct({
    event: SeamEvents.SeamEventSchema,
    /** The domain event's `seq` (events translated from the feed): orders events of one millisecond. */
    seq: Schema.optional(Schema.Int),
    /** Webhook id → the claim of the instance delivering to it. Empty: fully delivered. */
    pending: Schema.Record(Schema.String, Claim)
  })
)
type EventRecord = typeof EventRecord.schema.Type
const Outbox = Rec.kind("seam-outbox", Schema.Struct({ at: Schema.Number }))
/** An entry of the log's order: the event it stands for (read from its record). */
const Order = Rec.kind("seam-event-order", Schema.Struct({ event_id: Schema.String }))
const OrderMeta = Rec.kind("seam-event-order-meta", Schema.Struct({ at: Schema.Number }))
const Cursor = Rec.kind("seam-tail", Schema.Struct({ seq: Schema.Int, fold: SeamEvents.FoldState }))
const cursorKey = "feed"

// Fixed-width numbers, inverted so that ascending key order is newest first (the Records port lists
// in ascending order only). 15 digits hold every millisecond timestamp until the year 33658.
const width = 15
const top = 10 ** width - 1
const inverted = (n: number) => String(top - Math.min(Math.max(Math.trunc(n), 0), top)).padStart(width, "0")
// hex digits complemented (ids are UUIDs): ascending order of the result is descending order of the id
const invertedId = (id: string) =>
  id.replace(/[0-9a-f]/gi, (c) => (15 - Number.parseInt(c, 16)).toString(16))

/**
 * The key of an event in the log's order: newest `created_at` first, then the higher feed `seq`
 * (events the API produced, without a `seq`, before the feed's events of the same millisecond),
 * then the higher id — the reverse of the oldest-first order `list` sorts by.
 */
export const orderKey = (event: SeamEvents.SeamEvent, seq: number | undefined): string =>
  `${inverted(Date.parse(event.created_at))}|${inverted(seq ?? top)}|${invertedId(event.event_id)}`

/**
 * The smallest order key of events created at or before `ms` (for starting a newest-first read
 * at a time): every key of a later millisecond sorts before it.
 */
export const orderKeyAtOrBefore = (ms: number): string => inverted(ms)

/** An event read in the log's order, with its key (the cursor for the next read). */
export interface Ordered {
  readonly key: string
  readonly event: SeamEvents.SeamEvent
}

/** What the log needs from its workspace. */
export interface Options {
  readonly records: Records.RecordsShape
  readonly store: Store.StoreShape
  readonly ctx: SeamEvents.Context
  /** This instance: the owner of its delivery claims (unique per process and workspace). */
  readonly owner: string
  readonly delivery: Webhooks.DeliveryOptions
  readonly webhooks: Effect.Effect<ReadonlyArray<Webhooks.Webhook>, PortError.PortError>
  readonly webhook: (id: string) => Effect.Effect<Webhooks.Webhook | undefined, PortError.PortError>
  /**
   * What else happens for each domain event read from the feed (the phone SDK, HID polling). A
   * failure fails the pass before the cursor moves, so the event is read again on the next one.
   */
  readonly onDomainEvent: (stored: Store.StoredEvent) => Effect.Effect<void, PortError.PortError>
  /**
   * Further Seam events for a domain event, after the ones it translates to (an Access Grant's
   * `access_method.*` from its children's credential events). `parentId` is the parent of the child
   * credential the event is about, if any. Must be deterministic for a given feed and store (the
   * same ids and events whichever instance asks): they are recorded like the translated ones.
   * Default: none.
   */
  readonly derive?: (
    stored: Store.StoredEvent,
    translated: ReadonlyArray<SeamEvents.SeamEvent>,
    parentId: string | undefined
  ) => Effect.Effect<ReadonlyArray<SeamEvents.SeamEvent>, PortError.PortError>
  readonly log: (line: string) => void
}

/** The workspace's Seam event log. */
export interface EventLog {
  /** Turn the feed's new domain events into Seam events (recorded and delivered), up to now. */
  readonly sync: Effect.Effect<void, PortError.PortError>
  /** Record an event the API itself produced (e.g. `acs_user.created`) and start delivering it. */
  readonly record: (event: SeamEvents.SeamEvent) => Effect.Effect<void, PortError.PortError>
  /** Every event, oldest first. */
  readonly list: Effect.Effect<ReadonlyArray<SeamEvents.SeamEvent>, PortError.PortError>
  /**
   * The next `limit` entries of the log's order, newest first, strictly after the key `after` (a
   * key from an earlier read, or `orderKeyAtOrBefore`), with their events. Entries whose event record
   * is missing are skipped, so `items` may be shorter than `limit`: read on after `last` (the last
   * entry read) unless `end` (the log has no entries after it).
   */
  readonly newest: (options: {
    readonly after?: string | undefined
    readonly limit: number
  }) => Effect.Effect<
    { readonly items: ReadonlyArray<Ordered>; readonly last: string | undefined; readonly end: boolean },
    PortError.PortError
  >
  readonly get: (id: string) => Effect.Effect<SeamEvents.SeamEvent | undefined, PortError.PortError>
  /** Resume deliveries left behind: claims older than `takeoverAfter`, and this instance's own. */
  readonly sweep: Effect.Effect<void, PortError.PortError>
}

type Claimed =
  | { readonly _tag: "Mine"; readonly event: SeamEvents.SeamEvent }
  | { readonly _tag: "Done" }
  | { readonly _tag: "Busy" }

const keep = <B>(result: B): Rec.Change<EventRecord, B> => ({ _tag: "Keep", result })

export const make = (options: Options): Effect.Effect<EventLog, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { records, store, owner, delivery, log } = options
    const deliveries = yield* FiberSet.make<void, never>()
    const tailLock = yield* Semaphore.make(1)
    const running = new Set<string>()
    const takeoverAfter = Duration.toMillis(Duration.fromInputUnsafe(delivery.takeoverAfter ?? "30 seconds"))
    const retry = delivery.retry ?? Webhooks.defaultRetry

    const dropMarker = (eventId: string) =>
      Effect.flatMap(Rec.get(records, Outbox, eventId), (o) =>
        Option.match(o, { onNone: () => Effect.void, onSome: (m) => Effect.asVoid(Rec.remove(records, Outbox, eventId, m.version)) })
      )

    // Renew this instance's claim on (event, webhook), or take over one older than takeoverAfter.
    const claim = (eventId: string, webhookId: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Rec.modify(records, EventRecord, eventId, (current): Rec.Change<EventRecord, Claimed> => {
          const entry = current?.value.pending[webhookId]
          if (current === undefined || entry === undefined) return keep({ _tag: "Done" })
          if (entry.owner !== owner && now - entry.at < takeoverAfter) return keep({ _tag: "Busy" })
          return {
            _tag: "Put",
            value: { ...current.value, pending: { ...current.value.pending, [webhookId]: { owner, at: now } } },
            result: { _tag: "Mine", event: current.value.event }
          }
        })
      )

    // The webhook is done with (delivered, given up, or deleted); the last one also drops the marker.
    const finish = (eventId: string, webhookId: string) =>
      Rec.modify(records, EventRecord, eventId, (current): Rec.Change<EventRecord, boolean> => {
        if (current === undefined) return keep(false)
        const { [webhookId]: gone, ...rest } = current.value.pending
        if (gone === undefined) return keep(Object.keys(rest).length === 0)
        return { _tag: "Put", value: { ...current.value, pending: rest }, result: Object.keys(rest).length === 0 }
      }).pipe(Effect.flatMap((empty) => (empty ? dropMarker(eventId) : Effect.void)))

    const deliverTo = (eventId: string, webhookId: string): Effect.Effect<void> =>
      Effect.suspend(() => {
        const runKey = `${eventId}|${webhookId}`
        if (running.has(runKey)) return Effect.void
        running.add(runKey)
        const storeFailure = (e: PortError.PortError) =>
          new Webhooks.DeliveryFailed({ url: "", message: `the delivery could not be claimed: ${e.message}` })
        // One attempt: claim first, so an instance that lost the claim stops before posting again.
        const attempt = Effect.gen(function* () {
          const claimed = yield* Effect.mapError(claim(eventId, webhookId), storeFailure)
          if (claimed._tag !== "Mine") return claimed._tag
          const webhook = yield* Effect.mapError(options.webhook(webhookId), storeFailure)
          if (webhook === undefined) return "Deleted" as const
          yield* Webhooks.post(webhook, `msg_${eventId}`, claimed.event, delivery)
          return "Sent" as const
        })
        const program = Effect.retry(attempt, retry).pipe(
          Effect.flatMap((outcome) => (outcome === "Sent" || outcome === "Deleted" ? finish(eventId, webhookId) : Effect.void)),
          Effect.catchTag("DeliveryFailed", (e) =>
            Effect.andThen(
              Effect.sync(() => log(`webhook ${webhookId}: delivery of event ${eventId} given up after retries: ${e.message}`)),
              finish(eventId, webhookId)
            )
          ),
          Effect.catch((e) =>
            Effect.sync(() => log(`webhook ${webhookId}: delivery of event ${eventId} not recorded (a sweep resumes it): ${e.message}`))
          ),
          Effect.ensuring(Effect.sync(() => running.delete(runKey)))
        )
        return Effect.asVoid(FiberSet.run(deliveries, program))
      })

    const record_ = (event: SeamEvents.SeamEvent, seq: number | undefined, hooks: ReadonlyArray<Webhooks.Webhook>) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const wanted = hooks.filter((w) => Webhooks.wants(w, event.event_type))
        const pending = Object.fromEntries(wanted.map((w) => [w.webhook_id, { owner, at: now }]))
        if (wanted.length > 0) yield* Rec.create(records, Outbox, event.event_id, { at: now })
        // the order entry first: an event record never exists without one (false: it is there already)
        yield* Rec.create(records, Order, orderKey(event, seq), { event_id: event.event_id })
        const created = yield* Rec.create(records, EventRecord, event.event_id, { event, seq, pending })
        if (!created || wanted.length === 0) return
        // again: a sweep may have dropped the first marker as an orphan if this instance stalled here
        yield* Rec.create(records, Outbox, event.event_id, { at: now })
        for (const w of wanted) yield* deliverTo(event.event_id, w.webhook_id)
      })

    const sync = tailLock.withPermits(1)(
      Effect.gen(function* () {
        while (true) {
          const cursor = Option.getOrUndefined(yield* Rec.get(records, Cursor, cursorKey))
          const page = yield* store.events({ after: cursor?.value.seq ?? 0, limit: 500 })
          const last = page[page.length - 1]
          if (last === undefined) return
          const translate = SeamEvents.translator(options.ctx, cursor?.value.fold ?? SeamEvents.emptyFold)
          const hooks = yield* options.webhooks
          for (const stored of page) {
            yield* options.onDomainEvent(stored)
            const e = stored.event
            // read before translating: the fold forgets a revoked child's parent
            const parentId =
              e._tag === "CredentialRequested" ? e.child.parentId : "credentialId" in e ? translate.parentOf(e.credentialId) : undefined
            const translated = translate(stored)
            for (const event of translated) yield* record_(event, stored.seq, hooks)
            if (options.derive !== undefined) {
              for (const event of yield* options.derive(stored, translated, parentId)) yield* record_(event, stored.seq, hooks)
            }
          }
          // A lost race means another instance moved the cursor: read it again and go on from there
          // (what this pass recorded is recorded once either way).
          yield* Rec.replace(records, Cursor, cursorKey, { seq: last.seq, fold: translate.state() }, cursor?.version ?? 0).pipe(
            Effect.catchIf(Rec.isConflict, () => Effect.void)
          )
        }
      })
    )

    const order = (a: EventRecord, b: EventRecord) =>
      Date.parse(a.event.created_at) - Date.parse(b.event.created_at) ||
      (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER) ||
      (a.event.event_id < b.event.event_id ? -1 : a.event.event_id > b.event.event_id ? 1 : 0)

    const sweep = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      for (const marker of yield* Rec.all(records, Outbox)) {
        const event = Option.getOrUndefined(yield* Rec.get(records, EventRecord, marker.key))
        if (event === undefined) {
          // its recorder died before recording the event (the tail records it again, with a marker)
          if (now - marker.value.at >= takeoverAfter) yield* Rec.remove(records, Outbox, marker.key, marker.version)
          continue
        }
        const entries = Object.entries(event.value.pending)
        if (entries.length === 0) {
          yield* Rec.remove(records, Outbox, marker.key, marker.version)
          continue
        }
        for (const [webhookId, c] of entries) {
          if (now - c.at >= takeoverAfter || c.owner === owner) yield* deliverTo(marker.key, webhookId)
        }
      }
    })

    // Entries for the events an older version recorded without one: one pass, once per store.
    let indexed = false
    const ensureIndexed = Effect.gen(function* () {
      if (indexed) return
      if (Option.isNone(yield* Rec.get(records, OrderMeta, "indexed"))) {
        for (const r of yield* Rec.all(records, EventRecord)) {
          yield* Rec.create(records, Order, orderKey(r.value.event, r.value.seq), { event_id: r.key })
        }
        yield* Rec.create(records, OrderMeta, "indexed", { at: yield* Clock.currentTimeMillis })
      }
      indexed = true
    })

    const newest: EventLog["newest"] = ({ after, limit }) =>
      Effect.gen(function* () {
        yield* ensureIndexed
        const entries = yield* Rec.page(records, Order, { after, limit })
        const items: Array<Ordered> = []
        for (const entry of entries) {
          const found = Option.getOrUndefined(yield* Rec.get(records, EventRecord, entry.value.event_id))
          if (found !== undefined) items.push({ key: entry.key, event: found.value.event })
        }
        return { items, last: entries[entries.length - 1]?.key, end: entries.length < limit }
      })

    return {
      sync,
      newest,
      record: (event) => Effect.flatMap(options.webhooks, (hooks) => record_(event, undefined, hooks)),
      list: Effect.map(Rec.all(records, EventRecord), (rows) =>
        rows
          .map((r) => r.value)
          .sort(order)
          .map((r) => r.event)
      ),
      get: (id) => Effect.map(Rec.get(records, EventRecord, id), (o) => Option.getOrUndefined(Option.map(o, (r) => r.value.event))),
      sweep
    }
  })
