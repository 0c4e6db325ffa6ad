/**
 * Step 4 of `plan`: one phone credential per (live parent, active phone enrolled with the parent's
 * manager), issued by the engine at a manager that does not replicate, mirrored at one that does.
 */
import { profileKey } from "../../Card.js"
import { isLive } from "../../CredentialManager.js"
import * as Identity from "../../Identity.js"
import { CredentialId, type PhoneId, type ProviderRef } from "../../Ids.js"
import { uuidOf } from "../hash.js"
import { type Issuer, notice, type Planning, trusted } from "./context.js"
import { mirror } from "./mirror.js"

/** Deterministic id of the phone credential of (parent, phone, endpoint). */
export const childId = (parent: CredentialId, phone: PhoneId, endpoint: ProviderRef): CredentialId =>
  CredentialId.make(uuidOf(`child|${parent}|${phone}|${endpoint}`), trusted)

/** Issue or mirror every wanted phone credential; returns the ids of the wanted ones. */
export const issuance = (run: Planning): ReadonlySet<string> => {
  const desired = new Set<string>()
  for (const p of run.liveParents()) {
    for (const phone of run.state.phones) {
      if (!run.phoneActive(phone.id)) continue
      const e = Identity.enrollment(run.state, phone.id, p.managerId)
      const endpoint = e?.endpoint
      if (e?.status !== "enrolled" || endpoint === undefined) continue
      // Only `requestChild` makes phone credentials, each with the id derived from these three: the
      // one found by its fields is the one with that id, which is hashed only to make a new one.
      const c = run.state.children.find((x) => x.parentId === p.id && x.phoneId === phone.id && x.endpoint === endpoint)
      const id = c?.id ?? childId(p.id, phone.id, endpoint)
      desired.add(id)
      // one pass over parents for both kinds of manager: the order of the events follows the parents
      const at = run.manager(p.managerId)
      if (at.kind === "replicating") mirror(run, p, id, phone.id, endpoint, c)
      else issue(run, at, p, id, phone.id, endpoint, c)
    }
  }
  return desired
}

/** The engine's own issue call for (p, phone, endpoint): request, retry, or give up after the attempts allowed. */
const issue = (run: Planning, at: Issuer, p: Identity.Parent, id: CredentialId, phoneId: PhoneId, endpoint: ProviderRef, c: Identity.Child | undefined): void => {
  const { identity, now } = run
  if (c === undefined) {
    request(run, at, p, id, phoneId, endpoint, 1)
  } else if (c.issue === "pending" && !c.retiring) {
    if (c.attempts >= run.maxIssue) {
      run.emit({
        _tag: "CredentialFailed",
        identity,
        at: now,
        credentialId: id,
        error: notice("failed_to_issue", `not issued after ${c.attempts} attempts`, now)
      })
    } else {
      request(run, at, p, id, phoneId, endpoint, c.attempts + 1)
    }
  } else if (c.issue === "issuing") {
    run.wake(now + run.pollMs)
  }
}

const request = (run: Planning, at: Issuer, p: Identity.Parent, id: CredentialId, phoneId: PhoneId, endpoint: ProviderRef, attempts: number): void => {
  const { now } = run
  // One live credential per card profile per endpoint, always: wait until the manager shows
  // that no other live credential of this profile (e.g. of a deleted parent being revoked, or
  // drift) holds the endpoint. HID enforces the same rule with a 412.
  const view = run.observed.managers.get(p.managerId)
  const want = profileKey(p.card)
  const twin = (x: Identity.Child) => {
    const other = Identity.parent(run.state, x.parentId)
    return x.id !== id && x.endpoint === endpoint && x.managerId === p.managerId && other !== undefined && profileKey(other.card) === want
  }
  // also a credential the engine still tracks there (a listing may not show it yet)
  const held =
    view === undefined ||
    view.credentials.some((x) => x.endpoint === endpoint && isLive(x) && profileKey(x) === want) ||
    run.state.children.some(twin)
  if (held) {
    run.wake(now + run.pollMs)
    return
  }
  run.requestChild(p, id, phoneId, endpoint, attempts)
  at.issue(id, endpoint, p.card)
}
