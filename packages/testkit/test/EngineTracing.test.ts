/**
 * The engine's spans, as a tracing backend receives them: one `credsync.reconcile` span per
 * reconcile (identity, replica), and within it one client span per provider call named
 * `<port>.<action>` with the identity, system, port, action and the call's outcome. A recording
 * tracer, memory adapters, TestClock.
 */
import { MemoryAccessControl, MemoryCredentialManager, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { Engine, Identity, Ids } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Schedule, Tracer } from "effect"
import { ana } from "./fixtures.js"

const id = Ids.UserIdentityId.make("u1")

/** A tracer that keeps every span it starts. */
const recording = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}

const setup = Effect.gen(function* () {
  const sim = Simulator.make()
  const engine = yield* Engine.make({ retry: Schedule.recurs(0), replica: "r1" }).pipe(
    Effect.provide(Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), MemoryStore.layer()))
  )
  yield* ana(engine, sim, id)
  yield* engine.reconcile(id)
  yield* sim.redeem(Identity.enrollmentByKey(yield* engine.get(id), "p1|cm_sim")?.code ?? "")
  return { sim, engine }
})

const attributes = (span: Tracer.NativeSpan | undefined) => Object.fromEntries(span?.attributes ?? [])

describe("engine spans", () => {
  it.effect("a reconcile span, and a client span per provider call with what it called and how it went", () =>
    Effect.gen(function* () {
      const { engine } = yield* setup
      const { spans, tracer } = recording()
      yield* Effect.withTracer(engine.reconcile(id), tracer)
      const reconcile = spans.filter((s) => s.name === "credsync.reconcile")
      assert.lengthOf(reconcile, 1)
      assert.deepStrictEqual(attributes(reconcile[0]), { "credsync.identity": "u1", "credsync.replica": "r1" })
      const named = (name: string) => spans.find((s) => s.name === name)
      assert.deepStrictEqual(attributes(named("CredentialManager.Issue")), {
        "credsync.identity": "u1",
        "credsync.system": "cm_sim",
        "credsync.port": "CredentialManager",
        "credsync.action": "Issue",
        "credsync.outcome": "ok"
      })
      assert.deepStrictEqual(attributes(named("AccessControl.Import")), {
        "credsync.identity": "u1",
        "credsync.system": "acs_sim",
        "credsync.port": "AccessControl",
        "credsync.action": "Import",
        "credsync.outcome": "ok"
      })
      assert.deepStrictEqual(attributes(named("AccessControl.observe")), {
        "credsync.identity": "u1",
        "credsync.system": "acs_sim",
        "credsync.port": "AccessControl",
        "credsync.action": "observe",
        "credsync.outcome": "ok"
      })
      assert.strictEqual(attributes(named("CredentialManager.observe"))["credsync.port"], "CredentialManager")
      // every call is a client span inside the reconcile's
      const calls = spans.filter((s) => s.name !== "credsync.reconcile")
      assert.isAbove(calls.length, 3)
      for (const call of calls) {
        assert.strictEqual(call.kind, "client", call.name)
        assert.strictEqual(Option.getOrUndefined(call.parent), reconcile[0], call.name)
      }
    }))

  it.effect("a failed call's span carries the failure's reason as its outcome", () =>
    Effect.gen(function* () {
      const { sim, engine } = yield* setup
      yield* sim.failNext("issue", "Unauthorized")
      const { spans, tracer } = recording()
      yield* Effect.withTracer(engine.reconcile(id), tracer)
      const issue = spans.filter((s) => s.name === "CredentialManager.Issue")
      assert.deepStrictEqual(
        issue.map((s) => s.attributes.get("credsync.outcome")),
        ["Unauthorized"]
      )
      // the reconcile's own span has no call outcome
      assert.isFalse(spans.find((s) => s.name === "credsync.reconcile")?.attributes.has("credsync.outcome"))
    }))
})
