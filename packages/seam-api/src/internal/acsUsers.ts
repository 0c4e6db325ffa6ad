/**
 * ACS users as the API knows them, kept in the workspace's store: the profile Seam returns (the ACS
 * port keeps only id, name and email) and the id the ACS uses inside. ACS user ids are UUIDs
 * (Seam's form) whatever the ACS uses (the simulator says `acsu_1`); the engine and the API only
 * ever see the public ids, through the wrapped port.
 *
 * Records: `seam-acs-user/<public id>` (profile + inner id) and `seam-acs-user-inner/<acs>|<inner id>`
 * (→ public id, for the ACS's answers). The id mapping never changes once written, so this instance
 * caches it; a miss reads the store (another instance may have created the user).
 *
 * @internal
 */
import { type AccessControl, Ids, PortError, type Records } from "@credsync/core"
import { Clock, Effect, Option, Schema } from "effect"
import { newId } from "./ids.js"
import * as Rec from "./records.js"

/** An ACS user's profile as the API returns it. */
export const AcsUserProfile = Schema.Struct({
  acs_user_id: Ids.AcsUserId,
  acs_system_id: Ids.AcsSystemId,
  full_name: Schema.String,
  email_address: Schema.optional(Schema.String),
  phone_number: Schema.optional(Schema.String),
  access_schedule: Schema.optional(Schema.Struct({ starts_at: Schema.String, ends_at: Schema.NullOr(Schema.String) })),
  created_at: Schema.Number,
  /** Set by `/acs/users/suspend` (absent in records written before it existed: not suspended). */
  is_suspended: Schema.optional(Schema.Boolean)
})
export type AcsUserProfile = typeof AcsUserProfile.Type

const AcsUser = Rec.kind("seam-acs-user", Schema.Struct({ ...AcsUserProfile.fields, inner: Ids.AcsUserId }))
const Inner = Rec.kind("seam-acs-user-inner", Schema.Struct({ acs_user_id: Ids.AcsUserId }))

const innerKey = (acs: string, inner: string) => `${acs}|${inner}`

/** What creating an ACS user takes. */
export type NewAcsUser = Omit<AcsUserProfile, "acs_user_id" | "created_at" | "is_suspended">

/** What `/acs/users/update|suspend|unsuspend` may change in a profile (its ids and creation time stay). */
export type AcsUserChange = (profile: AcsUserProfile) => AcsUserProfile

/** The workspace's ACS users. */
export interface AcsUsers {
  /** The ACS port with public user ids, as the engine sees it. */
  readonly port: AccessControl.AccessControlShape
  readonly get: (id: string) => Effect.Effect<AcsUserProfile | undefined, PortError.PortError>
  /** Every ACS user (one pass over the store). */
  readonly list: Effect.Effect<ReadonlyArray<AcsUserProfile>, PortError.PortError>
  /** Create the user in the ACS, then record it. */
  readonly create: (user: NewAcsUser) => Effect.Effect<AcsUserProfile, PortError.PortError>
  /** Change the recorded profile (a versioned read-modify-write); `undefined` when there is no such user. */
  readonly update: (id: string, change: AcsUserChange) => Effect.Effect<AcsUserProfile | undefined, PortError.PortError>
  /** Forget the user's profile (the ACS port has no delete: the ACS's own user stays); `false` when it was gone. */
  readonly remove: (id: string) => Effect.Effect<boolean, PortError.PortError>
}

const unknownUser = (method: string, id: string) =>
  new PortError.PortError({ reason: "NotFound", port: "AccessControl", method, message: `unknown ACS user ${id}` })

const profileOf = ({ inner: _, ...profile }: typeof AcsUser.schema.Type): AcsUserProfile => profile

