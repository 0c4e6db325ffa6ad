/**
 * A Promise-based facade over the engine for hosts that do not use Effect. Every method maps to an
 * Engine operation; failures reject with the same typed errors (`CommandRejected`, `PortError`,
 * `InvalidObservation`, `SaveRejected`, `CallbackRejected`), which carry `_tag`, `reason` and
 * `message`.
 *
 * ```ts
 * const credsync = Client.make(MyEngineLayer, { onError: (e) => alert(e.message) })
 * await credsync.start() // rejects when the store cannot be opened; later loop failures go to onError
 * const identity = await credsync.createUserIdentity({ email: "jane@example.com" })
 * await credsync.phoneOnline({ userIdentityId: identity.id, phoneId: "phone-1", deviceType: "ios_phone" })
 * ```
 *
 * Logs, traces and metrics are set up from the environment (`CREDSYNC_LOG_LEVEL`,
 * `CREDSYNC_LOG_FORMAT`, `OTEL_EXPORTER_OTLP_*`; see `Observability`) unless `observability: false`.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Duration, Effect, Fiber, Layer, ManagedRuntime, Option, Schema, Stream } from "effect"
import { type CallbackRequest, CallbackRejected, HidOrigoIntake, type Ingested, ingest as ingestWith, SeamWebhookIntake } from "./Callbacks.js"
import type { Command, CommandRejected, Fields } from "./Command.js"
import { Engine, type EventPage, type Health, type ReconcileResult, type StuckIdentity } from "./Engine.js"
import type { DomainEvent } from "./Event.js"
import type { IdentityState } from "./Identity.js"
import { randomUuid, UserIdentityId } from "./Ids.js"
import * as Observability from "./Observability.js"
import type { PortError } from "./PortError.js"

/**
 * The background loop died of a defect (a bug, not a store failure). It is restarted like a
 * failure; the message is the defect's, in one line.
 *
 * @since 0.2.0
 */
export class LoopDefect extends Schema.TaggedError<LoopDefect>()("LoopDefect", { message: Schema.String }) {}

/** What `onError` receives: the store failure that stopped the loop, or a defect. @since 0.2.0 */
export type LoopError = PortError | LoopDefect

/** Options of {@link make}. @since 0.2.0 */
export interface Options {
  /** Called with each failure of the background loop once `start()` has resolved; the loop is
   *  restarted after a back-off (1 s doubling to 30 s). Also see `onError()`. */
  readonly onError?: ((error: LoopError) => void) | undefined
  /** Logs and OTLP export from the environment (`Observability.layer`), or these log options.
   *  `false`: the layer given to `make` decides (e.g. it merges `Logger.layer([...])`). Default true. */
  readonly observability?: boolean | Observability.LogOptions | undefined
}


/**
 * `T` with the keys `K` optional (the facade generates those ids when they are omitted).
 *
 * @since 0.2.0
 */
export type WithOptional<T, K extends keyof T> = Omit<T, K> & { readonly [P in K]?: T[P] | undefined }

/**
 * The Promise facade: every engine command and query as an async method, plus events and the
 * background loop. A command method's input is that command's fields in their plain form
 * (`Command.Fields`, derived from the command Schemas; ids are strings); it is decoded like any
 * untyped input (`Engine.executeUnknown`), so a JavaScript caller's bad field rejects with a
 * `CommandRejected` naming it.
 *
 * @since 0.1.0
 */
