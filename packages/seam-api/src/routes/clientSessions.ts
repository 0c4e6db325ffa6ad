/**
 * `/client_sessions/create|get_or_create|get|list|delete`: the token a phone app is given to log in
 * as one user identity (Seam's `client_session` resource, `seam_cst...` tokens).
 *
 * A session is a record in the workspace's store (`seam-client-session/<id>`, sensitive: its token
 * never appears in a message). `get_or_create` returns the live session of the same user identity
 * (or `user_identifier_key`) if there is one. Expiry defaults to 24 hours.
 *
 * This server issues and lists sessions; it does not yet accept their tokens as credentials (only
 * API keys authenticate), see the README.
 *
 * @internal
 */
import { randomBytes } from "node:crypto"
import { Clock, Effect, Option, Schema } from "effect"
import { iso, newId } from "../internal/ids.js"
import * as Rec from "../internal/records.js"
import { Id, IsoDate, identityOf, opt, orNotFound, port, type Route, route } from "../internal/route.js"
import { invalidField, notFound, type SeamError } from "../SeamError.js"
import type { Workspace } from "../Workspace.js"

const Session = Schema.Struct({
  client_session_id: Schema.String,
  token: Schema.String,
  user_identifier_key: Schema.NullOr(Schema.String),
  user_identity_id: Schema.NullOr(Schema.String),
  customer_key: Schema.optional(Schema.String),
  created_at: Schema.Number,
  expires_at: Schema.Number
})
type Session = typeof Session.Type

const Sessions = Rec.kind("seam-client-session", Session, { sensitive: true })

const DAY = 24 * 60 * 60 * 1000

const resource = (ws: Workspace, s: Session) => ({
  client_session_id: s.client_session_id,
  workspace_id: ws.id,
  created_at: iso(s.created_at),
  expires_at: iso(s.expires_at),
  token: s.token,
  user_identifier_key: s.user_identifier_key,
  device_count: 0,
  connected_account_ids: [ws.connectedAccountId],
  connect_webview_ids: [],
  user_identity_ids: s.user_identity_id === null ? [] : [s.user_identity_id],
  ...(s.user_identity_id === null ? {} : { user_identity_id: s.user_identity_id }),
  ...(s.customer_key === undefined ? {} : { customer_key: s.customer_key })
})

const Body = Schema.Struct({
  user_identity_id: opt(Id),
  user_identity_ids: opt(Schema.Array(Id)),
  user_identifier_key: opt(Schema.NonEmptyString),
  customer_key: opt(Schema.NonEmptyString),
  customer_id: opt(Schema.NonEmptyString),
  connected_account_ids: opt(Schema.Array(Id)),
  connect_webview_ids: opt(Schema.Array(Id)),
  expires_at: opt(IsoDate)
})
type Body = typeof Body.Type

/** Every check of a create, before anything is written; the session's subject. */
const checked = (ws: Workspace, input: Body) =>
  Effect.gen(function* () {
    if ((input.user_identity_ids ?? []).length > 1) {
      return yield* Effect.fail(invalidField("user_identity_ids", "A client session is for one user identity"))
    }
    if ((input.connect_webview_ids ?? []).length > 0) {
      return yield* Effect.fail(invalidField("connect_webview_ids", "Connect Webviews are not supported by this server"))
    }
    for (const id of input.connected_account_ids ?? []) {
      if (id !== ws.connectedAccountId) return yield* Effect.fail(invalidField("connected_account_ids", `Unknown connected account ${id}`))
    }
    if (input.customer_id !== undefined) return yield* Effect.fail(invalidField("customer_id", "Customers are not supported by this server"))
    const identityId = input.user_identity_id ?? input.user_identity_ids?.[0]
    if (input.user_identity_id !== undefined && input.user_identity_ids !== undefined && input.user_identity_ids[0] !== input.user_identity_id) {
      return yield* Effect.fail(invalidField("user_identity_ids", "user_identity_id and user_identity_ids name different identities"))
    }
    if (identityId === undefined && input.user_identifier_key === undefined) {
      return yield* Effect.fail(invalidField("user_identity_id", "user_identity_id or user_identifier_key is required"))
    }
    if (identityId !== undefined) yield* identityOf(ws, identityId)
    const now = yield* Clock.currentTimeMillis
    const expiresAt = input.expires_at === undefined ? now + DAY : Date.parse(input.expires_at)
    if (expiresAt <= now) return yield* Effect.fail(invalidField("expires_at", "expires_at must be in the future"))
    return { identityId: identityId ?? null, now, expiresAt }
  })

