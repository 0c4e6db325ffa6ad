/**
 * The invariant (docs/design.md), checked against the provider's ground truth and the phones' own
 * record of their endpoints, never against what the engine believes (except for item 5, which is
 * exactly "what the engine believes equals the truth"), plus checks of what the engine did on the
 * way (revoke reasons, see also Watch).
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

/**
 * Every phone credential the engine retires gives the reason the model knows: a deleted parent's
 * children `parent_deleted`; else a deactivated phone's `phone_deactivated`; else `endpoint_removed`
 * (the phone re-enrols). Deletions only grow, so the model after the step is a sound reference.
 */
export const checkReasons = (world: World, model: Model): void => {
  if (world.replicates) return
  const saved = world.watch.saved
  const children = new Map<string, { readonly parentId: string; readonly phoneId: string }>()
  for (const { event } of saved) if (event._tag === "CredentialRequested") children.set(event.child.id, event.child)
  for (let k = model.checkedEvents; k < saved.length; k++) {
    const { event, step } = saved[k]!
    // in a race, a command and the reconcile that retires may commit in either order
    if (event._tag !== "CredentialRetiring" || world.watch.raceSteps.has(step)) continue
    const child = children.get(event.credentialId)
    if (child === undefined) continue
    const parentDeleted = model.deletedParents.has(child.parentId)
    const phoneActive = [...model.identities.values()].some((i) => i.phones.get(child.phoneId) === true)
    const ok =
      event.reason === "parent_deleted"
        ? parentDeleted
        : event.reason === "phone_deactivated"
          ? !phoneActive
          : event.reason === "endpoint_removed"
            ? phoneActive
            : false
    if (!ok) {
      world.watch.violations.push(
        `phone credential ${event.credentialId} retired as ${event.reason}, but its parent is ${parentDeleted ? "deleted" : "live"} and its phone ${phoneActive ? "active" : "deactivated"}`
      )
    }
  }
  model.checkedEvents = saved.length
}

/** Limits the engine ran with (a failure at quiet time must be explained by them). */
export interface Limits {
  readonly maxIssueAttempts: number
  readonly maxEnrollmentAttempts: number
}

const defaults: Limits = { maxIssueAttempts: 10, maxEnrollmentAttempts: 5 }

