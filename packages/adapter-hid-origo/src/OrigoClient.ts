/**
 * A client for the HID Origo Mobile Identities v2.2 REST API: OAuth2 client-credentials tokens,
 * the Application-ID headers and vendor media type, typed decoding of every answer, HID's request budget
 * spent by priority (issue and revoke before the engine's reads, those before polling), event filters and
 * callback registrations, and errors mapped onto the core's closed `PortError` reasons (the vendor error kept
 * as `cause`).
 *
 * @since 0.1.0
 */
import { PortError } from "@credsync/core"
import { Clock, Config, Context, Effect, Layer, Option, Redacted, Ref, Schema, Semaphore } from "effect"
import * as Limiter from "./internal/limiter.js"
import { type SendFailure, send } from "./internal/transport.js"
import * as Wire from "./internal/wire.js"

// ---------------------------------------------------------------------------------------------- config

/** Base URLs of one HID environment. `mi` includes `/credential-management`. `events` serves event filters,
 *  `callbacks` callback registrations. */
export interface Endpoints {
  readonly idp: string
  readonly mi: string
  readonly events?: string | undefined
  readonly callbacks?: string | undefined
}

/**
 * Base URLs of HID's `cert` and `production` environments (identity provider, Mobile Identities, events, callbacks).
 *
 * @since 0.1.0
 */
export const environments = {
  production: {
    idp: "https://api.origo.hidglobal.com",
    mi: "https://ma.api.assaabloy.com/credential-management",
    events: "https://event.api.origo.hidglobal.com",
    callbacks: "https://callback.api.origo.hidglobal.com"
  },
  cert: {
    idp: "https://api.cert.origo.hidglobal.com",
    mi: "https://cert.mi.api.origo.hidglobal.com/credential-management",
    events: "https://event.api.cert.origo.hidglobal.com",
    callbacks: "https://callback.api.cert.origo.hidglobal.com"
  }
} as const satisfies Record<string, Endpoints>

/**
 * Everything the HID Origo client needs: credentials, application headers, environment and, optionally, explicit base URLs.
 *
 * @since 0.1.0
 */
export interface OrigoConfig {
  /** `{organizationId}-OSRV...`; the organization id is the text before the first `-`. */
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  /** HID-issued, e.g. `HID-PARTNER-SOLUTION`. */
  readonly applicationId: string
  readonly applicationVersion: string
  readonly environment: "cert" | "production" | Endpoints
  /** Overrides the id derived from `clientId`. */
  readonly organizationId?: string | undefined
  /** Per request, ms. Default 30 s. */
  readonly timeoutMs?: number | undefined
  /** Refresh a token this long before it expires, ms. Default 60 s. */
  readonly refreshSkewMs?: number | undefined
  /** HID's request budget, kept on this side. Default: see {@link RateLimit}. */
  readonly rateLimit?: RateLimit | undefined
}

/**
 * How the client spends HID's request budget: at most `limit` requests per `windowMs` to the MI API (HID: 300
 * per 5 minutes per source; the events and callbacks hosts are counted apart with the same numbers).
 * Requests are ranked: `high` (createUser and the externalId search behind it, invitations, issue, revoke,
 * removing an endpoint) may use the whole window, `normal` (the engine's reads of a user) `shares.normal` of
 * it (default 0.9), `low` (polling, the part-number catalogue) `shares.low` (default 0.7).
 *
 * `onLimit`: `"fail"` (default) answers `RateLimited` with `retryAfter` at once, without calling HID; the
 * engine re-queues the work for then, so no engine fiber sits waiting and no call runs into the engine's call
 * timeout. `"wait"` waits for a slot on the Effect clock (for scripts calling the client directly).
 */
export interface RateLimit {
  readonly limit: number
  readonly windowMs: number
  readonly onLimit?: "wait" | "fail" | undefined
  readonly shares?: { readonly low?: number | undefined; readonly normal?: number | undefined } | undefined
}

/** Request priorities, highest first. */
export type Priority = Limiter.Priority

// ---------------------------------------------------------------------------------------------- model

/**
 * A credential as HID Origo reports it on a credential container (its id, part number, status and card number).
 *
 * @since 0.1.0
 */
export interface OrigoCredential {
  readonly id: string
  readonly partNumber: string
  readonly status: string
  readonly cardNumber: string | undefined
}

/**
 * A credential container (HID's endpoint): one enrolled install of the app on a phone.
 *
 * @since 0.1.0
 */
