/**
 * Shared steps of the restart and multi-instance tests: a person with phones through SeamHttp, the
 * convergence check, and the webhook bookkeeping (deliveries counted by Svix message id).
 */
import type { SeamHttp } from "@seamapi/http/connect"
import { expect } from "vitest"
import { type Received, until } from "./helpers.js"

export interface Systems {
  readonly acs: string
  readonly manager: string
}

export const systemsOf = async (seam: SeamHttp): Promise<Systems> => {
  const systems = await seam.acs.systems.list()
  const manager = systems.find((s) => s.is_credential_manager)?.acs_system_id
  const acs = systems.find((s) => !s.is_credential_manager)?.acs_system_id
  if (manager === undefined || acs === undefined) throw new Error("expected an ACS and a credential manager")
  return { acs, manager }
}

export interface Person {
  readonly name: string
  readonly identityId: string
  readonly acsUserId: string
  readonly parentId: string
  readonly deviceIds: ReadonlyArray<string>
}

/**
 * The seed document's flow for one person; `seam()` is asked for a client before each request (so
 * that requests can alternate between instances).
 */
export const addPerson = async (seam: () => SeamHttp, systems: Systems, name: string, phones: number): Promise<Person> => {
  const email = `${name.toLowerCase()}@example.com`
  const identity = await seam().userIdentities.create({ email_address: email, full_name: name })
  const acsUser = await seam().acs.users.create({ acs_system_id: systems.acs, full_name: name, email_address: email })
  await seam().userIdentities.addAcsUser({ user_identity_id: identity.user_identity_id, acs_user_id: acsUser.acs_user_id })
  await seam().userIdentities.enrollmentAutomations.launch({
    user_identity_id: identity.user_identity_id,
    credential_manager_acs_system_id: systems.manager
  })
  // the seed's shared card details (card_format, facility_code are not in the SDK's types)
  const createParams = {
    access_method: "mobile_key" as const,
    is_multi_phone_sync_credential: true,
    acs_user_id: acsUser.acs_user_id,
    credential_manager_acs_system_id: systems.manager,
    card_format: "rfid48",
    facility_code: "9"
  }
  const parent = await seam().acs.credentials.create(createParams)
  const deviceIds: Array<string> = []
  for (let k = 1; k <= phones; k++) {
    const phone = await seam().phones.simulate.createSandboxPhone({
      user_identity_id: identity.user_identity_id,
      phone_metadata: { operating_system: "android", device_model: `${name}'s phone ${k}` }
    })
    deviceIds.push(phone.device_id)
  }
  return { name, identityId: identity.user_identity_id, acsUserId: acsUser.acs_user_id, parentId: parent.acs_credential_id, deviceIds }
}

const deviceOf = (c: object) => ("device_id" in c && typeof c.device_id === "string" ? c.device_id : undefined)

/** Wait until each of the person's phones holds one issued child, assigned in the ACS; returns the card numbers. */
export const converged = (seam: () => SeamHttp, p: Person): Promise<ReadonlyArray<string>> =>
  until(
    `${p.name}: one issued, assigned child per phone`,
    async () => {
      const children = (await seam().acs.credentials.list({ user_identity_id: p.identityId })).filter(
        (c) => c.parent_acs_credential_id === p.parentId
      )
      const done =
        children.length === p.deviceIds.length &&
        children.every((c) => c.is_issued && c.is_latest_desired_state_synced_with_provider) &&
        [...new Set(children.map(deviceOf))].sort().join() === [...p.deviceIds].sort().join()
      return done ? children.map((c) => c.card_number ?? "") : undefined
    },
    1200
  )

/** Deliveries per Svix message id (`msg_<event_id>`). */
export const deliveryCounts = (received: ReadonlyArray<Received>): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const r of received) {
    const id = (r.headers["svix-id"] ?? "").replace(/^msg_/, "")
    counts.set(id, (counts.get(id) ?? 0) + 1)
  }
  return counts
}

/** Wait until every listed event reached the receiver; then give duplicates a chance to show, and check there are none. */
export const deliveredOnce = async (seam: () => SeamHttp, received: ReadonlyArray<Received>, settleMs: number) => {
  const ids = await until(
    "every event delivered",
    async () => {
      const events = await seam().events.list({ limit: 10_000 })
      const counts = deliveryCounts(received)
      return events.length > 0 && events.every((e) => counts.has(e.event_id)) ? events.map((e) => e.event_id) : undefined
    },
    1200
  )
  // duplicates would come from a second deliverer: one takeover period and a few sweeps
  await new Promise((r) => setTimeout(r, settleMs))
  const counts = deliveryCounts(received)
  const listed = new Set((await seam().events.list({ limit: 10_000 })).map((e) => e.event_id))
  expect([...counts].filter(([, n]) => n !== 1)).toEqual([])
  expect([...counts.keys()].filter((id) => !listed.has(id))).toEqual([])
  return ids
}

/** Log lines that report a fault in the store records or lost work. */
export const troubles = (lines: ReadonlyArray<string>): ReadonlyArray<string> =>
  lines.filter((l) => /damaged|not saved|not recorded|given up|defect/.test(l))