/** Invariant items 1, 2 and 5 at quiet time. A pair may end failed only with evidence at the provider. */
export const checkQuiet = async (world: World, model: Model, limits: Limits = defaults): Promise<void> => {
  const truth = await world.effect(world.provider.truth)
  checkAtMostOne(truth)
  const live = truth.credentials.filter((c) => c.live)
  // The engine looks at the ACS users of its parents and at its own card numbers: an entry the test
  // planted elsewhere (unassigned, or with a user that has no parent) is outside what it watches.
  const watched = new Set([...model.identities.values()].filter((i) => i.parents.size > 0).map((i) => i.acsUserId))
  const entries = truth.acsEntries.filter(
    (e) => e.label.startsWith("credsync:") && !(world.watch.plantedAcs.has(e.ref) && (e.assignedTo === undefined || !watched.has(e.assignedTo)))
  )
  const activeEndpoint = (ref: string) => truth.endpoints === undefined || truth.endpoints.some((e) => e.ref === ref && e.status === "active")
  let expected = 0
  for (const identity of model.identities.values()) {
    const state = await world.state(identity.id)
    if (state === undefined) fail(`identity ${identity.id} is missing from the store`)
    const children = state!.children
    for (const phone of activePhones(identity)) {
      const owned = [...world.endpointOwner].filter(([, owner]) => owner === phone).map(([ep]) => ep)
      const endpoints = new Set(owned)
      if (!owned.some(activeEndpoint) && !world.replicates && identity.parents.size > 0) {
        // a phone may stay unenrolled only when its enrollment gave up after the attempts allowed
        const e = state!.enrollments.find((x) => x.phoneId === phone)
        if (e?.status !== "failed" || e.attempts < limits.maxEnrollmentAttempts || e.error === undefined) {
          fail(`phone ${phone} of ${identity.id} has no active endpoint, and its enrollment is ${e?.status} after ${e?.attempts} attempts`)
        }
        if (live.some((c) => endpoints.has(c.endpoint))) fail(`phone ${phone} of ${identity.id} is not enrolled but holds a live credential`)
        continue
      }
      for (const [parentId, profile] of identity.parents) {
        const mine = live.filter((c) => endpoints.has(c.endpoint) && profileKey(c) === profile)
        if (mine.length === 0) {
          // an issue the manager failed, a terminal error, or the attempts ran out: surfaced, not hidden
          const child = children.find((c) => c.parentId === parentId && c.phoneId === phone)
          // (attempts: each one is an intent the engine recorded; a crash or a call cut short can
          // spend one without reaching the manager)
          const evidence =
            truth.credentials.some((c) => endpoints.has(c.endpoint) && profileKey(c) === profile && c.status === "failed") ||
            owned.some((ep) => world.watch.terminalIssues.has(`${ep}|${profile}`)) ||
            (child !== undefined && child.attempts >= limits.maxIssueAttempts)
          if (child?.issue === "failed" && child.error !== undefined && evidence) continue
          fail(`phone ${phone} of ${identity.id} has no live credential for ${profile} (want exactly 1; engine: ${child?.issue ?? "none"}${child?.error === undefined ? "" : `, ${child.error.message}`})`)
        }
        expected++
        if (mine.length !== 1 && process.env.CREDSYNC_DEBUG) {
          console.log(JSON.stringify({ endpoints: [...endpoints], mine, state: state!.children, enrollments: state!.enrollments, owners: [...world.endpointOwner] }, null, 1))
        }
        if (mine.length !== 1) fail(`phone ${phone} of ${identity.id} has ${mine.length} live credentials for ${profile} (want exactly 1)`)
        const card = mine[0]!.cardNumber
        const inAcs = entries.filter((e) => e.cardNumber === card)
        if (inAcs.length !== 1 || inAcs[0]!.assignedTo !== identity.acsUserId) {
          fail(`credential ${card} of phone ${phone} is not imported once and assigned to ${identity.acsUserId} in the ACS (${JSON.stringify(inAcs)})`)
        }
      }
    }
    // item 5: the engine's children are exactly the live credentials of this identity (or failed, surfaced)
    const unsettled = children.filter((c) => c.retiring || (c.issue !== "active" && c.issue !== "failed"))
    if (unsettled.length > 0) {
      fail(`${identity.id} still has ${unsettled.length} phone credentials not settled: ${JSON.stringify(unsettled.map((c) => [c.issue, c.retiring, c.error?.message]))}`)
    }
    for (const c of children) {
      if (c.issue === "failed") {
        if (c.error === undefined) fail(`phone credential ${c.id} failed without an error on it`)
        continue
      }
      const t = live.find((x) => x.ref === c.ref)
      if (t === undefined || t.cardNumber !== c.cardNumber) fail(`engine believes in credential ${c.ref} (${c.cardNumber}) that the manager does not hold`)
      if (!world.replicates) {
        if (t!.endpoint !== c.endpoint) fail(`engine believes ${c.ref} is on endpoint ${c.endpoint}; the manager has it on ${t!.endpoint}`)
        if (world.endpointOwner.get(t!.endpoint) !== c.phoneId) fail(`engine believes ${c.ref} is on phone ${c.phoneId}; its endpoint belongs to ${world.endpointOwner.get(t!.endpoint)}`)
        const profile = identity.parents.get(c.parentId)
        if (profile !== profileKey(t!)) fail(`phone credential ${c.id} of parent ${c.parentId} (${profile}) holds ${c.ref} of profile ${profileKey(t!)}`)
      }
      // a replicating manager imports into the ACS itself; the engine only mirrors that
      if (!c.assigned || (c.acsRef === undefined && !world.replicates)) fail(`engine believes ${c.id} is not assigned in the ACS`)
    }
    if (state!.parents.some((p) => p.deleting)) fail(`${identity.id} keeps a deleted parent`)
  }
  if (live.length !== expected) fail(`${live.length} live credentials at the manager, want ${expected} (duplicates, orphans or leftovers)`)
  if (entries.length !== expected) fail(`${entries.length} credentials in the ACS, want ${expected}`)
  world.watch.checkRevokes()
  if (world.watch.violations.length > 0) fail(world.watch.violations.join("\n"))
}

/**
 * Quiet was real: one more resync of everyone, at quiet time, commits no new fact and changes
 * nothing at the providers (what the engine believes is what they report).
 */
export const checkStable = async (world: World): Promise<void> => {
  const before = await world.lastSeq()
  const calls = world.watch.counters.issueCalls + world.watch.counters.revokeCalls
  await world.ok((e) => e.resyncAll)
  for (const r of world.replicas) await world.ok((e) => e.drain, r)
  const after = await world.lastSeq()
  if (after !== before) {
    const events = world.watch.saved.slice(-(after - before)).map((s) => s.event._tag)
    fail(`a resync at quiet time still changed the engine's beliefs: ${events.join(", ")}`)
  }
  if (world.watch.counters.issueCalls + world.watch.counters.revokeCalls !== calls) fail("a resync at quiet time still issued or revoked")
}