export interface OrigoContainer {
  readonly id: string
  readonly status: string
  readonly invitationId: string | undefined
  readonly credentials: ReadonlyArray<OrigoCredential>
}

/**
 * An invitation whose code the phone app redeems with HID's mobile SDK.
 *
 * @since 0.1.0
 */
export interface OrigoInvitation {
  readonly id: string
  readonly code: string
  readonly status: string
  readonly expiresAt: number | undefined
}

/** A user with the inventory `GET /users/{id}` returns (empty arrays in search results). */
export interface OrigoUser {
  readonly id: string
  readonly externalId: string | undefined
  readonly emails: ReadonlyArray<string>
  readonly status: string | undefined
  readonly invitations: ReadonlyArray<OrigoInvitation>
  readonly containers: ReadonlyArray<OrigoContainer>
}

/**
 * The HID users credsync manages, as this process met them (created or found by the port, read by it):
 * HID user id → identity id (the user's `externalId`). The event intake resolves callbacks with it without
 * asking HID. Plain in-memory state: a restarted process fills it again as the engine observes its users.
 */
export interface UserDirectory {
  readonly identityOf: (hidUserId: string) => string | undefined
  readonly remember: (hidUserId: string, identity: string) => void
  readonly forget: (hidUserId: string) => void
  readonly size: () => number
}

/** An event filter: the event statuses it selects (e.g. `CREDENTIAL_ISSUED`). */
export interface EventFilter {
  readonly id: string
  readonly filterSet: ReadonlyArray<string>
}

/** A callback registration as HID lists it (HID never reads the API key back). */
export interface CallbackRegistration {
  readonly id: string
  readonly url: string
  readonly filterId: string | undefined
  readonly authenticationType: string | undefined
}

/**
 * One page of an organization's users (SCIM listing).
 *
 * @since 0.1.0
 */
export interface UserPage {
  readonly totalResults: number
  readonly startIndex: number
  readonly users: ReadonlyArray<OrigoUser>
}

/**
 * A part number of the organization: the card product a credential is issued from.
 *
 * @since 0.1.0
 */
export interface OrigoPartNumber {
  readonly id: string
  readonly partNumber: string
  readonly friendlyName: string | undefined
  readonly availableQty: number | undefined
  readonly nextNumber: number | undefined
  /** programmingData "facility code". */
  readonly facilityCode: string | undefined
  /** programmingData "format_number", e.g. `TRK-H10301`. */
  readonly formatNumber: string | undefined
}

/** What creating a HID user takes: the external id (the identity id) and optional name and email. */
export interface NewUser {
  readonly externalId: string
  readonly email?: string | undefined
  readonly givenName?: string | undefined
  readonly familyName?: string | undefined
}

/**
 * The HID Origo Mobile Identities v2.2 calls the adapter uses, each an Effect failing with `PortError`.
 *
 * @since 0.1.0
 */
