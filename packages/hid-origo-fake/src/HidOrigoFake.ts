/**
 * A local fake of the HID Origo Mobile Identities v2.2 API (plus its token IdP, events and callbacks),
 * built from HID's public documentation and from public code that talks to HID (the evidence is listed in
 * `@credsync/adapter-hid-origo`'s README). Everything beyond that material is marked `ASSUMPTION:` in the
 * sources. Started in-process by tests on 127.0.0.1.
 *
 * Path prefixes on one host: `/authentication/customer/{org}/token` (IdP),
 * `/credential-management/customer/{org}/...` (MI v2.2), `/event/organization/{org}/events` (events and
 * `/events/filter`), `/callback/organization/{org}/callback` (registrations), and `/test/...` (controls
 * over HTTP).
 *
 * @since 0.1.0
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import {
  type CloudEvent,
  type ContainerStatus,
  type CredentialStatus,
  type DeviceInfo,
  type InvitationStatus,
  isLiveCredential,
  type PartNumber,
  type UserStatus
} from "./internal/model.js"
import {
  type Account,
  type CallbackDelivery,
  type CallbackRegistration,
  type DeliveryRecord,
  type EventFilter,
  type Fault,
  FakeServer,
  isRecord,
  orgOf
} from "./internal/server.js"

export type {
  Account,
  CallbackDelivery,
  CallbackRegistration,
  CloudEvent,
  ContainerStatus,
  CredentialStatus,
  DeliveryRecord,
  DeviceInfo,
  EventFilter,
  Fault,
  InvitationStatus,
  UserStatus
}

/** A part-number pool the fake starts with. */
export interface PartNumberSeed {
  /** The record id, e.g. `4924_644243`. */
  readonly id: string
  /** The part number used when issuing, e.g. `MID-SUB-CRD_FTPN_644245`. */
  readonly partNumber: string
  readonly friendlyName?: string
  readonly facilityCode: string
  /** programmingData `format_number`, e.g. `TRK-H10301`. */
  readonly formatNumber: string
  readonly firstNumber?: number
  readonly lastNumber?: number
}

/**
 * Options of the fake: port, accounts, part numbers, timings and callback behaviour.
 *
 * @since 0.1.0
 */
export interface Options {
  /** 0 (default) picks a free port. */
  readonly port?: number
  /** Only loopback is supported. */
  readonly host?: "127.0.0.1"
  /** Time source (ms since epoch). Default `Date.now`; `controls.advance` adds an offset on top. */
  readonly clock?: () => number
  readonly accounts?: ReadonlyArray<Account>
  /** Accepted `Application-ID` values; any non-empty value when omitted. */
  readonly applicationIds?: ReadonlyArray<string>
  readonly partNumbers?: ReadonlyArray<PartNumberSeed>
  /** Default 3600 (documented). */
  readonly tokenTtlSeconds?: number
  /** Default 48 h. ASSUMPTION: HID's expiry is a per-organization setting; 48 h matches its fixture. */
  readonly invitationTtlMs?: number
  /** MI requests per source per window. Default 300 / 5 min (documented). */
  readonly rateLimit?: { readonly limit: number; readonly windowMs: number }
  /** Token requests per source per window. Default 50 / 5 min (documented). */
  readonly authRateLimit?: { readonly limit: number; readonly windowMs: number }
  /** Reject media types with parameters (`; charset=...`). Default false. */
  readonly strictMediaType?: boolean
  readonly searchDefaultCount?: number
  /** Seed of the generator behind probabilistic faults (`Fault.probability`). Default 1. */
  readonly seed?: number
}

/** Ground truth for tests. */
export interface Snapshot {
  readonly users: ReadonlyArray<{ id: string; externalId: string; emails: ReadonlyArray<string>; status: UserStatus }>
  readonly invitations: ReadonlyArray<{ id: string; userId: string; code: string; status: InvitationStatus }>
  readonly containers: ReadonlyArray<{ id: string; userId: string; invitationId: string; status: ContainerStatus }>
  readonly credentials: ReadonlyArray<{
    id: string
    userId: string
    containerId: string | undefined
    partNumber: string
    cardNumber: string
    status: CredentialStatus
  }>
  readonly partNumbers: ReadonlyArray<{ id: string; partNumber: string; availableQty: number; nextNumber: number }>
}

