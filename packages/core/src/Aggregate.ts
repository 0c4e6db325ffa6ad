/**
 * The identity aggregate's two pure functions: `decide` turns a host command into events or a typed
 * rejection; `evolve` folds one event into the state. Neither performs I/O or reads a clock: time
 * comes in through `Context.now`.
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import { profileKey } from "./Card.js"
import { type Command, CommandRejected, Command as CommandSchema, perCardFields } from "./Command.js"
import type { DomainEvent } from "./Event.js"
import { type Child, enrollmentKey, type IdentityState } from "./Identity.js"
import type { AcsSystemId, CredentialId, UserIdentityId } from "./Ids.js"

/** What `decide` may know beyond the state. */
export interface DecideContext {
  readonly now: number
  /** Credential manager systems the engine can reach. */
  readonly managers: ReadonlySet<AcsSystemId>
}

const reject = (reason: CommandRejected["reason"], message: string, field?: string) =>
  Result.fail(new CommandRejected(field === undefined ? { reason, message } : { reason, message, field }))

/** The profile's fields, in the order `UpdateUserIdentity` merges them. */
const profileFields = ["key", "email", "phoneNumber", "fullName"] as const

const ok = (events: ReadonlyArray<DomainEvent>) => Result.succeed(events)

const decodeCommandUnknown = Schema.decodeUnknownResult(CommandSchema)

/**
 * Decode untrusted input into a Command. Unknown keys are errors; per-card values on a sync
 * credential get a message that says why.
 */
export const decodeCommand = (input: unknown): Result.Result<Command, CommandRejected> => {
  if (typeof input === "object" && input !== null && "_tag" in input && input._tag === "CreateSyncCredential") {
    const bad = perCardFields.find((f) => f in input)
    if (bad !== undefined) {
      return reject(
        "InvalidInput",
        `${bad} is a per-card value: a multi-phone sync credential holds only shared card details; the credential manager allocates ${bad} for each phone`,
        bad
      )
    }
  }
  const r = decodeCommandUnknown(input, { errors: "all", onExcessProperty: "error" })
  if (Result.isFailure(r)) {
    const message = r.failure.message
    const field = /at \["?([\w.]+)"?\]/.exec(message)?.[1]
    return reject("InvalidInput", message, field)
  }
  return Result.succeed(r.success)
}

/** The state of an identity before its first event. */
export const empty = (id: UserIdentityId, at: number): IdentityState => ({
  id,
  createdAt: at,
  profile: {},
  deleting: false,
  acsUsers: {},
  managerUsers: {},
  automations: {},
  phones: {},
  enrollments: {},
  parents: {},
  children: {}
})

/**
 * Decide a command against an identity's state: the events it produces, or a `CommandRejected` (a rejected command changes nothing).
 *
 * @since 0.1.0
 */