export interface Client {
  /** `userIdentityId` is generated when omitted. */
  readonly createUserIdentity: (input: WithOptional<Fields<"CreateUserIdentity">, "userIdentityId">) => Promise<IdentityState>
  /** A field left out stays; `null` removes it. */
  readonly updateUserIdentity: (input: Fields<"UpdateUserIdentity">) => Promise<IdentityState>
  readonly deleteUserIdentity: (input: Fields<"DeleteUserIdentity">) => Promise<IdentityState>
  readonly linkAcsUser: (input: Fields<"LinkAcsUser">) => Promise<IdentityState>
  /** Refused while a multi-phone sync credential is assigned to that ACS user. */
  readonly unlinkAcsUser: (input: Fields<"UnlinkAcsUser">) => Promise<IdentityState>
  readonly phoneOnline: (input: Fields<"PhoneOnline">) => Promise<IdentityState>
  readonly deactivatePhone: (input: Fields<"DeactivatePhone">) => Promise<IdentityState>
  /** `automationId` is generated when omitted. */
  readonly launchEnrollmentAutomation: (input: WithOptional<Fields<"LaunchAutomation">, "automationId">) => Promise<IdentityState>
  readonly deleteEnrollmentAutomation: (input: Fields<"DeleteAutomation">) => Promise<IdentityState>
  /** A multi-phone sync credential. `credentialId` is generated when omitted. */
  readonly createSyncCredential: (input: WithOptional<Fields<"CreateSyncCredential">, "credentialId">) => Promise<IdentityState>
  /** A parent's `startsAt` / `endsAt` (`null` removes one). */
  readonly updateSyncCredential: (input: Fields<"UpdateSyncCredential">) => Promise<IdentityState>
  readonly deleteSyncCredential: (input: Fields<"DeleteSyncCredential">) => Promise<IdentityState>
  readonly get: (userIdentityId: string) => Promise<IdentityState>
  readonly lookup: (key: string) => Promise<UserIdentityId | undefined>
  /** Hand over a provider observation (the simulator's callbacks, or one an adapter decoded);
   *  resolves with the identity it concerns. */
  readonly ingest: (observation: unknown) => Promise<UserIdentityId>
  /** An HID Origo callback delivery as received (raw body, headers): authenticated and decoded by
   *  the `HidOrigoIntake` in the client's layer (adapter-hid-origo's `OrigoEvents.intakeLayer`),
   *  then handed to the engine. A forged or malformed delivery rejects with `CallbackRejected` and
   *  changes nothing. */
  readonly ingestHidOrigo: (request: CallbackRequest) => Promise<Ingested>
  /** A Seam webhook delivery as received: its Svix signature and timestamp verified by the
   *  `SeamWebhookIntake` in the client's layer (adapter-seam's `SeamWebhooks.intakeLayer`). A
   *  forged, tampered or stale delivery rejects with `CallbackRejected` and changes nothing. */
  readonly ingestSeamWebhook: (request: CallbackRequest) => Promise<Ingested>
  readonly reconcile: (userIdentityId: UserIdentityId) => Promise<ReconcileResult>
  /** Reconcile everything due now; resolves with how many identities ran. */
  readonly drain: () => Promise<number>
  /** Subscribe to domain events as they are committed (live only; see `events`); returns an
   *  unsubscribe function. */
  readonly onEvent: (listener: (event: DomainEvent) => void) => () => void
  /**
   * The durable event feed (`Engine.events`): a page of committed events after `after`, in commit
   * order. At-least-once: persist `next` after handling the page and pass it as `after` next time,
   * also after a restart; nothing committed meanwhile is missed (while the store still holds it).
   */
  readonly events: (options?: { readonly after?: string | undefined; readonly limit?: number | undefined }) => Promise<EventPage>
  /** Identities the engine cannot converge (failing reconcile after reconcile, or a refused save). */
  readonly stuck: () => Promise<ReadonlyArray<StuckIdentity>>
  /** Loop and store health, for a readiness check. */
  readonly health: () => Promise<Health>
  /** The metrics in the Prometheus text format, for the host's `/metrics`. */
  readonly metrics: () => Promise<string>
  /** Subscribe to failures of the background loop (each restarts it after a back-off); returns an
   *  unsubscribe function. */
  readonly onError: (listener: (error: LoopError) => void) => () => void
  /**
   * Start the background loop (idempotent). Resolves once the layer is built and the store has
   * answered; rejects otherwise (e.g. a store that cannot be opened), and the loop is not started.
   * Later failures are logged, reported to `onError` and the loop restarts with back-off.
   */
  readonly start: () => Promise<void>
  /** Stop the loop and release every resource. */
  readonly close: () => Promise<void>
}

export type { CommandRejected }

/**
 * Start a Promise facade over an engine layer; call `close()` to stop its loop and release its
 * resources. Merge `OrigoEvents.intakeLayer(...)` / `SeamWebhooks.intakeLayer(...)` into `layer` for
 * `ingestHidOrigo` / `ingestSeamWebhook`.
 *
 * @since 0.1.0
 */
