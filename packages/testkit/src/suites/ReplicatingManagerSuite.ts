/**
 * Conformance suite for replicating `CredentialManager` implementations (`kind: "replicating"`,
 * e.g. Seam), the counterpart of `credentialManagerSuite` for issuing ones. It checks what the
 * engine's planner relies on at such a manager: an idempotent user, the parent and automation
 * created at the manager and listed back, one copy per (parent, phone) that the manager makes by
 * itself, and idempotent removal of phones, copies and parents.
 *
 * @since 0.2.0
 */
import { type Card, CredentialManager, Ids, type PortError } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"

/**
 * What an adapter's test provides to run the suite.
 * `R` are extra services the layer provides for the harness's own steps (e.g. an ACS port).
 *
 * @since 0.2.0
 */
export interface ReplicatingManagerHarness<R = never, E = unknown> {
  /** Built once per test (so it may be scoped, e.g. start a fake HTTP server on 127.0.0.1:0). */
  readonly layer: Layer.Layer<CredentialManager.CredentialManager | R, E>
  /** The manager system the suite works in. */
  readonly manager: Ids.AcsSystemId
  /** An ACS user for the identity whose manager-side user is `user` (the parent's holder). */
  readonly acsUserFor: (user: Ids.ProviderRef, name: string) => Effect.Effect<Ids.AcsUserId, unknown, R>
  /** A phone of that user comes online at the provider; returns its id (the endpoint ref). */
  readonly createPhone: (user: Ids.ProviderRef) => Effect.Effect<Ids.ProviderRef, unknown, R>
  /** Let the manager's asynchronous work (replication, removal) advance before the suite looks
   *  again; it looks a bounded number of times (default: wait 25 ms of real time). */
  readonly settle?: (() => Effect.Effect<void, unknown, R>) | undefined
  /** The card profile of the parents it creates (default `rfid48` / facility `9`): a manager may
   *  issue one profile only. */
  readonly card?: Pick<Card.CardProfile, "cardFormat" | "facilityCode"> | undefined
  /** A well-formed ref the manager does not hold (default a fresh-looking uuid). */
  readonly unknownRef?: Ids.ProviderRef | undefined
}

let counter = 0
/** A fresh identity id per use, so tests (and reruns against one server) never share manager users. */
const freshIdentity = (s: string): Ids.UserIdentityId =>
  Ids.UserIdentityId.make(`credsync-rm-suite-${s}-${++counter}-${Math.random().toString(36).slice(2, 10)}`)

/** What one test works with: the manager under test, its harness, and the harness's defaults applied. */
interface Test<R, E> {
  readonly cm: CredentialManager.ReplicatingManagerShape
  readonly h: ReplicatingManagerHarness<R, E>
  readonly m: Ids.AcsSystemId
  readonly card: Pick<Card.CardProfile, "cardFormat" | "facilityCode">
  readonly unknownRef: Ids.ProviderRef
}

/** How many times the suite looks for a converged view before it fails. */
const attempts = 400

/**
 * Register the replicating CredentialManager conformance tests under `describe(name)`. `harness` is
 * called when each test runs, so it may use what a `beforeAll` started (e.g. a server and its
 * system id). The tests run on the live clock: a replicating manager copies parents in its own time.
 *
 * @since 0.2.0
 */
