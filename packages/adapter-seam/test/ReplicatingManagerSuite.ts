/**
 * A conformance suite for replicating credential managers (`capabilities.replicates`), the
 * counterpart of testkit's `credentialManagerSuite`, which exercises invite/issue/cancel: calls a
 * replicating manager refuses by contract. It checks what the engine relies on in
 * `Plan.learnReplicating` / `mirror`: an idempotent user, the parent and automation created at the
 * manager and listed back, one child per (parent, phone) that the manager makes by itself, and
 * idempotent removal of phones, copies and parents.
 */
import { type CredentialManager, Ids } from "@credsync/core"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"

export interface Harness {
  readonly manager: CredentialManager.CredentialManagerShape
  readonly managerId: Ids.AcsSystemId
  /** An ACS user for the identity whose manager-side user is `user`. */
  readonly acsUserFor: (user: Ids.ProviderRef, name: string) => Promise<Ids.AcsUserId>
  /** A phone of that user comes online at the provider; returns its id (the endpoint ref). */
  readonly createPhone: (user: Ids.ProviderRef) => Promise<string>
  /** The card profile of the parents it creates (default rfid48/9): a manager may issue one only. */
  readonly card?: { readonly cardFormat: string; readonly facilityCode: string } | undefined
  /** Poll `check` (bounded attempts) until it returns a value. */
  readonly until: <A>(what: string, check: () => Promise<A | undefined>) => Promise<A>
}

const run = <A, E>(eff: Effect.Effect<A, E>) => Effect.runPromise(eff)
const reasonOf = async <A, E extends { readonly reason: string }>(eff: Effect.Effect<A, E>) => {
  const r = await Effect.runPromise(Effect.result(eff))
  return r._tag === "Failure" ? r.failure.reason : "succeeded"
}
const defaultCard = { cardFormat: "rfid48", facilityCode: "9" }

export const replicatingManagerSuite = (name: string, harness: () => Harness) =>
  describe(`replicating CredentialManager conformance: ${name}`, () => {
    const id = (s: string) => Ids.UserIdentityId.make(`${s}-${Math.random().toString(36).slice(2, 10)}`)

    it("declares that it replicates, for the system it serves", () => {
      const h = harness()
      const s = h.manager.systems.find((x) => x.id === h.managerId)
      expect(s?.capabilities.replicates).toBe(true)
      expect(h.manager.createParent).toBeDefined()
      expect(h.manager.deleteParent).toBeDefined()
      expect(h.manager.launchAutomation).toBeDefined()
    })

    it("ensureUser is idempotent per identity and distinct across identities; a fresh user's view is empty", async () => {
      const h = harness()
      const a = id("a")
      const u1 = await run(h.manager.ensureUser(h.managerId, { id: a, email: `${a}@example.com`, fullName: "A" }))
      const u2 = await run(h.manager.ensureUser(h.managerId, { id: a, email: `${a}@example.com`, fullName: "A" }))
      const other = await run(h.manager.ensureUser(h.managerId, { id: id("b") }))
      expect(u2).toBe(u1)
      expect(other).not.toBe(u1)
      const view = await run(h.manager.observe(h.managerId, u1))
      expect(view).toMatchObject({ user: u1, invitations: [], endpoints: [], credentials: [], parents: [], automations: [] })
    })

    it("refuses invite, issue and cancelInvitation (InvalidInput), and systems it does not serve (NotFound)", async () => {
      const h = harness()
      const card = h.card ?? defaultCard
      const u = await run(h.manager.ensureUser(h.managerId, { id: id("refuse") }))
      const ref = Ids.ProviderRef.make("x")
      expect(await reasonOf(h.manager.invite(h.managerId, u))).toBe("InvalidInput")
      expect(await reasonOf(h.manager.issue(h.managerId, { user: u, endpoint: ref, card }))).toBe("InvalidInput")
      expect(await reasonOf(h.manager.cancelInvitation(h.managerId, ref))).toBe("InvalidInput")
      expect(await reasonOf(h.manager.observe(Ids.AcsSystemId.make("another-manager"), u))).toBe("NotFound")
    })

    it("removals are idempotent: unknown copy, parent and phone", async () => {
      const h = harness()
      const unknown = Ids.ProviderRef.make("00000000-0000-4000-8000-000000000000")
      expect(await reasonOf(h.manager.revoke(h.managerId, unknown))).toBe("succeeded")
      expect(await reasonOf(h.manager.deleteParent!(h.managerId, unknown))).toBe("succeeded")
      expect(await reasonOf(h.manager.removeEndpoint(h.managerId, unknown))).toBe("succeeded")
    })

    it("the manager replicates the parent onto each phone; removing a phone and the parent removes the copies", async () => {
      const h = harness()
      const card = h.card ?? defaultCard
      const user = await run(h.manager.ensureUser(h.managerId, { id: id("flow"), fullName: "Flow" }))
      const acsUser = await h.acsUserFor(user, "Flow")
      const automation = await run(h.manager.launchAutomation!(h.managerId, user))
      const parent = await run(h.manager.createParent!(h.managerId, { user, acsUserId: acsUser, card }))
      let view = await run(h.manager.observe(h.managerId, user))
      expect(view.automations?.map((a) => a.ref)).toEqual([automation])
      expect(view.parents).toEqual([{ ref: parent, ...card }])

      const phones = [await h.createPhone(user), await h.createPhone(user)]
      view = await h.until("one active copy per phone", async () => {
        const v = await run(h.manager.observe(h.managerId, user))
        const live = v.credentials.filter((c) => c.parent === parent && c.status === "active")
        return live.length === 2 ? v : undefined
      })
      expect(view.endpoints.map((e) => e.ref).sort()).toEqual([...phones].sort())
      expect(view.endpoints.every((e) => e.status === "active")).toBe(true)
      const copies = view.credentials.filter((c) => c.parent === parent)
      expect(copies.map((c) => String(c.endpoint)).sort()).toEqual([...phones].sort())
      for (const c of copies) {
        expect(c).toMatchObject({ ...card, status: "active" })
        expect(c.cardNumber).toBeDefined()
      }
      expect(new Set(copies.map((c) => c.cardNumber)).size).toBe(2)

      // a phone removed: it leaves the endpoints at once, its copy goes (or is no longer live)
      const [lost, kept] = phones
      await run(h.manager.removeEndpoint(h.managerId, Ids.ProviderRef.make(lost!)))
      await run(h.manager.removeEndpoint(h.managerId, Ids.ProviderRef.make(lost!)))
      view = await h.until("the lost phone's copy gone", async () => {
        const v = await run(h.manager.observe(h.managerId, user))
        const live = v.credentials.filter((c) => c.status === "active" || c.status === "issuing")
        return live.length === 1 ? v : undefined
      })
      expect(view.endpoints.map((e) => String(e.ref))).toEqual([kept])
      expect(view.credentials.filter((c) => c.status === "active").map((c) => String(c.endpoint))).toEqual([kept])

      // the parent deleted (twice): it leaves the parents, every copy goes
      await run(h.manager.deleteParent!(h.managerId, parent))
      await run(h.manager.deleteParent!(h.managerId, parent))
      view = await h.until("all copies gone", async () => {
        const v = await run(h.manager.observe(h.managerId, user))
        return (v.parents ?? []).length === 0 && v.credentials.every((c) => c.status !== "active" && c.status !== "issuing") ? v : undefined
      })
      expect(view.parents).toEqual([])
    })
  })
