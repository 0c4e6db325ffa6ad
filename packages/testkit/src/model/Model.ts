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
  counter: number
  /** a duplicate was planted behind the engine's back and not yet repaired */
  driftDuplicate: boolean
}

/** A model with no identity. */
export const emptyModel = (): Model => ({ identities: new Map(), counter: 0, driftDuplicate: false })

/** The card profiles the property's parents are drawn from. */
export const profiles = [
  { cardFormat: "rfid48", facilityCode: "9" },
  { cardFormat: "h10301", facilityCode: "42" }
] as const

/** A card profile as one string, `format/facility`. */
export const profileKey = (p: { readonly cardFormat: string; readonly facilityCode: string }) => `${p.cardFormat}/${p.facilityCode}`

/** The ids of an identity's active phones in the model. */
export const activePhones = (i: ModelIdentity) => [...i.phones].filter(([, active]) => active).map(([id]) => id)
