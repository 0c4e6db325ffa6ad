/** JSON renderings of the fake's records, in the v2.2 wire shapes (arrays keyed by schema URN). */
import type { Container, Credential, Invitation, Organization, PartNumber, User } from "./model.js"
import { URN } from "./scim.js"

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

export interface Ctx {
  readonly org: Organization
  /** Absolute base of the MI API for this org: `{url}/credential-management/customer/{org}`. */
  readonly base: string
}

export const credential = (ctx: Ctx, c: Credential) => ({
  meta: { resourceType: "Credential", lastModified: iso(c.lastModified), location: `${ctx.base}/credential/${c.id}` },
  id: c.id,
  partNumber: c.partNumber,
  partnumberFriendlyName: c.friendlyName,
  status: c.status,
  credentialType: "ICLASSSEOS",
  cardNumber: c.cardNumber
})

export const invitation = (ctx: Ctx, i: Invitation) => ({
  meta: { resourceType: "UserInvitation", lastModified: iso(i.lastModified), location: `${ctx.base}/invitation/${i.id}` },
  id: i.id,
  invitationCode: i.code,
  status: i.status,
  createdDate: iso(i.createdAt),
  expirationDate: iso(i.expiresAt)
})

export const container = (ctx: Ctx, cc: Container) => ({
  meta: { resourceType: "CredentialContainer", lastModified: iso(cc.lastModified), location: `${ctx.base}/credential-container/${cc.id}` },
  id: cc.id,
  status: cc.status,
  // ASSUMPTION: field name for the invitation a container came from.
  invitationId: cc.invitationId,
  osVersion: cc.device.osVersion,
  secureElementType: cc.device.secureElementType,
  manufacturer: cc.device.manufacturer,
  model: cc.device.model,
  applicationVersion: cc.device.applicationVersion,
  simOperator: "",
  bluetoothCapability: true,
  nfcCapability: true,
  hceCapability: true,
  [URN.credential]: ctx.org.credentialsOf(cc.id).map((c) => credential(ctx, c))
})

const userCore = (ctx: Ctx, u: User) => ({
  meta: { resourceType: "PACSUser", lastModified: iso(u.lastModified), location: `${ctx.base}/users/${u.id}` },
  id: u.id,
  externalId: u.externalId,
  name: { familyName: u.familyName ?? "", givenName: u.givenName ?? "" },
  emails: u.emails.map((value) => ({ value })),
  status: u.status
})

/** The whole inventory, as `GET /users/{id}` returns it. */
export const user = (ctx: Ctx, u: User) => {
  const invitations = [...ctx.org.invitations.values()].filter((i) => i.userId === u.id)
  const containers = ctx.org.containersOf(u.id)
  return {
    schemas: [URN.user, URN.invitation, URN.container, URN.license],
    ...userCore(ctx, u),
    [URN.invitation]: invitations.map((i) => invitation(ctx, i)),
    [URN.container]: containers.map((cc) => container(ctx, cc)),
    [URN.license]: ctx.org.consumedQty(u.id)
  }
}

/** Search results carry the core attributes only; `id` is left out, as HID does (clients read meta.location). */
export const userSummary = (ctx: Ctx, u: User) => {
  const { id: _id, ...rest } = userCore(ctx, u)
  return { schemas: [URN.user], ...rest }
}

export const partNumber = (ctx: Ctx, p: PartNumber) => ({
  meta: { resourceType: "PartNumber", location: `${ctx.base}/part-number/${p.id}` },
  id: p.id,
  partNumber: p.partNumber,
  friendlyName: p.friendlyName,
  availableQty: p.availableQty,
  offset: 0,
  prefix: "",
  suffix: "",
  nextNumber: p.nextNumber,
  lastNumber: p.lastNumber,
  badge_type: p.badgeType,
  programmingData: { "facility code": p.facilityCode, "incremental_card id number": "1", format_number: p.formatNumber },
  replenishmentState: p.availableQty > 10 ? "Not Needed" : "Needed"
})

export const listResponse = (resources: ReadonlyArray<unknown>, totalResults: number, startIndex: number) => ({
  schemas: [URN.listResponse],
  totalResults,
  itemsPerPage: resources.length,
  startIndex,
  Resources: resources
})