/** Test controls: what the phone, HID's back office or the network would do. */
export interface Controls {
  /** As the mobile SDK's `setupEndpoint(code)`: creates an ACTIVE container; reserved credentials delivered. */
  readonly redeem: (code: string, device?: Partial<DeviceInfo>) => { containerId: string; userId: string }
  /**
   * As the phones' next sync: ISSUE_INITIATED → ISSUED, REVOKE_INITIATED → REVOKED, and users being deleted
   * whose revocations are done → DELETED. Returns how many moved.
   */
  readonly settle: () => number
  readonly expireInvitation: (idOrCode: string) => void
  /**
   * HID's back office (the portal) revokes a credential behind the adapter's back: REVOKE_INITIATED now,
   * REVOKED on the next `settle`. A credential already revoking or revoked is left as it is.
   */
  readonly revokeCredential: (id: string) => void
  /** HID fails to create a credential that is being issued (ISSUE_INITIATED → CREATION_FAILURE). */
  readonly failCredential: (id: string) => void
  /** From now on, this share (0..1, seeded draws) of the issuances a `settle` finishes fail (CREATION_FAILURE). */
  readonly setIssuanceFailure: (probability: number) => void
  /** A live credential is no longer bound to its phone (→ UNBOUND). */
  readonly unbindCredential: (id: string) => void
  /** Terminates a container behind the adapter's back: INACTIVE, its credentials revoked. */
  readonly terminateContainer: (id: string) => void
  /** Every issued token becomes invalid (401 until the client fetches a new one). */
  readonly expireTokens: () => void
  readonly setCallbackDelivery: (mode: CallbackDelivery) => void
  readonly injectFault: (fault: Fault) => void
  readonly clearFaults: () => void
  readonly resetRateLimit: () => void
  /** Moves the fake's clock forward (token and invitation expiry, rate-limit windows). */
  readonly advance: (ms: number) => void
  readonly now: () => number
  /** Resolves when every callback delivery in flight has finished. */
  readonly callbacksIdle: () => Promise<void>
  readonly deliveries: () => ReadonlyArray<DeliveryRecord>
  readonly events: () => ReadonlyArray<CloudEvent>
  /** Callback registrations and event filters as HID holds them (API keys included, for tests). */
  readonly registrations: () => ReadonlyArray<CallbackRegistration>
  readonly filters: () => ReadonlyArray<EventFilter>
  readonly snapshot: (org?: string) => Snapshot
  /** `faultsInjected`: requests an injected fault hit (those never reach the API and are not in `apiRequests`). */
  readonly stats: () => { readonly tokensIssued: number; readonly apiRequests: number; readonly rateLimited: number; readonly faultsInjected: number }
}

/**
 * A started fake: its URL, test controls and `stop`.
 *
 * @since 0.1.0
 */
export interface RunningFake {
  /** `http://127.0.0.1:{port}` */
  readonly url: string
  /** Base URLs to give the client (a custom environment). */
  readonly environment: { readonly idp: string; readonly mi: string; readonly events: string; readonly callbacks: string }
  readonly account: Account
  readonly organizationId: string
  readonly controls: Controls
  readonly stop: () => Promise<void>
}

/** The account the fake accepts unless told otherwise. */
export const defaultAccount: Account = { clientId: "1234567-OSRV-credsync-fake", clientSecret: "fake-client-secret" }

/** Two pools: H10301 at facility codes 99 and 100. */
export const defaultPartNumbers: ReadonlyArray<PartNumberSeed> = [
  { id: "4924_644243", partNumber: "MID-SUB-CRD_FTPN_644245", friendlyName: "MOB0022", facilityCode: "99", formatNumber: "TRK-H10301" },
  { id: "4924_644244", partNumber: "MID-SUB-CRD_FTPN_644246", friendlyName: "MOB0023", facilityCode: "100", formatNumber: "TRK-H10301" }
]

