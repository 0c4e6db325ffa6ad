/**
 * A Promise-based facade over the engine for hosts that do not use Effect. Every method maps to an
 * Engine operation; failures reject with the same typed errors (`CommandRejected`, `PortError`,
 * `InvalidObservation`), which carry `_tag`, `reason` and `message`.
 *
 * ```ts
 * const credsync = Client.make(MyEngineLayer)
 * const identity = await credsync.createUserIdentity({ email: "jane@example.com" })
 * await credsync.phoneOnline({ userIdentityId: identity.id, phoneId: "phone-1", deviceType: "ios_phone" })
 * credsync.start() // reconcile in the background
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Fiber, type Layer, ManagedRuntime, Stream } from "effect"
import type { CommandRejected } from "./Command.js"
import { Engine, type ReconcileResult } from "./Engine.js"
import type { DomainEvent } from "./Event.js"
import type { IdentityState } from "./Identity.js"
import { randomUuid, UserIdentityId } from "./Ids.js"


/** @since 0.1.0 */
export interface Client {
  /** `userIdentityId` is generated when omitted. */
  readonly createUserIdentity: (input: {
    readonly userIdentityId?: string
    readonly key?: string
    readonly email?: string
    readonly phoneNumber?: string
    readonly fullName?: string
  }) => Promise<IdentityState>
  readonly deleteUserIdentity: (input: { readonly userIdentityId: string }) => Promise<IdentityState>
  readonly linkAcsUser: (input: { readonly userIdentityId: string; readonly acsUserId: string; readonly acsSystemId: string }) => Promise<IdentityState>
  readonly phoneOnline: (input: {
    readonly userIdentityId: string
    readonly phoneId: string
    readonly deviceType: "ios_phone" | "android_phone"
    readonly metadata?: Record<string, string | boolean>
  }) => Promise<IdentityState>
  readonly deactivatePhone: (input: { readonly userIdentityId: string; readonly phoneId: string }) => Promise<IdentityState>
  /** `automationId` is generated when omitted. */
  readonly launchEnrollmentAutomation: (input: {
    readonly userIdentityId: string
    readonly managerId: string
    readonly automationId?: string
  }) => Promise<IdentityState>
  readonly deleteEnrollmentAutomation: (input: { readonly userIdentityId: string; readonly automationId: string }) => Promise<IdentityState>
  /** A multi-phone sync credential. `credentialId` is generated when omitted. */
  readonly createSyncCredential: (input: {
    readonly userIdentityId: string
    readonly acsUserId: string
    readonly managerId: string
    readonly cardFormat: string
    readonly facilityCode: string
    readonly startsAt?: string
    readonly endsAt?: string
    readonly credentialId?: string
  }) => Promise<IdentityState>
  readonly deleteSyncCredential: (input: { readonly userIdentityId: string; readonly credentialId: string }) => Promise<IdentityState>
  readonly get: (userIdentityId: string) => Promise<IdentityState>
  readonly lookup: (key: string) => Promise<UserIdentityId | undefined>
  /** Hand over a provider callback; resolves with the identity it concerns. */
  readonly ingest: (observation: unknown) => Promise<UserIdentityId>
  readonly reconcile: (userIdentityId: UserIdentityId) => Promise<ReconcileResult>
  /** Reconcile everything due now; resolves with how many identities ran. */
  readonly drain: () => Promise<number>
  /** Subscribe to domain events; returns an unsubscribe function. */
  readonly onEvent: (listener: (event: DomainEvent) => void) => () => void
  /** Start the background loop (idempotent). */
  readonly start: () => void
  /** Stop the loop and release every resource. */
  readonly close: () => Promise<void>
}

export type { CommandRejected }

/** @since 0.1.0 */
export const make = <E>(layer: Layer.Layer<Engine, E>): Client => {
  const runtime = ManagedRuntime.make(layer)
  const withEngine = <A, Err>(f: (engine: Engine["Service"]) => Effect.Effect<A, Err>) =>
    Effect.gen(function* () {
      return yield* f(yield* Engine)
    })
  const run = <A, Err>(f: (engine: Engine["Service"]) => Effect.Effect<A, Err>) => runtime.runPromise(withEngine(f))
  const exec = (command: Record<string, unknown>) => run((e) => e.execute(command))
  const withId = <K extends string>(input: Record<string, unknown>, key: K) =>
    input[key] === undefined ? runtime.runPromise(Effect.map(randomUuid, (id) => ({ ...input, [key]: id }))) : Promise.resolve(input)
  let loop: Fiber.Fiber<unknown, unknown> | undefined
  return {
    createUserIdentity: async (input) => exec({ _tag: "CreateUserIdentity", ...(await withId(input, "userIdentityId")) }),
    deleteUserIdentity: (input) => exec({ _tag: "DeleteUserIdentity", ...input }),
    linkAcsUser: (input) => exec({ _tag: "LinkAcsUser", ...input }),
    phoneOnline: (input) => exec({ _tag: "PhoneOnline", ...input }),
    deactivatePhone: (input) => exec({ _tag: "DeactivatePhone", ...input }),
    launchEnrollmentAutomation: async (input) => exec({ _tag: "LaunchAutomation", ...(await withId(input, "automationId")) }),
    deleteEnrollmentAutomation: (input) => exec({ _tag: "DeleteAutomation", ...input }),
    createSyncCredential: async (input) => exec({ _tag: "CreateSyncCredential", ...(await withId(input, "credentialId")) }),
    deleteSyncCredential: (input) => exec({ _tag: "DeleteSyncCredential", ...input }),
    get: (id) => run((e) => e.get(UserIdentityId.make(id))),
    lookup: (key) => run((e) => e.lookup(key)),
    ingest: (observation) => run((e) => e.ingest(observation)),
    reconcile: (id) => run((e) => e.reconcile(id)),
    drain: () => run((e) => e.drain),
    onEvent: (listener) => {
      const fiber = runtime.runFork(withEngine((e) => Stream.runForEach(e.live, (ev) => Effect.sync(() => listener(ev)))))
      return () => {
        runtime.runFork(Fiber.interrupt(fiber))
      }
    },
    start: () => {
      loop ??= runtime.runFork(withEngine((e) => e.run))
    },
    close: async () => {
      if (loop !== undefined) await runtime.runPromise(Fiber.interrupt(loop))
      await runtime.dispose()
    }
  }
}
