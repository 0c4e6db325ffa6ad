/**
 * `CredentialManager` and `AccessControl` over HTTP, served by a simulator server (`SimServer`).
 * Every response is decoded with the route's Schema; provider errors come back as `PortError` with
 * the reason the simulator gave; connection failures are classified (see the module comment of the
 * transport: refused → `Transient`, lost after sending a mutating request → `Ambiguous`).
 *
 * The systems (`systems` of both ports) are read once, when the client is made; a later change of the
 * simulator's listing lag is not seen by an existing client.
 *
 * @since 0.1.0
 */
import { AccessControl, CredentialManager, type PortError } from "@credsync/core"
import { Effect, Layer } from "effect"
import { call, type TransportOptions } from "./internal/transport.js"

/** Options of {@link make} and {@link layer}. */
export interface Options extends TransportOptions {}

/** The two ports served by one simulator server. */
export interface Client {
  readonly manager: CredentialManager.IssuingManagerShape
  readonly acs: AccessControl.AccessControlShape
}

/**
 * Connect to the server at `url` (fetches its systems once).
 *
 * @since 0.1.0
 */
export const make = (url: string, options: Options = {}): Effect.Effect<Client, PortError.PortError> =>
  Effect.gen(function* () {
    const base = url.replace(/\/+$/, "")
    const managerSystems = yield* call(base, "managerSystems", {}, options)
    const acsSystems = yield* call(base, "acsSystems", {}, options)
    const manager: CredentialManager.IssuingManagerShape = {
      kind: "issuing",
      systems: managerSystems,
      ensureUser: (m, identity) =>
        call(
          base,
          "ensureUser",
          {
            manager: m,
            identity: {
              id: identity.id,
              ...(identity.email === undefined ? {} : { email: identity.email }),
              ...(identity.fullName === undefined ? {} : { fullName: identity.fullName })
            }
          },
          options
        ),
      observe: (m, user) => call(base, "observe", { manager: m, user }, options),
      invite: (m, user) => call(base, "invite", { manager: m, user }, options),
      cancelInvitation: (m, invitation) => Effect.asVoid(call(base, "cancelInvitation", { manager: m, invitation }, options)),
      issue: (m, request) =>
        call(base, "issue", { manager: m, user: request.user, endpoint: request.endpoint, card: request.card }, options),
      revoke: (m, credential) => Effect.asVoid(call(base, "revoke", { manager: m, credential }, options)),
      removeEndpoint: (m, endpoint) => Effect.asVoid(call(base, "removeEndpoint", { manager: m, endpoint }, options))
    }
    const acs: AccessControl.AccessControlShape = {
      systems: acsSystems,
      createUser: (a, user) =>
        call(
          base,
          "acsCreateUser",
          { acs: a, user: { fullName: user.fullName, ...(user.email === undefined ? {} : { email: user.email }) } },
          options
        ),
      getUser: (a, user) => call(base, "acsGetUser", { acs: a, user }, options),
      observe: (a, query) => call(base, "acsObserve", { acs: a, users: query.users, cardNumbers: query.cardNumbers }, options),
      importCredential: (a, entry) =>
        call(base, "acsImport", { acs: a, cardNumber: entry.cardNumber, card: entry.card, label: entry.label }, options),
      assign: (a, entry, user) => Effect.asVoid(call(base, "acsAssign", { acs: a, entry, user }, options)),
      remove: (a, entry) => Effect.asVoid(call(base, "acsRemove", { acs: a, entry }, options))
    }
    return { manager, acs }
  })

/**
 * `CredentialManager` and `AccessControl` served by the simulator server at `url`.
 *
 * @since 0.1.0
 */
export const layer = (
  url: string,
  options: Options = {}
): Layer.Layer<CredentialManager.CredentialManager | AccessControl.AccessControl, PortError.PortError> =>
  Layer.unwrap(
    Effect.map(make(url, options), (c) =>
      Layer.mergeAll(
        Layer.succeed(CredentialManager.CredentialManager, CredentialManager.CredentialManager.of(c.manager)),
        Layer.succeed(AccessControl.AccessControl, AccessControl.AccessControl.of(c.acs))
      )
    )
  )
