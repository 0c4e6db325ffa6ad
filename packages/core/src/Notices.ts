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

/**
 * A multi-phone sync credential: `being_deleted` while its copies are revoked; `waiting_to_be_issued`
 * while no phone holds it yet; the errors of its phone credentials.
 */
export const parent = (s: IdentityState, p: Parent): Notices => {
  const children = Object.values(s.children).filter((c) => c.parentId === p.id && !c.retiring)
  const warnings: Array<Notice> = []
  if (p.deleting) warnings.push(notice("being_deleted", "The credential is being deleted.", p.createdAt))
  else if (!children.some((c) => c.issue === "active")) {
    warnings.push(notice("waiting_to_be_issued", "No phone of the user identity holds this credential yet.", p.createdAt))
  }
  return { errors: children.flatMap((c) => (c.error === undefined ? [] : [c.error])), warnings }
}

/** A phone credential: its error (e.g. `failed_to_issue`, `not_replicated`), `being_deleted`, `waiting_to_be_issued`. */
export const child = (c: Child): Notices => {
  const warnings: Array<Notice> = []
  if (c.retiring) warnings.push(notice("being_deleted", "The credential is being revoked.", c.requestedAt))
  else if (c.issue !== "active" && c.issue !== "failed") {
    warnings.push(notice("waiting_to_be_issued", "The credential manager has not issued this credential yet.", c.requestedAt))
  }
  return { errors: c.error === undefined ? [] : [c.error], warnings }
}

/** A phone: its failed enrollments (an expired invitation, a refused invite). */
export const phone = (s: IdentityState, p: Phone): Notices => ({
  errors: Object.values(s.enrollments).flatMap((e) =>
    e.phoneId === p.id && e.status === "failed" ? [e.error ?? notice("enrollment_failed", "The enrollment failed.", e.requestedAt)] : []
  ),
  warnings: []
})