export interface OrigoClientShape {
  readonly organizationId: string
  readonly endpoints: Endpoints
  /** HID users credsync manages, met by this client's port; see {@link UserDirectory}. */
  readonly users: UserDirectory
  /** Requests counted against HID's MI budget in the current window. */
  readonly budgetUsed: Effect.Effect<number>
  /** `POST /users`. A second user with the same email is refused (409 `DUPLICATE_USER`, a Conflict). */
  readonly createUser: (user: NewUser) => Effect.Effect<OrigoUser, PortError.PortError>
  /** `GET /users/{id}`: the user with its invitations, containers and credentials. Priority `normal` by default. */
  readonly getUser: (id: string, options?: { readonly priority?: Priority | undefined }) => Effect.Effect<OrigoUser, PortError.PortError>
  /** One page of `POST /users/.search`; `startIndex` is 1-based. */
  readonly searchUsers: (
    filter: string,
    page?: { readonly startIndex?: number; readonly count?: number }
  ) => Effect.Effect<UserPage, PortError.PortError>
  /** Every page of a search. */
  readonly searchAllUsers: (filter: string, pageSize?: number) => Effect.Effect<ReadonlyArray<OrigoUser>, PortError.PortError>
  /**
   * `DELETE /users/{id}`. HID deletes asynchronously: the user reads `DELETE_INITIATED` (its invitations
   * cancelled, credentials revoking, containers inactive) until HID reports `USER_DELETED`; then 404.
   */
  readonly deleteUser: (id: string) => Effect.Effect<void, PortError.PortError>
  /** Creates an invitation code; with `partNumber` a Mobile ID is reserved and delivered on redemption. */
  readonly createInvitation: (
    userId: string,
    options?: { readonly partNumber?: string | undefined }
  ) => Effect.Effect<OrigoInvitation, PortError.PortError>
  readonly getInvitation: (id: string) => Effect.Effect<OrigoInvitation, PortError.PortError>
  readonly cancelInvitation: (id: string) => Effect.Effect<void, PortError.PortError>
  readonly listContainers: (userId: string) => Effect.Effect<ReadonlyArray<OrigoContainer>, PortError.PortError>
  readonly getContainer: (id: string) => Effect.Effect<OrigoContainer, PortError.PortError>
  readonly deleteContainer: (id: string) => Effect.Effect<void, PortError.PortError>
  readonly listPartNumbers: () => Effect.Effect<ReadonlyArray<OrigoPartNumber>, PortError.PortError>
  readonly getPartNumber: (id: string) => Effect.Effect<OrigoPartNumber, PortError.PortError>
  /** `POST /credential-container/{id}/credential` from a part number. 412 (already delivered) → Conflict. */
  readonly issueCredential: (containerId: string, partNumber: string) => Effect.Effect<OrigoCredential, PortError.PortError>
  readonly getCredential: (id: string) => Effect.Effect<OrigoCredential, PortError.PortError>
  /** `DELETE /credential/{id}`. 412 (already revoking / revoked) → Conflict. */
  readonly revokeCredential: (id: string) => Effect.Effect<void, PortError.PortError>
  /** `POST {events}/organization/{org}/events/filter` with `{filterSet}`: a filter of event statuses. */
  readonly createFilter: (filterSet: ReadonlyArray<string>) => Effect.Effect<EventFilter, PortError.PortError>
  readonly listFilters: () => Effect.Effect<ReadonlyArray<EventFilter>, PortError.PortError>
  /** ASSUMPTION: `DELETE .../events/filter/{id}` (public code shows only create, list and get). */
  readonly deleteFilter: (id: string) => Effect.Effect<void, PortError.PortError>
  /**
   * `POST {callbacks}/organization/{org}/callback` with `{url, filterId, authenticationType: "X-API-Key", apiKey}`:
   * HID posts the events the filter selects to `url`, with the key in an `X-API-Key` header.
   */
  readonly registerCallback: (registration: {
    readonly url: string
    readonly filterId: string
    readonly apiKey: Redacted.Redacted<string>
  }) => Effect.Effect<CallbackRegistration, PortError.PortError>
  readonly listCallbacks: () => Effect.Effect<ReadonlyArray<CallbackRegistration>, PortError.PortError>
  /** ASSUMPTION: `DELETE .../callback/{id}` answers 204 (HID's v1.0 callback registrations did). 404 is done. */
  readonly deleteCallback: (id: string) => Effect.Effect<void, PortError.PortError>
}

/**
 * Service tag of the HID Origo HTTP client.
 *
 * @since 0.1.0
 */
export class OrigoClient extends Context.Service<OrigoClient, OrigoClientShape>()("@credsync/adapter-hid-origo/OrigoClient") {}

// ---------------------------------------------------------------------------------------------- helpers

const fail = (
  reason: PortError.Reason,
  method: string,
  message: string,
  extra: { readonly cause?: unknown; readonly retryAfter?: number | undefined } = {}
) =>
  new PortError.PortError({
    reason,
    port: "CredentialManager",
    method,
    message,
    ...(extra.retryAfter === undefined ? {} : { retryAfter: extra.retryAfter }),
    ...(extra.cause === undefined ? {} : { cause: extra.cause })
  })

const idOf = (id: number | string | undefined, location: string | undefined): string =>
  id !== undefined ? String(id) : (location?.split("/").filter((s) => s !== "").at(-1) ?? "")

const toMillis = (iso: string | undefined): number | undefined => {
  if (iso === undefined) return undefined
  const t = Date.parse(iso)
  return Number.isNaN(t) ? undefined : t
}

const toCredential = (c: Wire.Credential): OrigoCredential => ({
  id: String(c.id),
  partNumber: c.partNumber,
  status: c.status,
  cardNumber: c.cardNumber === undefined ? undefined : String(c.cardNumber)
})

