/**
 * The model of the property test: a few sets, not a copy of the engine. Per identity: its ACS
 * user, its phones (active or not) and its live parents (by card profile).
 */
export interface ModelIdentity {
  readonly id: string
  readonly acsUserId: string
  readonly phones: Map<string, boolean>
  readonly parents: Map<string, string>
}

/** The property's model: what the identities should hold, as plain sets. */
export interface Model {
  readonly identities: Map<string, ModelIdentity>
  /** Parents the host deleted (their phone credentials must be retired as `parent_deleted`). */
  readonly deletedParents: Set<string>
  counter: number
  /** How often each kind of case happened in this run (for the property's statistics). */
  readonly counts: Map<string, number>
  /** How many of the World's committed events the reason checks have seen. */
  checkedEvents: number
}

/** A model with no identity. */
export const emptyModel = (): Model => ({ identities: new Map(), deletedParents: new Set(), counter: 0, counts: new Map(), checkedEvents: 0 })

/** Count one occurrence of a case in this run. */
export const count = (m: Model, what: string): void => {
  m.counts.set(what, (m.counts.get(what) ?? 0) + 1)
}

/** The card profiles the property's parents are drawn from. */
export const profiles = [
  { cardFormat: "rfid48", facilityCode: "9" },
  { cardFormat: "h10301", facilityCode: "42" }
] as const

/** A card profile as one string, `format/facility`. */
export const profileKey = (p: { readonly cardFormat: string; readonly facilityCode: string }) => `${p.cardFormat}/${p.facilityCode}`

/** The ids of an identity's active phones in the model. */
export const activePhones = (i: ModelIdentity) => [...i.phones].filter(([, active]) => active).map(([id]) => id)
