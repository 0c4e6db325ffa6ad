import { randomUUID } from "node:crypto"
import { Ids } from "@credsync/core"
import { Server } from "@credsync/seam-api"
import { SeamHttp } from "@seamapi/http/connect"
import { Effect, Layer, Redacted } from "effect"
import { SeamAccessControl, SeamClient, SeamCredentialManager } from "../src/index.js"
import { Loopback } from "@credsync/testkit"

export const until = Loopback.until

export interface Started {
  readonly server: Server.Handle
  readonly workspaceId: string
  readonly key: string
  readonly managerId: Ids.AcsSystemId
  readonly acsSystemId: Ids.AcsSystemId
  /** The official client, as an app would use it (no retries). */
  readonly seam: SeamHttp
  readonly clientLayer: Layer.Layer<SeamClient.SeamClient>
  readonly managerLayer: Layer.Layer<import("@credsync/core").CredentialManager.CredentialManager>
  readonly acsLayer: Layer.Layer<import("@credsync/core").AccessControl.AccessControl>
}

/** The card profile of the mobile keys the Seam-compatible API issues for an access grant (a
 *  workspace without HID part numbers): the `grantCard` of the Access Grants mode in tests. */
export const grantCard = { cardFormat: "rfid48", facilityCode: "1" } as const

/** The manager's options for a mode (`grantCard` with Access Grants). */
export const managerOptions = (system: Ids.AcsSystemId, via: SeamCredentialManager.Via = "enrollment_automations"): SeamCredentialManager.Options =>
  via === "access_grants" ? { system, via, grantCard } : { system, via }

/** The Seam-compatible API of packages/seam-api on 127.0.0.1, port 0, one sandbox workspace. */
export const start = async (
  options: { readonly endpoint?: (serverUrl: string) => string; readonly via?: SeamCredentialManager.Via | undefined } = {}
): Promise<Started> => {
  const workspaceId = randomUUID()
  const key = `seam_test_${randomUUID().replaceAll("-", "")}`
  const server = await Server.start({ workspaces: [{ id: workspaceId, apiKeys: [Redacted.make(key)], tickMs: 10, sandbox: true, webhooks: { allowPrivateUrls: true } }] })
  const ws = server.workspace(workspaceId)
  const manager = ws.managers[0]
  const acs = ws.acsSystems[0]
  if (manager === undefined || acs === undefined) throw new Error("the workspace has no manager or ACS")
  const endpoint = options.endpoint?.(server.url) ?? server.url
  const clientLayer = SeamClient.layer({ apiKey: Redacted.make(key), endpoint })
  return {
    server,
    workspaceId,
    key,
    managerId: Ids.AcsSystemId.make(manager.id),
    acsSystemId: Ids.AcsSystemId.make(acs.id),
    seam: SeamHttp.fromApiKey(key, { endpoint: server.url, isUndocumentedApiEnabled: true, axiosRetryOptions: { retries: 0 } }),
    clientLayer,
    managerLayer: SeamCredentialManager.layer(managerOptions(Ids.AcsSystemId.make(manager.id), options.via)).pipe(Layer.provide(clientLayer)),
    acsLayer: SeamAccessControl.layer({ systems: [{ id: Ids.AcsSystemId.make(acs.id) }] }).pipe(Layer.provide(clientLayer))
  }
}

/** Run an effect needing the client and returns its Exit-free result (throws on failure). */
export const run = <A, E>(layer: Layer.Layer<SeamClient.SeamClient>, eff: Effect.Effect<A, E, SeamClient.SeamClient>): Promise<A> =>
  Effect.runPromise(Effect.provide(eff, layer))

/** The failure of an effect (fails the test when it succeeds). */
export const failure = async <A, E, R>(eff: Effect.Effect<A, E, R>, layer: Layer.Layer<R>): Promise<E> => {
  const r = await Effect.runPromise(Effect.provide(Effect.result(eff), layer))
  if (r._tag === "Success") throw new Error("expected a failure")
  return r.failure
}
