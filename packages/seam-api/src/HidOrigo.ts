/**
 * The HID Origo backend of a workspace: the engine's credential manager is `@credsync/adapter-hid-origo`
 * (a direct HID integration) instead of the simulator. The ACS stays the in-memory ACS.
 *
 * - callbacks: HID posts CloudEvents batches to `POST /hid/callbacks/:workspace_id` (Server), with the
 *   registration's key in `X-API-Key`; each is authenticated and decoded by `OrigoEvents.ingest` (which
 *   resolves HID users through the engine's store, never through HID) and its observations go to
 *   `engine.ingest`;
 * - polling: the HID users of identities waiting on HID (an invitation not yet redeemed, a credential
 *   being issued or revoked) are read every `pollMs` with `OrigoEvents.poll`, in case a callback was
 *   lost; the engine's periodic resync of every identity stays the last fallback;
 * - phone SDK: in a sandbox workspace whose HID side is the local fake (`fakeControlUrl`), the server
 *   redeems invitation codes through the fake's `/test/redeem` and lets phones sync (`/test/settle`);
 *   otherwise a phone waits for a real app to redeem its code (shown on the phone resource).
 *
 * @since 0.1.0
 */
import { OrigoClient, OrigoCredentialManager, OrigoEvents } from "@credsync/adapter-hid-origo"
import { type CredentialManager, type Engine, type Identity, Ids, PortError } from "@credsync/core"
import { Effect, type Redacted } from "effect"

/** How a workspace reaches HID Origo. */
export interface Backend {
  readonly _tag: "hid-origo"
  /** The HID client (`OrigoClient.config` reads it from `HID_ORIGO_*`). */
  readonly client: OrigoClient.OrigoConfig
  /** Card profile `"{card_format}/{facility_code}"` → HID part number, e.g. `{ "H10301/99": "MID-SUB-CRD_FTPN_644245" }`. */
  readonly partNumbers: Readonly<Record<string, string>>
  /** The credential manager's `acs_system_id`. Default: a UUID derived from the workspace id. */
  readonly managerId?: string | undefined
  /** Default `HID Origo`. */
  readonly managerName?: string | undefined
  /**
   * HID callbacks: accepted on `/hid/callbacks/:workspace_id` when their `X-API-Key` header carries
   * `apiKey` (HID registrations authenticate with `authenticationType: "X-API-Key"`).
   * Unset: callbacks are refused (404) and the workspace relies on polling and resync.
   */
  readonly callbacks?:
    | {
        readonly apiKey: Redacted.Redacted<string>
        /**
         * Subscribe `{baseUrl}/hid/callbacks/{workspace_id}` with HID when the server starts (an event filter
         * and a callback registration on it, replacing an earlier one for the same URL; default: do not
         * register). `baseUrl` defaults to the server's own URL (right for the local fake only).
         */
        readonly register?: { readonly baseUrl?: string | undefined } | undefined
      }
    | undefined
  /** Poll the HID users waiting on HID this often, ms. Default 30 000; 0 switches polling off. */
  readonly pollMs?: number | undefined
  /**
   * Base URL of a local HID Origo fake (`@credsync/hid-origo-fake`). In a sandbox workspace the server
   * then plays the phone SDK through the fake's `/test/redeem` and `/test/settle` controls. Never point
   * this at HID itself (it has no such routes).
   */
  readonly fakeControlUrl?: string | undefined
}

/** The HID side of a running workspace. */
export interface HidSide {
  readonly managerId: Ids.AcsSystemId
  readonly manager: CredentialManager.IssuingManagerShape
  readonly client: OrigoClient.OrigoClientShape
}

/** The HID side with its callback and polling intake (which needs the engine). */
export interface HidIntake extends HidSide {
  readonly events: OrigoEvents.OrigoEventsShape
}

/** Seam's external type of an HID Origo organization. */
export const externalType = "hid_credential_manager_organization"

/** Build the client and the credential manager port. */
export const make = (backend: Backend, managerId: string): Effect.Effect<HidSide> =>
  Effect.gen(function* () {
    const system = Ids.AcsSystemId.make(managerId)
    const client = yield* OrigoClient.make(backend.client)
    const origo = yield* OrigoCredentialManager.make(client, {
      system,
      name: backend.managerName ?? "HID Origo",
      partNumbers: backend.partNumbers
    })
    const manager: CredentialManager.IssuingManagerShape = {
      ...origo,
      systems: origo.systems.map((s) => ({ ...s, externalType }))
    }
    return { managerId: system, manager, client }
  })

/** Add the event intake, resolving HID users through the engine's store (no HID request for that). */
export const intake = (side: HidSide, backend: Backend, engine: Engine.EngineShape): Effect.Effect<HidIntake> =>
  Effect.map(
    OrigoEvents.make(side.client, {
      system: side.managerId,
      authentication: backend.callbacks === undefined ? { _tag: "None" } : { _tag: "ApiKey", apiKey: backend.callbacks.apiKey },
      lookup: OrigoEvents.engineLookup(engine, side.managerId)
    }),
    (events) => ({ ...side, events })
  )

/** Does this identity wait on HID (so that a lost callback would delay it)? */
export const waitsOnHid = (s: Identity.IdentityState, managerId: string): boolean =>
  !s.deleting &&
  (s.enrollments.some((e) => e.managerId === managerId && (e.status === "inviting" || e.status === "invited")) ||
    s.children.some((c) => c.managerId === managerId && (c.retiring || (c.issue !== "active" && c.issue !== "failed"))))

/** The HID user of an identity, if the engine created one. */
export const hidUserOf = (s: Identity.IdentityState, managerId: string): Ids.ProviderRef | undefined =>
  Object.values(s.managerUsers).find((u) => u.managerId === managerId)?.ref

/** Pass observations to the engine; one about an identity the engine does not know changes nothing. */
export const feed = (engine: Engine.EngineShape, observations: ReadonlyArray<unknown>): Effect.Effect<void, PortError.PortError> =>
  Effect.forEach(observations, (o) => engine.ingest(o).pipe(Effect.catchTag("InvalidObservation", () => Effect.void)), { discard: true })

/** A control route of the local fake (`/test/redeem`, `/test/settle`): what the phone SDK would do. */
export const fakeControl = (
  baseUrl: string,
  route: "redeem" | "settle",
  body: Readonly<Record<string, string>> = {}
): Effect.Effect<void, PortError.PortError> =>
  Effect.tryPromise({
    try: async (signal) => {
      const res = await fetch(new URL(`/test/${route}`, baseUrl), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal
      })
      await res.arrayBuffer()
      if (!res.ok) throw new Error(`the fake answered ${res.status}`)
    },
    catch: (e) =>
      new PortError.PortError({
        reason: "Transient",
        port: "CredentialManager",
        method: `fake ${route}`,
        message: e instanceof Error ? e.message : String(e)
      })
  })