export const decide = (
  state: IdentityState | undefined,
  command: Command,
  ctx: DecideContext
): Result.Result<ReadonlyArray<DomainEvent>, CommandRejected> => {
  const identity = command.userIdentityId
  const at = ctx.now
  if (command._tag === "CreateUserIdentity") {
    if (state !== undefined) return reject("AlreadyExists", `user identity ${identity} already exists`, "userIdentityId")
    const { _tag, userIdentityId, ...profile } = command
    return ok([{ _tag: "IdentityCreated", identity, at, profile }])
  }
  if (state === undefined || state.deleting) {
    return reject("NotFound", `user identity ${identity} not found`, "userIdentityId")
  }
  switch (command._tag) {
    case "UpdateUserIdentity": {
      const { _tag, userIdentityId, ...patch } = command
      const profile: Record<string, string> = {}
      for (const field of profileFields) {
        const value = patch[field] === undefined ? state.profile[field] : patch[field]
        if (value !== undefined && value !== null) profile[field] = value
      }
      // nothing to say when nothing changes: a repeated update is a no-op, like a repeated link
      const same = profileFields.every((f) => profile[f] === state.profile[f])
      return same ? ok([]) : ok([{ _tag: "ProfileUpdated", identity, at, profile }])
    }
    case "DeleteUserIdentity":
      return ok([{ _tag: "IdentityDeleted", identity, at }])
    case "LinkAcsUser": {
      const existing = state.acsUsers[command.acsSystemId]
      if (existing?.acsUserId === command.acsUserId) return ok([])
      if (existing !== undefined) {
        return reject(
          "Conflict",
          `user identity ${identity} already has ACS user ${existing.acsUserId} in ACS ${command.acsSystemId}`,
          "acsUserId"
        )
      }
      return ok([{ _tag: "AcsUserLinked", identity, at, acsUserId: command.acsUserId, acsSystemId: command.acsSystemId }])
    }
    case "UnlinkAcsUser": {
      const link = Object.values(state.acsUsers).find((l) => l.acsUserId === command.acsUserId)
      if (link === undefined) {
        return reject("NotFound", `ACS user ${command.acsUserId} is not linked to user identity ${identity}`, "acsUserId")
      }
      // a parent (live, or deleted while its children are still retired) assigns to this ACS user
      const holder = Object.values(state.parents).find((p) => p.acsUserId === command.acsUserId)
      if (holder !== undefined) {
        return reject(
          "Conflict",
          `multi-phone sync credential ${holder.id} is assigned to ACS user ${command.acsUserId}; delete it (and wait until it is gone) before unlinking`,
          "acsUserId"
        )
      }
      return ok([{ _tag: "AcsUserUnlinked", identity, at, acsUserId: link.acsUserId, acsSystemId: link.acsSystemId }])
    }
    case "PhoneOnline": {
      const phone = state.phones[command.phoneId]
      if (phone?.active) return ok([])
      if (phone !== undefined) {
        return reject("Conflict", `phone ${command.phoneId} was deactivated and cannot come back`, "phoneId")
      }
      return ok([
        {
          _tag: "PhoneRegistered",
          identity,
          at,
          phone: {
            id: command.phoneId,
            deviceType: command.deviceType,
            active: true,
            createdAt: at,
            ...(command.metadata === undefined ? {} : { metadata: command.metadata })
          }
        }
      ])
    }
    case "DeactivatePhone": {
      const phone = state.phones[command.phoneId]
      if (phone === undefined) return reject("NotFound", `phone ${command.phoneId} not found`, "phoneId")
      return phone.active ? ok([{ _tag: "PhoneDeactivated", identity, at, phoneId: command.phoneId }]) : ok([])
    }
    case "LaunchAutomation": {
      if (!ctx.managers.has(command.managerId)) {
        return reject("NotFound", `credential manager ${command.managerId} not found`, "managerId")
      }
      const same = Object.values(state.automations).find((a) => a.managerId === command.managerId)
      if (same !== undefined) return ok([])
      if (state.automations[command.automationId] !== undefined) {
        return reject("AlreadyExists", `enrollment automation ${command.automationId} already exists`, "automationId")
      }
      return ok([
        {
          _tag: "AutomationLaunched",
          identity,
          at,
          automation: { id: command.automationId, managerId: command.managerId, createdAt: at }
        }
      ])
    }
    case "DeleteAutomation":
      return state.automations[command.automationId] === undefined
        ? reject("NotFound", `enrollment automation ${command.automationId} not found`, "automationId")
        : ok([{ _tag: "AutomationDeleted", identity, at, automationId: command.automationId }])
    case "CreateSyncCredential": {
      if (!ctx.managers.has(command.managerId)) {
        return reject("NotFound", `credential manager ${command.managerId} not found`, "managerId")
      }
      const link = Object.values(state.acsUsers).find((l) => l.acsUserId === command.acsUserId)
      if (link === undefined) {
        return reject("NotFound", `ACS user ${command.acsUserId} is not linked to user identity ${identity}`, "acsUserId")
      }
      if (state.parents[command.credentialId] !== undefined || state.children[command.credentialId] !== undefined) {
        return reject("AlreadyExists", `credential ${command.credentialId} already exists`, "credentialId")
      }
      const card = {
        cardFormat: command.cardFormat,
        facilityCode: command.facilityCode,
        ...(command.startsAt === undefined ? {} : { startsAt: command.startsAt }),
        ...(command.endsAt === undefined ? {} : { endsAt: command.endsAt })
      }
      const twin = Object.values(state.parents).find(
        (p) => !p.deleting && p.managerId === command.managerId && profileKey(p.card) === profileKey(card)
      )
      if (twin !== undefined) {
        return reject(
          "Conflict",
          `multi-phone sync credential ${twin.id} already issues ${profileKey(card)} through ${command.managerId}; a phone can hold one credential per card profile`,
          "facilityCode"
        )
      }
      return ok([
        {
          _tag: "ParentCreated",
          identity,
          at,
          parent: {
            id: command.credentialId,
            acsUserId: command.acsUserId,
            acsSystemId: link.acsSystemId,
            managerId: command.managerId,
            card,
            createdAt: at,
            deleting: false
          }
        }
      ])
    }
    case "UpdateSyncCredential": {
      const parent = state.parents[command.credentialId]
      if (parent === undefined || parent.deleting) {
        return reject("NotFound", `multi-phone sync credential ${command.credentialId} not found`, "credentialId")
      }
      const startsAt = command.startsAt === undefined ? parent.card.startsAt : (command.startsAt ?? undefined)
      const endsAt = command.endsAt === undefined ? parent.card.endsAt : (command.endsAt ?? undefined)
      if (startsAt === parent.card.startsAt && endsAt === parent.card.endsAt) return ok([])
      return ok([
        {
          _tag: "ParentTimesChanged",
          identity,
          at,
          credentialId: parent.id,
          ...(startsAt === undefined ? {} : { startsAt }),
          ...(endsAt === undefined ? {} : { endsAt })
        }
      ])
    }
    case "DeleteSyncCredential": {
      const parent = state.parents[command.credentialId]
      if (parent === undefined || parent.deleting) {
        return reject("NotFound", `multi-phone sync credential ${command.credentialId} not found`, "credentialId")
      }
      return ok([{ _tag: "ParentDeleted", identity, at, credentialId: command.credentialId }])
    }
  }
}