export const replicatingManagerSuite = <R, E>(name: string, harness: () => ReplicatingManagerHarness<R, E>): void => {
  /** Run a test body against the manager the harness provides, narrowed to a replicating one. */
  const run = <A, E2>(body: (t: Test<R, E>) => Effect.Effect<A, E2, CredentialManager.CredentialManager | R>): Effect.Effect<A, E | E2, never> =>
    Effect.suspend(() => {
      const h = harness()
      return Effect.provide(
        Effect.gen(function* () {
          const cm = yield* CredentialManager.CredentialManager
          // the suite calls createParent and the like: an issuing manager under it is a mistake of the test
          if (cm.kind !== "replicating") return yield* Effect.die(new Error(`replicatingManagerSuite needs a replicating manager; ${name} is ${cm.kind}`))
          return yield* body({
            cm,
            h,
            m: h.manager,
            card: h.card ?? { cardFormat: "rfid48", facilityCode: "9" },
            unknownRef: h.unknownRef ?? Ids.ProviderRef.make("00000000-0000-4000-8000-000000000000")
          })
        }),
        h.layer
      )
    })

  /** Observe until `check` holds of the view; fail naming `what` after a bounded number of looks. */
  const until = ({ cm, h, m }: Test<R, E>, user: Ids.ProviderRef, what: string, check: (v: CredentialManager.ManagerView) => boolean) =>
    Effect.gen(function* () {
      for (let i = 0; i < attempts; i++) {
        const view = yield* cm.observe(m, user)
        if (check(view)) return view
        yield* h.settle?.() ?? Effect.sleep("25 millis")
      }
      return yield* Effect.die(new Error(`did not converge: ${what}`))
    })

  const reasonOf = <A>(eff: Effect.Effect<A, PortError.PortError>) =>
    Effect.map(Effect.result(eff), (r) => (r._tag === "Failure" ? r.failure.reason : "succeeded"))

  describe(`replicating CredentialManager conformance: ${name}`, () => {
    it.live("is a replicating manager of the system under test, with no invite or issue", () =>
      run(({ cm, m }) =>
        Effect.gen(function* () {
          assert.isDefined(cm.systems.find((s) => s.id === m))
          // the port's type says so; an untyped adapter could still carry them
          assert.deepStrictEqual(["invite", "cancelInvitation", "issue"].filter((k) => k in cm), [])
        })
      )
    )

    it.live("ensureUser is idempotent per identity and distinct across identities; a fresh user's view is empty", () =>
      run(({ cm, m }) =>
        Effect.gen(function* () {
          const id = freshIdentity("a")
          const u1 = yield* cm.ensureUser(m, { id, email: `${id}@example.com`, fullName: "A" })
          const u2 = yield* cm.ensureUser(m, { id, email: `${id}@example.com`, fullName: "A" })
          const other = yield* cm.ensureUser(m, { id: freshIdentity("b") })
          assert.strictEqual(u2, u1)
          assert.notStrictEqual(other, u1)
          const view = yield* cm.observe(m, u1)
          assert.deepStrictEqual(
            [view.user, view.invitations, view.endpoints, view.credentials, view.parents, view.automations],
            [u1, [], [], [], [], []]
          )
        })
      )
    )

    it.live("an unknown manager system fails with PortError NotFound", () =>
      run(({ cm, m }) =>
        Effect.gen(function* () {
          const user = yield* cm.ensureUser(m, { id: freshIdentity("unknown") })
          assert.strictEqual(yield* reasonOf(cm.observe(Ids.AcsSystemId.make("credsync-suite-unknown-manager"), user)), "NotFound")
        })
      )
    )

    it.live("removals are idempotent: unknown copy, parent and phone", () =>
      run(({ cm, m, unknownRef }) =>
        Effect.gen(function* () {
          const reasons = [
            yield* reasonOf(cm.revoke(m, unknownRef)),
            yield* reasonOf(cm.deleteParent(m, unknownRef)),
            yield* reasonOf(cm.removeEndpoint(m, unknownRef))
          ]
          assert.deepStrictEqual(reasons, ["succeeded", "succeeded", "succeeded"])
        })
      )
    )

    it.live("the manager copies the parent onto each phone; removing a phone and the parent removes the copies", () =>
      run((t) =>
        Effect.gen(function* () {
          const { cm, h, m, card } = t
          const user = yield* cm.ensureUser(m, { id: freshIdentity("flow"), fullName: "Flow" })
          const acsUser = yield* h.acsUserFor(user, "Flow")
          const automation = yield* cm.launchAutomation(m, user)
          const parent = yield* cm.createParent(m, { user, acsUserId: acsUser, card })
          let view = yield* cm.observe(m, user)
          assert.deepStrictEqual(view.automations?.map((a) => a.ref), [automation])
          assert.deepStrictEqual(view.parents, [{ ref: parent, ...card }])

          const phones = [yield* h.createPhone(user), yield* h.createPhone(user)]
          view = yield* until(t, user, "one active copy per phone", (v) => v.credentials.filter((c) => c.parent === parent && c.status === "active").length === 2)
          assert.deepStrictEqual(view.endpoints.map((e) => e.ref).sort(), [...phones].sort())
          assert.isTrue(view.endpoints.every((e) => e.status === "active"))
          const copies = view.credentials.filter((c) => c.parent === parent)
          assert.deepStrictEqual(copies.map((c) => c.endpoint).sort(), [...phones].sort())
          for (const c of copies) {
            assert.deepStrictEqual([c.cardFormat, c.facilityCode, c.status], [card.cardFormat, card.facilityCode, "active"])
            assert.isDefined(c.cardNumber)
          }
          assert.strictEqual(new Set(copies.map((c) => c.cardNumber)).size, 2)

          // a phone removed (twice): it leaves the endpoints, its copy goes (or is no longer live)
          const [lost, kept] = phones
          yield* cm.removeEndpoint(m, lost!)
          yield* cm.removeEndpoint(m, lost!)
          view = yield* until(t, user, "the lost phone's copy gone", (v) => v.credentials.filter(CredentialManager.isLive).length === 1)
          assert.deepStrictEqual(view.endpoints.map((e) => e.ref), [kept])
          assert.deepStrictEqual(view.credentials.filter((c) => c.status === "active").map((c) => c.endpoint), [kept])

          // the parent deleted (twice): it leaves the parents, every copy goes
          yield* cm.deleteParent(m, parent)
          yield* cm.deleteParent(m, parent)
          view = yield* until(t, user, "all copies gone", (v) => (v.parents ?? []).length === 0 && !v.credentials.some(CredentialManager.isLive))
          assert.deepStrictEqual(view.parents, [])
        })
      )
    )
  })
}