export const make = (inner: AccessControl.AccessControlShape, records: Records.RecordsShape): AcsUsers => {
  const toInner = new Map<string, Ids.AcsUserId>()
  const toPublic = new Map<string, Ids.AcsUserId>()

  // a mapping never changes once written: each is read from the store once per process
  const cached =
    <A>(cache: Map<string, A>, read: (key: string) => Effect.Effect<Option.Option<A>, PortError.PortError>) =>
    (key: string) =>
      Effect.suspend(() => {
        const hit = cache.get(key)
        if (hit !== undefined) return Effect.succeed(hit)
        return Effect.map(read(key), (found) => {
          if (Option.isSome(found)) cache.set(key, found.value)
          return Option.getOrUndefined(found)
        })
      })
  const insideOf = cached(toInner, (id) => Effect.map(Rec.get(records, AcsUser, id), Option.map((r) => r.value.inner)))
  const publicOfKey = cached(toPublic, (k) => Effect.map(Rec.get(records, Inner, k), Option.map((r) => r.value.acs_user_id)))
  // not created through this API: shown as the ACS names it
  const publicOf = (acs: string, id: Ids.AcsUserId) => Effect.map(publicOfKey(innerKey(acs, id)), (found) => found ?? id)

  const create = (user: NewAcsUser) =>
    Effect.gen(function* () {
      const created = yield* inner.createUser(user.acs_system_id, {
        fullName: user.full_name,
        ...(user.email_address === undefined ? {} : { email: user.email_address })
      })
      const id = Ids.AcsUserId.make(newId())
      const record = { ...user, acs_user_id: id, created_at: yield* Clock.currentTimeMillis, inner: created.id }
      // the reverse index first: a crash before the user record leaves only an index entry nobody refers to
      yield* Rec.create(records, Inner, innerKey(user.acs_system_id, created.id), { acs_user_id: id })
      yield* Rec.create(records, AcsUser, id, record)
      toInner.set(id, created.id)
      toPublic.set(innerKey(user.acs_system_id, created.id), id)
      return profileOf(record)
    })

  const port: AccessControl.AccessControlShape = {
    systems: inner.systems,
    createUser: (acs, user) =>
      Effect.map(
        create({ acs_system_id: acs, full_name: user.fullName, email_address: user.email }),
        (u): AccessControl.AcsUser =>
          u.email_address === undefined
            ? { id: u.acs_user_id, acsSystemId: acs, fullName: u.full_name }
            : { id: u.acs_user_id, acsSystemId: acs, fullName: u.full_name, email: u.email_address }
      ),
    getUser: (acs, id) =>
      Effect.flatMap(insideOf(id), (inside) =>
        inside === undefined ? Effect.fail(unknownUser("getUser", id)) : Effect.map(inner.getUser(acs, inside), (u) => ({ ...u, id }))
      ),
    observe: (acs, query) =>
      Effect.gen(function* () {
        const users: Array<Ids.AcsUserId> = []
        for (const u of query.users) {
          const inside = yield* insideOf(u)
          if (inside !== undefined) users.push(inside)
        }
        const entries = yield* inner.observe(acs, { users, cardNumbers: query.cardNumbers })
        return yield* Effect.forEach(entries, (e) => {
          if (e.assignedTo === undefined) return Effect.succeed(e)
          const { assignedTo, ...rest } = e
          return Effect.map(publicOf(acs, assignedTo), (id) => ({ ...rest, assignedTo: id }))
        })
      }),
    importCredential: inner.importCredential,
    assign: (acs, entry, id) =>
      Effect.flatMap(insideOf(id), (inside) =>
        inside === undefined ? Effect.fail(unknownUser("assign", id)) : inner.assign(acs, entry, inside)
      ),
    remove: inner.remove
  }

  return {
    port,
    get: (id) => Effect.map(Rec.get(records, AcsUser, id), (o) => Option.getOrUndefined(Option.map(o, (r) => profileOf(r.value)))),
    list: Effect.map(Rec.all(records, AcsUser), (rows) => rows.map((r) => profileOf(r.value))),
    create,
    update: (id, change) =>
      Rec.modify(records, AcsUser, id, (current): Rec.Change<typeof AcsUser.schema.Type, AcsUserProfile | undefined> => {
        if (current === undefined) return { _tag: "Keep", result: undefined }
        const next = change(profileOf(current.value))
        // ids, ACS and creation time are the record's, whatever the change says
        const value = { ...next, acs_user_id: current.value.acs_user_id, acs_system_id: current.value.acs_system_id, created_at: current.value.created_at, inner: current.value.inner }
        return { _tag: "Put", value, result: profileOf(value) }
      }),
    // the reverse index stays: the ACS may still name its inner user, which keeps mapping to this id
    remove: (id) =>
      Rec.modify(records, AcsUser, id, (current): Rec.Change<typeof AcsUser.schema.Type, boolean> =>
        current === undefined ? { _tag: "Keep", result: false } : { _tag: "Remove", result: true }
      )
  }
}
