/**
 * HID statuses → the core's vocabulary. REST answers spell statuses bare (`ISSUED`, `ACTIVE`); callback
 * events prefix them with the resource (`CREDENTIAL_ISSUED`, `ENDPOINT_ACTIVE`, `CREDENTIALCONTAINER_INACTIVE`,
 * `INVITATION_ACKNOWLEDGED`, `USER_DELETED`): both are read here. Unknown spellings stay conservative (never
 * read as "gone").
 */
import type { CredentialManager } from "@credsync/core"

const PREFIXES = ["CREDENTIALCONTAINER_", "CREDENTIAL_", "ENDPOINT_", "INVITATION_", "USER_"] as const

/** `CREDENTIAL_ISSUED` → `ISSUED`; a bare status is returned as it is. */
export const bare = (status: string): string => {
  const s = status.toUpperCase()
  for (const p of PREFIXES) if (s.startsWith(p)) return s.slice(p.length)
  return s
}

export const invitationStatus = (s: string): CredentialManager.Invitation["status"] => {
  switch (bare(s)) {
    case "PENDING":
      return "pending"
    case "ACKNOWLEDGED":
      return "redeemed"
    case "EXPIRED":
      return "expired"
    case "CANCELLED":
    case "CANCEL_INITIATED":
      return "cancelled"
    default:
      // An unknown state still holds a code the app may redeem.
      return "pending"
  }
}

/** `undefined`: not (yet) an endpoint the engine should act on. */
export const containerStatus = (s: string): CredentialManager.Endpoint["status"] | undefined => {
  switch (bare(s)) {
    case "ACTIVE":
    case "PERSONALIZED":
      return "active"
    case "INACTIVE":
      return "removed"
    default:
      return undefined
  }
}

/**
 * A HID credential status as the core sees it.
 *
 * `UNBOUND` (no longer on its phone) and `CREATION_FAILURE` (never made it there) are read as `revoked` with an
 * error note: the credential opens no door and never will, so the engine concludes its phone credential lost and
 * issues a new one to the endpoint (up to its attempt limit). The core's `failed` would end the phone credential
 * instead of repairing it.
 */
export const credentialStatus = (s: string): { status: CredentialManager.CredentialStatus; error?: string } => {
  switch (bare(s)) {
    case "ISSUE_INITIATED":
    case "ISSUING":
    case "RESERVED":
      return { status: "issuing" }
    case "ISSUED":
      return { status: "active" }
    case "REVOKE_INITIATED":
    case "REVOKING":
      return { status: "revoking" }
    case "REVOKED":
      return { status: "revoked" }
    case "UNBOUND":
      return { status: "revoked", error: "HID reports the credential UNBOUND from its phone" }
    case "CREATION_FAILURE":
      return { status: "revoked", error: "HID reports CREATION_FAILURE for the credential" }
    default:
      // Counted as live so the engine never issues a second credential beside one it cannot read.
      return { status: "issuing", error: `Unrecognised HID credential status ${s}` }
  }
}

/** A user being deleted (`DELETE_INITIATED`) or deleted is not one the engine can work with. */
export const userLive = (s: string | undefined): boolean => s === undefined || bare(s) === "ACTIVE"
