/**
 * A client for the HID Origo Mobile Identities v2.2 REST API: OAuth2 client-credentials tokens,
 * the Application-ID headers and vendor media type, typed decoding of every answer, a client-side rate
 * limiter, and errors mapped onto the core's closed `PortError` reasons (the vendor error kept as `cause`).
 *
 * @since 0.1.0
 */
import { PortError } from "@credsync/core"
import { Clock, Config, Context, Effect, Layer, Option, Redacted, Ref, Schema, Semaphore } from "effect"
import * as Limiter from "./internal/limiter.js"
import { type SendFailure, send } from "./internal/transport.js"
import * as Wire from "./internal/wire.js"

// ---------------------------------------------------------------------------------------------- config

/** Base URLs of one HID environment. `mi` includes `/credential-management`. */
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
  /** Client-side limiter. Default 300 requests / 5 min, waiting for a free slot. */
  readonly rateLimit?:
    | { readonly limit: number; readonly windowMs: number; readonly onLimit?: "wait" | "fail" | undefined }
    | undefined
}

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
  readonly createUser: (user: NewUser) => Effect.Effect<OrigoUser, PortError.PortError>
  readonly getUser: (id: string) => Effect.Effect<OrigoUser, PortError.PortError>
  /** One page of `POST /users/.search`; `startIndex` is 1-based. */
  readonly searchUsers: (
    filter: string,
    page?: { readonly startIndex?: number; readonly count?: number }
  ) => Effect.Effect<UserPage, PortError.PortError>
  /** Every page of a search. */
  readonly searchAllUsers: (filter: string, pageSize?: number) => Effect.Effect<ReadonlyArray<OrigoUser>, PortError.PortError>
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
  /**
   * Registers a callback URL. ASSUMPTION: `POST {callbacks}/organization/{org}/callback` with
   * `{url, filterSet, httpHeader: {name, value}}`; HID publishes this body only to partners.
   */
  readonly registerCallback: (registration: {
    readonly url: string
    readonly filterSet?: ReadonlyArray<string>
    readonly header?: { readonly name: string; readonly value: Redacted.Redacted<string> }
  }) => Effect.Effect<{ readonly id: string }, PortError.PortError>
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

