/**
 * Conformance suite for `AccessControl` implementations.
 *
 * @since 0.1.0
 */
import { AccessControl, type Card, Ids, PortError } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"

/** What an adapter's test provides to run the suite. */
export interface AccessControlHarness<E = unknown> {
  /** Built once per test (may be scoped). */
  readonly layer: Layer.Layer<AccessControl.AccessControl, E>
  /** The ACS the suite works in. */
  readonly acsSystemId: Ids.AcsSystemId
  /** The card profile to import (default `H10301` / facility `42`). */
  readonly card?: Card.CardProfile | undefined
  /** Card numbers used by the suite start here (default 900000000); each test takes fresh ones. */
  readonly cardNumberBase?: number | undefined
  /** A well-formed ACS user id the system does not hold (default `"999999999"`). */
  readonly unknownUser?: Ids.AcsUserId | undefined
}

let counter = 0

/**
 * Register the AccessControl conformance tests under `describe(name)`.
 *
 * @since 0.1.0
 */
export const accessControlSuite = <E>(name: string, harness: AccessControlHarness<E>): void => {
  const acsId = harness.acsSystemId
  const card: Card.CardProfile = harness.card ?? { cardFormat: "H10301", facilityCode: "42" }
  const base = harness.cardNumberBase ?? 900_000_000
  const freshCard = (): string => String(base + ++counter)
  const unknownUser = harness.unknownUser ?? Ids.AcsUserId.make("999999999")
  const unknownAcs = Ids.AcsSystemId.make("credsync-suite-unknown-acs")

  const run = <A, E2>(body: Effect.Effect<A, E2, AccessControl.AccessControl>): Effect.Effect<A, E | E2> =>
    Effect.provide(body, harness.layer)

  const expectPortError = <A>(
    effect: Effect.Effect<A, PortError.PortError, AccessControl.AccessControl>,
    reasons: ReadonlyArray<PortError.Reason>
  ) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(effect)
      assert.instanceOf(error, PortError.PortError)
      assert.include(reasons, error.reason, `reason ${error.reason} (${error.message})`)
      assert.strictEqual(error.port, "AccessControl")
      return error
    })

  const refs = (entries: ReadonlyArray<AccessControl.AcsEntry>) => entries.map((e) => e.ref).sort()

  describe(`AccessControl conformance: ${name}`, () => {
    it.effect("lists the ACS under test", () =>
      run(
        Effect.gen(function* () {
          const acs = yield* AccessControl.AccessControl
          assert.isDefined(acs.systems.find((s) => s.id === acsId))
        })
      )
    )

    it.effect("createUser then getUser returns the same user", () =>
      run(
        Effect.gen(function* () {
          const acs = yield* AccessControl.AccessControl
          const created = yield* acs.createUser(acsId, { fullName: "Jane Doe", email: "jane@example.com" })
          assert.strictEqual(created.acsSystemId, acsId)
          assert.strictEqual(created.fullName, "Jane Doe")
          const got = yield* acs.getUser(acsId, created.id)
          assert.strictEqual(got.id, created.id)
          assert.strictEqual(got.fullName, "Jane Doe")
          assert.strictEqual(got.email, "jane@example.com")
          const other = yield* acs.createUser(acsId, { fullName: "John Roe" })
          assert.notStrictEqual(other.id, created.id)
        })
      )
    )

    it.effect("getUser of an unknown user fails with NotFound", () =>
      run(
        Effect.gen(function* () {
          const acs = yield* AccessControl.AccessControl
          yield* expectPortError(acs.getUser(acsId, unknownUser), ["NotFound"])
        })
      )
    )

    it.effect("importCredential returns an unassigned entry with the card and label, observed by card number", () =>
      run(
        Effect.gen(function* () {
          const acs = yield* AccessControl.AccessControl
          const cardNumber = freshCard()
          const label = AccessControl.managedLabel("child-1")
          const entry = yield* acs.importCredential(acsId, { cardNumber, card, label })
          assert.strictEqual(entry.cardNumber, cardNumber)
          assert.strictEqual(entry.cardFormat, card.cardFormat)
          assert.strictEqual(entry.facilityCode, card.facilityCode)
          assert.strictEqual(entry.label, label)
          assert.isTrue(AccessControl.isManaged(entry))
          assert.isUndefined(entry.assignedTo)
          const seen = yield* acs.observe(acsId, { users: [], cardNumbers: [cardNumber] })
          assert.deepStrictEqual(seen, [entry])
        })
      )
    )

    it.effect("importing an already imported card number fails with Conflict", () =>
      run(
        Effect.gen(function* () {
          const acs = yield* AccessControl.AccessControl
          const cardNumber = freshCard()
          const first = yield* acs.importCredential(acsId, { cardNumber, card, label: "credsync:a" })
          yield* expectPortError(acs.importCredential(acsId, { cardNumber, card, label: "credsync:b" }), ["Conflict"])
          const seen = yield* acs.observe(acsId, { users: [], cardNumbers: [cardNumber] })
          assert.deepStrictEqual(refs(seen), [first.ref])
          assert.strictEqual(seen[0]!.label, "credsync:a")
        })
      )
    )

    it.effect("assign: observe by user shows assignedTo", () =>
      run(
        Effect.gen(function* () {
          const acs = yield* AccessControl.AccessControl
          const user = yield* acs.createUser(acsId, { fullName: "Assignee" })
          const entry = yield* acs.importCredential(acsId, { cardNumber: freshCard(), card, label: "credsync:x" })
          yield* acs.assign(acsId, entry.ref, user.id)
          const byUser = yield* acs.observe(acsId, { users: [user.id], cardNumbers: [] })
          assert.deepStrictEqual(refs(byUser), [entry.ref])
          assert.strictEqual(byUser[0]!.assignedTo, user.id)
          const byCard = yield* acs.observe(acsId, { users: [], cardNumbers: [entry.cardNumber] })
          assert.strictEqual(byCard[0]!.assignedTo, user.id)
        })
      )
    )

    it.effect("assign to an unknown user fails with NotFound", () =>
      run(
        Effect.gen(function* () {
          const acs = yield* AccessControl.AccessControl
          const entry = yield* acs.importCredential(acsId, { cardNumber: freshCard(), card, label: "credsync:y" })
          yield* expectPortError(acs.assign(acsId, entry.ref, unknownUser), ["NotFound"])
          const seen = yield* acs.observe(acsId, { users: [], cardNumbers: [entry.cardNumber] })
          assert.isUndefined(seen[0]!.assignedTo)
        })
      )
    )

    it.effect("remove deletes the entry and is idempotent", () =>
      run(
        Effect.gen(function* () {
          const acs = yield* AccessControl.AccessControl
          const user = yield* acs.createUser(acsId, { fullName: "Remover" })
          const entry = yield* acs.importCredential(acsId, { cardNumber: freshCard(), card, label: "credsync:z" })
          yield* acs.assign(acsId, entry.ref, user.id)
          yield* acs.remove(acsId, entry.ref)
          const seen = yield* acs.observe(acsId, { users: [user.id], cardNumbers: [entry.cardNumber] })
          assert.deepStrictEqual(seen, [])
          yield* acs.remove(acsId, entry.ref)
        })
      )
    )

    it.effect("observe returns exactly the entries matching the users or card numbers", () =>
      run(
        Effect.gen(function* () {
          const acs = yield* AccessControl.AccessControl
          const u1 = yield* acs.createUser(acsId, { fullName: "One" })
          const u2 = yield* acs.createUser(acsId, { fullName: "Two" })
          const e1 = yield* acs.importCredential(acsId, { cardNumber: freshCard(), card, label: "credsync:1" })
          const e2 = yield* acs.importCredential(acsId, { cardNumber: freshCard(), card, label: "credsync:2" })
          const e3 = yield* acs.importCredential(acsId, { cardNumber: freshCard(), card, label: "credsync:3" })
          yield* acs.assign(acsId, e1.ref, u1.id)
          yield* acs.assign(acsId, e2.ref, u2.id)
          assert.deepStrictEqual(refs(yield* acs.observe(acsId, { users: [u1.id], cardNumbers: [] })), [e1.ref])
          assert.deepStrictEqual(
            refs(yield* acs.observe(acsId, { users: [u1.id, u2.id], cardNumbers: [] })),
            [e1.ref, e2.ref].sort()
          )
          assert.deepStrictEqual(
            refs(yield* acs.observe(acsId, { users: [], cardNumbers: [e3.cardNumber] })),
            [e3.ref]
          )
          assert.deepStrictEqual(
            refs(yield* acs.observe(acsId, { users: [u1.id], cardNumbers: [e3.cardNumber, e1.cardNumber] })),
            [e1.ref, e3.ref].sort(),
            "an entry matching both filters is returned once"
          )
          assert.deepStrictEqual(yield* acs.observe(acsId, { users: [], cardNumbers: [] }), [])
          assert.deepStrictEqual(yield* acs.observe(acsId, { users: [], cardNumbers: [freshCard()] }), [])
        })
      )
    )

    it.effect("an unknown ACS fails with PortError NotFound", () =>
      run(
        Effect.gen(function* () {
          const acs = yield* AccessControl.AccessControl
          yield* expectPortError(acs.createUser(unknownAcs, { fullName: "Nobody" }), ["NotFound"])
          yield* expectPortError(acs.observe(unknownAcs, { users: [], cardNumbers: ["1"] }), ["NotFound"])
          yield* expectPortError(
            acs.importCredential(unknownAcs, { cardNumber: freshCard(), card, label: "credsync:u" }),
            ["NotFound"]
          )
        })
      )
    )
  })
}
