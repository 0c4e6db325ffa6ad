/**
 * The simulator's state export and restore: a restored simulator (through JSON, as a store keeps
 * it) holds the same records, continues exactly where the first one was, and never hands out a ref,
 * card number or invitation code again.
 */
import { Simulator } from "@credsync/adapter-memory"
import { Ids } from "@credsync/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import { TestClock } from "effect/testing"

const m = Simulator.defaultManagerId
const acsId = Simulator.defaultAcsId
const card = { cardFormat: "H10301", facilityCode: "42" }
const identity = (n: number) => Ids.UserIdentityId.make(`identity-${n}`)
const options: Simulator.Options = { seed: 7, issueDelay: 500, invitationTtl: 10_000 }

/** What a store does with the state: JSON text, decoded with the Schema when read back. */
const throughJson = (state: Simulator.State): Simulator.State =>
  Schema.decodeUnknownSync(Simulator.State)(JSON.parse(JSON.stringify(Schema.encodeSync(Simulator.State)(state))))

/** A simulator with some of everything: active, issuing, revoked and deleted credentials, a pending
 *  invitation, a removed endpoint, ACS users and entries. */
const busy = Effect.gen(function* () {
  const sim = Simulator.make(options)
  const ana = yield* sim.manager.ensureUser(m, { id: identity(1) })
  const bob = yield* sim.manager.ensureUser(m, { id: identity(2) })
  const e1 = yield* sim.redeem((yield* sim.manager.invite(m, ana)).code)
  const e2 = yield* sim.redeem((yield* sim.manager.invite(m, ana)).code)
  const e3 = yield* sim.redeem((yield* sim.manager.invite(m, bob)).code)
  const pending = yield* sim.manager.invite(m, bob)
  const active = yield* sim.manager.issue(m, { user: ana, endpoint: e1, card })
  const revoked = yield* sim.manager.issue(m, { user: ana, endpoint: e2, card })
  const deleted = yield* sim.manager.issue(m, { user: bob, endpoint: e3, card })
  yield* TestClock.adjust(500)
  yield* sim.completeIssuances()
  yield* sim.manager.revoke(m, revoked.ref)
  yield* sim.deleteCredential(deleted.ref)
  yield* sim.manager.removeEndpoint(m, e2)
  const issuing = yield* sim.manager.issue(m, { user: ana, endpoint: e1, card: { cardFormat: "rfid48", facilityCode: "9" } })
  const u = yield* sim.acs.createUser(acsId, { fullName: "Ana", email: "ana@example.com" })
  yield* sim.acs.createUser(acsId, { fullName: "Bob" })
  const entry = yield* sim.acs.importCredential(acsId, { cardNumber: active.cardNumber ?? "", card, label: "credsync:c1" })
  yield* sim.acs.assign(acsId, entry.ref, u.id)
  return { sim, ana, bob, e1, e3, pending, issuing, acsUser: u }
})