const toInvitation = (i: Wire.Invitation): OrigoInvitation => ({
  id: String(i.id),
  code: i.invitationCode,
  status: i.status,
  expiresAt: toMillis(i.expirationDate)
})

const toContainer = (c: Wire.Container): OrigoContainer => ({
  id: String(c.id),
  status: c.status,
  invitationId: c.invitationId === undefined ? undefined : String(c.invitationId),
  credentials: (c[Wire.URN.credential] ?? []).map(toCredential)
})

const toUser = (u: Wire.User): OrigoUser => ({
  id: idOf(u.id, u.meta?.location),
  externalId: u.externalId,
  emails: (u.emails ?? []).map((e) => e.value),
  status: u.status,
  invitations: (u[Wire.URN.invitation] ?? []).map(toInvitation),
  containers: (u[Wire.URN.container] ?? []).map(toContainer)
})

const programming = (p: Wire.PartNumber, key: string): string | undefined => {
  const v = p.programmingData?.[key]
  return typeof v === "string" || typeof v === "number" ? String(v) : undefined
}

const toPartNumber = (p: Wire.PartNumber): OrigoPartNumber => ({
  id: p.id,
  partNumber: p.partNumber,
  friendlyName: p.friendlyName,
  availableQty: p.availableQty,
  nextNumber: p.nextNumber,
  facilityCode: programming(p, "facility code"),
  formatNumber: programming(p, "format_number")
})