/*
 * The state's collections keyed by resource ids (phones, enrollments, children, …) are kept as dictionary objects:
 * no prototype, made with `Object.create(null)`, which V8 keeps in dictionary mode. A plain object
 * gets a hidden class per set of keys, and these keys are ids, so every identity's collections had
 * their own classes (about 1 kB of them per identity, measured with a heap snapshot) and every copy
 * went through a megamorphic spread. They are still plain records to read and to serialize.
 */
const dict = <V>(): Record<string, V> => Object.create(null)

/** `record` with `key` set to `value` (a new dictionary). */
const put = <V>(record: Readonly<Record<string, V>>, key: string, value: NoInfer<V>): Record<string, V> => {
  const out = dict<V>()
  for (const k of Object.keys(record)) {
    const v = record[k]
    if (v !== undefined) out[k] = v
  }
  out[key] = value
  return out
}

/** `record` with `key` set, for the collections keyed by system ids (acsUsers, managerUsers): few
 *  keys, the same in every identity, so a plain object whose hidden class every identity shares is
 *  smaller than a dictionary (~40 bytes against ~200). */
const putSystem = <V>(record: Readonly<Record<string, V>>, key: string, value: NoInfer<V>): Record<string, V> => ({ ...record, [key]: value })

/** `record` without `key` (a new dictionary). */
const without = <V>(record: Readonly<Record<string, V>>, key: string): Record<string, V> => {
  const out = dict<V>()
  for (const k of Object.keys(record)) {
    const v = record[k]
    if (k !== key && v !== undefined) out[k] = v
  }
  return out
}

const patchChild = (s: IdentityState, id: CredentialId, patch: (c: IdentityState["children"][string]) => IdentityState["children"][string]): IdentityState => {
  const c = s.children[id]
  return c === undefined ? s : { ...s, children: put(s.children, id, patch(c)) }
}

const patchEnrollment = (
  s: IdentityState,
  key: string,
  patch: (e: IdentityState["enrollments"][string]) => IdentityState["enrollments"][string]
): IdentityState => {
  const e = s.enrollments[key]
  return e === undefined ? s : { ...s, enrollments: put(s.enrollments, key, patch(e)) }
}

/** `o` without its `error`. Most records have none to drop, and a rest copy is slow in V8 while a spread is not. */
const withoutError = <T extends { readonly error?: unknown }>(o: T): Omit<T, "error"> => {
  if (o.error === undefined) return o
  const { error: _, ...rest } = o
  return rest
}

/**
 * Fold one event into the state. Total: an event about something the state no longer holds is a
 * no-op, so replays and late results are harmless.
 *
 * @since 0.1.0
 */
