/**
 * @credsync/seam-api: Seam Connect's mobile-credential routes served over the credsync engine, so
 * an app written with Seam's SDK (`@seamapi/http`) can point at a self-hosted credsync.
 *
 * ```ts
 * import { Server } from "@credsync/seam-api"
 * const server = await Server.start({ workspaces: [{ id, apiKeys: [Redacted.make("seam_...")] }] })
 * const seam = SeamHttp.fromApiKey("seam_...", { endpoint: server.url, isUndocumentedApiEnabled: true })
 * ```
 *
 * @since 0.1.0
 * @module @credsync/seam-api
 */
export * as OpenApi from "./OpenApi.js"
export * as Operations from "./Operations.js"
export * as Persistence from "./Persistence.js"
export * as Resources from "./Resources.js"
export * as Routes from "./Routes.js"
export * as SeamError from "./SeamError.js"
export * as SeamEvents from "./SeamEvents.js"
export * as Server from "./Server.js"
export * as ServerConfig from "./ServerConfig.js"
export * as Webhooks from "./Webhooks.js"
export * as Workspace from "./Workspace.js"
