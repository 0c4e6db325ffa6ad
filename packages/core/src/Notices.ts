/**
 * Seam-style `errors[]` and `warnings[]` of each resource, derived from an identity's state, so an
 * operator (or a Seam-compatible API) can see why something has not converged.
 *
 * @since 0.1.0
 */
import type { Child, IdentityState, Notice, Parent, Phone } from "./Identity.js"

/** What a resource shows besides its fields. */
export interface Notices {
  readonly errors: ReadonlyArray<Notice>
  readonly warnings: ReadonlyArray<Notice>
}

const notice = (code: string, message: string, at: number): Notice => ({ code, message, at })

/** The stuck notice (`reconcile_failing` or `save_rejected`, with the last cause), if any. */
const stuck = (s: IdentityState | undefined): ReadonlyArray<Notice> => (s?.stuck === undefined ? [] : [s.stuck.cause])

/**
 * A user identity: why the engine cannot converge it, while it is stuck (`reconcile_failing`: it
 * failed reconcile after reconcile; `save_rejected`: the store refuses its state, e.g. a card number
 * another identity holds). The message carries the last cause.
 */
export const identity = (s: IdentityState): Notices => ({ errors: stuck(s), warnings: [] })

/**
 * A multi-phone sync credential: `being_deleted` while its copies are revoked; `waiting_to_be_issued`
 * while no phone holds it yet; the errors of its phone credentials; the identity's stuck notice (no
 * credential of a stuck identity converges).
 */
export const parent = (s: IdentityState, p: Parent): Notices => {
  const children = s.children.filter((c) => c.parentId === p.id && !c.retiring)
  const warnings: Array<Notice> = []
  if (p.deleting) warnings.push(notice("being_deleted", "The credential is being deleted.", p.createdAt))
  else if (!children.some((c) => c.issue === "active")) {
    warnings.push(notice("waiting_to_be_issued", "No phone of the user identity holds this credential yet.", p.createdAt))
  }
  return { errors: [...children.flatMap((c) => (c.error === undefined ? [] : [c.error])), ...stuck(s)], warnings }
}

/**
 * A phone credential: its error (e.g. `failed_to_issue`, `not_replicated`), `being_deleted`,
 * `waiting_to_be_issued`; given its identity's state, also the stuck notice when it names this
 * credential (e.g. the store refused the card number the manager gave it).
 */
export const child = (c: Child, s?: IdentityState): Notices => {
  const warnings: Array<Notice> = []
  if (c.retiring) warnings.push(notice("being_deleted", "The credential is being revoked.", c.requestedAt))
  else if (c.issue !== "active" && c.issue !== "failed") {
    warnings.push(notice("waiting_to_be_issued", "The credential manager has not issued this credential yet.", c.requestedAt))
  }
  const own = c.error === undefined ? [] : [c.error]
  return { errors: s?.stuck?.credentialId === c.id ? [...own, ...stuck(s)] : own, warnings }
}

/** A phone: its failed enrollments (an expired invitation, a refused invite); the stuck notice when it names this phone. */
export const phone = (s: IdentityState, p: Phone): Notices => ({
  errors: [
    ...s.enrollments.flatMap((e) =>
      e.phoneId === p.id && e.status === "failed" ? [e.error ?? notice("enrollment_failed", "The enrollment failed.", e.requestedAt)] : []
    ),
    ...(s.stuck?.phoneId === p.id ? stuck(s) : [])
  ],
  warnings: []
})
