import type { Identity, PortError } from "@credsync/core"
import { Effect, Semaphore } from "effect"

/** Profile fields Seam keeps unique per workspace that the engine has no lookup key for. */
export type Field = "email" | "phoneNumber"

/**
 * Who holds an email address or phone number, so that `/user_identities/create` does not load every
 * identity to check uniqueness. In memory: built once from the store on first use (one pass over the
 * workspace after a start), then kept up to date by `remember`. An entry whose identity is gone or being
 * deleted is dropped when it is looked up.
 */
export interface ProfileIndex {
  /** The live identity holding this value, if any. */
  readonly owner: (field: Field, value: string) => Effect.Effect<Identity.IdentityState | undefined, PortError.PortError>
  /** Record an identity's email and phone number (call after creating it). */
  readonly remember: (s: Identity.IdentityState) => void
  /** Run a check-then-create alone, so two concurrent creates cannot both pass the check. */
  readonly exclusive: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export const make = (
  all: Effect.Effect<ReadonlyArray<Identity.IdentityState>, PortError.PortError>,
  live: (id: string) => Effect.Effect<Identity.IdentityState | undefined, PortError.PortError>
): ProfileIndex => {
  const entries: Record<Field, Map<string, string>> = { email: new Map(), phoneNumber: new Map() }
  let built = false
  const buildLock = Semaphore.makeUnsafe(1)
  const createLock = Semaphore.makeUnsafe(1)

  const remember = (s: Identity.IdentityState) => {
    if (s.profile.email !== undefined) entries.email.set(s.profile.email, s.id)
    if (s.profile.phoneNumber !== undefined) entries.phoneNumber.set(s.profile.phoneNumber, s.id)
  }
  const build = buildLock.withPermits(1)(
    Effect.gen(function* () {
      if (built) return
      for (const s of yield* all) remember(s)
      built = true
    })
  )
  const owner = (field: Field, value: string) =>
    Effect.gen(function* () {
      yield* build
      const id = entries[field].get(value)
      if (id === undefined) return undefined
      const s = yield* live(id)
      // gone, being deleted, or changed: the entry no longer says anything
      const holds = s !== undefined && (field === "email" ? s.profile.email : s.profile.phoneNumber) === value
      if (!holds) entries[field].delete(value)
      return holds ? s : undefined
    })
  return { owner, remember, exclusive: (effect) => createLock.withPermits(1)(effect) }
}
