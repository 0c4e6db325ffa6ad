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
import type { Route } from "./internal/route.js"
import * as AccessGrants from "./routes/accessGrants.js"
import * as AccessMethods from "./routes/accessMethods.js"
import * as AcsCredentials from "./routes/acsCredentials.js"
import * as AcsSystems from "./routes/acsSystems.js"
import * as AcsUsers from "./routes/acsUsers.js"
import * as ClientSessions from "./routes/clientSessions.js"
import * as EnrollmentAutomations from "./routes/enrollmentAutomations.js"
import * as Entrances from "./routes/entrances.js"
import * as Events from "./routes/events.js"
import * as Phones from "./routes/phones.js"
import * as UserIdentities from "./routes/userIdentities.js"
import * as Webhooks from "./routes/webhooks.js"

export type { Body, Kind, RequestContext, Route } from "./internal/route.js"

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
  ...Events.routes,
  ...Webhooks.routes,
  ...ClientSessions.routes,
  ...AccessGrants.routes,
  ...AccessMethods.routes,
  ...Entrances.routes
}
