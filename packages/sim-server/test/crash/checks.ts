/**
 * What the crash tests check, from the provider's ground truth (never from what the engine believes).
 */
import type { Simulator } from "@credsync/adapter-memory"
import { acsSystemId, profileKey, type Wanted } from "./workload.js"

/** Never two live credentials for one (endpoint, card profile). */
export const atMostOne = (truth: Simulator.Truth): ReadonlyArray<string> => {
  const seen = new Map<string, string>()
  const out: Array<string> = []
  for (const c of truth.credentials) {
    if (!c.live) continue
    const k = `${c.endpoint}|${profileKey(c.cardFormat, c.facilityCode)}`
    const other = seen.get(k)
    if (other !== undefined) out.push(`two live credentials ${other} and ${c.ref} on endpoint ${c.endpoint} (${k})`)
    seen.set(k, c.ref)
  }
  return out
}

/** Invariant items 1-3 (docs/design.md) at quiet time, from the provider's truth and the phones' own record of their codes. */
export const quietViolations = (truth: Simulator.Truth, want: Wanted, phoneOfCode: ReadonlyMap<string, string>): ReadonlyArray<string> => {
  const out = [...atMostOne(truth)]
  const codeOfInvitation = new Map(truth.invitations.map((i) => [i.ref, i.code]))
  const phoneOfEndpoint = new Map<string, string>()
  for (const ep of truth.endpoints) {
    if (ep.status !== "active" || ep.invitation === undefined) continue
    const phone = phoneOfCode.get(codeOfInvitation.get(ep.invitation) ?? "")
    if (phone !== undefined) phoneOfEndpoint.set(ep.ref, phone)
  }
  const live = truth.credentials.filter((c) => c.live)
  const entries = truth.acsEntries.filter((e) => e.acsSystemId === acsSystemId && e.label.startsWith("credsync:"))
  let expected = 0
  for (const [id, identity] of want.identities) {
    for (const [phone, active] of identity.phones) {
      if (!active) continue
      for (const profile of identity.parents.values()) {
        expected++
        const mine = live.filter((c) => phoneOfEndpoint.get(c.endpoint) === phone && profileKey(c.cardFormat, c.facilityCode) === profile)
        if (mine.length !== 1) {
          out.push(`${id}/${phone} holds ${mine.length} live credentials for ${profile} (want exactly 1)`)
          continue
        }
        const c = mine[0]!
        if (c.status !== "active") out.push(`${id}/${phone}: credential ${c.ref} is ${c.status}, not active`)
        const inAcs = entries.filter((e) => e.cardNumber === c.cardNumber)
        if (inAcs.length !== 1 || inAcs[0]!.assignedTo !== identity.acsUserId) {
          out.push(`${id}/${phone}: card ${c.cardNumber} is not imported once and assigned to ${identity.acsUserId} (${inAcs.length} entries)`)
        }
      }
    }
  }
  if (live.length !== expected) out.push(`${live.length} live credentials at the manager, want ${expected}`)
  if (entries.length !== expected) out.push(`${entries.length} managed ACS entries, want ${expected}`)
  return out
}

