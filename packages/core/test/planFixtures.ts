/**
 * What the planner tests share: one identity (u1) with phones and sync credentials at a manager that
 * does not replicate (`cm`), and the manager's and the ACS's views to plan against.
 */
import { Result } from "effect"
import { decide, decodeCommand, fold } from "../src/Aggregate.js"
import type { Capabilities, ManagerCredential, ManagerKind, ManagerView } from "../src/CredentialManager.js"
import * as Identity from "../src/Identity.js"
import type { IdentityState } from "../src/Identity.js"
import { AcsSystemId, AcsUserId, ProviderRef } from "../src/Ids.js"
import { type Observed, plan } from "../src/Plan.js"

export const cm = AcsSystemId.make("cm")
export const cm2 = AcsSystemId.make("cm2")
export const acs = AcsSystemId.make("acs")
/** A replicating manager (Seam style), for the tests that plan against one. */
export const seam = AcsSystemId.make("seam")
export const ref = (s: string) => ProviderRef.make(s)
export const caps =
  (lag = 0) =>
  (): Capabilities => ({ asyncIssue: true, listingLag: lag })
/** The kind of every manager in these tests: one the engine issues at. */
export const issuingKind = (): ManagerKind => "issuing"

/** Decide and fold one command (it must be accepted). */
export const apply = (s: IdentityState | undefined, input: Record<string, unknown>) =>
  fold(s, Result.getOrThrow(decide(s, Result.getOrThrow(decodeCommand(input)), { now: 0, managers: new Set([cm, cm2, seam]) })))!

/** u1 with ACS user acsu1, automation a1 at cm, the phones online and the parents (id, card format) created; bound to manager user `usr`. */
export const base = (phones: ReadonlyArray<string>, parents: ReadonlyArray<readonly [string, string]>) => {
  let s = apply(undefined, { _tag: "CreateUserIdentity", userIdentityId: "u1" })
  s = apply(s, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu1", acsSystemId: "acs" })
  s = apply(s, { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a1", managerId: "cm" })
  for (const p of phones) s = apply(s, { _tag: "PhoneOnline", userIdentityId: "u1", phoneId: p, deviceType: "ios_phone" })
  for (const [id, format] of parents) {
    s = apply(s, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: id, acsUserId: "acsu1", managerId: "cm", cardFormat: format, facilityCode: "9" })
  }
  return fold(s, [{ _tag: "ManagerUserBound", identity: s.id, at: 0, managerId: cm, ref: ref("usr") }])!
}

/** u1 at seam: ACS user acsu1, automation a1, parent c1 (rfid48), phone dev1; the manager user `ui1` bound. */
export const seamIdentity = () => {
  let s = apply(undefined, { _tag: "CreateUserIdentity", userIdentityId: "u1" })
  s = apply(s, { _tag: "LinkAcsUser", userIdentityId: "u1", acsUserId: "acsu1", acsSystemId: "acs" })
  s = apply(s, { _tag: "LaunchAutomation", userIdentityId: "u1", automationId: "a1", managerId: "seam" })
  s = apply(s, { _tag: "CreateSyncCredential", userIdentityId: "u1", credentialId: "c1", acsUserId: "acsu1", managerId: "seam", cardFormat: "rfid48", facilityCode: "9" })
  s = apply(s, { _tag: "PhoneOnline", userIdentityId: "u1", phoneId: "dev1", deviceType: "ios_phone" })
  return fold(s, [{ _tag: "ManagerUserBound", identity: s.id, at: 0, managerId: seam, ref: ref("ui1") }])!
}

export const view = (v: Partial<ManagerView>): ManagerView => ({ user: ref("usr"), invitations: [], endpoints: [], credentials: [], ...v })
/** One entry of an ACS's listing. */
export type Entry = Observed["acs"] extends ReadonlyMap<unknown, ReadonlyArray<infer E>> ? E : never
export const observed = (v: ManagerView, entries: ReadonlyArray<Entry> = []): Observed => ({
  managers: new Map([[cm, v]]),
  acs: new Map([[acs, entries]])
})
export const cred = (r: string, endpoint: string, cardNumber: string | undefined, status: ManagerCredential["status"] = "active", format = "rfid48"): ManagerCredential => ({
  ref: ref(r),
  endpoint: ref(endpoint),
  cardFormat: format,
  facilityCode: "9",
  status,
  ...(cardNumber === undefined ? {} : { cardNumber })
})
export const entry = (r: string, cardNumber: string, label = "credsync:x", assignedTo?: string): Entry => ({
  ref: ref(r),
  cardNumber,
  cardFormat: "rfid48",
  facilityCode: "9",
  label,
  ...(assignedTo === undefined ? {} : { assignedTo: AcsUserId.make(assignedTo) })
})

/** Two phones invited (i1, i2), the invitations redeemed at ep1 and ep2 in the returned view, with parents as given. */
export const twoPhonesRedeemed = (parents: ReadonlyArray<readonly [string, string]> = [["c1", "rfid48"]]) => {
  let s = base(["p1", "p2"], parents)
  s = fold(s, plan(s, observed(view({})), { now: 0, kind: issuingKind, capabilities: caps() }).events)!
  for (const [phone, inv] of [
    ["p1", "i1"],
    ["p2", "i2"]
  ] as const) {
    s = fold(s, [{ _tag: "InvitationCreated", identity: s.id, at: 0, key: `${phone}|cm`, invitation: ref(inv), code: `CODE-${inv}`, phoneId: Identity.phone(s, phone)!.id }])!
  }
  const v = view({
    invitations: [
      { ref: ref("i1"), code: "CODE-i1", status: "redeemed" },
      { ref: ref("i2"), code: "CODE-i2", status: "redeemed" }
    ],
    endpoints: [
      { ref: ref("ep1"), invitation: ref("i1"), status: "active" },
      { ref: ref("ep2"), invitation: ref("i2"), status: "active" }
    ]
  })
  return { s, v }
}