const create = (ws: Workspace, input: Body): Effect.Effect<Session, SeamError> =>
  Effect.gen(function* () {
    const { identityId, now, expiresAt } = yield* checked(ws, input)
    const session: Session = {
      client_session_id: newId(),
      token: `seam_cst${randomBytes(24).toString("base64url")}`,
      user_identifier_key: input.user_identifier_key ?? null,
      user_identity_id: identityId,
      ...(input.customer_key === undefined ? {} : { customer_key: input.customer_key }),
      created_at: now,
      expires_at: expiresAt
    }
    yield* port(Rec.create(ws.records, Sessions, session.client_session_id, session))
    return session
  })

const all = (ws: Workspace) => port(Effect.map(Rec.all(ws.records, Sessions), (rows) => rows.map((r) => r.value)))

const one = (ws: Workspace, id: string) =>
  Effect.flatMap(port(Rec.get(ws.records, Sessions, id)), (o) => orNotFound("client_session")(Option.getOrUndefined(Option.map(o, (r) => r.value))))

/**
 * The tokens of the user identities' live client sessions (the latest of each), read in one pass:
 * what an Access Grant's mobile key hands the phone app.
 */
export const liveTokens = (ws: Workspace): Effect.Effect<(identityId: string) => string | undefined, SeamError> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const latest = new Map<string, Session>()
    for (const s of yield* all(ws)) {
      if (s.user_identity_id === null || s.expires_at <= now) continue
      const seen = latest.get(s.user_identity_id)
      if (seen === undefined || s.created_at > seen.created_at) latest.set(s.user_identity_id, s)
    }
    return (identityId) => latest.get(identityId)?.token
  })

/** Make sure the user identity has a live client session (a new one lasts 24 hours). */
export const ensureFor = (ws: Workspace, identityId: string): Effect.Effect<void, SeamError> =>
  Effect.gen(function* () {
    const token = (yield* liveTokens(ws))(identityId)
    if (token === undefined) yield* create(ws, { user_identity_id: identityId })
  })

/** The client session routes. */
export const routes: Record<string, Route> = {
  "/client_sessions/create": route("write", Body, ({ ws }, input) =>
    Effect.map(create(ws, input), (s) => ({ client_session: resource(ws, s) }))
  ),
  "/client_sessions/get_or_create": route("write", Body, ({ ws }, input) =>
    ws.exclusive(
      Effect.gen(function* () {
        const { identityId, now } = yield* checked(ws, input)
        const live = (yield* all(ws)).find(
          (s) =>
            s.expires_at > now &&
            (identityId === null ? s.user_identity_id === null : s.user_identity_id === identityId) &&
            s.user_identifier_key === (input.user_identifier_key ?? null)
        )
        return { client_session: resource(ws, live ?? (yield* create(ws, input))) }
      })
    )
  ),
  "/client_sessions/get": route("read", Schema.Struct({ client_session_id: Id }), ({ ws }, input) =>
    Effect.map(one(ws, input.client_session_id), (s) => ({ client_session: resource(ws, s) }))
  ),
  "/client_sessions/list": route(
    "read",
    Schema.Struct({ user_identity_id: opt(Id), user_identifier_key: opt(Schema.String), client_session_id: opt(Id) }),
    ({ ws }, input) =>
      Effect.map(all(ws), (sessions) => ({
        client_sessions: sessions
          .filter((s) => input.user_identity_id === undefined || s.user_identity_id === input.user_identity_id)
          .filter((s) => input.user_identifier_key === undefined || s.user_identifier_key === input.user_identifier_key)
          .filter((s) => input.client_session_id === undefined || s.client_session_id === input.client_session_id)
          .sort((a, b) => a.created_at - b.created_at)
          .map((s) => resource(ws, s))
      }))
  ),
  "/client_sessions/delete": route("delete", Schema.Struct({ client_session_id: Id }), ({ ws }, input) =>
    Effect.gen(function* () {
      const found = yield* port(Rec.get(ws.records, Sessions, input.client_session_id))
      if (Option.isNone(found)) return yield* Effect.fail(notFound("client_session"))
      yield* port(Rec.remove(ws.records, Sessions, input.client_session_id, found.value.version))
      return {}
    })
  )
}