const retryAfterHeader = (headers: Headers, now: number): number | undefined => {
  const v = headers.get("retry-after")
  if (v === null) return undefined
  const seconds = Number(v)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(v)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

const decodeScimError = Schema.decodeUnknownOption(Wire.ScimError)

// ---------------------------------------------------------------------------------------------- make

const makeDirectory = (): UserDirectory => {
  const byUser = new Map<string, string>()
  return {
    identityOf: (id) => byUser.get(id),
    remember: (id, identity) => {
      byUser.set(id, identity)
    },
    forget: (id) => {
      byUser.delete(id)
    },
    size: () => byUser.size
  }
}

const toFilter = (f: Wire.EventFilter): EventFilter => ({ id: String(f.id), filterSet: f.filterSet })

const toRegistration = (r: Wire.CallbackRegistration): CallbackRegistration => ({
  id: String(r.id),
  url: r.url,
  filterId: r.filterId === undefined ? undefined : String(r.filterId),
  authenticationType: r.authenticationType
})

/** Builds the client. Tokens are fetched lazily on first use. */
export const make = Effect.fnUntraced(function* (config: OrigoConfig) {
  const endpoints: Endpoints = typeof config.environment === "string" ? environments[config.environment] : config.environment
  const organizationId = config.organizationId ?? config.clientId.split("-")[0] ?? config.clientId
  const timeoutMs = config.timeoutMs ?? 30_000
  const skew = config.refreshSkewMs ?? 60_000
  const rate = config.rateLimit ?? { limit: 300, windowMs: 300_000 }
  const shares: Limiter.Shares = {
    low: rate.shares?.low ?? Limiter.defaultShares.low,
    normal: rate.shares?.normal ?? Limiter.defaultShares.normal
  }
  const onLimit = rate.onLimit ?? "fail"
  // MI, and the events and callbacks hosts (documented with their own 300 per 5 minutes), are budgeted apart.
  const miLimiter = yield* Limiter.make(rate.limit, rate.windowMs, onLimit, shares)
  const eventsLimiter = yield* Limiter.make(rate.limit, rate.windowMs, onLimit, shares)
  const tokenRef = yield* Ref.make<Option.Option<{ readonly token: Redacted.Redacted<string>; readonly expiresAt: number }>>(Option.none())
  const tokenLock = yield* Semaphore.make(1)
  const miBase = `${endpoints.mi.replace(/\/$/, "")}/customer/${encodeURIComponent(organizationId)}`

  const fetchToken = Effect.gen(function* () {
    const url = `${endpoints.idp.replace(/\/$/, "")}/authentication/customer/${encodeURIComponent(organizationId)}/token`
    const body = new URLSearchParams({
      client_id: config.clientId,
      client_secret: Redacted.value(config.clientSecret),
      grant_type: "client_credentials"
    }).toString()
    const res = yield* send({
      method: "POST",
      url,
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body,
      timeoutMs
    }).pipe(Effect.mapError((e) => fail("Transient", "token", `HID Origo token request failed (${e.stage})`, { cause: e })))
    const now = yield* Clock.currentTimeMillis
    if (res.status === 403 || res.status === 429) {
      return yield* fail("RateLimited", "token", "HID Origo token endpoint rate limit", {
        retryAfter: retryAfterHeader(res.headers, now) ?? 60_000,
        cause: res.body
      })
    }
    if (res.status >= 500) return yield* fail("Transient", "token", `HID Origo token endpoint answered ${res.status}`, { cause: res.body })
    if (res.status !== 200) {
      // The body names the OAuth error (invalid_client...); it never echoes the secret.
      return yield* fail("Unauthorized", "token", `HID Origo rejected the client credentials (${res.status})`, { cause: res.body })
    }
    const token = yield* Schema.decodeUnknownEffect(Wire.Token)(res.body).pipe(
      Effect.mapError((e) => fail("Unknown", "token", `Unexpected token response: ${e.message}`))
    )
    const entry = { token: Redacted.make(token.access_token), expiresAt: now + token.expires_in * 1000 }
    yield* Ref.set(tokenRef, Option.some(entry))
    return entry.token
  })

  /** A valid token; `stale` is the one a 401 came back for: replaced unless someone already did. */
  const getToken = (stale?: Redacted.Redacted<string>) =>
    tokenLock.withPermits(1)(
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const cached = yield* Ref.get(tokenRef)
        if (Option.isSome(cached) && cached.value.token !== stale && now < cached.value.expiresAt - skew) return cached.value.token
        return yield* fetchToken
      })
    )

  const request = <S extends Schema.Top = typeof Schema.Unknown>(
    method: string,
    op: string,
    path: string,
    options: {
      readonly body?: unknown
      readonly schema?: S
      readonly base?: string
      readonly json?: boolean
      /** Default: `high` for changes, `normal` for reads. */
      readonly priority?: Priority | undefined
    } = {}
  ): Effect.Effect<S["Type"] | undefined, PortError.PortError, S["DecodingServices"]> =>
    Effect.gen(function* () {
      const mutating = method !== "GET"
      const url = `${options.base ?? miBase}${path}`
      const mediaType = options.json ? "application/json" : Wire.MEDIA_TYPE
      const limiter = options.base === undefined ? miLimiter : eventsLimiter
      const priority = options.priority ?? (mutating ? "high" : "normal")
      const attempt = (token: Redacted.Redacted<string>) =>
        Effect.gen(function* () {
          const wait = yield* limiter.acquire(priority)
          if (wait > 0) {
            return yield* fail("RateLimited", op, `HID Origo request budget reached for ${priority}-priority requests`, { retryAfter: wait })
          }
          const headers: Record<string, string> = {
            authorization: `Bearer ${Redacted.value(token)}`,
            "application-id": config.applicationId,
            "application-version": config.applicationVersion,
            accept: mediaType
          }
          if (options.body !== undefined) headers["content-type"] = mediaType
          return yield* send({
            method,
            url,
            headers,
            body: options.body === undefined ? undefined : JSON.stringify(options.body),
            timeoutMs
          }).pipe(Effect.mapError((e: SendFailure) => transportError(op, method, path, mutating, e)))
        })
      const token = yield* getToken()
      let res = yield* attempt(token)
      if (res.status === 401) {
        // One refresh, one retry: a 401 usually means the token expired early or was revoked.
        res = yield* attempt(yield* getToken(token))
      }
      if (res.status >= 200 && res.status < 300) {
        if (!options.schema) return undefined
        return yield* Schema.decodeUnknownEffect(options.schema)(res.body).pipe(
          Effect.mapError((e) => fail("Unknown", op, `Unexpected HID Origo response to ${method} ${path}: ${e.message}`, { cause: res.body }))
        )
      }
      const vendor = decodeScimError(res.body)
      const detail = Option.isSome(vendor) && vendor.value.detail ? `: ${vendor.value.detail}` : ""
      const message = `HID Origo ${method} ${path} answered ${res.status}${detail}`
      const cause = res.body
      const now = yield* Clock.currentTimeMillis
      switch (true) {
        case res.status === 400 || res.status === 406 || res.status === 415 || res.status === 422:
          return yield* fail("InvalidInput", op, message, { cause })
        case res.status === 401:
          return yield* fail("Unauthorized", op, message, { cause })
        case res.status === 403 || res.status === 429: {
          // HID answers 403 (not 429) when the per-source limit is exceeded; no Retry-After is documented.
          // Other users of the same source may have spent the budget: stop everyone here until then.
          const retryAfter = retryAfterHeader(res.headers, now) ?? Math.max(5_000, yield* limiter.estimate("high"))
          yield* limiter.pause(retryAfter)
          return yield* fail("RateLimited", op, message, { cause, retryAfter })
        }
        case res.status === 404:
          return yield* fail("NotFound", op, message, { cause })
        case res.status === 409 || res.status === 412:
          return yield* fail("Conflict", op, message, { cause })
        case res.status >= 500:
          return yield* fail("Transient", op, message, { cause })
        default:
          return yield* fail("Unknown", op, message, { cause })
      }
    })

  const required = <S extends Schema.Top>(
    method: string,
    op: string,
    path: string,
    schema: S,
    options: { readonly body?: unknown; readonly priority?: Priority | undefined; readonly base?: string; readonly json?: boolean } = {}
  ): Effect.Effect<S["Type"], PortError.PortError, S["DecodingServices"]> =>
    request(method, op, path, { ...options, schema }).pipe(
      Effect.flatMap((a) => (a === undefined ? Effect.fail(fail("Unknown", op, `Empty HID Origo response to ${method} ${path}`)) : Effect.succeed(a)))
    )

  const first = <A>(op: string, items: ReadonlyArray<A> | undefined): Effect.Effect<A, PortError.PortError> =>
    items && items.length > 0 ? Effect.succeed(items[0]!) : Effect.fail(fail("Unknown", op, "HID Origo answered an empty list"))

  const seg = encodeURIComponent

  const searchUsers: OrigoClientShape["searchUsers"] = (filter, page = {}) =>
    required("POST", "searchUsers", "/users/.search", Wire.UserList, {
      // a search is how a user is found before (or after an unconfirmed) create: ranked with the create
      priority: "high",
      body: {
        schemas: [Wire.URN.searchRequest],
        filter,
        sortOrder: "ascending",
        // SCIM is 1-based (public clients send 1)
        startIndex: page.startIndex ?? 1,
        count: page.count ?? 20
      }
    }).pipe(
      Effect.map((l) => ({
        totalResults: l.totalResults,
        startIndex: l.startIndex ?? page.startIndex ?? 1,
        users: (l.Resources ?? []).map(toUser)
      }))
    )

  const eventsBase = (op: string, which: "events" | "callbacks"): Effect.Effect<string, PortError.PortError> => {
    const base = endpoints[which]
    return base === undefined
      ? Effect.fail(fail("InvalidInput", op, `No ${which} base URL in this HID Origo environment`))
      : Effect.succeed(`${base.replace(/\/$/, "")}/organization/${seg(organizationId)}`)
  }

  const client: OrigoClientShape = {
    organizationId,
    endpoints,
    users: makeDirectory(),
    budgetUsed: miLimiter.used,
    createUser: (user) =>
      required("POST", "createUser", "/users", Wire.User, {
        body: {
          schemas: [Wire.URN.user],
          externalId: user.externalId,
          ...(user.givenName || user.familyName ? { name: { givenName: user.givenName ?? "", familyName: user.familyName ?? "" } } : {}),
          ...(user.email ? { emails: [{ value: user.email }] } : {}),
          meta: { resourceType: "PACSUser" }
        }
      }).pipe(Effect.map(toUser)),
    getUser: (id, options = {}) =>
      required("GET", "getUser", `/users/${seg(id)}`, Wire.User, { priority: options.priority }).pipe(Effect.map(toUser)),
    searchUsers,
    searchAllUsers: (filter, pageSize = 100) =>
      Effect.gen(function* () {
        const all: Array<OrigoUser> = []
        for (let start = 1; ; ) {
          const page = yield* searchUsers(filter, { startIndex: start, count: pageSize })
          all.push(...page.users)
          start += page.users.length
          if (page.users.length === 0 || start > page.totalResults) return all
        }
      }),
    deleteUser: (id) => request("DELETE", "deleteUser", `/users/${seg(id)}`).pipe(Effect.asVoid),
    createInvitation: (userId, options = {}) =>
      required("POST", "createInvitation", `/users/${seg(userId)}/invitation`, Wire.InvitationEnvelope, {
        body: {
          schemas: [Wire.URN.userAction],
          [Wire.URN.userAction]: {
            createInvitationCode: "Y",
            sendInvitationEmail: "N",
            assignCredential: options.partNumber ? "Y" : "N",
            partNumber: options.partNumber ?? "",
            credential: ""
          },
          meta: { resourceType: "PACSUser" }
        }
      }).pipe(
        Effect.flatMap((e) => first("createInvitation", e[Wire.URN.invitation])),
        Effect.map(toInvitation)
      ),
    getInvitation: (id) =>
      // read while cancelling an invitation: ranked with the cancel
      required("GET", "getInvitation", `/invitation/${seg(id)}`, Wire.InvitationEnvelope, { priority: "high" }).pipe(
        Effect.flatMap((e) => first("getInvitation", e[Wire.URN.invitation])),
        Effect.map(toInvitation)
      ),
    cancelInvitation: (id) => request("DELETE", "cancelInvitation", `/invitation/${seg(id)}`).pipe(Effect.asVoid),
    listContainers: (userId) =>
      required("GET", "listContainers", `/users/${seg(userId)}/credential-container`, Wire.ContainerEnvelope).pipe(
        Effect.map((e) => e[Wire.URN.container].map(toContainer))
      ),
    getContainer: (id) =>
      required("GET", "getContainer", `/credential-container/${seg(id)}`, Wire.ContainerEnvelope).pipe(
        Effect.flatMap((e) => first("getContainer", e[Wire.URN.container])),
        Effect.map(toContainer)
      ),
    deleteContainer: (id) => request("DELETE", "deleteContainer", `/credential-container/${seg(id)}`).pipe(Effect.asVoid),
    listPartNumbers: () =>
      required("GET", "listPartNumbers", "/part-number", Wire.PartNumberList, { priority: "low" }).pipe(
        Effect.map((l) => (l.Resources ?? []).map((p) => toPartNumber({ ...p, id: idOf(p.id, p.meta?.location) })))
      ),
    getPartNumber: (id) =>
      required("GET", "getPartNumber", `/part-number/${seg(id)}`, Wire.PartNumberEnvelope, { priority: "low" }).pipe(
        Effect.flatMap((e) => first("getPartNumber", e[Wire.URN.partNumber])),
        Effect.map(toPartNumber)
      ),
    issueCredential: (containerId, partNumber) =>
      required("POST", "issueCredential", `/credential-container/${seg(containerId)}/credential`, Wire.CredentialEnvelope, {
        body: {
          schemas: [Wire.URN.userAction],
          [Wire.URN.userAction]: { assignCredential: "Y", partNumber, credential: "" }
        }
      }).pipe(
        Effect.flatMap((e) => first("issueCredential", e[Wire.URN.credential])),
        Effect.map(toCredential)
      ),
    getCredential: (id) =>
      required("GET", "getCredential", `/credential/${seg(id)}`, Wire.CredentialEnvelope).pipe(
        Effect.flatMap((e) => first("getCredential", e[Wire.URN.credential])),
        Effect.map(toCredential)
      ),
    revokeCredential: (id) => request("DELETE", "revokeCredential", `/credential/${seg(id)}`).pipe(Effect.asVoid),
    createFilter: (filterSet) =>
      Effect.flatMap(eventsBase("createFilter", "events"), (base) =>
        required("POST", "createFilter", "/events/filter", Wire.EventFilter, { base, json: true, body: { filterSet } })
      ).pipe(Effect.map(toFilter)),
    listFilters: () =>
      Effect.flatMap(eventsBase("listFilters", "events"), (base) =>
        required("GET", "listFilters", "/events/filter", Wire.EventFilterList, { base, json: true })
      ).pipe(Effect.map((l) => l.map(toFilter))),
    deleteFilter: (id) =>
      Effect.flatMap(eventsBase("deleteFilter", "events"), (base) =>
        request("DELETE", "deleteFilter", `/events/filter/${seg(id)}`, { base, json: true })
      ).pipe(Effect.asVoid),
    registerCallback: (registration) =>
      Effect.flatMap(eventsBase("registerCallback", "callbacks"), (base) =>
        required("POST", "registerCallback", "/callback", Wire.CallbackRegistration, {
          base,
          json: true,
          body: {
            url: registration.url,
            filterId: registration.filterId,
            authenticationType: "X-API-Key",
            apiKey: Redacted.value(registration.apiKey)
          }
        })
      ).pipe(Effect.map(toRegistration)),
    listCallbacks: () =>
      Effect.flatMap(eventsBase("listCallbacks", "callbacks"), (base) =>
        required("GET", "listCallbacks", "/callback", Wire.CallbackRegistrationList, { base, json: true })
      ).pipe(Effect.map((l) => l.map(toRegistration))),
    deleteCallback: (id) =>
      Effect.flatMap(eventsBase("deleteCallback", "callbacks"), (base) =>
        request("DELETE", "deleteCallback", `/callback/${seg(id)}`, { base, json: true })
      ).pipe(
        Effect.catchIf((e) => e.reason === "NotFound", () => Effect.void),
        Effect.asVoid
      )
  }
  return client
})

