/**
 * The Seam Connect routes this server serves, each a Schema for its body and a handler over one
 * workspace. A body that fails its Schema is answered 400 before anything runs, so a bad request
 * changes nothing. Unknown body keys are ignored, as Seam does.
 *
 * The routes live in one module per Seam resource (`routes/*.ts`, named after the URL prefix); this
 * module assembles the route table from them.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { Id, IsoDate, Limit, opt, orNotFound, port, type Route, route } from "./internal/route.js"
import * as AcsCredentials from "./routes/acsCredentials.js"
import * as AcsSystems from "./routes/acsSystems.js"
import * as AcsUsers from "./routes/acsUsers.js"
import * as ClientSessions from "./routes/clientSessions.js"
import * as EnrollmentAutomations from "./routes/enrollmentAutomations.js"
import * as Phones from "./routes/phones.js"
import * as UserIdentities from "./routes/userIdentities.js"
import * as Webhooks from "./routes/webhooks.js"
import type * as SeamEvents from "./SeamEvents.js"

export type { Body, Kind, RequestContext, Route } from "./internal/route.js"

// --- /events ------------------------------------------------------------------------------------

const events: Record<string, Route> = {
  "/events/list": route(
    "read",
    Schema.Struct({
      since: opt(IsoDate),
      between: opt(Schema.Array(IsoDate)),
      event_type: opt(Schema.String),
      event_types: opt(Schema.Array(Schema.String)),
      device_id: opt(Id),
      device_ids: opt(Schema.Array(Id)),
      acs_credential_id: opt(Id),
      acs_system_id: opt(Id),
      acs_user_id: opt(Id),
      user_identity_id: opt(Id),
      limit: Limit
    }),
    ({ ws }, input) =>
      Effect.gen(function* () {
        const all = yield* port(ws.events)
        const since = input.since === undefined ? undefined : Date.parse(input.since)
        const [from, to] = (input.between ?? []).map((d) => Date.parse(d))
        const types = input.event_types ?? (input.event_type === undefined ? undefined : [input.event_type])
        const devices = input.device_ids ?? (input.device_id === undefined ? undefined : [input.device_id])
        const field = (e: SeamEvents.SeamEvent, k: string, want: string | undefined) => want === undefined || e[k] === want
        const out = all.filter((e) => {
          const at = Date.parse(e.occurred_at)
          return (
            (since === undefined || at >= since) &&
            (from === undefined || at >= from) &&
            (to === undefined || at <= to) &&
            (types === undefined || types.includes(e.event_type)) &&
            (devices === undefined || (typeof e.device_id === "string" && devices.includes(e.device_id))) &&
            field(e, "acs_credential_id", input.acs_credential_id) &&
            field(e, "acs_system_id", input.acs_system_id) &&
            field(e, "acs_user_id", input.acs_user_id) &&
            field(e, "user_identity_id", input.user_identity_id)
          )
        })
        // newest first, as Seam lists them
        return { events: out.slice().reverse().slice(0, input.limit ?? 500) }
      })
  ),
  "/events/get": route("read", Schema.Struct({ event_id: Id }), ({ ws }, input) =>
    Effect.gen(function* () {
      return { event: yield* orNotFound("event")(yield* port(ws.event(input.event_id))) }
    })
  )
}

/**
 * Every route, by path.
 *
 * @since 0.1.0
 */
export const routes: Readonly<Record<string, Route>> = {
  ...UserIdentities.routes,
  ...EnrollmentAutomations.routes,
  ...AcsSystems.routes,
  ...AcsUsers.routes,
  ...AcsCredentials.routes,
  ...Phones.routes,
  ...events,
  ...Webhooks.routes,
  ...ClientSessions.routes
}
