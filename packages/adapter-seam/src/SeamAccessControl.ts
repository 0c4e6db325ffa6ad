/**
 * The core `AccessControl` port on Seam's ACS routes: `createUser` (`/acs/users/create`),
 * `getUser` (`/acs/users/get`) and `observe` (`/acs/credentials/list` by ACS user, and by card
 * number through `search`). Seam imports phone credentials into the ACS and assigns them itself,
 * so `importCredential`, `assign` and `remove` answer `InvalidInput`; observed entries are
 * labelled `seam:<acs_credential_id>`, never as the engine's own.
 *
 * @since 0.1.0
 */
import { AccessControl, type Ids } from "@credsync/core"
import { type Effect, Layer } from "effect"
import * as internal from "./internal/manager.js"
import { SeamClient } from "./SeamClient.js"

/**
 * Options of the Seam access-control adapter.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The ACSs this layer serves (Seam `acs_system_id`s). */
  readonly systems: ReadonlyArray<{
    readonly id: Ids.AcsSystemId
    readonly name?: string | undefined
    readonly externalType?: string | undefined
  }>
}

/**
 * The `AccessControl` port on Seam's ACS routes, over a `SeamClient`.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<AccessControl.AccessControlShape, never, SeamClient> =>
  SeamClient.useSync((client) => internal.makeAccessControl(client, options))

/**
 * The `AccessControl` port on Seam as a layer, over a `SeamClient`.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<AccessControl.AccessControl, never, SeamClient> =>
  Layer.effect(AccessControl.AccessControl, make(options))
