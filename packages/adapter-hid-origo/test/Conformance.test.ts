import { credentialManagerSuite } from "@credsync/testkit"
import { Effect } from "effect"
import { card, Fake, stack, system } from "./harness.js"

credentialManagerSuite("HID Origo adapter + fake", {
  layer: stack(),
  manager: system,
  card,
  redeem: (code) =>
    Effect.gen(function* () {
      const fake = yield* Fake
      yield* Effect.try(() => fake.controls.redeem(code))
    }),
  settle: () =>
    Effect.gen(function* () {
      const fake = yield* Fake
      fake.controls.settle()
    })
})