describe("Simulator state", () => {
  it.effect("round trip through JSON: the same records, and the restored simulator reports the same", () =>
    Effect.gen(function* () {
      const { sim } = yield* busy
      const state = sim.state()
      const back = yield* Simulator.restore(throughJson(state), options)
      // compared as stored: an optional field left undefined and one absent are the same state
      assert.deepStrictEqual(throughJson(back.state()), throughJson(state))
      const { calls: _a, ...truth } = yield* sim.truth()
      const { calls: _b, ...restoredTruth } = yield* back.truth()
      assert.deepStrictEqual(restoredTruth, truth)
    })
  )

  it.effect("continues exactly where it was: the same next refs, card numbers and codes as the original", () =>
    Effect.gen(function* () {
      const { sim, bob, e3 } = yield* busy
      const back = yield* Simulator.restore(throughJson(sim.state()), options)
      for (const s of [sim, back]) yield* s.manager.ensureUser(m, { id: identity(3) })
      const next = (s: Simulator.Simulator) =>
        Effect.gen(function* () {
          const user = yield* s.manager.ensureUser(m, { id: identity(4) })
          const invitation = yield* s.manager.invite(m, bob)
          const issued = yield* s.manager.issue(m, { user: bob, endpoint: e3, card })
          const acsUser = yield* s.acs.createUser(acsId, { fullName: "Cy" })
          return { user, code: invitation.code, invitation: invitation.ref, ref: issued.ref, cardNumber: issued.cardNumber, acsUser: acsUser.id }
        })
      assert.deepStrictEqual(yield* next(back), yield* next(sim))
    })
  )

  it.effect("never reuses a ref, card number or invitation code that the state holds", () =>
    Effect.gen(function* () {
      const { sim, bob, e3 } = yield* busy
      const before = yield* sim.truth()
      const back = yield* Simulator.restore(throughJson(sim.state()), options)
      const refs = new Set<string>([
        ...before.users.map((u) => u.ref),
        ...before.invitations.map((i) => i.ref),
        ...before.endpoints.map((e) => e.ref),
        ...before.credentials.map((c) => c.ref),
        ...before.acsEntries.map((e) => e.ref),
        ...before.acsUsers.map((u) => u.id)
      ])
      const codes = new Set(before.invitations.map((i) => i.code))
      // four credentials were issued (100000-100003); the one deleted behind the engine's back is
      // not in the state, yet its number is never handed out again
      assert.strictEqual(before.credentials.length, 3)
      for (let i = 0; i < 5; i++) {
        const inv = yield* back.manager.invite(m, bob)
        const c = yield* back.manager.issue(m, { user: bob, endpoint: e3, card })
        assert.isFalse(refs.has(inv.ref) || refs.has(c.ref), `ref reused: ${inv.ref} / ${c.ref}`)
        assert.isFalse(codes.has(inv.code), `code reused: ${inv.code}`)
        assert.isAbove(Number(c.cardNumber), 100003, `card number reused: ${c.cardNumber}`)
      }
    })
  )

  it.effect("issuance timing and invitation expiry continue on the restored simulator's Clock", () =>
    Effect.gen(function* () {
      const { sim, issuing, pending } = yield* busy
      const back = yield* Simulator.restore(throughJson(sim.state()), options)
      const status = (s: Simulator.Simulator) =>
        Effect.map(s.truth(), (t) => ({
          credential: t.credentials.find((c) => c.ref === issuing.ref)?.status,
          invitation: t.invitations.find((i) => i.ref === pending.ref)?.status
        }))
      assert.deepStrictEqual(yield* status(back), { credential: "issuing", invitation: "pending" })
      yield* TestClock.adjust(500)
      assert.deepStrictEqual(yield* status(back), { credential: "active", invitation: "pending" })
      yield* TestClock.adjust(10_000)
      assert.deepStrictEqual(yield* status(back), { credential: "active", invitation: "expired" })
      // the completion was reported by a callback of the restored simulator
      const callbacks = yield* back.takeCallbacks()
      assert.isTrue(callbacks.some((c) => c._tag === "CredentialIssued" && c.credential === issuing.ref))
    })
  )

  it.effect("ACS users and entries survive: observe by user and by card number, assign again", () =>
    Effect.gen(function* () {
      const { sim, acsUser } = yield* busy
      const back = yield* Simulator.restore(throughJson(sim.state()), options)
      const byUser = yield* back.acs.observe(acsId, { users: [acsUser.id], cardNumbers: [] })
      assert.strictEqual(byUser.length, 1)
      assert.strictEqual(byUser[0]?.assignedTo, acsUser.id)
      assert.deepStrictEqual(yield* back.acs.getUser(acsId, acsUser.id), acsUser)
      const cardNumber = byUser[0]?.cardNumber ?? ""
      const again = yield* Effect.flip(back.acs.importCredential(acsId, { cardNumber, card, label: "x" }))
      assert.strictEqual(again.reason, "Conflict")
    })
  )

  it.effect("a state that does not fit is InvalidState, never a crash; a damaged one fails its Schema", () =>
    Effect.gen(function* () {
      const { sim } = yield* busy
      const state = sim.state()
      const other = yield* Effect.exit(Simulator.restore(state, { ...options, managers: [{ id: "cm_other" }] }))
      assert.isTrue(Exit.isFailure(other))
      const error = yield* Effect.flip(Simulator.restore(state, { ...options, managers: [{ id: "cm_other" }] }))
      assert.strictEqual(error._tag, "InvalidState")
      assert.match(error.message, /unknown credential manager cm_sim/)
      const twice = { ...state, users: [...state.users, ...state.users] }
      assert.strictEqual((yield* Effect.flip(Simulator.restore(twice, options)))._tag, "InvalidState")
      const damaged = { ...JSON.parse(JSON.stringify(state)), credentials: [{ ref: "cred_1" }] }
      assert.isTrue(Exit.isFailure(Schema.decodeUnknownExit(Simulator.State)(damaged)))
    })
  )
})