const transportError = (op: string, method: string, path: string, mutating: boolean, e: SendFailure): PortError.PortError => {
  if (e.stage === "BeforeSend") return fail("Transient", op, `HID Origo ${method} ${path}: connection failed before sending`, { cause: e.cause })
  // After the request left, a mutating call may have been applied: only observing can tell.
  const what = e.stage === "Timeout" ? "timed out" : "lost the connection"
  return fail(mutating ? "Ambiguous" : "Transient", op, `HID Origo ${method} ${path} ${what} after sending`, { cause: e.cause })
}

// ---------------------------------------------------------------------------------------------- layers

/**
 * The HID Origo client as a layer, from an explicit configuration (see `layerConfig` to read it from the environment).
 *
 * @since 0.1.0
 */
export const layer = (config: OrigoConfig): Layer.Layer<OrigoClient> => Layer.effect(OrigoClient, make(config))

/**
 * Reads `HID_ORIGO_CLIENT_ID`, `HID_ORIGO_CLIENT_SECRET` (redacted), `HID_ORIGO_APPLICATION_ID`,
 * `HID_ORIGO_APPLICATION_VERSION`, `HID_ORIGO_ENVIRONMENT` (`cert` | `production` | `custom`, default `cert`)
 * and, for `custom`, `HID_ORIGO_IDP_URL`, `HID_ORIGO_MI_URL`, `HID_ORIGO_EVENTS_URL`, `HID_ORIGO_CALLBACKS_URL`.
 *
 * @since 0.1.0
 */