export const make = <ROut, E>(layer: Layer.Layer<ROut | Engine, E>, options: Options = {}): Client => {
  const obs = options.observability ?? true
  const runtime = ManagedRuntime.make(
    // the host's layer last: its own loggers or tracer, if it provides some, win
    obs === false ? layer : Layer.merge(Observability.layer(obs === true ? {} : obs), layer)
  )
  const withEngine = <A, Err>(f: (engine: Engine["Service"]) => Effect.Effect<A, Err>) =>
    Effect.gen(function* () {
      return yield* f(yield* Engine)
    })
  const run = <A, Err>(f: (engine: Engine["Service"]) => Effect.Effect<A, Err>) => runtime.runPromise(withEngine(f))
  // the input is typed for TypeScript hosts only: a JavaScript host can pass anything, so it is decoded
  const exec = (command: { readonly _tag: Command["_tag"] }) => run((e) => e.executeUnknown(command))
  const withId = <T extends object>(input: T, key: string): Promise<T> =>
    Object.entries(input).some(([k, v]) => k === key && v !== undefined)
      ? Promise.resolve(input)
      : runtime.runPromise(Effect.map(randomUuid, (id) => ({ ...input, [key]: id })))
  const callback = (provider: CallbackRejected["provider"], request: CallbackRequest) =>
    runtime.runPromise(
      Effect.gen(function* () {
        const intake = provider === "hid-origo" ? yield* Effect.serviceOption(HidOrigoIntake) : yield* Effect.serviceOption(SeamWebhookIntake)
        if (Option.isNone(intake)) {
          return yield* Effect.fail(
            new CallbackRejected({
              provider,
              reason: "NotConfigured",
              message: `no ${provider} intake: merge ${provider === "hid-origo" ? "OrigoEvents.intakeLayer" : "SeamWebhooks.intakeLayer"} into the client's layer`
            })
          )
        }
        return yield* ingestWith(intake.value, yield* Engine, request)
      })
    )

  const listeners = new Set<(error: LoopError) => void>()
  if (options.onError !== undefined) listeners.add(options.onError)
  const report = (error: LoopError) => {
    for (const l of listeners) {
      try {
        l(error)
      } catch {
        // a listener's own failure must not stop the loop or the other listeners
      }
    }
  }
  const asLoopError = (cause: Cause.Cause<PortError>): LoopError => {
    const failure = Option.getOrUndefined(Cause.findErrorOption(cause))
    if (failure !== undefined) return failure
    const defect = Cause.squash(cause)
    return new LoopDefect({ message: (defect instanceof Error ? defect.message : String(defect)).split("\n")[0] ?? "defect" })
  }
  // The loop, restarted after each failure (the engine logged it): 1 s, doubling to 30 s; a run
  // that lasted a minute starts the back-off again.
  const supervised = (engine: Engine["Service"]) =>
    Effect.gen(function* () {
      let failures = 0
      while (true) {
        const started = yield* Clock.currentTimeMillis
        const exit = yield* Effect.exit(engine.run)
        if (exit._tag === "Success" || Cause.hasInterruptsOnly(exit.cause)) return
        const lived = (yield* Clock.currentTimeMillis) - started
        failures = lived >= 60_000 ? 1 : failures + 1
        const wait = Math.min(30_000, 1_000 * 2 ** (failures - 1))
        const error = asLoopError(exit.cause)
        yield* Effect.sync(() => report(error))
        yield* Effect.logInfo(`restarting the background loop in ${wait / 1000} s`)
        yield* Effect.sleep(Duration.millis(wait))
      }
    })
  let loop: Fiber.Fiber<unknown, unknown> | undefined
  let starting: Promise<void> | undefined
  return {
    createUserIdentity: async (input) => exec({ _tag: "CreateUserIdentity", ...(await withId(input, "userIdentityId")) }),
    updateUserIdentity: (input) => exec({ _tag: "UpdateUserIdentity", ...input }),
    deleteUserIdentity: (input) => exec({ _tag: "DeleteUserIdentity", ...input }),
    linkAcsUser: (input) => exec({ _tag: "LinkAcsUser", ...input }),
    unlinkAcsUser: (input) => exec({ _tag: "UnlinkAcsUser", ...input }),
    phoneOnline: (input) => exec({ _tag: "PhoneOnline", ...input }),
    deactivatePhone: (input) => exec({ _tag: "DeactivatePhone", ...input }),
    launchEnrollmentAutomation: async (input) => exec({ _tag: "LaunchAutomation", ...(await withId(input, "automationId")) }),
    deleteEnrollmentAutomation: (input) => exec({ _tag: "DeleteAutomation", ...input }),
    createSyncCredential: async (input) => exec({ _tag: "CreateSyncCredential", ...(await withId(input, "credentialId")) }),
    updateSyncCredential: (input) => exec({ _tag: "UpdateSyncCredential", ...input }),
    deleteSyncCredential: (input) => exec({ _tag: "DeleteSyncCredential", ...input }),
    get: (id) => run((e) => e.get(UserIdentityId.make(id))),
    lookup: (key) => run((e) => e.lookup(key)),
    ingest: (observation) => run((e) => e.ingest(observation)),
    ingestHidOrigo: (request) => callback("hid-origo", request),
    ingestSeamWebhook: (request) => callback("seam", request),
    reconcile: (id) => run((e) => e.reconcile(id)),
    drain: () => run((e) => e.drain),
    onEvent: (listener) => {
      const fiber = runtime.runFork(withEngine((e) => Stream.runForEach(e.live, (ev) => Effect.sync(() => listener(ev)))))
      return () => {
        runtime.runFork(Fiber.interrupt(fiber))
      }
    },
    events: (options) => run((e) => e.events(options)),
    stuck: () => run((e) => e.stuck),
    health: () => run((e) => e.health),
    metrics: () => runtime.runPromise(Observability.prometheus),
    onError: (listener) => {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    start: () => {
      starting ??= run((e) =>
        // building the layer opens the store; nextDue proves it answers
        Effect.map(e.nextDue, () => {
          loop ??= runtime.runFork(supervised(e))
        })
      ).catch((error: unknown) => {
        starting = undefined
        throw error
      })
      return starting
    },
    close: async () => {
      if (loop !== undefined) await runtime.runPromise(Fiber.interrupt(loop))
      await runtime.dispose()
    }
  }
}
