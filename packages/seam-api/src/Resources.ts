/**
 * Engine state → Seam resources (`user_identity`, `phone`, `enrollment_automation`,
 * `acs_credential`, `acs_system`, `acs_user`), in the shapes `@seamapi/types` defines.
 *
 * Choices where Seam is silent (see the README): children of a multi-phone sync credential are
 * listed with `parent_acs_credential_id`, `is_multi_phone_sync_credential: false`, the parent's ACS
 * as `acs_system_id`, and `device_id` naming their phone; the parent also carries its card details
 * (`card_format`, `facility_code`, `credential_manager_acs_system_id`) as Seam's guide to issuing mobile credentials shows (docs/design.md, "The flows").
 *
 * @since 0.1.0
 */
import { type AccessControl, type CredentialManager, Identity, Notices } from "@credsync/core"
import { iso } from "./internal/ids.js"
import type { AcsUserRecord, PhoneInfo, Workspace } from "./Workspace.js"

/** A JSON object as the API returns it. */
export type Resource = { readonly [field: string]: unknown }

// Seam's shape of the core's notices (packages/core/src/Notices.ts decides what they are).
const errors = (ns: ReadonlyArray<Identity.Notice>) =>
  ns.map((n) => ({ error_code: n.code, message: n.message, created_at: iso(n.at) }))
const warnings = (ns: ReadonlyArray<Identity.Notice>) =>
  ns.map((n) => ({ warning_code: n.code, message: n.message, created_at: iso(n.at) }))

/**
 * The Seam `user_identity` resource of an identity.
 *
 * @since 0.1.0
 */
export const userIdentity = (ws: Workspace, s: Identity.IdentityState): Resource => ({
  user_identity_id: s.id,
  user_identity_key: s.profile.key ?? null,
  email_address: s.profile.email ?? null,
  phone_number: s.profile.phoneNumber ?? null,
  display_name: s.profile.fullName ?? s.profile.email ?? s.profile.phoneNumber ?? s.profile.key ?? s.id,
  full_name: s.profile.fullName ?? null,
  created_at: iso(s.createdAt),
  workspace_id: ws.id,
  acs_user_ids: Object.values(s.acsUsers).map((a) => a.acsUserId),
  // a stuck identity (credsync cannot converge it) says why
  errors: errors(Notices.identity(s).errors),
  warnings: []
})

const deviceName = (p: Identity.Phone) => (p.deviceType === "ios_phone" ? "iPhone" : "Android phone")

/**
 * The Seam `phone` resource of one of an identity's phones; `info` is its sandbox display name, if it has one.
 *
 * @since 0.1.0
 */
export const phone = (ws: Workspace, s: Identity.IdentityState, p: Identity.Phone, info: PhoneInfo | undefined): Resource => {
  const endpoints = s.enrollments
    .filter((e) => e.phoneId === p.id && e.endpoint !== undefined)
    .map((e) => ({ endpoint_id: e.endpoint, is_active: e.status === "enrolled" }))
  const notices = Notices.phone(s, p)
  // The code a phone app redeems with the credential manager's SDK (with HID Origo and no local fake,
  // a real app must redeem it: nothing else will).
  const pendingInvitations = s.enrollments
    .filter((e) => e.phoneId === p.id && e.status === "invited" && e.code !== undefined)
    .map((e) => ({ credential_manager_acs_system_id: e.managerId, invitation_code: e.code, created_at: iso(e.requestedAt) }))
  return {
    device_id: p.id,
    display_name: info?.display_name ?? deviceName(p),
    nickname: info?.display_name ?? deviceName(p),
    workspace_id: ws.id,
    created_at: iso(p.createdAt),
    custom_metadata: p.metadata ?? {},
    errors: errors(notices.errors),
    warnings: warnings(notices.warnings),
    device_type: p.deviceType,
    properties: {
      assa_abloy_credential_service_metadata: {
        has_active_endpoint: endpoints.some((e) => e.is_active),
        endpoints
      },
      pending_invitations: pendingInvitations
    }
  }
}

/**
 * The Seam `enrollment_automation` resource of an automation.
 *
 * @since 0.1.0
 */
export const enrollmentAutomation = (ws: Workspace, s: Identity.IdentityState, a: Identity.Automation): Resource => ({
  enrollment_automation_id: a.id,
  credential_manager_acs_system_id: a.managerId,
  user_identity_id: s.id,
  created_at: iso(a.createdAt),
  workspace_id: ws.id
})

const credentialBase = (ws: Workspace, s: Identity.IdentityState, p: Identity.Parent) => ({
  acs_user_id: p.acsUserId,
  user_identity_id: s.id,
  connected_account_id: ws.connectedAccountId,
  acs_system_id: p.acsSystemId,
  access_method: "mobile_key",
  code: null,
  workspace_id: ws.id,
  is_managed: true,
  ...(p.card.startsAt === undefined ? {} : { starts_at: p.card.startsAt }),
  ...(p.card.endsAt === undefined ? {} : { ends_at: p.card.endsAt })
})

