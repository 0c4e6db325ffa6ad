/** The fake's HTTP layer: routing, header/token/rate-limit checks, fault injection, callback delivery. */
import { randomBytes, randomUUID } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import { type CloudEvent, type DeviceInfo, Organization, type PartNumber } from "./model.js"
import * as Render from "./render.js"
import { errorBody, MEDIA_TYPE, matches, parseFilter, ScimFailure, URN } from "./scim.js"

/** A system account the fake accepts (client id and secret). */
export interface Account {
  readonly clientId: string
  readonly clientSecret: string
}

/** A scripted failure of the fake's next matching request. */
export interface Fault {
  /** Which requests it applies to; all when omitted. `path` is a substring or pattern of the URL path. */
  readonly match?: { readonly method?: string; readonly path?: string | RegExp }
  /** How many matching requests it hits (default 1; `Infinity` until `clearFaults`). */
  readonly times?: number
  /**
   * Chance in [0, 1] that a matching request is hit (default 1). A miss leaves the fault in place and
   * costs none of its `times`. Drawn from the fake's seeded generator (`Options.seed`).
   */
  readonly probability?: number
  readonly kind: "status" | "lostResponse" | "latency"
  /** For `status`: the status answered without applying the request (default 503). */
  readonly status?: number
  /** For `latency`: real milliseconds to wait before handling. */
  readonly ms?: number
}

/** What the fake does with a callback: deliver it, drop it, or deliver it twice. */
export type CallbackDelivery = "deliver" | "drop" | "duplicate"

/**
 * An event filter (Event Management API): the statuses it selects, e.g. `["USER_CREATED", "USER_DELETED"]`.
 * HID's docs: "Filters are resources used to reference specific types of events".
 */
export interface EventFilter {
  readonly id: string
  readonly org: string
  readonly filterSet: ReadonlyArray<string>
}

/**
 * A callback registration (Callback Registration API). HID's docs: a registration references a Filter; public
 * code registers `{url, authenticationType: "X-API-Key", apiKey}` and checks the `X-API-Key` header on delivery.
 */
export interface CallbackRegistration {
  readonly id: string
  readonly org: string
  readonly url: string
  readonly filterId: string
  readonly apiKey: string | undefined
}

/** A callback delivery the fake attempted, for tests. */
export interface DeliveryRecord {
  readonly registration: string
  readonly url: string
  readonly events: number
  readonly outcome: "delivered" | "dropped" | "failed"
  readonly status?: number
}

export interface ServerConfig {
  readonly now: () => number
  readonly accounts: ReadonlyArray<Account>
  readonly applicationIds: ReadonlyArray<string> | undefined
  readonly partNumbers: ReadonlyArray<PartNumber>
  readonly tokenTtlSeconds: number
  readonly invitationTtlMs: number
  readonly rateLimit: { readonly limit: number; readonly windowMs: number }
  readonly authRateLimit: { readonly limit: number; readonly windowMs: number }
  readonly strictMediaType: boolean
  readonly searchDefaultCount: number
  /** Draws in [0, 1) for probabilistic faults. */
  readonly random: () => number
}

interface Reply {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Record<string, string>
  readonly contentType?: string
}

const reply = (status: number, body?: unknown, headers?: Record<string, string>): Reply =>
  body === undefined ? { status, ...(headers ? { headers } : {}) } : { status, body, ...(headers ? { headers } : {}) }

const wrapped = (urn: string, items: ReadonlyArray<unknown>) => ({ schemas: [urn], [urn]: items })

export const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const asRecord = (u: unknown): Record<string, unknown> => (isRecord(u) ? u : {})

const str = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined)

const numId = (s: string | undefined, what: string): number => {
  const n = Number(s)
  if (!s || !Number.isInteger(n)) throw new ScimFailure(404, `${what} ${s} not found.`, "noTarget")
  return n
}

