/**
 * What the engine tests share: one person with one phone, as a host would bring them in; a logger
 * that keeps every line; counters read from a fresh metric registry.
 */
import { Simulator } from "@credsync/adapter-memory"
import { type AccessControl, Command, type Engine, type Ids, type PortError } from "@credsync/core"
import { Effect, Layer, Logger, Metric, References } from "effect"

/**
 * Ana (identity `id`): an ACS user linked, the automation `a1` and the sync credential `c1` at the
 * default manager, and her phone `p1` online. Returns her ACS user. Nothing is reconciled yet.
 */
export const ana = (
  engine: Engine.EngineShape,
  sim: Simulator.Simulator,
  id: Ids.UserIdentityId
): Effect.Effect<AccessControl.AcsUser, PortError.PortError | Command.CommandRejected> =>
  Effect.gen(function* () {
    const acsUser = yield* sim.acs.createUser(Simulator.defaultAcsId, { fullName: "Ana" })
    for (const command of [
      { _tag: "CreateUserIdentity", userIdentityId: id },
      { _tag: "LinkAcsUser", userIdentityId: id, acsUserId: acsUser.id, acsSystemId: Simulator.defaultAcsId },
      { _tag: "LaunchAutomation", userIdentityId: id, automationId: "a1", managerId: Simulator.defaultManagerId },
      { _tag: "CreateSyncCredential", userIdentityId: id, credentialId: "c1", acsUserId: acsUser.id, managerId: Simulator.defaultManagerId, cardFormat: "rfid48", facilityCode: "9" },
      { _tag: "PhoneOnline", userIdentityId: id, phoneId: "p1", deviceType: "ios_phone" }
    ] satisfies ReadonlyArray<Command.Encoded>) {
      yield* engine.execute(Command.make(command))
    }
    return acsUser
  })

/** One log line as a test reads it. */
export interface Line {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

/** A test Logger that keeps every line, at every level, with its annotations; `find` the first of a level whose message matches. */
export const logged = () => {
  const lines: Array<Line> = []
  const logger = Logger.make((o) => {
    const message = Array.isArray(o.message) ? o.message.map(String).join(" ") : String(o.message)
    lines.push({ level: o.logLevel, message, annotations: { ...o.fiber.getRef(References.CurrentLogAnnotations) } })
  })
  const layer = Layer.mergeAll(Logger.layer([logger]), Layer.succeed(References.MinimumLogLevel, "All"))
  const find = (level: string, text: string | RegExp) =>
    lines.find((l) => l.level === level && (typeof text === "string" ? l.message.includes(text) : text.test(l.message)))
  return { lines, layer, find }
}

/** The sum of the counter `id` over its series with these attributes. */
export const counter = (id: string, attributes: Readonly<Record<string, string>> = {}) =>
  Effect.map(Metric.snapshot, (all) =>
    all
      .filter((m) => m.id === id && Object.entries(attributes).every(([k, v]) => m.attributes?.[k] === v))
      .reduce((n, m) => n + (m.type === "Counter" ? Number(m.state.count) : 0), 0)
  )

/** Run `eff` with a metric registry of its own, so counts start at zero. */
export const fresh = <A, E, R>(eff: Effect.Effect<A, E, R>) => Effect.provide(eff, Layer.succeed(Metric.MetricRegistry, new Map()))
