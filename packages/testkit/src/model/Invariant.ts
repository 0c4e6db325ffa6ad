/**
 * The invariant (docs/design.md), checked against the provider's ground truth and the phones' own
 * record of their endpoints, never against what the engine believes (except for item 5, which is
 * exactly "what the engine believes equals the truth").
 */
import type { Truth } from "../Provider.js"
import type { World } from "../World.js"
import { activePhones, type Model, profileKey } from "./Model.js"

/** Thrown by the property when the provider's truth breaks the invariant; the message says which item and where. */
export class InvariantViolation extends Error {
  override readonly name = "InvariantViolation"
}

const fail = (message: string): never => {
  throw new InvariantViolation(message)
}

/** Invariant item 3: never two live credentials of one profile on one endpoint. */
export const checkAtMostOne = (truth: Truth): void => {
  const seen = new Map<string, string>()
  for (const c of truth.credentials) {
    if (!c.live) continue
    const k = `${c.endpoint}|${profileKey(c)}`
    const other = seen.get(k)
    if (other !== undefined) fail(`two live credentials ${other} and ${c.ref} for endpoint ${c.endpoint} (${profileKey(c)})`)
    seen.set(k, c.ref)
  }
}

/** Invariant items 1, 2 and 5 at quiet time. */
export const checkQuiet = async (world: World, model: Model): Promise<void> => {
  const truth = await world.effect(world.provider.truth)
  checkAtMostOne(truth)
  const live = truth.credentials.filter((c) => c.live)
  const entries = truth.acsEntries.filter((e) => e.label.startsWith("credsync:"))
  let expected = 0
  for (const identity of model.identities.values()) {
    const state = await world.state(identity.id)
    if (state === undefined) fail(`identity ${identity.id} is missing from the store`)
    for (const phone of activePhones(identity)) {
      const endpoints = new Set([...world.endpointOwner].filter(([, owner]) => owner === phone).map(([ep]) => ep))
      for (const profile of identity.parents.values()) {
        expected++
        const mine = live.filter((c) => endpoints.has(c.endpoint) && profileKey(c) === profile)
        if (mine.length !== 1 && process.env.CREDSYNC_DEBUG) {
          console.log(JSON.stringify({ endpoints: [...endpoints], mine, state: state!.children, enrollments: state!.enrollments, owners: [...world.endpointOwner] }, null, 1))
        }
        if (mine.length !== 1) {
          fail(`phone ${phone} of ${identity.id} has ${mine.length} live credentials for ${profile} (want exactly 1)`)
        }
        const card = mine[0]!.cardNumber
        const inAcs = entries.filter((e) => e.cardNumber === card)
        if (inAcs.length !== 1 || inAcs[0]!.assignedTo !== identity.acsUserId) {
          fail(`credential ${card} of phone ${phone} is not imported once and assigned to ${identity.acsUserId} in the ACS`)
        }
      }
    }
    // item 5: the engine's children are exactly the live credentials of this identity
    const children = Object.values(state!.children)
    const believed = children.filter((c) => !c.retiring && c.issue === "active")
    if (believed.length !== children.length) {
      fail(`${identity.id} still has ${children.length - believed.length} phone credentials not settled: ${JSON.stringify(children.filter((c) => c.retiring || c.issue !== "active").map((c) => [c.issue, c.retiring, c.error?.message]))}`)
    }
    for (const c of believed) {
      const t = live.find((x) => x.ref === c.ref)
      if (t === undefined || t.cardNumber !== c.cardNumber) fail(`engine believes in credential ${c.ref} (${c.cardNumber}) that the manager does not hold`)
      // a replicating manager imports into the ACS itself; the engine only mirrors that
      if (!c.assigned || (c.acsRef === undefined && !world.replicates)) fail(`engine believes ${c.id} is not assigned in the ACS`)
    }
    if (Object.values(state!.parents).some((p) => p.deleting)) fail(`${identity.id} keeps a deleted parent`)
  }
  if (live.length !== expected) fail(`${live.length} live credentials at the manager, want ${expected} (duplicates, orphans or leftovers)`)
  if (entries.length !== expected) fail(`${entries.length} credentials in the ACS, want ${expected}`)
}
