/**
 * The per-user-identity aggregate: everything the engine believes about one mobile-app user, its
 * phones, enrollments, multi-phone sync credentials (parents) and phone credentials (children).
 * Plain JSON-compatible data so any Store can persist it; the Schema is the store-row decoder.
 *
 * @since 0.1.0
 */
import { Schema, SchemaGetter } from "effect"
import { CardProfile } from "./Card.js"
import {
  AcsSystemId,
  AcsUserId,
  AutomationId,
  CredentialId,
  EnrollmentId,
  PhoneId,
  ProviderRef,
  UserIdentityId
} from "./Ids.js"

const opt = Schema.optional

/** A readable error or warning on a resource, Seam style. */
export const Notice = Schema.Struct({ code: Schema.String, message: Schema.String, at: Schema.Number })
export type Notice = typeof Notice.Type

/** The identity's own fields, as given at creation (all optional). */
export const Profile = Schema.Struct({
  key: opt(Schema.String),
  email: opt(Schema.String),
  phoneNumber: opt(Schema.String),
  fullName: opt(Schema.String)
})
export type Profile = typeof Profile.Type

/** A phone of the identity: device type, active or deactivated, and the host's metadata. */
export const Phone = Schema.Struct({
  id: PhoneId,
  deviceType: Schema.Literals(["ios_phone", "android_phone"]),
  active: Schema.Boolean,
  createdAt: Schema.Number,
  deactivatedAt: opt(Schema.Number),
  metadata: opt(Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Boolean])))
})
export type Phone = typeof Phone.Type

/**
 * - `inviting`: intent recorded, invitation not yet confirmed (a lost response leaves it here until
 *   observation adopts or retries).
 * - `invited`: the code is known and handed to the app.
 * - `enrolled`: the app redeemed it; `endpoint` is the manager's credential container.
 * - `failed`: the invitation expired or was cancelled; retried after `retryAt`.
 * - `ended`: the endpoint is gone or the phone was deactivated; a new generation starts if wanted.
 */
export const EnrollmentStatus = Schema.Literals(["inviting", "invited", "enrolled", "failed", "ended"])
export type EnrollmentStatus = typeof EnrollmentStatus.Type

/** One generation of a phone's enrollment with one credential manager (see `EnrollmentStatus`). */
export const Enrollment = Schema.Struct({
  id: EnrollmentId,
  phoneId: PhoneId,
  managerId: AcsSystemId,
  generation: Schema.Number,
  status: EnrollmentStatus,
  requestedAt: Schema.Number,
  invitation: opt(ProviderRef),
  code: opt(Schema.String),
  endpoint: opt(ProviderRef),
  attempts: Schema.Number,
  error: opt(Notice)
})
export type Enrollment = typeof Enrollment.Type

/** An enrollment automation: every phone of the identity is enrolled with `managerId`. */
export const Automation = Schema.Struct({
  id: AutomationId,
  managerId: AcsSystemId,
  createdAt: Schema.Number,
  /** The automation at a replicating manager (Seam), once launched there. */
  remote: opt(ProviderRef),
  remoteRequestedAt: opt(Schema.Number)
})
export type Automation = typeof Automation.Type

/** A multi-phone sync credential. `deleting` until every child is gone. */
export const Parent = Schema.Struct({
  id: CredentialId,
  acsUserId: AcsUserId,
  acsSystemId: AcsSystemId,
  managerId: AcsSystemId,
  card: CardProfile,
  createdAt: Schema.Number,
  deleting: Schema.Boolean,
  /** The parent at a replicating manager (Seam), once created there. */
  remote: opt(ProviderRef),
  /** Intent: the remote create was requested at this time (resolved by observing). */
  remoteRequestedAt: opt(Schema.Number)
})
export type Parent = typeof Parent.Type

/**
 * Issue state of a phone credential at the manager.
 * - `pending`: wanted; known not to exist at the manager (never requested, or lost).
 * - `requested`: intent recorded before the call; outcome unknown until the response or an observation.
 * - `issuing`: the manager accepted it and finishes asynchronously.
 * - `active`: on the phone.
 * - `failed`: terminal; the error says why.
 */
export const IssueStatus = Schema.Literals(["pending", "requested", "issuing", "active", "failed"])
export type IssueStatus = typeof IssueStatus.Type

/** A phone credential: one per (parent, phone, endpoint), with its issue status and its ACS entry. */
export const Child = Schema.Struct({
  id: CredentialId,
  parentId: CredentialId,
  phoneId: PhoneId,
  managerId: AcsSystemId,
  endpoint: ProviderRef,
  issue: IssueStatus,
  requestedAt: Schema.Number,
  attempts: Schema.Number,
  ref: opt(ProviderRef),
  cardNumber: opt(Schema.String),
  acsRef: opt(ProviderRef),
  assigned: Schema.Boolean,
  /** Set once the child is no longer wanted; it is dropped when the manager and the ACS hold nothing. */
  retiring: Schema.Boolean,
  issuedAt: opt(Schema.Number),
  error: opt(Notice)
})
export type Child = typeof Child.Type

/**
 * Why the engine cannot converge an identity: it failed `failures` reconciles in a row, or the
 * store refused its save (e.g. a card number another identity holds). `credentialId` / `phoneId`
 * name the resource concerned, when one is. Set by `IdentityStuck`, cleared by `IdentityRecovered`;
 * the engine keeps retrying meanwhile.
 */
export const Stuck = Schema.Struct({
  since: Schema.Number,
  failures: Schema.Number,
  cause: Notice,
  credentialId: opt(CredentialId),
  phoneId: opt(PhoneId)
})
export type Stuck = typeof Stuck.Type

