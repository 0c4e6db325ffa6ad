/**
 * The kill test's workload: a fixed list of host commands (identities × phones × parents, then
 * changes: a second parent, deactivated phones, deleted parents, a late phone), shared by the
 * engine child (which executes them) and the test (which derives what must hold from them).
 */
import { Command, Identity } from "@credsync/core"

export const managerId = "cm_sim"
export const acsSystemId = "acs_sim"
export const identityCount = 8
export const phonesPerIdentity = 3

export const identityId = (i: number): string => `uid-${i}`
export const acsUserIdOf = (i: number): string => `acs-user-${i}`
export const phoneId = (i: number, p: number): string => `phone-${i}-${p}`
export const parentId = (i: number, n: number): string => `cred-${i}-${n}`
export const facilityOf = (n: number): string => String(n)
export const cardFormat = "H10301"

/** The commands, in the order the child executes them. */
export const commands = (acsUserIds: ReadonlyArray<string>): ReadonlyArray<Command.Command> => {
  const out: Array<Command.Command> = []
  const uid = identityId
  const cmd = Command.make
  for (let i = 0; i < identityCount; i++) {
    const acsUserId = acsUserIds[i]!
    out.push(cmd({ _tag: "CreateUserIdentity", userIdentityId: uid(i), fullName: `Person ${i}`, email: `p${i}@example.com` }))
    out.push(cmd({ _tag: "LinkAcsUser", userIdentityId: uid(i), acsUserId, acsSystemId }))
    out.push(cmd({ _tag: "LaunchAutomation", userIdentityId: uid(i), automationId: `auto-${i}`, managerId }))
    out.push(
      cmd({
        _tag: "CreateSyncCredential",
        userIdentityId: uid(i),
        credentialId: parentId(i, 1),
        acsUserId,
        managerId,
        cardFormat,
        facilityCode: facilityOf(1)
      })
    )
    for (let p = 1; p <= phonesPerIdentity; p++) {
      out.push(cmd({ _tag: "PhoneOnline", userIdentityId: uid(i), phoneId: phoneId(i, p), deviceType: p % 2 === 0 ? "android_phone" : "ios_phone" }))
    }
  }
  for (let i = 0; i < 4; i++) {
    out.push(
      cmd({
        _tag: "CreateSyncCredential",
        userIdentityId: uid(i),
        credentialId: parentId(i, 2),
        acsUserId: acsUserIds[i]!,
        managerId,
        cardFormat,
        facilityCode: facilityOf(2)
      })
    )
  }
  out.push(cmd({ _tag: "DeactivatePhone", userIdentityId: uid(4), phoneId: phoneId(4, 2) }))
  out.push(cmd({ _tag: "DeactivatePhone", userIdentityId: uid(5), phoneId: phoneId(5, 1) }))
  out.push(cmd({ _tag: "DeleteSyncCredential", userIdentityId: uid(6), credentialId: parentId(6, 1) }))
  out.push(cmd({ _tag: "DeleteSyncCredential", userIdentityId: uid(1), credentialId: parentId(1, 2) }))
  out.push(cmd({ _tag: "PhoneOnline", userIdentityId: uid(0), phoneId: phoneId(0, 4), deviceType: "ios_phone" }))
  out.push(cmd({ _tag: "DeactivatePhone", userIdentityId: uid(2), phoneId: phoneId(2, 3) }))
  return out
}

/** What a prefix of the commands asks for: per identity, its ACS user, live parents' profiles and active phones. */
export interface Wanted {
  readonly identities: Map<string, { acsUserId: string; parents: Map<string, string>; phones: Map<string, boolean> }>
}

export const profileKey = (cardFormat: string, facilityCode: string): string => `${cardFormat}/${facilityCode}`

/** Fold the first `n` commands into what they ask for (the model: a few lines of set arithmetic). */
export const wanted = (all: ReadonlyArray<Command.Command>, n: number = all.length): Wanted => {
  const identities: Wanted["identities"] = new Map()
  for (const c of all.slice(0, n)) {
    const x = identities.get(c.userIdentityId)
    switch (c._tag) {
      case "CreateUserIdentity":
        identities.set(c.userIdentityId, { acsUserId: "", parents: new Map(), phones: new Map() })
        break
      case "LinkAcsUser":
        if (x !== undefined) x.acsUserId = c.acsUserId
        break
      case "CreateSyncCredential":
        x?.parents.set(c.credentialId, profileKey(c.cardFormat, c.facilityCode))
        break
      case "DeleteSyncCredential":
        x?.parents.delete(c.credentialId)
        break
      case "PhoneOnline":
        if (x !== undefined && !x.phones.has(c.phoneId)) x.phones.set(c.phoneId, true)
        break
      case "DeactivatePhone":
        if (x?.phones.has(c.phoneId)) x.phones.set(c.phoneId, false)
        break
      default:
        break
    }
  }
  return { identities }
}

/**
 * Is every one of the first `n` commands reflected in the stored states? Returns what is missing.
 * (A command after `n` may also be reflected: the child may have committed it and died before it
 * could acknowledge; that is allowed.)
 */
export const missingFromStore = (
  all: ReadonlyArray<Command.Command>,
  n: number,
  load: (id: string) => Identity.IdentityState | undefined
): ReadonlyArray<string> => {
  const missing: Array<string> = []
  const w = wanted(all, n)
  for (const [id, want] of w.identities) {
    const s = load(id)
    if (s === undefined) {
      missing.push(`identity ${id}`)
      continue
    }
    if (want.acsUserId !== "" && !Object.values(s.acsUsers).some((a) => a.acsUserId === want.acsUserId)) missing.push(`${id}: ACS user link`)
    for (const [pid] of want.parents) {
      const p = Identity.parent(s, pid)
      if (p === undefined) missing.push(`${id}: parent ${pid}`)
    }
    for (const [phone, active] of want.phones) {
      const p = Identity.phone(s, phone)
      if (p === undefined) missing.push(`${id}: phone ${phone}`)
      else if (!active && p.active) missing.push(`${id}: deactivation of ${phone}`)
    }
  }
  for (const c of all.slice(0, n)) {
    if (c._tag === "DeleteSyncCredential") {
      const s = load(c.userIdentityId)
      const p = s === undefined ? undefined : Identity.parent(s, c.credentialId)
      if (p !== undefined && !p.deleting) missing.push(`${c.userIdentityId}: deletion of ${c.credentialId}`)
    }
    if (c._tag === "LaunchAutomation") {
      const s = load(c.userIdentityId)
      if (s !== undefined && !s.automations.some((a) => a.managerId === c.managerId)) {
        missing.push(`${c.userIdentityId}: automation ${c.automationId}`)
      }
    }
  }
  return missing
}