export const config: Config.Config<OrigoConfig> = Config.all({
  clientId: Config.NonEmptyString("HID_ORIGO_CLIENT_ID"),
  clientSecret: Config.Redacted("HID_ORIGO_CLIENT_SECRET"),
  applicationId: Config.NonEmptyString("HID_ORIGO_APPLICATION_ID"),
  applicationVersion: Config.NonEmptyString("HID_ORIGO_APPLICATION_VERSION"),
  environment: Config.Literals(["cert", "production", "custom"], "HID_ORIGO_ENVIRONMENT").pipe(Config.withDefault("cert")),
  organizationId: Config.option(Config.NonEmptyString("HID_ORIGO_ORGANIZATION_ID"))
}).pipe(
  Config.flatMap((c): Config.Config<OrigoConfig> => {
    const common = {
      clientId: c.clientId,
      clientSecret: c.clientSecret,
      applicationId: c.applicationId,
      applicationVersion: c.applicationVersion,
      organizationId: Option.getOrUndefined(c.organizationId)
    }
    if (c.environment !== "custom") return Config.succeed({ ...common, environment: c.environment })
    // Custom base URLs are required only when the environment says so.
    return Config.all({
      idp: Config.NonEmptyString("HID_ORIGO_IDP_URL"),
      mi: Config.NonEmptyString("HID_ORIGO_MI_URL"),
      events: Config.option(Config.NonEmptyString("HID_ORIGO_EVENTS_URL")),
      callbacks: Config.option(Config.NonEmptyString("HID_ORIGO_CALLBACKS_URL"))
    }).pipe(
      Config.map((u) => ({
        ...common,
        environment: { idp: u.idp, mi: u.mi, events: Option.getOrUndefined(u.events), callbacks: Option.getOrUndefined(u.callbacks) }
      }))
    )
  })
)

/**
 * The client configured from `config` (environment variables by default; any ConfigProvider works).
 *
 * @since 0.1.0
 */
export const layerConfig = (): Layer.Layer<OrigoClient, Config.ConfigError> =>
  Layer.effect(
    OrigoClient,
    Effect.gen(function* () {
      const c = yield* config
      return yield* make(c)
    })
  )
