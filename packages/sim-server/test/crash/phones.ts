/**
 * The phone apps of the crash tests' engine processes: every 25 ms, redeem each invitation code the
 * engine handed to an active phone (once per process), printing `REDEEM <phone> <code>` first so the
 * test knows which phone holds which endpoint, then send the provider's callback as HID would.
 */
import { type Engine, Identity, Ids } from "@credsync/core"
import type { SimControls } from "@credsync/sim-server"
import { Effect, Schedule } from "effect"
import { identityCount, identityId, managerId } from "./workload.js"

export const play = (engine: Engine.EngineShape, controls: SimControls.Controls, say: (line: string) => void) => {
  const redeemed = new Set<string>()
  const once = Effect.gen(function* () {
    for (let i = 0; i < identityCount; i++) {
      const state = yield* Effect.option(engine.get(Ids.UserIdentityId.make(identityId(i))))
      if (state._tag === "None") continue
      for (const e of state.value.enrollments) {
        if (e.status !== "invited" || e.code === undefined || e.invitation === undefined || redeemed.has(e.code)) continue
        if (Identity.phone(state.value, e.phoneId)?.active !== true) continue
        redeemed.add(e.code)
        say(`REDEEM ${e.phoneId} ${e.code}`)
        const endpoint = yield* Effect.option(controls.redeem(e.code))
        if (endpoint._tag === "Some") {
          yield* Effect.ignore(
            engine.ingest({ _tag: "EndpointActive", managerId, userIdentityId: state.value.id, endpoint: endpoint.value, invitation: e.invitation })
          )
        }
      }
    }
  })
  return Effect.repeat(Effect.ignore(once), Schedule.spaced("25 millis"))
}
