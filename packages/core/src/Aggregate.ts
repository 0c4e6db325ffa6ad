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
import { automation, type Child, child, type Enrollment, enrollment, enrollmentByKey, type IdentityState, parent, phone } from "./Identity.js"
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
  automations: [],
  phones: [],
  enrollments: [],
  parents: [],
  children: []
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
      const holder = state.parents.find((p) => p.acsUserId === command.acsUserId)
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
      const known = phone(state, command.phoneId)
      if (known?.active) return ok([])
      if (known !== undefined) {
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
      const known = phone(state, command.phoneId)
      if (known === undefined) return reject("NotFound", `phone ${command.phoneId} not found`, "phoneId")
      return known.active ? ok([{ _tag: "PhoneDeactivated", identity, at, phoneId: command.phoneId }]) : ok([])
    }
    case "LaunchAutomation": {
      if (!ctx.managers.has(command.managerId)) {
        return reject("NotFound", `credential manager ${command.managerId} not found`, "managerId")
      }
      const same = state.automations.find((a) => a.managerId === command.managerId)
      if (same !== undefined) return ok([])
      if (automation(state, command.automationId) !== undefined) {
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
      return automation(state, command.automationId) === undefined
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
      if (parent(state, command.credentialId) !== undefined || child(state, command.credentialId) !== undefined) {
        return reject("AlreadyExists", `credential ${command.credentialId} already exists`, "credentialId")
      }
      const card = {
        cardFormat: command.cardFormat,
        facilityCode: command.facilityCode,
        ...(command.startsAt === undefined ? {} : { startsAt: command.startsAt }),
        ...(command.endsAt === undefined ? {} : { endsAt: command.endsAt })
      }
      const twin = state.parents.find(
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
      const p = parent(state, command.credentialId)
      if (p === undefined || p.deleting) {
        return reject("NotFound", `multi-phone sync credential ${command.credentialId} not found`, "credentialId")
      }
      const startsAt = command.startsAt === undefined ? p.card.startsAt : (command.startsAt ?? undefined)
      const endsAt = command.endsAt === undefined ? p.card.endsAt : (command.endsAt ?? undefined)
      if (startsAt === p.card.startsAt && endsAt === p.card.endsAt) return ok([])
      return ok([
        {
          _tag: "ParentTimesChanged",
          identity,
          at,
          credentialId: p.id,
          ...(startsAt === undefined ? {} : { startsAt }),
          ...(endsAt === undefined ? {} : { endsAt })
        }
      ])
    }
    case "DeleteSyncCredential": {
      const p = parent(state, command.credentialId)
      if (p === undefined || p.deleting) {
        return reject("NotFound", `multi-phone sync credential ${command.credentialId} not found`, "credentialId")
      }
      return ok([{ _tag: "ParentDeleted", identity, at, credentialId: command.credentialId }])
    }
  }
}

// Every array here is made at its exact size (map, slice, concat): one grown by push, spread or
// filter keeps room for 16 more elements (~130 bytes), and a store may hold it for the identity's life.

/** `list` with `next` in place of `old` (a new array; the order stays). */
const replace = <T>(list: ReadonlyArray<T>, old: T, next: T): ReadonlyArray<T> => list.map((x) => (x === old ? next : x))

/** `list` with `item` in place of the one with its id, or added last (a replayed event adds nothing twice). */
const put = <T extends { readonly id: string }>(list: ReadonlyArray<T>, item: T): ReadonlyArray<T> => {
  const old = list.find((x) => x.id === item.id)
  return old === undefined ? list.concat([item]) : replace(list, old, item)
}

/** `list` without the one with id `id`. */
const drop = <T extends { readonly id: string }>(list: ReadonlyArray<T>, id: string): ReadonlyArray<T> => {
  const i = list.findIndex((x) => x.id === id)
  return i < 0 ? list : list.slice(0, i).concat(list.slice(i + 1))
}

/** `record` with `key` set, for the collections keyed by system ids (acsUsers, managerUsers): few
 *  keys, the same in every identity, so a plain object whose hidden class every identity shares. */
