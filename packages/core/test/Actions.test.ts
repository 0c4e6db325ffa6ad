/**
 * What each action's result means: the events it records, the observation patch, and what a
 * failure of each kind leads to. Pure: no engine, no ports.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import type { Action } from "../src/Action.js"
import { CardProfile } from "../src/Card.js"
import { AcsUserId, AutomationId, CredentialId } from "../src/Ids.js"
import { actionKey, type ActionOf, settle, specs } from "../src/internal/actions.js"
import { PortError, type Reason } from "../src/PortError.js"
import { fold } from "../src/Aggregate.js"
import * as Identity from "../src/Identity.js"
import { plan } from "../src/Plan.js"
import { acs, base, caps, cm, cred, entry, issuingKind, observed, ref, view } from "./planFixtures.js"

// u1 with phone p1 enrolling at cm (the planner recorded the enrolment) and parent c1
const s0 = base(["p1"], [["c1", "rfid48"]])
const s = fold(s0, plan(s0, observed(view({})), { now: 0, kind: issuingKind, capabilities: caps() }).events)!
const at = { state: s, now: 42 }
const card = CardProfile.make({ cardFormat: "rfid48", facilityCode: "9" })
const c1 = CredentialId.make("c1")
const fail = (reason: Reason, retryAfter?: number) =>
  Result.fail(new PortError({ reason, port: "CredentialManager", method: "issue", message: `no: ${reason}`, ...(retryAfter === undefined ? {} : { retryAfter }) }))

const issue: ActionOf<"Issue"> = { _tag: "Issue", managerId: cm, credentialId: c1, endpoint: ref("ep1"), card }
const invite: ActionOf<"Invite"> = { _tag: "Invite", managerId: cm, key: "p1|cm" }

describe("settle", () => {
  it("records an issued credential as active only when the manager says it is", () => {
    for (const status of ["issuing", "active"] as const) {
      const o = settle(specs.Issue, issue, at, Result.succeed(cred("r1", "ep1", "1234", status)))
      expect(o.events).toEqual([
        { _tag: "CredentialIssued", identity: s.id, at: 42, credentialId: c1, ref: ref("r1"), active: status === "active", cardNumber: "1234" }
      ])
      expect(o.failure).toBeUndefined()
      expect(o.retryAfter).toBeUndefined()
    }
    // a card number comes later at some managers: the event then has none
    expect(settle(specs.Issue, issue, at, Result.succeed(cred("r1", "ep1", undefined, "issuing"))).events[0]).not.toHaveProperty("cardNumber")
  })

  it("adds an issued credential to the manager's last view, and leaves other managers and a missing view alone", () => {
    const o = settle(specs.Issue, issue, at, Result.succeed(cred("r1", "ep1", "1234")))
    const before = observed(view({ credentials: [cred("r0", "ep0", "1")] }), [entry("e1", "1")])
    const after = o.patch?.(before)
    expect(after?.managers.get(cm)?.credentials.map((c) => c.ref)).toEqual([ref("r0"), ref("r1")])
    expect(after?.acs).toBe(before.acs)
    expect(before.managers.get(cm)?.credentials).toHaveLength(1)
    const none = { managers: new Map(), acs: new Map() }
    expect(o.patch?.(none)).toBe(none)
  })

  it("records an invitation for the enrolment's phone, and adds it to the manager's view", () => {
    const inv = { ref: ref("i1"), code: "CODE", status: "pending" } as const
    const o = settle(specs.Invite, invite, at, Result.succeed(inv))
    expect(o.events).toEqual([
      { _tag: "InvitationCreated", identity: s.id, at: 42, key: "p1|cm", invitation: ref("i1"), code: "CODE", phoneId: Identity.phone(s, "p1")!.id }
    ])
    expect(o.patch?.(observed(view({}))).managers.get(cm)?.invitations).toEqual([inv])
    // an enrolment gone meanwhile records nothing
    expect(settle(specs.Invite, { ...invite, key: "p9|cm" }, at, Result.succeed(inv)).events).toEqual([])
  })

  it("records an import with the ACS entry, and an assignment on the entry it names only", () => {
    const imp: ActionOf<"Import"> = { _tag: "Import", acsSystemId: acs, credentialId: c1, cardNumber: "1234", card }
    const e = entry("e2", "1234", "credsync:c1")
    const o = settle(specs.Import, imp, at, Result.succeed(e))
    expect(o.events).toEqual([{ _tag: "CredentialImported", identity: s.id, at: 42, credentialId: c1, acsRef: ref("e2") }])
    expect(o.patch?.(observed(view({}), [entry("e1", "1")])).acs.get(acs)).toEqual([entry("e1", "1"), e])
    expect(o.patch?.({ managers: new Map(), acs: new Map() }).acs.get(acs)).toEqual([e])

    const assign: ActionOf<"Assign"> = { _tag: "Assign", acsSystemId: acs, credentialId: c1, entry: ref("e2"), acsUserId: AcsUserId.make("acsu1") }
    const a = settle(specs.Assign, assign, at, Result.succeed(undefined))
    expect(a.events).toEqual([{ _tag: "CredentialAssigned", identity: s.id, at: 42, credentialId: c1 }])
    expect(a.patch?.(observed(view({}), [entry("e1", "1"), entry("e2", "1234")])).acs.get(acs)?.map((x) => x.assignedTo)).toEqual([
      undefined,
      AcsUserId.make("acsu1")
    ])
  })

  it("binds what a manager made: its user, a remote parent, an automation; none of them patches the view", () => {
    const bound = [
      settle(specs.EnsureManagerUser, { _tag: "EnsureManagerUser", managerId: cm }, at, Result.succeed(ref("usr2"))),
      settle(specs.CreateRemoteParent, { _tag: "CreateRemoteParent", managerId: cm, credentialId: c1 }, at, Result.succeed(ref("rp"))),
      settle(
        specs.LaunchRemoteAutomation,
        { _tag: "LaunchRemoteAutomation", managerId: cm, automationId: AutomationId.make("a1") },
        at,
        Result.succeed(ref("ra"))
      )
    ]
    expect(bound.map((o) => o.events)).toEqual([
      [{ _tag: "ManagerUserBound", identity: s.id, at: 42, managerId: cm, ref: ref("usr2") }],
      [{ _tag: "ParentBound", identity: s.id, at: 42, credentialId: c1, ref: ref("rp") }],
      [{ _tag: "AutomationBound", identity: s.id, at: 42, automationId: AutomationId.make("a1"), ref: ref("ra") }]
    ])
    // an existing user may already hold things: the engine must look before planning on it
    expect(bound.map((o) => o.patch)).toEqual([undefined, undefined, undefined])
  })

  it("waits out a retryable failure for the time it names, and records nothing", () => {
    expect(settle(specs.Issue, issue, at, fail("RateLimited", 5_000))).toMatchObject({ events: [], retryAfter: 5_000, failure: { reason: "RateLimited" } })
    expect(settle(specs.Issue, issue, at, fail("Transient"))).toMatchObject({ events: [], retryAfter: 0, failure: { reason: "Transient" } })
  })

  it("settles Ambiguous and Conflict by observing again: no failure event, no blind retry", () => {
    for (const reason of ["Ambiguous", "Conflict"] as const) {
      const o = settle(specs.Issue, issue, at, fail(reason))
      expect(o.events).toEqual([])
      expect(o.retryAfter).toBe(0)
      expect(o.failure?.reason).toBe(reason)
      expect(o.patch).toBeUndefined()
    }
  })

  it("records a terminal failure where the action has a failure event, and is not retried", () => {
    const o = settle(specs.Issue, issue, at, fail("InvalidInput"))
    expect(o.events).toEqual([
      { _tag: "CredentialFailed", identity: s.id, at: 42, credentialId: c1, error: { code: "failed_to_issue", message: "no: InvalidInput", at: 42 } }
    ])
    expect(o.retryAfter).toBeUndefined()
    expect(settle(specs.Invite, invite, at, fail("Unauthorized")).events).toEqual([
      { _tag: "EnrollmentFailed", identity: s.id, at: 42, key: "p1|cm", error: { code: "invite_Unauthorized", message: "no: Unauthorized", at: 42 } }
    ])
    const revoke: ActionOf<"Revoke"> = { _tag: "Revoke", managerId: cm, credential: ref("r1"), why: "x" }
    expect(settle(specs.Revoke, revoke, at, fail("NotFound"))).toMatchObject({ events: [], failure: { reason: "NotFound" } })
    expect(settle(specs.Revoke, revoke, at, fail("NotFound")).retryAfter).toBeUndefined()
  })
})

describe("actionKey", () => {
  it("gives every distinct call its own key, and the same call one key", () => {
    const actions: ReadonlyArray<Action> = [
      { _tag: "EnsureManagerUser", managerId: cm },
      { _tag: "Invite", managerId: cm, key: "p1|cm" },
      { _tag: "CancelInvitation", managerId: cm, invitation: ref("i1") },
      { _tag: "RemoveEndpoint", managerId: cm, endpoint: ref("ep1") },
      issue,
      { _tag: "Revoke", managerId: cm, credential: ref("r1"), why: "x" },
      { _tag: "Import", acsSystemId: acs, credentialId: c1, cardNumber: "1", card },
      { _tag: "Assign", acsSystemId: acs, credentialId: c1, entry: ref("e1"), acsUserId: AcsUserId.make("acsu1") },
      { _tag: "RemoveFromAcs", acsSystemId: acs, entry: ref("e1"), why: "x" },
      { _tag: "CreateRemoteParent", managerId: cm, credentialId: c1 },
      { _tag: "DeleteRemoteParent", managerId: cm, parent: ref("rp") },
      { _tag: "LaunchRemoteAutomation", managerId: cm, automationId: AutomationId.make("a1") }
    ]
    expect(actions.map(actionKey)).toEqual([
      "EnsureManagerUser|cm",
      "Invite|p1|cm",
      "CancelInvitation|i1",
      "RemoveEndpoint|ep1",
      "Issue|c1",
      "Revoke|r1",
      "Import|c1",
      "Assign|c1",
      "RemoveFromAcs|e1",
      "CreateRemoteParent|c1",
      "DeleteRemoteParent|rp",
      "LaunchRemoteAutomation|a1"
    ])
    // the reason to revoke does not make it another call
    expect(actionKey({ _tag: "Revoke", managerId: cm, credential: ref("r1"), why: "y" })).toBe("Revoke|r1")
  })
})
