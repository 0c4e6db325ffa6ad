/**
 * Planner throughput: the pure core (decide / evolve / plan) on a synthetic stream, no Effect
 * runtime. Each synthetic identity goes through its whole life: commands decided and folded, then
 * plan → apply the actions to in-memory provider views (invite + redeem, issue, import, assign) →
 * plan again, until plan asks for nothing. Every domain event produced is folded like the engine does.
 */
import { type AccessControl, Aggregate, Command, type CredentialManager, type Event, Identity, Ids, Plan } from "@credsync/core"
import { Result } from "effect"

const manager = Ids.AcsSystemId.make("cm_bench")
const acs = Ids.AcsSystemId.make("acs_bench")
const capabilities = (): CredentialManager.Capabilities => ({ asyncIssue: false, listingLag: 0 })

const commandsFor = (i: number, phones: number): ReadonlyArray<Command.Command> => {
  const userIdentityId = `u${i}`
  const out: Array<Command.Encoded> = [
    { _tag: "CreateUserIdentity", userIdentityId, fullName: `P ${i}` },
    { _tag: "LinkAcsUser", userIdentityId, acsUserId: `a${i}`, acsSystemId: acs },
    { _tag: "LaunchAutomation", userIdentityId, automationId: `auto${i}`, managerId: manager },
    { _tag: "CreateSyncCredential", userIdentityId, credentialId: `c${i}`, acsUserId: `a${i}`, managerId: manager, cardFormat: "H10301", facilityCode: "1" }
  ]
  for (let p = 0; p < phones; p++) out.push({ _tag: "PhoneOnline", userIdentityId, phoneId: `ph${i}-${p}`, deviceType: "ios_phone" })
  return out.map(Command.make)
}

/** Run one identity's life; returns how many domain events were produced and folded. */
const life = (commands: ReadonlyArray<Command.Command>, t0: number): number => {
  let events = 0
  let now = t0
  let state: Identity.IdentityState | undefined
  const managers = new Set([manager])
  for (const c of commands) {
    const r = Aggregate.decide(state, c, { now, managers })
    if (Result.isFailure(r)) throw r.failure
    state = Aggregate.fold(state, r.success)
    events += r.success.length
  }
  if (state === undefined) throw new Error("no state")
  let n = 0
  const ref = (kind: string) => Ids.ProviderRef.make(`${kind}${++n}`)
  const view: { user: Ids.ProviderRef; invitations: Array<CredentialManager.Invitation>; endpoints: Array<CredentialManager.Endpoint>; credentials: Array<CredentialManager.ManagerCredential> } = {
    user: ref("usr"),
    invitations: [],
    endpoints: [],
    credentials: []
  }
  const entries: Array<AccessControl.AcsEntry> = []
  for (let round = 0; round < 20; round++) {
    now++
    const p = Plan.plan(state, { managers: new Map([[manager, view]]), acs: new Map([[acs, entries]]) }, { now, kind: () => "issuing", capabilities })
    state = p.state
    events += p.events.length
    if (p.actions.length === 0 && p.events.length === 0) return events
    const learned: Array<Event.DomainEvent> = []
    const identity = state.id
    for (const a of p.actions) {
      switch (a._tag) {
        case "EnsureManagerUser":
          learned.push({ _tag: "ManagerUserBound", identity, at: now, managerId: a.managerId, ref: view.user })
          break
        case "Invite": {
          const e = Identity.enrollmentByKey(state, a.key)
          if (e === undefined) break
          const inv = { ref: ref("inv"), code: `code${n}`, status: "redeemed" as const }
          view.invitations.push(inv)
          learned.push({ _tag: "InvitationCreated", identity, at: now, key: a.key, invitation: inv.ref, code: inv.code, phoneId: e.phoneId })
          view.endpoints.push({ ref: ref("ep"), invitation: inv.ref, status: "active" }) // the app redeems at once
          break
        }
        case "Issue": {
          const cred = { ref: ref("cred"), endpoint: a.endpoint, cardFormat: a.card.cardFormat, facilityCode: a.card.facilityCode, status: "active" as const, cardNumber: String(100000 + n) }
          view.credentials.push(cred)
          learned.push({ _tag: "CredentialIssued", identity, at: now, credentialId: a.credentialId, ref: cred.ref, active: true, cardNumber: cred.cardNumber })
          break
        }
        case "Import": {
          const entry = { ref: ref("acs"), cardNumber: a.cardNumber, cardFormat: a.card.cardFormat, facilityCode: a.card.facilityCode, label: `credsync:${a.credentialId}` }
          entries.push(entry)
          learned.push({ _tag: "CredentialImported", identity, at: now, credentialId: a.credentialId, acsRef: entry.ref })
          break
        }
        case "Assign": {
          const i = entries.findIndex((x) => x.ref === a.entry)
          if (i >= 0) entries[i] = { ...entries[i]!, assignedTo: a.acsUserId }
          learned.push({ _tag: "CredentialAssigned", identity, at: now, credentialId: a.credentialId })
          break
        }
        default:
          throw new Error(`unexpected action ${a._tag} in the synthetic stream`)
      }
    }
    state = Aggregate.fold(state, learned) ?? state
    events += learned.length
  }
  throw new Error("a synthetic identity did not settle in 20 rounds")
}

/** Events per second of the pure core over `identities` synthetic lives of `phones` phones each. */
export const measure = (identities: number, phones = 3): { eventsPerS: number; events: number; seconds: number } => {
  const lives = Array.from({ length: identities }, (_, i) => commandsFor(i, phones))
  // warm-up
  for (let i = 0; i < Math.min(200, identities); i++) life(lives[i]!, 1)
  const t = performance.now()
  let events = 0
  for (const l of lives) events += life(l, 1_000)
  const seconds = (performance.now() - t) / 1000
  return { eventsPerS: events / seconds, events, seconds }
}