/** A multi-phone sync credential (the parent). */
export const parentCredential = (ws: Workspace, s: Identity.IdentityState, p: Identity.Parent): Resource => {
  const children = s.children.filter((c) => c.parentId === p.id && !c.retiring)
  const notices = Notices.parent(s, p)
  return {
    acs_credential_id: p.id,
    ...credentialBase(ws, s, p),
    display_name: `Multi-phone sync credential (${p.card.cardFormat}, facility ${p.card.facilityCode})`,
    card_number: null,
    is_issued: children.some((c) => c.issue === "active"),
    issued_at: null,
    created_at: iso(p.createdAt),
    errors: errors(notices.errors),
    warnings: warnings(notices.warnings),
    is_multi_phone_sync_credential: true,
    // synced once something is issued and every live child is issued and assigned (a new parent is not)
    is_latest_desired_state_synced_with_provider:
      !p.deleting && children.length > 0 && children.every((c) => c.issue === "active" && c.assigned),
    credential_manager_acs_system_id: p.managerId,
    card_format: p.card.cardFormat,
    facility_code: p.card.facilityCode
  }
}

/** A phone credential (a child), issued to one phone. */
export const childCredential = (
  ws: Workspace,
  s: Identity.IdentityState,
  p: Identity.Parent,
  c: Identity.Child
): Resource => {
  const notices = Notices.child(c, s)
  return {
    acs_credential_id: c.id,
    ...credentialBase(ws, s, p),
    parent_acs_credential_id: p.id,
    device_id: c.phoneId,
    display_name: c.cardNumber === undefined ? "Phone credential" : `Phone credential ${c.cardNumber}`,
    card_number: c.cardNumber ?? null,
    is_issued: c.issue === "active",
    issued_at: c.issuedAt === undefined ? null : iso(c.issuedAt),
    created_at: iso(c.requestedAt),
    errors: errors(notices.errors),
    warnings: warnings(notices.warnings),
    is_multi_phone_sync_credential: false,
    is_latest_desired_state_synced_with_provider: c.issue === "active" && c.assigned && !c.retiring,
    credential_manager_acs_system_id: c.managerId
  }
}

/** Every credential of an identity: parents, then their children. */
export const credentials = (ws: Workspace, s: Identity.IdentityState): ReadonlyArray<Resource> => {
  const out: Array<Resource> = []
  for (const p of s.parents) out.push(parentCredential(ws, s, p))
  for (const c of s.children) {
    const p = Identity.parent(s, c.parentId)
    if (p !== undefined) out.push(childCredential(ws, s, p, c))
  }
  return out
}

const systemBase = (ws: Workspace, id: string, name: string, externalType: string) => ({
  acs_system_id: id,
  name,
  external_type: externalType,
  external_type_display_name: name,
  system_type: externalType,
  system_type_display_name: name,
  location: { time_zone: null },
  created_at: iso(ws.createdAt),
  workspace_id: ws.id,
  connected_account_id: ws.connectedAccountId,
  connected_account_ids: [ws.connectedAccountId],
  image_url: "https://connect.getseam.com/assets/images/acs_systems/default.png",
  image_alt_text: name,
  errors: [],
  warnings: []
})

/** An ACS with its number of ACS users; its default credential manager is the workspace's first one. */
export const acsSystem = (ws: Workspace, a: AccessControl.AcsSystem, acsUserCount: number): Resource => ({
  ...systemBase(ws, a.id, a.name, a.externalType),
  is_credential_manager: false,
  default_credential_manager_acs_system_id: ws.managers[0]?.id ?? null,
  acs_user_count: acsUserCount
})

/** A credential manager (Seam: an acs_system with `is_credential_manager: true`). */
export const managerSystem = (ws: Workspace, m: CredentialManager.ManagerSystem): Resource => ({
  ...systemBase(ws, m.id, m.name, m.externalType),
  is_credential_manager: true,
  default_credential_manager_acs_system_id: null
})

/**
 * The Seam `acs_user` resource of an ACS user record (and the identity it is linked to, if any).
 *
 * @since 0.1.0
 */
export const acsUser = (ws: Workspace, u: AcsUserRecord, owner: Identity.IdentityState | undefined): Resource => ({
  acs_user_id: u.acs_user_id,
  acs_system_id: u.acs_system_id,
  workspace_id: ws.id,
  created_at: iso(u.created_at),
  display_name: u.full_name,
  full_name: u.full_name,
  ...(u.email_address === undefined ? {} : { email_address: u.email_address, email: u.email_address }),
  ...(u.phone_number === undefined ? {} : { phone_number: u.phone_number }),
  ...(u.access_schedule === undefined ? {} : { access_schedule: u.access_schedule }),
  external_type: "pti_user",
  external_type_display_name: "PTI user",
  is_suspended: u.is_suspended === true,
  ...(owner === undefined
    ? {}
    : {
        user_identity_id: owner.id,
        ...(owner.profile.fullName === undefined ? {} : { user_identity_full_name: owner.profile.fullName }),
        ...(owner.profile.email === undefined ? {} : { user_identity_email_address: owner.profile.email }),
        ...(owner.profile.phoneNumber === undefined ? {} : { user_identity_phone_number: owner.profile.phoneNumber })
      }),
  errors: [],
  warnings: [],
  pending_mutations: [],
  last_successful_sync_at: iso(u.created_at),
  connected_account_id: ws.connectedAccountId,
  is_managed: true
})
