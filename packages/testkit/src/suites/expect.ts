/**
 * Assertions the store suites share.
 *
 * @internal
 */
import { PortError } from "@credsync/core"
import { assert } from "@effect/vitest"
import { Effect } from "effect"

/** `effect` fails with the store's `Conflict` (Store and Records implementations both name the port `Store`). */
export const expectConflict = <A>(effect: Effect.Effect<A, PortError.PortError>): Effect.Effect<PortError.PortError, A> =>
  Effect.gen(function* () {
    const error = yield* Effect.flip(effect)
    assert.instanceOf(error, PortError.PortError)
    assert.strictEqual(error.reason, "Conflict", error.message)
    assert.strictEqual(error.port, "Store")
    return error
  })
