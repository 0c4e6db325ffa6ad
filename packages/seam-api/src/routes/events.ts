/**
 * `/events/get` and `/events/list`: the workspace's Seam event log, newest first as Seam lists it, read page by page
 * from the log's durable order (`seam-event-order`, see `internal/eventLog.ts`) until `limit`
 * matches are found — a request reads the part of the log it returns (and, for a filter that
 * matches little, the part it has to look through), not the whole log.
 *
 * Paging: `limit` (default 500), Seam's `unstable_offset` (matches skipped before the page), and a
 * `page_cursor` with `pagination: {has_next_page, next_page_cursor, next_page_url}` as the other
 * list routes. The cursor is the order key of the last event returned, so a page read later
 * continues exactly after it: events recorded since then are newer and never slip into it.
 *
 * @internal
 */
import { Effect, Schema } from "effect"
import * as EventLog from "../internal/eventLog.js"
import * as Pagination from "../internal/pagination.js"
import { Id, IsoDate, Limit, opt, orNotFound, port, type Route, route } from "../internal/route.js"
import { invalidField } from "../SeamError.js"
import type * as SeamEvents from "../SeamEvents.js"

// a number in a JSON body, digits in a query string (the server turns only `limit` into a number)
const Offset = opt(
  Schema.Union([
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
    Schema.String.check(Schema.isPattern(/^\d{1,9}$/, { message: "Expected a non-negative integer" }))
  ])
)

/** The most order entries one read of the store takes (each costs a read of its event record). */
const readSize = 200

const Body = Schema.Struct({
  since: opt(IsoDate),
  between: opt(Schema.Array(IsoDate)),
  event_type: opt(Schema.String),
  event_types: opt(Schema.Array(Schema.String)),
  event_ids: opt(Schema.Array(Id)),
  device_id: opt(Id),
  device_ids: opt(Schema.Array(Id)),
  acs_credential_id: opt(Id),
  acs_system_id: opt(Id),
  acs_system_ids: opt(Schema.Array(Id)),
  acs_user_id: opt(Id),
  user_identity_id: opt(Id),
  access_grant_id: opt(Id),
  access_grant_ids: opt(Schema.Array(Id)),
  access_method_id: opt(Id),
  access_method_ids: opt(Schema.Array(Id)),
  limit: Limit,
  unstable_offset: Offset,
  page_cursor: opt(Schema.NullOr(Schema.String))
})
type Body = typeof Body.Type

const oneOf = (many: ReadonlyArray<string> | undefined, one: string | undefined) => many ?? (one === undefined ? undefined : [one])

/** The filter of a request: which events it lists. */
const matcher = (input: Body) => {
  const since = input.since === undefined ? undefined : Date.parse(input.since)
  const [from, to] = (input.between ?? []).map((d) => Date.parse(d))
  const types = oneOf(input.event_types, input.event_type)
  const devices = oneOf(input.device_ids, input.device_id)
  const systems = oneOf(input.acs_system_ids, input.acs_system_id)
  const grants = oneOf(input.access_grant_ids, input.access_grant_id)
  const methods = oneOf(input.access_method_ids, input.access_method_id)
  const field = (e: SeamEvents.SeamEvent, k: string, want: string | undefined) => want === undefined || e[k] === want
  const among = (e: SeamEvents.SeamEvent, k: string, want: ReadonlyArray<string> | undefined) => {
    const v = e[k]
    return want === undefined || (typeof v === "string" && want.includes(v))
  }
  // access_method.* events name their grants in access_grant_ids
  const ofGrant = (e: SeamEvents.SeamEvent) => {
    if (grants === undefined) return true
    const listed = e.access_grant_ids
    return (
      (typeof e.access_grant_id === "string" && grants.includes(e.access_grant_id)) ||
      (Array.isArray(listed) && listed.some((g) => typeof g === "string" && grants.includes(g)))
    )
  }
  return (e: SeamEvents.SeamEvent) => {
    const at = Date.parse(e.occurred_at)
    return (
      (since === undefined || at >= since) &&
      (from === undefined || at >= from) &&
      (to === undefined || at <= to) &&
      (types === undefined || types.includes(e.event_type)) &&
      (input.event_ids === undefined || input.event_ids.includes(e.event_id)) &&
      among(e, "device_id", devices) &&
      among(e, "acs_system_id", systems) &&
      among(e, "access_method_id", methods) &&
      field(e, "acs_credential_id", input.acs_credential_id) &&
      field(e, "acs_user_id", input.acs_user_id) &&
      field(e, "user_identity_id", input.user_identity_id) &&
      ofGrant(e)
    )
  }
}

/** The event routes this module serves. */
export const routes: Record<string, Route> = {
  "/events/list": route("read", Body, (ctx, input) =>
    Effect.gen(function* () {
      const { ws } = ctx
      let after: string | undefined
      if (input.page_cursor !== undefined && input.page_cursor !== null) {
        after = Pagination.decode(input.page_cursor)
        if (after === undefined) return yield* Effect.fail(invalidField("page_cursor", "Invalid page_cursor"))
      }
      const limit = input.limit ?? Pagination.defaultLimit
      let skip = input.unstable_offset === undefined ? 0 : Number(input.unstable_offset)
      const matches = matcher(input)
      // Every event this server records has occurred_at = created_at, the order's time: a window's
      // end is where the read starts, its start (or `since`) where it stops.
      const [from, to] = (input.between ?? []).map((d) => Date.parse(d))
      if (to !== undefined) {
        const start = EventLog.orderKeyAtOrBefore(to)
        if (after === undefined || after < start) after = start
      }
      const lowest = Math.max(from ?? Number.NEGATIVE_INFINITY, input.since === undefined ? Number.NEGATIVE_INFINITY : Date.parse(input.since))

      yield* port(ws.syncEvents)
      const found: Array<EventLog.Ordered> = []
      // one match more than the page: whether there is a next page
      // the first read takes what the page needs when every event matches; later ones, when a filter
      // skips events, the most
      let size = Math.min(readSize, Math.max(16, limit + 1 + skip))
      read: while (found.length <= limit) {
        const page = yield* port(ws.newestEvents({ after, limit: size }))
        size = readSize
        for (const item of page.items) {
          if (Date.parse(item.event.created_at) < lowest) break read
          if (!matches(item.event)) continue
          if (skip > 0) skip--
          else found.push(item)
          if (found.length > limit) break read
        }
        if (page.end || page.last === undefined) break
        after = page.last
      }
      const items = found.slice(0, limit)
      const last = items[items.length - 1]
      const more = found.length > limit && last !== undefined
      const cursor = more ? Pagination.encode(last.key) : null
      return {
        events: items.map((i) => i.event),
        pagination: {
          has_next_page: more,
          next_page_cursor: cursor,
          next_page_url: cursor === null ? null : `${ctx.origin}${ctx.path}?page_cursor=${encodeURIComponent(cursor)}`
        }
      }
    })
  ),
  "/events/get": route("read", Schema.Struct({ event_id: Id }), ({ ws }, input) =>
    Effect.gen(function* () {
      return { event: yield* orNotFound("event")(yield* port(ws.event(input.event_id))) }
    })
  )
}
