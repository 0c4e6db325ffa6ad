/**
 * Conformance suite for issuing `CredentialManager` implementations (`kind: "issuing"`). It only
 * asserts what the port's documentation promises, so the memory and HID Origo adapters can both
 * pass it; replicating managers (Seam) have `replicatingManagerSuite`.
 *
 * @since 0.1.0
 */
import { type Card, CredentialManager, Ids, PortError } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"

/**
 * What an adapter's test provides to run the suite.
 * `R` are extra services the layer provides for the harness's own steps (e.g. a fake server handle).
 */
export interface CredentialManagerHarness<R = never, E = unknown> {
  /** Built once per test (so it may be scoped, e.g. start a fake HTTP server on 127.0.0.1:0). */
  readonly layer: Layer.Layer<CredentialManager.CredentialManager | R, E>
  /** The manager system the suite works in. */
  readonly manager: Ids.AcsSystemId
  /** The phone SDK step: redeem an invitation code so that the manager creates an endpoint. */
  readonly redeem: (code: string) => Effect.Effect<void, unknown, R>
  /** Finish pending asynchronous work (issuance, revocation, listing lag). */
  readonly settle: () => Effect.Effect<void, unknown, R>
  /** The card profile to issue (default `H10301` / facility `42`). */
  readonly card?: Card.CardProfile | undefined
  /** A well-formed ref the manager does not hold (default `"999999999"`). */
  readonly unknownRef?: Ids.ProviderRef | undefined
}

let counter = 0
/** A fresh identity id per use, so tests never share manager users. */
const freshIdentity = (): Ids.UserIdentityId => Ids.UserIdentityId.make(`credsync-cm-suite-${++counter}`)

/**
 * Register the CredentialManager conformance tests under `describe(name)`.
 *
 * @since 0.1.0
 */