export const evolve = (state: IdentityState | undefined, event: DomainEvent): IdentityState => {
  if (event._tag === "IdentityCreated") return { ...empty(event.identity, event.at), profile: event.profile }
  const s = state ?? empty(event.identity, event.at)
  switch (event._tag) {
    case "ProfileUpdated":
      return { ...s, profile: event.profile }
    case "IdentityDeleted":
      return { ...s, deleting: true }
    case "AcsUserUnlinked":
      return s.acsUsers[event.acsSystemId]?.acsUserId === event.acsUserId ? { ...s, acsUsers: without(s.acsUsers, event.acsSystemId) } : s
    case "AcsUserLinked":
      return { ...s, acsUsers: putSystem(s.acsUsers, event.acsSystemId, { acsUserId: event.acsUserId, acsSystemId: event.acsSystemId }) }
    case "PhoneRegistered":
      return { ...s, phones: put(s.phones, event.phone.id, event.phone) }
    case "PhoneDeactivated": {
      const p = s.phones[event.phoneId]
      return p === undefined ? s : { ...s, phones: put(s.phones, p.id, { ...p, active: false, deactivatedAt: event.at }) }
    }
    case "AutomationLaunched":
      return { ...s, automations: put(s.automations, event.automation.id, event.automation) }
    case "AutomationDeleted":
      return { ...s, automations: without(s.automations, event.automationId) }
    case "ParentCreated":
      return { ...s, parents: put(s.parents, event.parent.id, event.parent) }
    case "ParentTimesChanged": {
      const p = s.parents[event.credentialId]
      if (p === undefined) return s
      const card = {
        cardFormat: p.card.cardFormat,
        facilityCode: p.card.facilityCode,
        ...(event.startsAt === undefined ? {} : { startsAt: event.startsAt }),
        ...(event.endsAt === undefined ? {} : { endsAt: event.endsAt })
      }
      return { ...s, parents: put(s.parents, p.id, { ...p, card }) }
    }
    case "ParentDeleted": {
      const p = s.parents[event.credentialId]
      return p === undefined ? s : { ...s, parents: put(s.parents, p.id, { ...p, deleting: true }) }
    }
    case "ParentRemoved":
      return { ...s, parents: without(s.parents, event.credentialId) }
    case "ParentRemoteRequested": {
      const p = s.parents[event.credentialId]
      return p === undefined ? s : { ...s, parents: put(s.parents, p.id, { ...p, remoteRequestedAt: event.at }) }
    }
    case "ParentBound": {
      const p = s.parents[event.credentialId]
      return p === undefined ? s : { ...s, parents: put(s.parents, p.id, { ...p, remote: event.ref }) }
    }
    case "AutomationRemoteRequested": {
      const a = s.automations[event.automationId]
      return a === undefined ? s : { ...s, automations: put(s.automations, a.id, { ...a, remoteRequestedAt: event.at }) }
    }
    case "AutomationBound": {
      const a = s.automations[event.automationId]
      return a === undefined ? s : { ...s, automations: put(s.automations, a.id, { ...a, remote: event.ref }) }
    }
    case "ManagerUserBound":
      return { ...s, managerUsers: putSystem(s.managerUsers, event.managerId, { managerId: event.managerId, ref: event.ref }) }
    case "EnrollmentRequested": {
      const e = event.enrollment
      return { ...s, enrollments: put(s.enrollments, enrollmentKey(e.phoneId, e.managerId), e) }
    }
    case "InvitationCreated":
      return patchEnrollment(s, event.key, (e) => {
        return { ...withoutError(e), status: "invited", invitation: event.invitation, code: event.code }
      })
    case "PhoneEnrolled":
      return patchEnrollment(s, event.key, (e) => ({ ...e, status: "enrolled", endpoint: event.endpoint }))
    case "EnrollmentFailed":
      return patchEnrollment(s, event.key, (e) => ({ ...e, status: "failed", error: event.error }))
    case "EnrollmentEnded":
      return patchEnrollment(s, event.key, (e) => ({ ...e, status: "ended" }))
    case "CredentialRequested":
      return { ...s, children: put(s.children, event.child.id, event.child) }
    case "CredentialIssued":
      return patchChild(s, event.credentialId, (c) => {
        // one spread, no temporary objects: this is the planner's most frequent fold
        const issued: Child = { ...withoutError(c), ref: event.ref, issue: event.active ? "active" : "issuing" }
        const cardNumber = event.cardNumber ?? c.cardNumber
        const issuedAt = event.active ? (c.issuedAt ?? event.at) : c.issuedAt
        return cardNumber === undefined
          ? issuedAt === undefined
            ? issued
            : { ...issued, issuedAt }
          : issuedAt === undefined
            ? { ...issued, cardNumber }
            : { ...issued, cardNumber, issuedAt }
      })
    case "CredentialFailed":
      return patchChild(s, event.credentialId, (c) => ({ ...c, issue: "failed", error: event.error }))
    case "CredentialLost":
      return patchChild(s, event.credentialId, (c) => {
        const { ref: _r, cardNumber: _n, issuedAt: _i, ...rest } = c
        // waiting starts again from the loss (a replicating manager gets a fresh grace period)
        return { ...rest, issue: "pending", requestedAt: event.at }
      })
    case "CredentialImported":
      return patchChild(s, event.credentialId, (c) => ({ ...c, acsRef: event.acsRef }))
    case "CredentialAssigned":
      return patchChild(s, event.credentialId, (c) => ({ ...c, assigned: true }))
    case "CredentialAcsLost":
      return patchChild(s, event.credentialId, (c) => {
        const { acsRef: _, ...rest } = c
        return { ...rest, assigned: false }
      })
    case "CredentialRetiring":
      return patchChild(s, event.credentialId, (c) => ({ ...c, retiring: true }))
    case "CredentialRevoked":
      return { ...s, children: without(s.children, event.credentialId) }
    case "IdentityStuck":
      // stuck since the first time, whatever the cause has become since
      return { ...s, stuck: { ...event.stuck, since: s.stuck?.since ?? event.stuck.since } }
    case "IdentityRecovered": {
      const { stuck: _, ...rest } = s
      return rest
    }
  }
}

/** `evolve` over a list of events. */
export const fold = (state: IdentityState | undefined, events: ReadonlyArray<DomainEvent>): IdentityState | undefined =>
  events.reduce<IdentityState | undefined>(evolve, state)

