/**
 * The Seam Connect client: the official `@seamapi/http` (1.x) behind a service, with every failure
 * translated into the core's closed `PortError` reasons:
 *
 * | Seam | reason |
 * |---|---|
 * | `SeamHttpUnauthorizedError` (401), 403 | `Unauthorized` |
 * | `SeamHttpInvalidInputError` (400 `invalid_input`), other 400 | `InvalidInput` |
 * | 404 or `*_not_found` | `NotFound` |
 * | 409 | `Conflict` |
 * | 429 | `RateLimited`, `retryAfter` = `Retry-After` (seconds → ms) |
 * | 5xx on a read or an idempotent write; 503 always | `Transient` |
 * | 5xx (not 503) on a create | `Ambiguous` (it may have taken effect) |
 * | no response, request never sent (connection refused, DNS) | `Transient` |
 * | no response after sending (reset, timeout) | `Ambiguous` on a create, `Transient` otherwise |
 *
 * The vendor error is kept as `cause` (a transport error is summarised: its request config holds
 * the key). Messages never contain the key. The client is created with `isUndocumentedApiEnabled`
 * (enrollment automations are undocumented routes) and without the SDK's own retries: the engine
 * retries by its policy and honours `Retry-After`, and the SDK would re-send a create whose
 * response was lost.
 *
 * @since 0.1.0
 */
import type { PortError } from "@credsync/core"
import type { SeamHttp } from "@seamapi/http/connect"
import { Config, Context, Effect, Layer, Option, type Redacted } from "effect"
import * as internal from "./internal/client.js"
import type { CallMode as Mode, Port } from "./internal/errors.js"

/**
 * How a call behaves when its outcome is unknown: `read` and `idempotent` calls fail `Transient`,
 * `create` calls fail `Ambiguous` (the engine then observes rather than re-sending).
 *
 * @since 0.1.0
 */
export type CallMode = Mode

/**
 * How to reach Seam: the API key and, for a self-hosted or test server, its endpoint.
 *
 * @since 0.1.0
 */
export interface Options {
  /** A Seam API key (`seam_...`), or a personal access token when `workspace` is given. */
  readonly apiKey: Redacted.Redacted<string>
  /** Default `https://connect.getseam.com`. */
  readonly endpoint?: string | undefined
  /** Workspace id, for a personal access token. */
  readonly workspace?: string | undefined
  /** Per request, ms. Default 30 s. */
  readonly timeoutMs?: number | undefined
  /** The SDK's own retries of network errors. Default 0 (the engine retries). */
  readonly retries?: number | undefined
}

/**
 * The Seam Connect calls the adapter uses, wrapped as Effects failing with `PortError`.
 *
 * @since 0.1.0
 */
export interface SeamClientShape {
  /**
   * Run one call of the official client. Its failures become `PortError`s for `port`, classified
   * by `mode`. Use it for vendor extras; credsync's adapters go through it too.
   */
  readonly call: <A>(
    port: Port,
    method: string,
    mode: CallMode,
    f: (seam: SeamHttp) => Promise<A>
  ) => Effect.Effect<A, PortError.PortError>
  /** Remember which user identity owns a Seam resource (credential, phone, automation) seen in a
   *  listing, so that a webhook about it can be routed after it is gone. Bounded. */
  readonly rememberOwner: (resourceId: string, userIdentityId: string) => void
  readonly ownerOf: (resourceId: string) => string | undefined
}

/**
 * Service tag of the Seam client.
 *
 * @since 0.1.0
 */
export class SeamClient extends Context.Service<SeamClient, SeamClientShape>()("@credsync/adapter-seam/SeamClient") {}

/**
 * A client from options. A malformed key does not fail here: every call then fails `Unauthorized`.
 *
 * @since 0.1.0
 */
export const make = (options: Options): SeamClientShape => internal.make(options)

/**
 * The Seam client as a layer, from explicit options (see `layerConfig` for the environment).
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<SeamClient> => Layer.sync(SeamClient, () => make(options))

/**
 * From the environment: `SEAM_API_KEY` (read as `Redacted`), `SEAM_ENDPOINT`, `SEAM_WORKSPACE_ID`.
 *
 * @since 0.1.0
 */
export const layerConfig = (): Layer.Layer<SeamClient, Config.ConfigError> =>
  Layer.effect(
    SeamClient,
    Effect.gen(function* () {
      const apiKey = yield* Config.Redacted("SEAM_API_KEY")
      const endpoint = Option.getOrUndefined(yield* Config.option(Config.String("SEAM_ENDPOINT")))
      const workspace = Option.getOrUndefined(yield* Config.option(Config.String("SEAM_WORKSPACE_ID")))
      return make({ apiKey, endpoint, workspace })
    })
  )