/**
 * A collection of resources, each carrying its own id: an array in the order they were added.
 * Decodes the earlier form too (an object keyed by id, or by enrollment key), so rows a store wrote
 * before 0.2 read as they were; saving writes the array.
 */
const collection = <T, E>(item: Schema.Codec<T, E>) =>
  Schema.Union([
    Schema.Array(item),
    Schema.Record(Schema.String, item).pipe(
      Schema.decodeTo(Schema.Array(Schema.toType(item)), {
        decode: SchemaGetter.transform((byKey: Readonly<Record<string, T>>): ReadonlyArray<T> => Object.values(byKey)),
        // the array above encodes every array: this form is only read
        encode: SchemaGetter.forbidden(() => "a state is written with its resources as arrays")
      })
    )
  ])

/**
 * Everything the engine believes about one user identity (the fold of its events). The resources it
 * holds (`automations`, `phones`, `enrollments`, `parents`, `children`) are arrays in the order they
 * were added: find one with {@link phone}, {@link enrollment}, {@link parent}, {@link child} or
 * {@link automation}. `acsUsers` and `managerUsers` are keyed by the ACS or manager system's id.
 */
export const IdentityState = Schema.Struct({
  id: UserIdentityId,
  createdAt: Schema.Number,
  profile: Profile,
  deleting: Schema.Boolean,
  acsUsers: Schema.Record(Schema.String, Schema.Struct({ acsUserId: AcsUserId, acsSystemId: AcsSystemId })),
  managerUsers: Schema.Record(Schema.String, Schema.Struct({ managerId: AcsSystemId, ref: ProviderRef })),
  automations: collection(Automation),
  phones: collection(Phone),
  enrollments: collection(Enrollment),
  parents: collection(Parent),
  children: collection(Child),
  /** Present while the engine cannot converge this identity (see {@link Stuck}). */
  stuck: opt(Stuck)
})
export type IdentityState = typeof IdentityState.Type

// Lookups scan: an identity holds a handful of each, and a scan of a few records costs less than
// keeping and copying an index (measured in bench/planner.ts).
const byId = <T extends { readonly id: string }>(list: ReadonlyArray<T>, id: string): T | undefined => {
  for (const x of list) if (x.id === id) return x
  return undefined
}

/** The identity's phone `id`, if it has one. */
export const phone = (s: IdentityState, id: string): Phone | undefined => byId(s.phones, id)

/** The identity's enrollment automation `id`, if it has one. */
export const automation = (s: IdentityState, id: string): Automation | undefined => byId(s.automations, id)

/** The identity's multi-phone sync credential `id`, if it has one (deleting or not). */
export const parent = (s: IdentityState, id: string): Parent | undefined => byId(s.parents, id)

/** The identity's phone credential `id`, if it has one (retiring or not). */
export const child = (s: IdentityState, id: string): Child | undefined => byId(s.children, id)

/** The latest enrollment of phone `phoneId` with manager `managerId`, if there is one. */
export const enrollment = (s: IdentityState, phoneId: string, managerId: string): Enrollment | undefined => {
  for (const e of s.enrollments) if (e.phoneId === phoneId && e.managerId === managerId) return e
  return undefined
}

// Is `key` the enrollment key of `e`? Compared in place: building the key costs more.
const isEnrollmentKey = (e: Enrollment, key: string): boolean =>
  key.length === e.phoneId.length + 1 + e.managerId.length &&
  key.charCodeAt(e.phoneId.length) === 124 && // "|"
  key.startsWith(e.phoneId) &&
  key.endsWith(e.managerId)

/** The enrollment an event's `key` names (see {@link enrollmentKey}), if there is one. */
export const enrollmentByKey = (s: IdentityState, key: string): Enrollment | undefined => {
  for (const e of s.enrollments) if (isEnrollmentKey(e, key)) return e
  return undefined
}

/** Key of the enrollment of a phone with a manager. */
export const enrollmentKey = (phoneId: PhoneId, managerId: AcsSystemId): string => `${phoneId}|${managerId}`

// Each key as one flat string: a template of an id is a cons string (a pair of pointers, flattened
// into a third string when first hashed), and a store keeps these for the identity's whole life.
const key = (...parts: ReadonlyArray<string>): string => parts.join("")

/** Lookup keys the Store indexes for this identity (unique across identities). */
export const lookupKeys = (s: IdentityState): ReadonlyArray<string> => {
  const keys: Array<string> = []
  if (s.profile.key !== undefined) keys.push(key("key:", s.profile.key))
  for (const p of s.phones) keys.push(key("phone:", p.id))
  for (const a of s.automations) keys.push(key("automation:", a.id))
  for (const p of s.parents) {
    keys.push(key("credential:", p.id))
    if (p.remote !== undefined) keys.push(key("manager-credential:", p.managerId, ":", p.remote))
  }
  for (const u of Object.values(s.managerUsers)) keys.push(key("manager-user:", u.managerId, ":", u.ref))
  for (const a of Object.values(s.acsUsers)) keys.push(key("acs-user:", a.acsUserId))
  for (const c of s.children) {
    keys.push(key("credential:", c.id))
    if (c.ref !== undefined) keys.push(key("manager-credential:", c.managerId, ":", c.ref))
    const p = parent(s, c.parentId)
    if (c.cardNumber !== undefined && p !== undefined) keys.push(key("card:", p.acsSystemId, ":", c.cardNumber))
  }
  return keys
}