/** Media-type equality, ignoring parameters such as `; charset=utf-8` unless strict. */
const mediaTypeOk = (value: string, strict: boolean, allowWildcard: boolean): boolean =>
  value.split(",").some((part) => {
    const trimmed = part.trim()
    const [type] = trimmed.split(";")
    const base = (type ?? "").trim().toLowerCase()
    if (allowWildcard && (base === "*/*" || base === "application/*")) return true
    if (base !== MEDIA_TYPE) return false
    return !strict || !trimmed.includes(";")
  })

export class FakeServer {
  readonly orgs = new Map<string, Organization>()
  readonly tokens = new Map<string, { org: string; expiresAt: number }>()
  readonly faults: Array<Fault & { remaining: number }> = []
  readonly registrations: Array<CallbackRegistration> = []
  readonly filters: Array<EventFilter> = []
  readonly deliveries: Array<DeliveryRecord> = []
  readonly eventLog: Array<{ org: string; event: CloudEvent }> = []
  readonly stats = { tokensIssued: 0, apiRequests: 0, rateLimited: 0, faultsInjected: 0 }
  delivery: CallbackDelivery = "deliver"
  /** Share of issuances a sync finishes as CREATION_FAILURE (seeded). */
  issuanceFailure = 0
  baseUrl = ""
  private readonly windows = new Map<string, Array<number>>()
  private readonly outbox: Array<{ org: string; event: CloudEvent }> = []
  private readonly inFlight = new Set<Promise<void>>()

  constructor(readonly config: ServerConfig) {
    for (const a of config.accounts) this.org(orgOf(a.clientId))
  }

  org(id: string): Organization {
    let org = this.orgs.get(id)
    if (!org) {
      org = new Organization(
        id,
        {
          now: this.config.now,
          invitationTtlMs: this.config.invitationTtlMs,
          baseUrl: () => this.baseUrl,
          emit: (o, event) => {
            this.eventLog.push({ org: o, event })
            this.outbox.push({ org: o, event })
          },
          failIssuance: () => this.issuanceFailure > 0 && this.config.random() < this.issuanceFailure
        },
        this.config.partNumbers
      )
      this.orgs.set(id, org)
    }
    return org
  }

  tick(): void {
    for (const org of this.orgs.values()) org.tick()
  }

  resetRateLimit(): void {
    this.windows.clear()
  }

  /** Counts one request in a sliding window; true when over the limit. */
  private overLimit(key: string, limit: { limit: number; windowMs: number }): boolean {
    const now = this.config.now()
    const window = (this.windows.get(key) ?? []).filter((t) => t > now - limit.windowMs)
    window.push(now)
    this.windows.set(key, window)
    return window.length > limit.limit
  }

  // ---- callbacks

  /** Sends what the last request or control emitted, one batch per registration. */
  flushCallbacks(): void {
    const pending = this.outbox.splice(0)
    for (const reg of this.registrations) {
      const filter = this.filters.find((f) => f.org === reg.org && f.id === reg.filterId)
      const events = pending
        .filter((p) => p.org === reg.org)
        .map((p) => p.event)
        // filterSet values are event statuses (USER_CREATED...). A registration whose filter was removed gets nothing.
        .filter((e) => filter?.filterSet.includes(String(e.data.status)) === true)
      if (events.length === 0) continue
      if (this.delivery === "drop") {
        this.deliveries.push({ registration: reg.id, url: reg.url, events: events.length, outcome: "dropped" })
        continue
      }
      const copies = this.delivery === "duplicate" ? 2 : 1
      for (let i = 0; i < copies; i++) this.track(this.deliver(reg, events))
    }
  }

  private track(p: Promise<void>) {
    this.inFlight.add(p)
    void p.finally(() => this.inFlight.delete(p))
  }