const toPool = (s: PartNumberSeed): PartNumber => {
  const first = s.firstNumber ?? 1
  const last = s.lastNumber ?? 500
  return {
    id: s.id,
    partNumber: s.partNumber,
    friendlyName: s.friendlyName ?? s.partNumber,
    availableQty: last - first + 1,
    nextNumber: first,
    lastNumber: last,
    // ASSUMPTION: badge_type is the token after the last "_" but one of the part number (FTPN in the fixture).
    badgeType: s.partNumber.split("_").at(-2) ?? "FTPN",
    facilityCode: s.facilityCode,
    formatNumber: s.formatNumber
  }
}

/** A small seeded generator (mulberry32): the same seed and requests draw the same faults. */
const mulberry32 = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Starts the fake on 127.0.0.1. Stop it with `stop()` after the test.
 *
 * @since 0.1.0
 */
export const start = async (options: Options = {}): Promise<RunningFake> => {
  let offset = 0
  const clock = options.clock ?? Date.now
  const now = () => clock() + offset
  const accounts = options.accounts ?? [defaultAccount]
  const fake = new FakeServer({
    now,
    accounts,
    applicationIds: options.applicationIds,
    partNumbers: (options.partNumbers ?? defaultPartNumbers).map(toPool),
    tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
    invitationTtlMs: options.invitationTtlMs ?? 48 * 3600_000,
    rateLimit: options.rateLimit ?? { limit: 300, windowMs: 300_000 },
    authRateLimit: options.authRateLimit ?? { limit: 50, windowMs: 300_000 },
    strictMediaType: options.strictMediaType ?? false,
    searchDefaultCount: options.searchDefaultCount ?? 20,
    random: mulberry32(options.seed ?? 1)
  })
  const account = accounts[0] ?? defaultAccount
  const organizationId = orgOf(account.clientId)

  const withTick = <A>(f: () => A): A => {
    fake.tick()
    const a = f()
    fake.flushCallbacks()
    return a
  }
  const orgFor = (id?: string) => fake.org(id ?? organizationId)
  const credentialOrg = (id: string) => {
    for (const org of fake.orgs.values()) if (org.credentials.has(Number(id))) return org
    throw new Error(`Unknown credential ${id}`)
  }

  const controls: Controls = {
    redeem: (code, device = {}) => fake.redeem(code, device),
    settle: () => withTick(() => [...fake.orgs.values()].reduce((n, o) => n + o.settle(), 0)),
    expireInvitation: (idOrCode) =>
      withTick(() => {
        for (const org of fake.orgs.values()) {
          if ([...org.invitations.values()].some((i) => i.code === idOrCode || String(i.id) === idOrCode)) {
            org.expireInvitation(idOrCode)
            return
          }
        }
        throw new Error(`Unknown invitation ${idOrCode}`)
      }),
    revokeCredential: (id) =>
      withTick(() => {
        for (const org of fake.orgs.values()) {
          const c = org.credentials.get(Number(id))
          if (c) {
            if (isLiveCredential(c.status)) org.revoke(c.id)
            return
          }
        }
        throw new Error(`Unknown credential ${id}`)
      }),
    failCredential: (id) => withTick(() => credentialOrg(id).failCredential(Number(id))),
    unbindCredential: (id) => withTick(() => credentialOrg(id).unbindCredential(Number(id))),
    setIssuanceFailure: (probability) => {
      fake.issuanceFailure = probability
    },
    terminateContainer: (id) =>
      withTick(() => {
        for (const org of fake.orgs.values()) {
          const cc = org.containers.get(Number(id))
          if (cc) {
            if (cc.status === "ACTIVE") org.deleteContainer(cc.id)
            return
          }
        }
        throw new Error(`Unknown container ${id}`)
      }),
    expireTokens: () => {
      for (const t of fake.tokens.values()) t.expiresAt = 0
    },
    setCallbackDelivery: (mode) => {
      fake.delivery = mode
    },
    injectFault: (fault) => {
      fake.faults.push({ ...fault, remaining: fault.times ?? 1 })
    },
    clearFaults: () => {
      fake.faults.splice(0)
    },
    resetRateLimit: () => fake.resetRateLimit(),
    advance: (ms) => {
      offset += ms
      withTick(() => undefined)
    },
    now,
    callbacksIdle: () => fake.idle(),
    deliveries: () => [...fake.deliveries],
    events: () => fake.eventLog.map((e) => e.event),
    registrations: () => [...fake.registrations],
    filters: () => [...fake.filters],
    snapshot: (orgId) => {
      const org = orgFor(orgId)
      return {
        users: [...org.users.values()].map((u) => ({ id: String(u.id), externalId: u.externalId, emails: u.emails, status: u.status })),
        invitations: [...org.invitations.values()].map((i) => ({ id: String(i.id), userId: String(i.userId), code: i.code, status: i.status })),
        containers: [...org.containers.values()].map((c) => ({
          id: String(c.id),
          userId: String(c.userId),
          invitationId: String(c.invitationId),
          status: c.status
        })),
        credentials: [...org.credentials.values()].map((c) => ({
          id: String(c.id),
          userId: String(c.userId),
          containerId: c.containerId === undefined ? undefined : String(c.containerId),
          partNumber: c.partNumber,
          cardNumber: c.cardNumber,
          status: c.status
        })),
        partNumbers: [...org.partNumbers.values()].map((p) => ({ id: p.id, partNumber: p.partNumber, availableQty: p.availableQty, nextNumber: p.nextNumber }))
      }
    },
    stats: () => ({ ...fake.stats })
  }

  const testRoutes = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Array<Buffer> = []
    for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)))
    const text = Buffer.concat(chunks).toString("utf8")
    let body: Record<string, unknown> = {}
    try {
      const parsed: unknown = text ? JSON.parse(text) : {}
      if (isRecord(parsed)) body = parsed
    } catch {
      // an empty or invalid body is read as {}
    }
    const send = (status: number, value?: unknown) => {
      res.writeHead(status, value === undefined ? {} : { "content-type": "application/json" })
      res.end(value === undefined ? undefined : JSON.stringify(value))
    }
    try {
      const name = (req.url ?? "").replace(/^\/test\//, "").split("?")[0]
      switch (name) {
        case "redeem":
          return send(200, controls.redeem(String(body.code ?? "")))
        case "settle":
          return send(200, { settled: controls.settle() })
        case "expire-invitation":
          controls.expireInvitation(String(body.invitation ?? ""))
          return send(204)
        case "fail-credential":
          controls.failCredential(String(body.credential ?? ""))
          return send(204)
        case "unbind-credential":
          controls.unbindCredential(String(body.credential ?? ""))
          return send(204)
        case "terminate-container":
          controls.terminateContainer(String(body.container ?? ""))
          return send(204)
        case "expire-tokens":
          controls.expireTokens()
          return send(204)
        case "reset-rate-limit":
          controls.resetRateLimit()
          return send(204)
        case "advance":
          controls.advance(Number(body.ms ?? 0))
          return send(204)
        case "snapshot":
          return send(200, controls.snapshot())
        default:
          return send(404, { error: `no test route ${name}` })
      }
    } catch (e) {
      send(409, { error: e instanceof Error ? e.message : String(e) })
    }
  }

  const server = createServer((req, res) => {
    const handler = (req.url ?? "").startsWith("/test/") ? testRoutes(req, res) : fake.handle(req, res)
    handler.catch(() => {
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("The fake did not bind a TCP port")
  const { port } = address
  const url = `http://127.0.0.1:${port}`
  fake.baseUrl = url

  return {
    url,
    environment: { idp: url, mi: `${url}/credential-management`, events: `${url}/event`, callbacks: `${url}/callback` },
    account,
    organizationId,
    controls,
    stop: async () => {
      await fake.idle()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
