/**
 * @credsync/core: the pure core (schemas, decide / evolve / plan) and the Effect engine runtime.
 *
 * @since 0.1.0
 * @module @credsync/core
 */
export * as AccessControl from "./AccessControl.js"
export * as Action from "./Action.js"
export * as Aggregate from "./Aggregate.js"
export * as Callbacks from "./Callbacks.js"
export * as Card from "./Card.js"
export * as Client from "./Client.js"
export * as Command from "./Command.js"
export * as CredentialManager from "./CredentialManager.js"
export * as Engine from "./Engine.js"
export * as Event from "./Event.js"
export * as Identity from "./Identity.js"
export * as Ids from "./Ids.js"
export * as Notices from "./Notices.js"
export * as Observability from "./Observability.js"
export * as Observation from "./Observation.js"
export * as Plan from "./Plan.js"
export * as PortError from "./PortError.js"
export * as Records from "./Records.js"
export * as Store from "./Store.js"
