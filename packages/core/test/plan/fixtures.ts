/**
 * What the phase tests share: a planning run over a state and an observation (each phase is called
 * on it directly), the states on the way to a phone credential at a manager that does not replicate
 * (`cm`), and the same identity at one that does (`cm2`, Seam style).
 */
import { fold } from "../../src/Aggregate.js"
import type { ManagerCredential, ManagerKind, ManagerView } from "../../src/CredentialManager.js"
import * as Identity from "../../src/Identity.js"
import type { IdentityState } from "../../src/Identity.js"
import type { AcsSystemId, CredentialId } from "../../src/Ids.js"
import { type Observed, type PlanContext, plan } from "../../src/Plan.js"
import { type Issuer, Planning, type Replicator } from "../../src/internal/plan/context.js"
import { apply, caps, cm2, issuingKind, observed, ref, twoPhonesRedeemed, view } from "../planFixtures.js"

/** A run of `plan` over `s` and `o`, before any phase (time 0, no listing lag unless given). */
export const start = (s: IdentityState, o: Observed, ctx: Partial<PlanContext> = {}): Planning => new Planning(s, o, { now: 0, kind: issuingKind, capabilities: caps(), ...ctx })

/** Manager `m` of the run as an issuing manager (the test says it is one). */
export const issuer = (run: Planning, m: AcsSystemId): Issuer => {
  const at = run.manager(m)
  if (at.kind !== "issuing") throw new Error(`${m} replicates in this run`)
  return at
}

/** Manager `m` of the run as a replicating manager (the test says it is one). */
export const replicator = (run: Planning, m: AcsSystemId): Replicator => {
  const at = run.manager(m)
  if (at.kind !== "replicating") throw new Error(`${m} issues in this run`)
  return at
}

export const tags = (run: Planning) => run.events.map((e) => e._tag)
export const acts = (run: Planning) => run.actions.map((a) => a._tag)

/** Both phones (p1, p2) enrolled at ep1 and ep2 with one parent (c1), and the view that shows them; nothing requested yet. */
export const enrolled = (parents: ReadonlyArray<readonly [string, string]> = [["c1", "rfid48"]]) => {
  const { s, v } = twoPhonesRedeemed(parents)
  const at = (phone: string, endpoint: string) => {
    const phoneId = Identity.phone(s, phone)!.id
    return { _tag: "PhoneEnrolled" as const, identity: s.id, at: 0, key: `${phoneId}|cm`, endpoint: ref(endpoint), phoneId }
  }
  return { s: fold(s, [at("p1", "ep1"), at("p2", "ep2")])!, v }
}

/** Both phones enrolled (as in `enrolled`), the phone credential of each requested at time 0 (k1 on ep1, k2 on ep2). */
export const requested = (parents: ReadonlyArray<readonly [string, string]> = [["c1", "rfid48"]]) => {
  const { s: invited, v } = twoPhonesRedeemed(parents)
  const s = fold(invited, plan(invited, observed(v), { now: 0, kind: issuingKind, capabilities: caps() }).events)!
  const on = (endpoint: string) => s.children.find((c) => c.endpoint === ref(endpoint))!
  return { s, v, k1: on("ep1"), k2: on("ep2") }
}

/** `cm2` replicates (Seam style); `cm` is a manager the engine issues at. */
export const seamKind = (m: AcsSystemId): ManagerKind => (m === cm2 ? "replicating" : "issuing")
/** A plan's context with `cm2` replicating, and the listing lag given. */
export const seamCtx = (lag = 0) => ({ kind: seamKind, capabilities: caps(lag) })

/** u1 at cm2 (which replicates): automation a1 and parent c1 (rfid48), bound there as ea1 and pc1 unless `bound` is false, phone dev1; the manager user bound. */
export const seam = (bound = true) => {
  let s = apply(undefined, { _tag: "CreateUserIdentity", userIdentityId: "u1" })
  s = apply(s, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu1", acsSystemId: "acs" })
  s = apply(s, { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a1", managerId: "cm2" })
  s = apply(s, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c1", acsUserId: "acsu1", managerId: "cm2", cardFormat: "rfid48", facilityCode: "9" })
  s = apply(s, { _tag: "PhoneOnline", userIdentityId: "u1", phoneId: "dev1", deviceType: "ios_phone" })
  s = fold(s, [{ _tag: "ManagerUserBound", identity: s.id, at: 0, managerId: cm2, ref: ref("usr") }])!
  if (!bound) return s
  return fold(s, [
    { _tag: "ParentBound", identity: s.id, at: 0, credentialId: Identity.parent(s, "c1")!.id, ref: ref("pc1") },
    { _tag: "AutomationBound", identity: s.id, at: 0, automationId: Identity.automation(s, "a1")!.id, ref: ref("ea1") }
  ])!
}

/** cm2's copy `r` of parent pc1 on an endpoint. */
export const copy = (r: string, endpoint: string, status: ManagerCredential["status"] = "active", cardNumber?: string): ManagerCredential => ({
  ref: ref(r),
  endpoint: ref(endpoint),
  cardFormat: "rfid48",
  facilityCode: "9",
  status,
  parent: ref("pc1"),
  ...(cardNumber === undefined ? {} : { cardNumber })
})

/** What cm2 lists for `seam()`: its parent, its automation, dev1 active, and these copies. */
export const seamView = (credentials: ReadonlyArray<ManagerCredential> = [], more: Partial<ManagerView> = {}): ManagerView =>
  view({
    parents: [{ ref: ref("pc1"), cardFormat: "rfid48", facilityCode: "9" }],
    automations: [{ ref: ref("ea1") }],
    endpoints: [{ ref: ref("dev1"), status: "active" }],
    credentials,
    ...more
  })

export const seamObserved = (v: ManagerView): Observed => ({ managers: new Map([[cm2, v]]), acs: new Map() })

/** `seam()` with dev1 enrolled at cm2 and its copy k1 (card 1) mirrored, at time 0. */
export const mirrored = () => {
  const s = seam()
  return fold(s, plan(s, seamObserved(seamView([copy("k1", "dev1", "active", "1")])), { now: 0, ...seamCtx() }).events)!
}

/** `s` with the manager's response to the request of phone credential `id` learned: `r`, issuing or active, with a card number. */
export const issuedAs = (s: IdentityState, id: CredentialId, r: string, active = false, cardNumber?: string): IdentityState =>
  fold(s, [{ _tag: "CredentialIssued", identity: s.id, at: 0, credentialId: id, ref: ref(r), active, ...(cardNumber === undefined ? {} : { cardNumber }) }])!

/** `s` with the facts given, each about phone credential `id`, folded in (at time 0). */
export const withFacts = (s: IdentityState, id: CredentialId, ...facts: ReadonlyArray<"lost" | "retiring">): IdentityState =>
  fold(
    s,
    facts.map((f) =>
      f === "lost"
        ? { _tag: "CredentialLost" as const, identity: s.id, at: 0, credentialId: id, reason: "test" }
        : { _tag: "CredentialRetiring" as const, identity: s.id, at: 0, credentialId: id, reason: "phone_deactivated" as const }
    )
  )!
