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

export interface Model {
  readonly identities: Map<string, ModelIdentity>
  counter: number
  /** a duplicate was planted behind the engine's back and not yet repaired */
  driftDuplicate: boolean
}

export const emptyModel = (): Model => ({ identities: new Map(), counter: 0, driftDuplicate: false })

export const profiles = [
  { cardFormat: "rfid48", facilityCode: "9" },
  { cardFormat: "h10301", facilityCode: "42" }
] as const

export const profileKey = (p: { readonly cardFormat: string; readonly facilityCode: string }) => `${p.cardFormat}/${p.facilityCode}`

export const activePhones = (i: ModelIdentity) => [...i.phones].filter(([, active]) => active).map(([id]) => id)
