import { type Identity, PortError, type Records } from "@credsync/core"
import { Clock, Data, Effect, Exit, Option, Schema } from "effect"
import * as Rec from "./records.js"

/** Profile fields Seam keeps unique per workspace that the engine has no lookup key for. */
export type Field = "email" | "phoneNumber"

/** Another live identity holds this value. */
export class Taken extends Data.TaggedError("Taken")<{ readonly field: Field }> {}

/** Values claimed for an identity being created (give them back if the create fails). */
export interface Claims {
  readonly identityId: string
  readonly keys: ReadonlyArray<string>
}

/**
 * Who holds an email address or phone number, so that `/user_identities/create` checks uniqueness
 * without loading every identity, and so that two instances serving one workspace cannot both
 * accept the same value: each value is a record in the workspace's store (`seam-profile/email:<v>`,
 * `seam-profile/phone:<v>`) created with an expected version of 0 (only one creator wins) before
 * the identity is created.
 *
 * A claim whose identity is gone, being deleted or no longer holds the value is stale and may be
 * taken over (a versioned put). A claim whose identity does not exist yet belongs to a create in
 * flight, unless it is older than `inFlightFor` (its creator died between the claim and the create).
 * A store written before these claims existed is indexed once with one pass over its identities.
 */
export interface ProfileIndex {
  /** Claim an identity's values before creating it; fails with `Taken` (claiming nothing) when another holds one. */
  readonly claim: (
    identityId: string,
    profile: { readonly email?: string | undefined; readonly phoneNumber?: string | undefined }
  ) => Effect.Effect<Claims, Taken | PortError.PortError>
  /** Give back the claims of a create that failed. */
  readonly release: (claims: Claims) => Effect.Effect<void, PortError.PortError>
}

const Claim = Rec.kind("seam-profile", Schema.Struct({ user_identity_id: Schema.String, at: Schema.Number }))
const Indexed = Rec.kind("seam-profile-index", Schema.Struct({ at: Schema.Number }))
const indexedKey = "built"

const keyOf = (field: Field, value: string) => `${field === "email" ? "email" : "phone"}:${value}`
const profileValue = (s: Identity.IdentityState, field: Field) => (field === "email" ? s.profile.email : s.profile.phoneNumber)

/**
 * The claims an identity holds for these values, to give back with `release` (values it no longer
 * has after an update: stale claims are harmless, taken over by the next claimant, but a record left
 * behind is a change nobody asked for).
 */
export const claimsFor = (
  identityId: string,
  profile: { readonly email?: string | undefined; readonly phoneNumber?: string | undefined }
): Claims => ({
  identityId,
  keys: [
    ...(profile.email === undefined ? [] : [keyOf("email", profile.email)]),
    ...(profile.phoneNumber === undefined ? [] : [keyOf("phoneNumber", profile.phoneNumber)])
  ]
})

/** How long a claim without its identity counts as a create in flight. */
const inFlightFor = 60_000

export const make = (
  records: Records.RecordsShape,
  all: Effect.Effect<ReadonlyArray<Identity.IdentityState>, PortError.PortError>,
  live: (id: string) => Effect.Effect<Identity.IdentityState | undefined, PortError.PortError>,
  exists: (id: string) => Effect.Effect<boolean, PortError.PortError>
): ProfileIndex => {
  let indexed = false
  const ensureIndexed = Effect.suspend(() =>
    indexed
      ? Effect.void
      : Effect.gen(function* () {
          if (Option.isNone(yield* Rec.get(records, Indexed, indexedKey))) {
            const now = yield* Clock.currentTimeMillis
            for (const s of yield* all) {
              for (const field of ["email", "phoneNumber"] as const) {
                const v = profileValue(s, field)
                if (v !== undefined) yield* Rec.create(records, Claim, keyOf(field, v), { user_identity_id: s.id, at: now })
              }
            }
            yield* Rec.create(records, Indexed, indexedKey, { at: now })
          }
          indexed = true
        })
  )

  // What a claim record says now: held by a live identity, in flight, or free (absent or stale).
  const judge = (field: Field, value: string, claim: Rec.Versioned<typeof Claim.schema.Type> | undefined) =>
    Effect.gen(function* () {
      if (claim === undefined) return { _tag: "Free" as const, version: 0 }
      const s = yield* live(claim.value.user_identity_id)
      if (s !== undefined && profileValue(s, field) === value) return { _tag: "Held" as const, owner: s }
      // not live: deleted or being deleted (stale), or not created yet (in flight, unless its creator died)
      const stored = s !== undefined || (yield* exists(claim.value.user_identity_id))
      const now = yield* Clock.currentTimeMillis
      if (!stored && now - claim.value.at < inFlightFor) return { _tag: "InFlight" as const }
      return { _tag: "Free" as const, version: claim.version }
    })

  const claimOne = (identityId: string, field: Field, value: string): Effect.Effect<boolean, Taken | PortError.PortError> =>
    Effect.gen(function* () {
      const k = keyOf(field, value)
      for (let races = 0; races < 16; races++) {
        const claim = Option.getOrUndefined(yield* Rec.get(records, Claim, k))
        if (claim?.value.user_identity_id === identityId) return false
        const verdict = yield* judge(field, value, claim)
        if (verdict._tag !== "Free") return yield* Effect.fail(new Taken({ field }))
        const value_ = { user_identity_id: identityId, at: yield* Clock.currentTimeMillis }
        const won = yield* Rec.replace(records, Claim, k, value_, verdict.version).pipe(
          Effect.as(true),
          Effect.catchIf(Rec.isConflict, () => Effect.succeed(false))
        )
        if (won) return true
      }
      return yield* Effect.fail(
        new PortError.PortError({ reason: "Transient", port: "Store", method: "claim", message: `the ${field} claim kept changing; try again` })
      )
    })

  const release = (claims: Claims) =>
    Effect.forEach(
      claims.keys,
      (k) =>
        Rec.modify(records, Claim, k, (current): Rec.Change<typeof Claim.schema.Type, void> =>
          current?.value.user_identity_id === claims.identityId ? { _tag: "Remove", result: undefined } : { _tag: "Keep", result: undefined }
        ),
      { discard: true }
    )

  const claim = (identityId: string, profile: { readonly email?: string | undefined; readonly phoneNumber?: string | undefined }) =>
    Effect.gen(function* () {
      yield* ensureIndexed
      const keys: Array<string> = []
      const fields: ReadonlyArray<readonly [Field, string | undefined]> = [
        ["email", profile.email],
        ["phoneNumber", profile.phoneNumber]
      ]
      for (const [field, value] of fields) {
        if (value === undefined) continue
        const exit = yield* Effect.exit(claimOne(identityId, field, value))
        if (Exit.isFailure(exit)) {
          // nothing claimed stays claimed
          yield* Effect.ignore(release({ identityId, keys }))
          return yield* Effect.failCause(exit.cause)
        }
        if (exit.value) keys.push(keyOf(field, value))
      }
      return { identityId, keys }
    })

  return { claim, release }
}