  private async deliver(reg: CallbackRegistration, events: ReadonlyArray<CloudEvent>): Promise<void> {
    const headers: Record<string, string> = { "content-type": "application/cloudevents-batch+json" }
    if (reg.apiKey !== undefined) headers["X-API-Key"] = reg.apiKey
    try {
      const res = await fetch(reg.url, { method: "POST", headers, body: JSON.stringify(events) })
      await res.arrayBuffer()
      // ASSUMPTION: HID does not retry failed deliveries (undocumented); the fake records the failure only.
      this.deliveries.push({ registration: reg.id, url: reg.url, events: events.length, outcome: res.status === 200 ? "delivered" : "failed", status: res.status })
    } catch {
      this.deliveries.push({ registration: reg.id, url: reg.url, events: events.length, outcome: "failed" })
    }
  }

  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
  }

  // ---- HTTP

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Array<Buffer> = []
    for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)))
    const raw = Buffer.concat(chunks).toString("utf8")
    const url = new URL(req.url ?? "/", "http://fake")
    const method = (req.method ?? "GET").toUpperCase()

    const fault = this.takeFault(method, url.pathname)
    if (fault?.kind === "latency") await new Promise((r) => setTimeout(r, fault.ms ?? 100))
    if (fault?.kind === "status") {
      const status = fault.status ?? 503
      return this.write(res, reply(status, errorBody(status, "Injected fault.")), MEDIA_TYPE)
    }

    let out: Reply
    try {
      this.tick()
      out = this.route(req, method, url, raw)
    } catch (e) {
      out = e instanceof ScimFailure ? reply(e.status, errorBody(e.status, e.detail, e.scimType)) : reply(500, errorBody(500, "Internal error."))
    }
    this.flushCallbacks()
    if (fault?.kind === "lostResponse") {
      // The request took effect; the client never learns it.
      req.socket.destroy()
      return
    }
    this.write(res, out, out.contentType ?? MEDIA_TYPE)
  }

  private takeFault(method: string, path: string): Fault | undefined {
    if (path.startsWith("/test/")) return undefined
    for (let i = 0; i < this.faults.length; i++) {
      const f = this.faults[i]!
      const m = f.match
      if (m?.method && m.method.toUpperCase() !== method) continue
      if (m?.path !== undefined && !(typeof m.path === "string" ? path.includes(m.path) : m.path.test(path))) continue
      if (f.probability !== undefined && f.probability < 1 && !(this.config.random() < f.probability)) continue
      f.remaining -= 1
      if (f.remaining <= 0) this.faults.splice(i, 1)
      this.stats.faultsInjected++
      return f
    }
    return undefined
  }

  private write(res: ServerResponse, out: Reply, contentType: string): void {
    const headers: Record<string, string> = { ...out.headers }
    if (out.body !== undefined) headers["content-type"] = contentType
    res.writeHead(out.status, headers)
    res.end(out.body === undefined ? undefined : JSON.stringify(out.body))
  }

  private route(req: IncomingMessage, method: string, url: URL, raw: string): Reply {
    const parts = url.pathname.split("/").filter((p) => p !== "")
    const source = req.socket.remoteAddress ?? "unknown"
    if (parts[0] === "authentication" && parts[1] === "customer" && parts[3] === "token" && parts.length === 4) {
      if (this.overLimit(`auth:${source}`, this.config.authRateLimit)) {
        this.stats.rateLimited++
        return reply(403, { error: "rate_limited" })
      }
      if (method !== "POST") throw new ScimFailure(405, "Method not allowed.")
      return this.token(parts[2]!, req, raw)
    }
    if (parts[0] === "credential-management" && parts[1] === "customer" && parts[2]) {
      const org = this.guard(req, method, raw, parts[2], `mi:${source}`, true)
      return this.mi(org, method, parts.slice(3), url, raw)
    }
    // ASSUMPTION: events and callbacks share one fake host under /event and /callback, with the same
    // bearer token and headers as MI but plain JSON bodies.
    if (parts[0] === "callback" && parts[1] === "organization" && parts[2] && parts[3] === "callback" && parts.length <= 5) {
      const org = this.guard(req, method, raw, parts[2], `callback:${source}`, false)
      return this.callbacks(org, method, parts[4], raw)
    }
    if (parts[0] === "event" && parts[1] === "organization" && parts[2] && parts[3] === "events") {
      const org = this.guard(req, method, raw, parts[2], `event:${source}`, false)
      if (parts[4] === "filter" && parts.length <= 6) return this.eventFilters(org, method, parts[5], raw)
      if (parts.length !== 4 || method !== "GET") throw new ScimFailure(405, "Method not allowed.")
      const from = Date.parse(url.searchParams.get("dateFrom") ?? "") || 0
      const to = Date.parse(url.searchParams.get("dateTo") ?? "") || Number.POSITIVE_INFINITY
      const filterId = url.searchParams.get("filterId")
      const filter = filterId ? this.filters.find((f) => f.org === org.id && f.id === filterId) : undefined
      if (filterId && filter === undefined) throw new ScimFailure(404, `Filter ${filterId} not found.`, "noTarget")
      // ASSUMPTION: the events query answers a JSON array of CloudEvents.
      const events = this.eventLog
        .filter((e) => e.org === org.id && Date.parse(e.event.time) >= from && Date.parse(e.event.time) <= to)
        .filter((e) => filter === undefined || filter.filterSet.includes(String(e.event.data.status)))
        .map((e) => e.event)
      return { ...reply(200, events), contentType: "application/json" }
    }
    throw new ScimFailure(404, `No route for ${method} ${url.pathname}.`)
  }

  private token(org: string, req: IncomingMessage, raw: string): Reply {
    const json = (status: number, body: unknown): Reply => ({ ...reply(status, body), contentType: "application/json" })
    if (!String(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
      return json(400, { error: "invalid_request", error_description: "Expected a form body." })
    }
    const form = new URLSearchParams(raw)
    if (form.get("grant_type") !== "client_credentials") return json(400, { error: "unsupported_grant_type" })
    const clientId = form.get("client_id") ?? ""
    const account = this.config.accounts.find((a) => a.clientId === clientId && a.clientSecret === form.get("client_secret"))
    if (!account || orgOf(clientId) !== org) return json(401, { error: "invalid_client" })
    const token = randomBytes(24).toString("base64url")
    this.tokens.set(token, { org, expiresAt: this.config.now() + this.config.tokenTtlSeconds * 1000 })
    this.stats.tokensIssued++
    return json(200, { access_token: token, id_token: randomBytes(16).toString("base64url"), token_type: "Bearer", expires_in: this.config.tokenTtlSeconds })
  }

  /** Rate limit, application headers, bearer token bound to the org, media types. */
  private guard(req: IncomingMessage, method: string, raw: string, orgId: string, bucket: string, vendorMedia: boolean): Organization {
    this.stats.apiRequests++
    if (this.overLimit(bucket, this.config.rateLimit)) {
      this.stats.rateLimited++
      // Documented: HID answers 403, not 429. ASSUMPTION: no Retry-After header is sent.
      throw new ScimFailure(403, "Rate limit exceeded.")
    }
    const appId = str(req.headers["application-id"])
    const appVersion = str(req.headers["application-version"])
    // ASSUMPTION: a missing or unknown Application-ID is a 400 (the message is HID's web-provisioning one).
    if (!appId || !appVersion || (this.config.applicationIds && !this.config.applicationIds.includes(appId))) {
      throw new ScimFailure(400, "The Application-ID HTTP header was missing or contained an invalid value.", "invalidValue")
    }
    const auth = str(req.headers.authorization) ?? ""
    const token = auth.startsWith("Bearer ") ? this.tokens.get(auth.slice(7)) : undefined
    if (!token || token.expiresAt <= this.config.now()) throw new ScimFailure(401, "The access token is missing, invalid or expired.")
    // ASSUMPTION: a token used for another organization is a 401 as well.
    if (token.org !== orgId) throw new ScimFailure(401, "The access token does not belong to this organization.")
    if (vendorMedia) {
      const accept = str(req.headers.accept)
      if (accept !== undefined && !mediaTypeOk(accept, this.config.strictMediaType, true)) {
        throw new ScimFailure(406, `Accept must be ${MEDIA_TYPE}.`)
      }
      if ((method === "POST" || method === "PUT") && raw.length > 0) {
        const ct = str(req.headers["content-type"]) ?? ""
        if (!mediaTypeOk(ct, this.config.strictMediaType, false)) throw new ScimFailure(415, `Content-Type must be ${MEDIA_TYPE}.`)
      }
    }
    return this.org(orgId)
  }

  private parse(raw: string): Record<string, unknown> {
    if (raw.trim() === "") return {}
    try {
      return asRecord(JSON.parse(raw))
    } catch {
      throw new ScimFailure(400, "The request body is not valid JSON.", "invalidSyntax")
    }
  }

  private eventFilters(org: Organization, method: string, id: string | undefined, raw: string): Reply {
    const json = (status: number, body?: unknown): Reply => ({ ...reply(status, body), contentType: "application/json" })
    const view = (f: EventFilter) => ({ id: f.id, filterSet: f.filterSet })
    if (method === "POST" && id === undefined) {
      // Body `{filterSet: [...]}` as public code sends it. ASSUMPTION: the answer is 201 with `{id, filterSet}`.
      const body = this.parse(raw)
      const filterSet = Array.isArray(body.filterSet) ? body.filterSet.filter((x): x is string => typeof x === "string" && x !== "") : []
      if (filterSet.length === 0) throw new ScimFailure(400, "filterSet must list at least one event.", "invalidValue")
      const filter: EventFilter = { id: randomUUID(), org: org.id, filterSet }
      this.filters.push(filter)
      return json(201, view(filter))
    }
    if (method === "GET" && id === undefined) return json(200, this.filters.filter((f) => f.org === org.id).map(view))
    const i = this.filters.findIndex((f) => f.org === org.id && f.id === id)
    if (i < 0) throw new ScimFailure(404, `Filter ${id} not found.`, "noTarget")
    if (method === "GET") return json(200, view(this.filters[i]!))
    if (method === "DELETE") {
      // ASSUMPTION: a filter a registration still references cannot be deleted (409).
      if (this.registrations.some((r) => r.org === org.id && r.filterId === id)) throw new ScimFailure(409, `Filter ${id} is in use.`, "mutability")
      this.filters.splice(i, 1)
      return json(204)
    }
    throw new ScimFailure(405, "Method not allowed.")
  }

  private callbacks(org: Organization, method: string, id: string | undefined, raw: string): Reply {
    const json = (status: number, body?: unknown): Reply => ({ ...reply(status, body), contentType: "application/json" })
    // The API key is never read back.
    const view = (r: CallbackRegistration) => ({
      id: r.id,
      url: r.url,
      filterId: r.filterId,
      ...(r.apiKey === undefined ? {} : { authenticationType: "X-API-Key" })
    })
    if (method === "POST" && id === undefined) {
      // `{url, filterId, authenticationType: "X-API-Key", apiKey}`. ASSUMPTION: filterId is required (HID's docs:
      // a registration references a Filter), the answer is 201 with the registration, without the key.
      const body = this.parse(raw)
      const target = str(body.url)
      if (!target || !/^https?:\/\//.test(target)) throw new ScimFailure(400, "url is required.", "invalidValue")
      const filterId = str(body.filterId)
      if (!filterId) throw new ScimFailure(400, "filterId is required.", "invalidValue")
      if (!this.filters.some((f) => f.org === org.id && f.id === filterId)) throw new ScimFailure(404, `Filter ${filterId} not found.`, "noTarget")
      const authenticationType = str(body.authenticationType)
      if (authenticationType !== undefined && authenticationType !== "X-API-Key") {
        throw new ScimFailure(400, `Unsupported authenticationType ${authenticationType}.`, "invalidValue")
      }
      const apiKey = str(body.apiKey)
      if (authenticationType !== undefined && !apiKey) throw new ScimFailure(400, "apiKey is required with X-API-Key.", "invalidValue")
      const reg: CallbackRegistration = { id: randomUUID(), org: org.id, url: target, filterId, apiKey: authenticationType === undefined ? undefined : apiKey }
      this.registrations.push(reg)
      return json(201, view(reg))
    }
    if (method === "GET" && id === undefined) return json(200, this.registrations.filter((r) => r.org === org.id).map(view))
    const i = this.registrations.findIndex((r) => r.org === org.id && r.id === id)
    if (i < 0) throw new ScimFailure(404, `Callback ${id} not found.`, "noTarget")
    if (method === "GET") return json(200, view(this.registrations[i]!))
    if (method === "DELETE") {
      // ASSUMPTION: DELETE answers 204 (HID's v1.0 callback-registration did).
      this.registrations.splice(i, 1)
      return json(204)
    }
    throw new ScimFailure(405, "Method not allowed.")
  }

  private mi(org: Organization, method: string, p: ReadonlyArray<string>, url: URL, raw: string): Reply {
    const base = `${this.baseUrl}/credential-management/customer/${org.id}`
    const ctx: Render.Ctx = { org, base }
    const [a, b, c, d] = p
    const route = `${method} ${[a, b === undefined ? undefined : ":", c, d === undefined ? undefined : ":"].filter((x) => x !== undefined).join("/")}`
    switch (route) {
      case "POST users": {
        const body = this.parse(raw)
        const name = asRecord(body.name)
        const emails = Array.isArray(body.emails) ? body.emails.map((e) => str(asRecord(e).value)).filter((e): e is string => e !== undefined) : []
        const user = org.createUser({ externalId: str(body.externalId) ?? "", familyName: str(name.familyName), givenName: str(name.givenName), emails })
        const action = asRecord(body[URN.userAction])
        if (action.createInvitationCode === "Y") {
          org.createInvitation(user.id, action.assignCredential === "Y" ? str(action.partNumber) || undefined : undefined)
        }
        return reply(201, Render.user(ctx, user), { location: `${base}/users/${user.id}` })
      }
      case "GET users": {
        // Documented behaviour of the plain list: only the 25 most recently changed users.
        const users = [...org.liveUsers()].sort((x, y) => y.lastModified - x.lastModified || y.id - x.id).slice(0, 25)
        return reply(200, Render.listResponse(users.map((u) => Render.userSummary(ctx, u)), users.length, 1))
      }
      case "POST users/:": {
        if (b !== ".search") break
        const body = this.parse(raw)
        const filterText = str(body.filter)
        const filter = filterText ? parseFilter(filterText) : undefined
        const found = org.liveUsers().filter(
          (u) =>
            !filter ||
            matches(filter, (attr) => {
              switch (attr) {
                case "externalId":
                  return [u.externalId]
                case "email":
                  return u.emails
                case "familyName":
                  return u.familyName ? [u.familyName] : []
                case "givenName":
                  return u.givenName ? [u.givenName] : []
                case "status":
                  return [u.status]
                default:
                  return [new Date(u.lastModified).toISOString()]
              }
            })
        )
        found.sort((x, y) => (body.sortOrder === "descending" ? y.id - x.id : x.id - y.id))
        // SCIM is 1-based; 0 (sent by some clients) is read as 1.
        const startIndex = Math.max(1, Math.floor(Number(body.startIndex ?? 1)) || 1)
        // ASSUMPTION: default page size 20 and a maximum of 100 per page.
        const count = Math.min(100, Math.max(0, Math.floor(Number(body.count ?? this.config.searchDefaultCount))))
        const page = found.slice(startIndex - 1, startIndex - 1 + count)
        return reply(200, Render.listResponse(page.map((u) => Render.userSummary(ctx, u)), found.length, startIndex))
      }
      case "GET users/:":
        return reply(200, Render.user(ctx, org.user(numId(b, "User"))))
      case "DELETE users/:":
        org.deleteUser(numId(b, "User"))
        return reply(204)
      case "POST users/:/invitation": {
        const userId = numId(b, "User")
        const action = asRecord(this.parse(raw)[URN.userAction])
        if (action.createInvitationCode !== "Y") throw new ScimFailure(400, "createInvitationCode must be Y.", "invalidValue")
        const reserve = action.assignCredential === "Y" ? str(action.partNumber) || undefined : undefined
        const { invitation, credentials } = org.createInvitation(userId, reserve)
        const body = {
          schemas: credentials.length > 0 ? [URN.invitation, URN.credential] : [URN.invitation],
          [URN.invitation]: [Render.invitation(ctx, invitation)],
          ...(credentials.length > 0 ? { [URN.credential]: credentials.map((x) => Render.credential(ctx, x)) } : {})
        }
        return reply(201, body, { location: `${base}/invitation/${invitation.id}` })
      }
      case "GET users/:/invitation": {
        const userId = org.user(numId(b, "User")).id
        return reply(200, wrapped(URN.invitation, [...org.invitations.values()].filter((i) => i.userId === userId).map((i) => Render.invitation(ctx, i))))
      }
      case "GET users/:/credential-container": {
        // ASSUMPTION: the per-user container list uses the same URN-keyed wrapper as the single get.
        const userId = org.user(numId(b, "User")).id
        return reply(200, wrapped(URN.container, org.containersOf(userId).map((cc) => Render.container(ctx, cc))))
      }
      case "GET invitation/:":
        return reply(200, wrapped(URN.invitation, [Render.invitation(ctx, org.invitation(numId(b, "Invitation")))]))
      case "DELETE invitation/:":
        org.cancelInvitation(numId(b, "Invitation"))
        return reply(204)
      case "GET credential-container/:":
        return reply(200, wrapped(URN.container, [Render.container(ctx, org.container(numId(b, "Credential container")))]))
      case "DELETE credential-container/:":
        org.deleteContainer(numId(b, "Credential container"))
        return reply(204)
      case "GET credential-container/:/credential": {
        const cc = org.container(numId(b, "Credential container"))
        return reply(200, wrapped(URN.credential, org.credentialsOf(cc.id).map((x) => Render.credential(ctx, x))))
      }
      case "POST credential-container/:/credential": {
        const action = asRecord(this.parse(raw)[URN.userAction])
        const partNumber = str(action.partNumber)
        if (action.assignCredential !== "Y" || !partNumber) {
          throw new ScimFailure(400, "assignCredential must be Y and partNumber is required.", "invalidValue")
        }
        const credential = org.issue(numId(b, "Credential container"), partNumber)
        // ASSUMPTION: the 200 answer carries the new credential in the URN-keyed wrapper.
        return reply(200, wrapped(URN.credential, [Render.credential(ctx, credential)]), { location: `${base}/credential/${credential.id}` })
      }
      case "GET credential/:":
        return reply(200, wrapped(URN.credential, [Render.credential(ctx, org.credential(numId(b, "Credential")))]))
      case "DELETE credential/:":
        org.revoke(numId(b, "Credential"))
        return reply(204)
      case "GET part-number": {
        const all = [...org.partNumbers.values()]
        return reply(200, Render.listResponse(all.map((x) => Render.partNumber(ctx, x)), all.length, 1))
      }
      case "GET part-number/:": {
        const pn = b === undefined ? undefined : org.partNumbers.get(b)
        if (!pn) throw new ScimFailure(404, `Part number ${b} not found.`, "noTarget")
        return reply(200, wrapped(URN.partNumber, [Render.partNumber(ctx, pn)]))
      }
    }
    void url
    throw new ScimFailure(404, `No route for ${method} /${p.join("/")}.`)
  }

  // ---- controls used by HidOrigoFake

  redeem(code: string, device: Partial<DeviceInfo>): { containerId: string; userId: string } {
    for (const org of this.orgs.values()) {
      if ([...org.invitations.values()].some((i) => i.code === code)) {
        org.tick()
        const cc = org.redeem(code, device)
        this.flushCallbacks()
        return { containerId: String(cc.id), userId: String(cc.userId) }
      }
    }
    throw new ScimFailure(404, `Unknown invitation code ${code}.`, "noTarget")
  }
}

/** Organization id = text before the first `-` of the client id (as PlaceOS derives it). */
export const orgOf = (clientId: string): string => clientId.split("-")[0] ?? clientId
