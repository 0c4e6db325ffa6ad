/** HID statuses → the core's vocabulary. Unknown spellings are kept conservative (never read as "gone"). */
import type { CredentialManager } from "@credsync/core"

export const invitationStatus = (s: string): CredentialManager.Invitation["status"] => {
  switch (s.toUpperCase()) {
    case "PENDING":
      return "pending"
    case "ACKNOWLEDGED":
    case "REDEEMED":
      return "redeemed"
    case "EXPIRED":
      return "expired"
    case "CANCELLED":
    case "CANCELED":
    case "CANCEL_INITIATED":
      return "cancelled"
    default:
      // An unknown state still holds a code the app may redeem.
      return "pending"
  }
}

/** `undefined`: not (yet) an endpoint the engine should act on. */
export const containerStatus = (s: string): CredentialManager.Endpoint["status"] | undefined => {
  switch (s.toUpperCase()) {
    case "ACTIVE":
      return "active"
    case "DELETE_INITIATED":
    case "DELETED":
    case "TERMINATED":
    case "INACTIVE":
      return "removed"
    default:
      return undefined
  }
}

export const credentialStatus = (s: string): { status: CredentialManager.CredentialStatus; error?: string } => {
  switch (s.toUpperCase()) {
    case "ISSUE_INITIATED":
    case "ISSUING":
    case "CARD ALLOCATED":
    case "CARD_ALLOCATED":
      return { status: "issuing" }
    case "ACTIVE":
    case "ISSUED":
      return { status: "active" }
    case "REVOKE_INITIATED":
    case "REVOKING":
      return { status: "revoking" }
    case "REVOKED":
      return { status: "revoked" }
    case "FAILED":
    case "ISSUE_FAILED":
      return { status: "failed", error: `HID status ${s}` }
    default:
      // Counted as live so the engine never issues a second credential beside one it cannot read.
      return { status: "issuing", error: `Unrecognised HID credential status ${s}` }
  }
}