const putSystem = <V>(record: Readonly<Record<string, V>>, key: string, value: NoInfer<V>): Record<string, V> => ({ ...record, [key]: value })

/** `record` without `key`, for the same collections. */
const withoutSystem = <V>(record: Readonly<Record<string, V>>, key: string): Record<string, V> => {
  const { [key]: _, ...rest } = record
  return rest
}

const patchChild = (s: IdentityState, id: CredentialId, patch: (c: Child) => Child): IdentityState => {
  const c = child(s, id)
  return c === undefined ? s : { ...s, children: replace(s.children, c, patch(c)) }
}

const patchEnrollment = (s: IdentityState, key: string, patch: (e: Enrollment) => Enrollment): IdentityState => {
  const e = enrollmentByKey(s, key)
  return e === undefined ? s : { ...s, enrollments: replace(s.enrollments, e, patch(e)) }
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
      return s.acsUsers[event.acsSystemId]?.acsUserId === event.acsUserId ? { ...s, acsUsers: withoutSystem(s.acsUsers, event.acsSystemId) } : s
    case "AcsUserLinked":
      return { ...s, acsUsers: putSystem(s.acsUsers, event.acsSystemId, { acsUserId: event.acsUserId, acsSystemId: event.acsSystemId }) }
    case "PhoneRegistered":
      return { ...s, phones: put(s.phones, event.phone) }
    case "PhoneDeactivated": {
      const p = phone(s, event.phoneId)
      return p === undefined ? s : { ...s, phones: replace(s.phones, p, { ...p, active: false, deactivatedAt: event.at }) }
    }
    case "AutomationLaunched":
      return { ...s, automations: put(s.automations, event.automation) }
    case "AutomationDeleted":
      return { ...s, automations: drop(s.automations, event.automationId) }
    case "ParentCreated":
      return { ...s, parents: put(s.parents, event.parent) }
    case "ParentTimesChanged": {
      const p = parent(s, event.credentialId)
      if (p === undefined) return s
      const card = {
        cardFormat: p.card.cardFormat,
        facilityCode: p.card.facilityCode,
        ...(event.startsAt === undefined ? {} : { startsAt: event.startsAt }),
        ...(event.endsAt === undefined ? {} : { endsAt: event.endsAt })
      }
      return { ...s, parents: replace(s.parents, p, { ...p, card }) }
    }
    case "ParentDeleted": {
      const p = parent(s, event.credentialId)
      return p === undefined ? s : { ...s, parents: replace(s.parents, p, { ...p, deleting: true }) }
    }
    case "ParentRemoved":
      return { ...s, parents: drop(s.parents, event.credentialId) }
    case "ParentRemoteRequested": {
      const p = parent(s, event.credentialId)
      return p === undefined ? s : { ...s, parents: replace(s.parents, p, { ...p, remoteRequestedAt: event.at }) }
    }
    case "ParentBound": {
      const p = parent(s, event.credentialId)
      return p === undefined ? s : { ...s, parents: replace(s.parents, p, { ...p, remote: event.ref }) }
    }
    case "AutomationRemoteRequested": {
      const a = automation(s, event.automationId)
      return a === undefined ? s : { ...s, automations: replace(s.automations, a, { ...a, remoteRequestedAt: event.at }) }
    }
    case "AutomationBound": {
      const a = automation(s, event.automationId)
      return a === undefined ? s : { ...s, automations: replace(s.automations, a, { ...a, remote: event.ref }) }
    }
    case "ManagerUserBound":
      return { ...s, managerUsers: putSystem(s.managerUsers, event.managerId, { managerId: event.managerId, ref: event.ref }) }
    case "EnrollmentRequested": {
      // one enrollment per (phone, manager): a new generation takes the place of the last
      const e = event.enrollment
      const old = enrollment(s, e.phoneId, e.managerId)
      return { ...s, enrollments: old === undefined ? s.enrollments.concat([e]) : replace(s.enrollments, old, e) }
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
      return { ...s, children: put(s.children, event.child) }
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
      return { ...s, children: drop(s.children, event.credentialId) }
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