/** Builds the client. Tokens are fetched lazily on first use. */
export const make = Effect.fnUntraced(function* (config: OrigoConfig) {
  const endpoints: Endpoints = typeof config.environment === "string" ? environments[config.environment] : config.environment
  const organizationId = config.organizationId ?? config.clientId.split("-")[0] ?? config.clientId
  const timeoutMs = config.timeoutMs ?? 30_000
  const skew = config.refreshSkewMs ?? 60_000
  const rate = config.rateLimit ?? { limit: 300, windowMs: 300_000 }
  const limiter = yield* Limiter.make(rate.limit, rate.windowMs, rate.onLimit ?? "wait")
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
    } = {}
  ): Effect.Effect<S["Type"] | undefined, PortError.PortError, S["DecodingServices"]> =>
    Effect.gen(function* () {
      const mutating = method !== "GET"
      const url = `${options.base ?? miBase}${path}`
      const mediaType = options.json ? "application/json" : Wire.MEDIA_TYPE
      const attempt = (token: Redacted.Redacted<string>) =>
        Effect.gen(function* () {
          const wait = yield* limiter.acquire
          if (wait > 0) return yield* fail("RateLimited", op, "Client-side HID Origo rate limit reached", { retryAfter: wait })
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
          const retryAfter = retryAfterHeader(res.headers, now) ?? Math.max(1000, yield* limiter.estimate)
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
    body?: unknown
  ): Effect.Effect<S["Type"], PortError.PortError, S["DecodingServices"]> =>
    request(method, op, path, body === undefined ? { schema } : { schema, body }).pipe(
      Effect.flatMap((a) => (a === undefined ? Effect.fail(fail("Unknown", op, `Empty HID Origo response to ${method} ${path}`)) : Effect.succeed(a)))
    )

  const first = <A>(op: string, items: ReadonlyArray<A> | undefined): Effect.Effect<A, PortError.PortError> =>
    items && items.length > 0 ? Effect.succeed(items[0]!) : Effect.fail(fail("Unknown", op, "HID Origo answered an empty list"))

  const seg = encodeURIComponent

  const searchUsers: OrigoClientShape["searchUsers"] = (filter, page = {}) =>
    required("POST", "searchUsers", "/users/.search", Wire.UserList, {
      schemas: [Wire.URN.searchRequest],
      filter,
      sortOrder: "ascending",
      startIndex: page.startIndex ?? 1,
      count: page.count ?? 20
    }).pipe(
      Effect.map((l) => ({
        totalResults: l.totalResults,
        startIndex: l.startIndex ?? page.startIndex ?? 1,
        users: (l.Resources ?? []).map(toUser)
      }))
    )

  const client: OrigoClientShape = {
    organizationId,
    endpoints,
    createUser: (user) =>
      required("POST", "createUser", "/users", Wire.User, {
        schemas: [Wire.URN.user],
        externalId: user.externalId,
        ...(user.givenName || user.familyName ? { name: { givenName: user.givenName ?? "", familyName: user.familyName ?? "" } } : {}),
        ...(user.email ? { emails: [{ value: user.email }] } : {}),
        meta: { resourceType: "PACSUser" }
      }).pipe(Effect.map(toUser)),
    getUser: (id) => required("GET", "getUser", `/users/${seg(id)}`, Wire.User).pipe(Effect.map(toUser)),
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
        schemas: [Wire.URN.userAction],
        [Wire.URN.userAction]: {
          createInvitationCode: "Y",
          sendInvitationEmail: "N",
          assignCredential: options.partNumber ? "Y" : "N",
          partNumber: options.partNumber ?? "",
          credential: ""
        },
        meta: { resourceType: "PACSUser" }
      }).pipe(
        Effect.flatMap((e) => first("createInvitation", e[Wire.URN.invitation])),
        Effect.map(toInvitation)
      ),
    getInvitation: (id) =>
      required("GET", "getInvitation", `/invitation/${seg(id)}`, Wire.InvitationEnvelope).pipe(
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
      required("GET", "listPartNumbers", "/part-number", Wire.PartNumberList).pipe(
        Effect.map((l) => (l.Resources ?? []).map((p) => toPartNumber({ ...p, id: idOf(p.id, p.meta?.location) })))
      ),
    getPartNumber: (id) =>
      required("GET", "getPartNumber", `/part-number/${seg(id)}`, Wire.PartNumberEnvelope).pipe(
        Effect.flatMap((e) => first("getPartNumber", e[Wire.URN.partNumber])),
        Effect.map(toPartNumber)
      ),
    issueCredential: (containerId, partNumber) =>
      required("POST", "issueCredential", `/credential-container/${seg(containerId)}/credential`, Wire.CredentialEnvelope, {
        schemas: [Wire.URN.userAction],
        [Wire.URN.userAction]: { assignCredential: "Y", partNumber, credential: "" }
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
    registerCallback: (registration) => {
      if (!endpoints.callbacks) {
        return Effect.fail(fail("InvalidInput", "registerCallback", "No callbacks base URL in this environment"))
      }
      return request("POST", "registerCallback", "/callback", {
        base: `${endpoints.callbacks.replace(/\/$/, "")}/organization/${seg(organizationId)}`,
        json: true,
        schema: Wire.CallbackRegistration,
        body: {
          url: registration.url,
          filterSet: registration.filterSet ?? [],
          ...(registration.header ? { httpHeader: { name: registration.header.name, value: Redacted.value(registration.header.value) } } : {})
        }
      }).pipe(
        Effect.flatMap((r) => (r === undefined ? Effect.fail(fail("Unknown", "registerCallback", "Empty response")) : Effect.succeed({ id: String(r.id) })))
      )
    }
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