export const credentialManagerSuite = <R, E>(name: string, harness: CredentialManagerHarness<R, E>): void => {
  const card: Card.CardProfile = harness.card ?? { cardFormat: "H10301", facilityCode: "42" }
  const unknownRef = harness.unknownRef ?? Ids.ProviderRef.make("999999999")
  const unknownManager = Ids.AcsSystemId.make("credsync-suite-unknown-manager")
  const m = harness.manager

  const run = <A, E2>(
    body: Effect.Effect<A, E2, CredentialManager.CredentialManager | R>
  ): Effect.Effect<A, E | E2, never> => Effect.provide(body, harness.layer)

  // the suite calls invite and issue: a replicating manager under it is a mistake of the test
  const issuing = Effect.gen(function* () {
    const cm = yield* CredentialManager.CredentialManager
    if (cm.kind !== "issuing") return yield* Effect.die(new Error(`credentialManagerSuite needs an issuing manager; ${name} is ${cm.kind}`))
    return cm
  })

  const newUser = Effect.gen(function* () {
    const cm = yield* issuing
    const user = yield* cm.ensureUser(m, { id: freshIdentity(), fullName: "Suite User", email: "suite@example.com" })
    return { cm, user }
  })

  /** invite → redeem → the endpoint that names the invitation. */
  const enrol = (cm: CredentialManager.IssuingManagerShape, user: Ids.ProviderRef) =>
    Effect.gen(function* () {
      const invitation = yield* cm.invite(m, user)
      yield* harness.redeem(invitation.code)
      yield* harness.settle()
      const view = yield* cm.observe(m, user)
      const endpoint = view.endpoints.find((e) => e.invitation === invitation.ref)
      assert.isDefined(endpoint, "the redeemed invitation's endpoint is listed and names its invitation")
      return { invitation, endpoint: endpoint!, view }
    })

  const issue = (cm: CredentialManager.IssuingManagerShape, user: Ids.ProviderRef, endpoint: Ids.ProviderRef) =>
    cm.issue(m, { user, endpoint, card })

  const credentialIn = (view: CredentialManager.ManagerView, ref: Ids.ProviderRef) =>
    view.credentials.find((c) => c.ref === ref)

  const notLive = (view: CredentialManager.ManagerView, ref: Ids.ProviderRef) => {
    const c = credentialIn(view, ref)
    return c === undefined || !CredentialManager.isLive(c)
  }

  const expectPortError = <A>(
    effect: Effect.Effect<A, PortError.PortError, CredentialManager.CredentialManager | R>,
    reasons: ReadonlyArray<PortError.Reason>
  ) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(effect)
      assert.instanceOf(error, PortError.PortError)
      assert.include(reasons, error.reason, `reason ${error.reason} (${error.message})`)
      assert.strictEqual(error.port, "CredentialManager")
      return error
    })

  describe(`CredentialManager conformance: ${name}`, () => {
    it.effect("lists the manager system under test", () =>
      run(
        Effect.gen(function* () {
          const cm = yield* issuing
          const system = cm.systems.find((s) => s.id === m)
          assert.isDefined(system)
          assert.isAtLeast(system!.capabilities.listingLag, 0)
        })
      )
    )

    it.effect("ensureUser is idempotent per identity and distinct across identities", () =>
      run(
        Effect.gen(function* () {
          const cm = yield* CredentialManager.CredentialManager
          const id = freshIdentity()
          const a = yield* cm.ensureUser(m, { id })
          const b = yield* cm.ensureUser(m, { id })
          assert.strictEqual(a, b)
          const other = yield* cm.ensureUser(m, { id: freshIdentity() })
          assert.notStrictEqual(other, a)
          const view = yield* cm.observe(m, a)
          assert.strictEqual(view.user, a)
          assert.deepStrictEqual([view.invitations.length, view.endpoints.length, view.credentials.length], [0, 0, 0])
        })
      )
    )

    it.effect("invite creates a pending invitation with a code, listed by observe", () =>
      run(
        Effect.gen(function* () {
          const { cm, user } = yield* newUser
          const invitation = yield* cm.invite(m, user)
          assert.strictEqual(invitation.status, "pending")
          assert.isAbove(invitation.code.length, 0)
          yield* harness.settle()
          const view = yield* cm.observe(m, user)
          const listed = view.invitations.find((i) => i.ref === invitation.ref)
          assert.isDefined(listed)
          assert.strictEqual(listed!.code, invitation.code)
          assert.strictEqual(listed!.status, "pending")
          const second = yield* cm.invite(m, user)
          assert.notStrictEqual(second.ref, invitation.ref)
          assert.notStrictEqual(second.code, invitation.code)
        })
      )
    )

    it.effect("redeeming an invitation creates an active endpoint that names it", () =>
      run(
        Effect.gen(function* () {
          const { cm, user } = yield* newUser
          const { invitation, endpoint, view } = yield* enrol(cm, user)
          assert.strictEqual(endpoint.status, "active")
          assert.strictEqual(endpoint.invitation, invitation.ref)
          const listed = view.invitations.find((i) => i.ref === invitation.ref)
          if (listed !== undefined) assert.notStrictEqual(listed.status, "pending")
        })
      )
    )

    it.effect("each redeemed invitation is its own endpoint (one per phone)", () =>
      run(
        Effect.gen(function* () {
          const { cm, user } = yield* newUser
          const a = yield* enrol(cm, user)
          const b = yield* enrol(cm, user)
          assert.notStrictEqual(a.endpoint.ref, b.endpoint.ref)
          const view = yield* cm.observe(m, user)
          const active = view.endpoints.filter((e) => e.status === "active").map((e) => e.ref)
          assert.includeMembers(active, [a.endpoint.ref, b.endpoint.ref])
        })
      )
    )

    it.effect("issue returns a live credential on the endpoint with the requested card; active after settle", () =>
      run(
        Effect.gen(function* () {
          const { cm, user } = yield* newUser
          const { endpoint } = yield* enrol(cm, user)
          const issued = yield* issue(cm, user, endpoint.ref)
          assert.strictEqual(issued.endpoint, endpoint.ref)
          assert.strictEqual(issued.cardFormat, card.cardFormat)
          assert.strictEqual(issued.facilityCode, card.facilityCode)
          assert.isTrue(CredentialManager.isLive(issued), `status ${issued.status}`)
          yield* harness.settle()
          const view = yield* cm.observe(m, user)
          const listed = credentialIn(view, issued.ref)
          assert.isDefined(listed)
          assert.strictEqual(listed!.status, "active")
          assert.strictEqual(listed!.endpoint, endpoint.ref)
          assert.strictEqual(listed!.cardFormat, card.cardFormat)
          assert.strictEqual(listed!.facilityCode, card.facilityCode)
          assert.isString(listed!.cardNumber)
          assert.isAbove(listed!.cardNumber!.length, 0)
        })
      )
    )

    it.effect("credentials on different endpoints get different card numbers", () =>
      run(
        Effect.gen(function* () {
          const { cm, user } = yield* newUser
          const a = yield* enrol(cm, user)
          const b = yield* enrol(cm, user)
          const ca = yield* issue(cm, user, a.endpoint.ref)
          const cb = yield* issue(cm, user, b.endpoint.ref)
          assert.notStrictEqual(ca.ref, cb.ref)
          yield* harness.settle()
          const view = yield* cm.observe(m, user)
          const na = credentialIn(view, ca.ref)?.cardNumber
          const nb = credentialIn(view, cb.ref)?.cardNumber
          assert.isDefined(na)
          assert.isDefined(nb)
          assert.notStrictEqual(na, nb)
        })
      )
    )

    it.effect("revoke makes the credential not live; revoking twice and revoking unknown succeed", () =>
      run(
        Effect.gen(function* () {
          const { cm, user } = yield* newUser
          const { endpoint } = yield* enrol(cm, user)
          const issued = yield* issue(cm, user, endpoint.ref)
          yield* harness.settle()
          yield* cm.revoke(m, issued.ref)
          yield* harness.settle()
          const view = yield* cm.observe(m, user)
          assert.isTrue(notLive(view, issued.ref), "revoked credential is not live")
          yield* cm.revoke(m, issued.ref)
          yield* cm.revoke(m, unknownRef)
          yield* harness.settle()
          const again = yield* cm.observe(m, user)
          assert.isTrue(notLive(again, issued.ref))
        })
      )
    )

    it.effect("revoking one credential leaves the others live", () =>
      run(
        Effect.gen(function* () {
          const { cm, user } = yield* newUser
          const a = yield* enrol(cm, user)
          const b = yield* enrol(cm, user)
          const ca = yield* issue(cm, user, a.endpoint.ref)
          const cb = yield* issue(cm, user, b.endpoint.ref)
          yield* harness.settle()
          yield* cm.revoke(m, ca.ref)
          yield* harness.settle()
          const view = yield* cm.observe(m, user)
          assert.isTrue(notLive(view, ca.ref))
          const other = credentialIn(view, cb.ref)
          assert.isDefined(other)
          assert.isTrue(CredentialManager.isLive(other!))
        })
      )
    )

    it.effect("cancelInvitation: the invitation is no longer pending and cannot be redeemed", () =>
      run(
        Effect.gen(function* () {
          const { cm, user } = yield* newUser
          const invitation = yield* cm.invite(m, user)
          yield* cm.cancelInvitation(m, invitation.ref)
          yield* harness.settle()
          const view = yield* cm.observe(m, user)
          const listed = view.invitations.find((i) => i.ref === invitation.ref)
          if (listed !== undefined) assert.notStrictEqual(listed.status, "pending")
          const redeemed = yield* Effect.result(harness.redeem(invitation.code))
          assert.strictEqual(redeemed._tag, "Failure", "a cancelled code cannot be redeemed")
          yield* harness.settle()
          const after = yield* cm.observe(m, user)
          assert.isUndefined(after.endpoints.find((e) => e.invitation === invitation.ref && e.status === "active"))
        })
      )
    )

    it.effect("removeEndpoint removes the endpoint and revokes its credentials; idempotent", () =>
      run(
        Effect.gen(function* () {
          const { cm, user } = yield* newUser
          const a = yield* enrol(cm, user)
          const b = yield* enrol(cm, user)
          const ca = yield* issue(cm, user, a.endpoint.ref)
          const cb = yield* issue(cm, user, b.endpoint.ref)
          yield* harness.settle()
          yield* cm.removeEndpoint(m, a.endpoint.ref)
          yield* harness.settle()
          const view = yield* cm.observe(m, user)
          const listed = view.endpoints.find((e) => e.ref === a.endpoint.ref)
          if (listed !== undefined) assert.strictEqual(listed.status, "removed")
          assert.isTrue(notLive(view, ca.ref), "credentials of a removed endpoint are not live")
          const kept = credentialIn(view, cb.ref)
          assert.isDefined(kept)
          assert.isTrue(CredentialManager.isLive(kept!), "other endpoints keep their credentials")
          yield* cm.removeEndpoint(m, a.endpoint.ref)
        })
      )
    )

    it.effect("observe has no side effects: two observations are equal", () =>
      run(
        Effect.gen(function* () {
          const { cm, user } = yield* newUser
          const { endpoint } = yield* enrol(cm, user)
          yield* issue(cm, user, endpoint.ref)
          yield* cm.invite(m, user)
          yield* harness.settle()
          const first = yield* cm.observe(m, user)
          const second = yield* cm.observe(m, user)
          assert.deepStrictEqual(second, first)
          assert.strictEqual(first.credentials.length, 1)
        })
      )
    )

    it.effect("an unknown manager system fails with PortError NotFound", () =>
      run(
        Effect.gen(function* () {
          const { cm, user } = yield* newUser
          yield* expectPortError(cm.ensureUser(unknownManager, { id: freshIdentity() }), ["NotFound"])
          yield* expectPortError(cm.observe(unknownManager, user), ["NotFound"])
          yield* expectPortError(cm.invite(unknownManager, user), ["NotFound"])
        })
      )
    )

    it.effect("unknown user or endpoint fails with a typed PortError", () =>
      run(
        Effect.gen(function* () {
          const { cm, user } = yield* newUser
          yield* expectPortError(cm.observe(m, unknownRef), ["NotFound", "InvalidInput"])
          yield* expectPortError(cm.invite(m, unknownRef), ["NotFound", "InvalidInput"])
          yield* expectPortError(issue(cm, user, unknownRef), ["NotFound", "InvalidInput", "Conflict"])
        })
      )
    )
  })
}
