/**
 * The fake's in-memory state and the operations on it. Plain mutable data: one process, one thread,
 * every HTTP handler runs to completion before the next one starts.
 */
import { randomUUID } from "node:crypto"
import { ScimFailure } from "./scim.js"

// Public evidence (see the adapter's README): users are deleted asynchronously (USER_DELETE_INITIATED, then
// USER_DELETED). ASSUMPTION: the REST `status` spells the event status without its `USER_` prefix.
/** A HID user's REST status. */
export type UserStatus = "ACTIVE" | "DELETE_INITIATED" | "DELETED"
// Events carry INVITATION_PENDING | _ACKNOWLEDGED | _CANCEL_INITIATED | _CANCELLED | _EXPIRED (public code);
// PENDING is documented for REST. ASSUMPTION: the other REST spellings drop the `INVITATION_` prefix.
/** An invitation's REST status. */
export type InvitationStatus = "PENDING" | "ACKNOWLEDGED" | "EXPIRED" | "CANCELLED"
// REST `ACTIVE` is seen in public code (containers filtered on Status == "ACTIVE"); the end state is
// INACTIVE (CREDENTIALCONTAINER_INACTIVE events). ASSUMPTION: REST spells it `INACTIVE`.
/** A credential container's (endpoint's) REST status. */
export type ContainerStatus = "ACTIVE" | "INACTIVE"
// REST: ISSUE_INITIATED (HID's fixture) → ISSUED (public code filters Status == "ISSUED"); REVOKE_INITIATED
// (public code) → REVOKED. Events: CREDENTIAL_RESERVED | _ISSUED | _REVOKING | _REVOKED | _UNBOUND |
// _CREATION_FAILURE. ASSUMPTION: REST spells UNBOUND, CREATION_FAILURE and REVOKED without the prefix.
/** A credential's REST status. */
export type CredentialStatus = "ISSUE_INITIATED" | "ISSUED" | "REVOKE_INITIATED" | "REVOKED" | "UNBOUND" | "CREATION_FAILURE"

/** A credential that opens doors, or will: HID refuses a second one of the same part number on a container. */
export const isLiveCredential = (s: CredentialStatus): boolean => s === "ISSUE_INITIATED" || s === "ISSUED"

/** The status an event carries for a REST status (events prefix it with the resource). */
export const eventStatus = {
  user: (s: UserStatus | "CREATED") => `USER_${s}`,
  invitation: (s: InvitationStatus) => `INVITATION_${s}`,
  // ENDPOINT_ACTIVE is seen on com.origo.mi.endpoint; CREDENTIALCONTAINER_INACTIVE on container events.
  // ASSUMPTION: HID reports a terminated MI endpoint on com.origo.mi.endpoint with the latter.
  container: (s: ContainerStatus) => (s === "ACTIVE" ? "ENDPOINT_ACTIVE" : "CREDENTIALCONTAINER_INACTIVE"),
  // ASSUMPTION: an issuance in progress (REST ISSUE_INITIATED) is reported as CREDENTIAL_RESERVED and a
  // revocation in progress (REVOKE_INITIATED) as CREDENTIAL_REVOKING.
  credential: (s: CredentialStatus) =>
    s === "ISSUE_INITIATED" ? "CREDENTIAL_RESERVED" : s === "REVOKE_INITIATED" ? "CREDENTIAL_REVOKING" : `CREDENTIAL_${s}`
} as const

export interface User {
  readonly id: number
  readonly externalId: string
  readonly familyName: string | undefined
  readonly givenName: string | undefined
  readonly emails: ReadonlyArray<string>
  status: UserStatus
  lastModified: number
}

export interface Invitation {
  readonly id: number
  readonly userId: number
  readonly code: string
  status: InvitationStatus
  readonly createdAt: number
  readonly expiresAt: number
  lastModified: number
}

export interface Container {
  readonly id: number
  readonly userId: number
  // HID's endpoint events name the invitation an endpoint came from (`invitationId`, `invitationCode`).
  // ASSUMPTION: the REST container carries it as `invitationId` too.
  readonly invitationId: number
  status: ContainerStatus
  readonly device: DeviceInfo
  lastModified: number
}

/** The device a simulated phone app reports when it redeems an invitation. */
export interface DeviceInfo {
  readonly osVersion: string
  readonly manufacturer: string
  readonly model: string
  readonly secureElementType: string
  readonly applicationVersion: string
}

export interface Credential {
  readonly id: number
  readonly userId: number
  containerId: number | undefined
  // ASSUMPTION: a credential reserved through an invitation (assignCredential "Y") remembers it until redeemed.
  readonly invitationId: number | undefined
  readonly partNumber: string
  readonly friendlyName: string
  readonly cardNumber: string
  status: CredentialStatus
  lastModified: number
}

export interface PartNumber {
  readonly id: string
  readonly partNumber: string
  readonly friendlyName: string
  availableQty: number
  nextNumber: number
  readonly lastNumber: number
  readonly badgeType: string
  readonly facilityCode: string
  readonly formatNumber: string
}

/** A CloudEvent before delivery. */
export interface CloudEvent {
  readonly specversion: "1.0"
  readonly id: string
  readonly type: string
  readonly source: string
  readonly time: string
  readonly datacontenttype: string
  readonly data: Record<string, unknown>
}

export interface ModelOptions {
  readonly now: () => number
  readonly invitationTtlMs: number
  readonly baseUrl: () => string
  readonly emit: (org: string, event: CloudEvent) => void
  /** Drawn once per issuance a sync would finish: true makes it a CREATION_FAILURE instead. */
  readonly failIssuance: () => boolean
}

const CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

/** One organization's data. */
export class Organization {
  readonly users = new Map<number, User>()
  readonly invitations = new Map<number, Invitation>()
  readonly containers = new Map<number, Container>()
  readonly credentials = new Map<number, Credential>()
  readonly partNumbers = new Map<string, PartNumber>()
  private nextId = 1000

  constructor(
    readonly id: string,
    private readonly options: ModelOptions,
    partNumbers: ReadonlyArray<PartNumber>
  ) {
    for (const p of partNumbers) this.partNumbers.set(p.id, { ...p })
  }

  private id_(): number {
    this.nextId += 1
    return this.nextId
  }

  private now(): number {
    return this.options.now()
  }

  private expiryMinutes(): number {
    return Math.round(this.options.invitationTtlMs / 60_000)
  }

  private event(kind: "user" | "invitation" | "endpoint" | "credential", path: string, data: Record<string, unknown>) {
    // Types com.origo.mi.{user,invitation,endpoint,credential} and their data fields follow public code that
    // handles HID's deliveries (ids as strings except the credential's `mid`, prefixed statuses, organizationId
    // and sourceTimestamp in every data). ASSUMPTION: the data content type names the kind (only the user one is seen).
    const time = new Date(this.now()).toISOString()
    this.options.emit(this.id, {
      specversion: "1.0",
      id: randomUUID(),
      type: `com.origo.mi.${kind}`,
      source: `${this.options.baseUrl()}/credential-management/customer/${this.id}/${path}`,
      time,
      datacontenttype: `application/vnd.hidglobal.origo.events.${kind}-2.0+json`,
      data: { ...data, organizationId: this.id, sourceTimestamp: time }
    })
  }

  /** Applies time-based transitions (invitation expiry). Called before every request and control. */
  tick(): void {
    const now = this.now()
    for (const inv of this.invitations.values()) {
      if (inv.status === "PENDING" && now >= inv.expiresAt) this.setInvitation(inv, "EXPIRED")
    }
  }

  private setInvitation(inv: Invitation, status: InvitationStatus) {
    inv.status = status
    inv.lastModified = this.now()
    this.event("invitation", `invitation/${inv.id}`, {
      userId: String(inv.userId),
      invitationId: String(inv.id),
      invitationCode: inv.code,
      invitationExpiryMin: this.expiryMinutes(),
      status: eventStatus.invitation(status)
    })
  }

  private setCredential(c: Credential, status: CredentialStatus) {
    c.status = status
    c.lastModified = this.now()
    const cc = c.containerId === undefined ? undefined : this.containers.get(c.containerId)
    const invitationId = c.invitationId ?? cc?.invitationId
    this.event("credential", `credential/${c.id}`, {
      userId: String(c.userId),
      // `mid` (Mobile ID) is the credential's id; public code reads it as a number, and cardNumber too.
      mid: c.id,
      ...(c.containerId === undefined ? {} : { endpointId: String(c.containerId) }),
      ...(invitationId === undefined ? {} : { invitationId: String(invitationId) }),
      cardNumber: Number(c.cardNumber),
      // ASSUMPTION: what midTypeId and orderId hold (public code only types them as strings).
      midTypeId: c.partNumber,
      orderId: "",
      status: eventStatus.credential(status)
    })
  }

  private setContainer(cc: Container, status: ContainerStatus) {
    cc.status = status
    cc.lastModified = this.now()
    const inv = this.invitations.get(cc.invitationId)
    this.event("endpoint", `credential-container/${cc.id}`, {
      userId: String(cc.userId),
      endpointId: String(cc.id),
      invitationId: String(cc.invitationId),
      ...(inv === undefined ? {} : { invitationCode: inv.code, invitationStatus: eventStatus.invitation(inv.status) }),
      invitationExpiryMin: this.expiryMinutes(),
      osVersion: cc.device.osVersion,
      endpointModel: cc.device.model,
      endpointManufacturer: cc.device.manufacturer,
      applicationVersion: cc.device.applicationVersion,
      status: eventStatus.container(status)
    })
  }

  private setUser(u: User, status: UserStatus | "CREATED") {
    if (status !== "CREATED") u.status = status
    u.lastModified = this.now()
    this.event("user", `users/${u.id}`, {
      userId: String(u.id),
      externalId: u.externalId,
      givenName: u.givenName,
      familyName: u.familyName,
      email: u.emails[0],
      status: eventStatus.user(status)
    })
  }

  private touchUser(userId: number) {
    const u = this.users.get(userId)
    if (u) u.lastModified = this.now()
  }

  // ---- users

  createUser(input: { externalId: string; familyName?: string | undefined; givenName?: string | undefined; emails: ReadonlyArray<string> }): User {
    // Public code sees 409 DUPLICATE_USER, and searches HID users by email before creating one.
    // ASSUMPTION: uniqueness is on the email among users not yet DELETED; externalId is not unique.
    const wanted = new Set(input.emails.map((e) => e.toLowerCase()))
    for (const u of this.users.values()) {
      if (u.status !== "DELETED" && u.emails.some((e) => wanted.has(e.toLowerCase()))) {
        throw new ScimFailure(409, "DUPLICATE_USER: a user with this email address already exists.", "uniqueness")
      }
    }
    const user: User = {
      id: this.id_(),
      externalId: input.externalId,
      familyName: input.familyName,
      givenName: input.givenName,
      emails: input.emails,
      status: "ACTIVE",
      lastModified: this.now()
    }
    this.users.set(user.id, user)
    this.setUser(user, "CREATED")
    return user
  }

  /** A user that is readable: ACTIVE, or being deleted (DELETE_INITIATED). */
  user(id: number): User {
    const u = this.users.get(id)
    if (!u || u.status === "DELETED") throw new ScimFailure(404, `User ${id} not found.`, "noTarget")
    return u
  }

  /** A user that can be changed: not being deleted. */
  private activeUser(id: number): User {
    const u = this.user(id)
    // ASSUMPTION: a user being deleted refuses changes with 412.
    if (u.status !== "ACTIVE") throw new ScimFailure(412, `User ${id} is ${u.status}.`, "mutability")
    return u
  }

  /**
   * Asynchronous, as HID reports it: pending invitations are cancelled, live credentials start revoking and
   * containers become INACTIVE now, the user is DELETE_INITIATED; the next `settle` finishes the revocations
   * and the user becomes DELETED (404 from then on).
   */
  deleteUser(id: number): void {
    const user = this.activeUser(id)
    for (const inv of this.invitations.values()) if (inv.userId === id && inv.status === "PENDING") this.setInvitation(inv, "CANCELLED")
    for (const c of this.credentials.values()) if (c.userId === id && isLiveCredential(c.status)) this.setCredential(c, "REVOKE_INITIATED")
    for (const cc of this.containers.values()) if (cc.userId === id && cc.status === "ACTIVE") this.setContainer(cc, "INACTIVE")
    this.setUser(user, "DELETE_INITIATED")
  }

  /** Users that are not DELETED (search and the plain list). */
  liveUsers(): ReadonlyArray<User> {
    return [...this.users.values()].filter((u) => u.status !== "DELETED")
  }

  // ---- invitations

  createInvitation(userId: number, reserve: string | undefined): { invitation: Invitation; credentials: ReadonlyArray<Credential> } {
    this.activeUser(userId)
    const now = this.now()
    const invitation: Invitation = {
      id: this.id_(),
      userId,
      code: this.newCode(),
      status: "PENDING",
      createdAt: now,
      expiresAt: now + this.options.invitationTtlMs,
      lastModified: now
    }
    this.invitations.set(invitation.id, invitation)
    this.setInvitation(invitation, "PENDING")
    const credentials = reserve === undefined ? [] : [this.allocate(userId, reserve, undefined, invitation.id)]
    this.touchUser(userId)
    return { invitation, credentials }
  }

  private newCode(): string {
    for (;;) {
      let s = ""
      for (let i = 0; i < 16; i++) s += CODE_ALPHABET[Math.floor(Math.random() * CODE_ALPHABET.length)]
      const code = s.match(/.{4}/g)!.join("-")
      if (![...this.invitations.values()].some((i) => i.code === code)) return code
    }
  }

  invitation(id: number): Invitation {
    const inv = this.invitations.get(id)
    if (!inv) throw new ScimFailure(404, `Invitation ${id} not found.`, "noTarget")
    return inv
  }

  cancelInvitation(id: number): void {
    const inv = this.invitation(id)
    if (inv.status !== "PENDING") throw new ScimFailure(412, `Invitation ${id} is ${inv.status}.`, "mutability")
    this.setInvitation(inv, "CANCELLED")
    // Reserved, undelivered credentials go back to nobody: revoke them.
    for (const c of this.credentials.values()) {
      if (c.invitationId === id && c.containerId === undefined && c.status !== "REVOKED") this.setCredential(c, "REVOKED")
    }
    this.touchUser(inv.userId)
  }

  expireInvitation(idOrCode: number | string): Invitation {
    const inv = this.findInvitation(idOrCode)
    if (inv.status === "PENDING") this.setInvitation(inv, "EXPIRED")
    return inv
  }

  findInvitation(idOrCode: number | string): Invitation {
    const inv =
      typeof idOrCode === "number"
        ? this.invitations.get(idOrCode)
        : [...this.invitations.values()].find((i) => i.code === idOrCode || String(i.id) === idOrCode)
    if (!inv) throw new ScimFailure(404, `Invitation ${idOrCode} not found.`, "noTarget")
    return inv
  }

  /** What the mobile SDK does with `setupEndpoint(code)`: a new ACTIVE container; reserved credentials delivered. */
  redeem(code: string, device: Partial<DeviceInfo>): Container {
    const inv = [...this.invitations.values()].find((i) => i.code === code)
    if (!inv) throw new ScimFailure(404, `Unknown invitation code ${code}.`, "noTarget")
    if (inv.status !== "PENDING") throw new ScimFailure(412, `Invitation ${inv.id} is ${inv.status}.`, "mutability")
    this.activeUser(inv.userId)
    const cc: Container = {
      id: this.id_(),
      userId: inv.userId,
      invitationId: inv.id,
      status: "ACTIVE",
      device: {
        osVersion: device.osVersion ?? "17.0",
        manufacturer: device.manufacturer ?? "Apple",
        model: device.model ?? "iPhone15,2",
        secureElementType: device.secureElementType ?? "HCE",
        applicationVersion: device.applicationVersion ?? "1.0.0"
      },
      lastModified: this.now()
    }
    this.containers.set(cc.id, cc)
    this.setInvitation(inv, "ACKNOWLEDGED")
    this.setContainer(cc, "ACTIVE")
    for (const c of this.credentials.values()) {
      if (c.invitationId === inv.id && c.containerId === undefined && c.status === "ISSUE_INITIATED") c.containerId = cc.id
    }
    this.touchUser(inv.userId)
    return cc
  }

  // ---- containers

  container(id: number): Container {
    const cc = this.containers.get(id)
    if (!cc) throw new ScimFailure(404, `Credential container ${id} not found.`, "noTarget")
    return cc
  }

  containersOf(userId: number): ReadonlyArray<Container> {
    return [...this.containers.values()].filter((c) => c.userId === userId)
  }

  credentialsOf(containerId: number): ReadonlyArray<Credential> {
    return [...this.credentials.values()].filter((c) => c.containerId === containerId)
  }

  /** Terminates an endpoint: it becomes INACTIVE and its live credentials are revoked with it. */
  deleteContainer(id: number): void {
    const cc = this.container(id)
    // ASSUMPTION: terminating an INACTIVE container is a 412 conflict; it stays listed as INACTIVE.
    if (cc.status !== "ACTIVE") throw new ScimFailure(412, `Credential container ${id} is ${cc.status}.`, "mutability")
    for (const c of this.credentialsOf(id)) if (isLiveCredential(c.status) || c.status === "REVOKE_INITIATED") this.setCredential(c, "REVOKED")
    this.setContainer(cc, "INACTIVE")
    this.touchUser(cc.userId)
  }

  // ---- credentials

  private allocate(userId: number, partNumber: string, containerId: number | undefined, invitationId: number | undefined): Credential {
    const pool = [...this.partNumbers.values()].find((p) => p.partNumber === partNumber || p.id === partNumber)
    if (!pool) throw new ScimFailure(400, `Unknown part number ${partNumber}.`, "invalidValue")
    // ASSUMPTION: an exhausted pool answers 412 (HID does not document it).
    if (pool.availableQty <= 0 || pool.nextNumber > pool.lastNumber) {
      throw new ScimFailure(412, `No available quantity for part number ${partNumber}.`, "mutability")
    }
    const credential: Credential = {
      id: this.id_(),
      userId,
      containerId,
      invitationId,
      partNumber: pool.partNumber,
      friendlyName: pool.friendlyName,
      cardNumber: String(pool.nextNumber),
      status: "ISSUE_INITIATED",
      lastModified: this.now()
    }
    pool.nextNumber += 1
    pool.availableQty -= 1
    this.credentials.set(credential.id, credential)
    this.setCredential(credential, "ISSUE_INITIATED")
    return credential
  }

  issue(containerId: number, partNumber: string): Credential {
    const cc = this.container(containerId)
    if (cc.status !== "ACTIVE") throw new ScimFailure(412, `Credential container ${containerId} is ${cc.status}.`, "mutability")
    this.activeUser(cc.userId)
    const existing = this.credentialsOf(containerId).find(
      (c) => (c.partNumber === partNumber || this.partNumbers.get(partNumber)?.partNumber === c.partNumber) && isLiveCredential(c.status)
    )
    if (existing) throw new ScimFailure(412, "This credential is already delivered to this credentialContainer.", "mutability")
    const c = this.allocate(cc.userId, partNumber, containerId, undefined)
    this.touchUser(cc.userId)
    return c
  }

  credential(id: number): Credential {
    const c = this.credentials.get(id)
    if (!c) throw new ScimFailure(404, `Credential ${id} not found.`, "noTarget")
    return c
  }

  revoke(id: number): void {
    const c = this.credential(id)
    // HID's server revokes credentials that are issued or being issued; anything else is a 412.
    if (!isLiveCredential(c.status)) throw new ScimFailure(412, `Credential ${id} is already ${c.status}.`, "mutability")
    this.setCredential(c, "REVOKE_INITIATED")
    this.touchUser(c.userId)
  }

  /** HID could not create the credential (CREDENTIAL_CREATION_FAILURE): it never reaches the phone. */
  failCredential(id: number): void {
    const c = this.credential(id)
    if (c.status !== "ISSUE_INITIATED") throw new ScimFailure(412, `Credential ${id} is ${c.status}.`, "mutability")
    this.setCredential(c, "CREATION_FAILURE")
    this.touchUser(c.userId)
  }

  /** The credential is no longer bound to its phone (CREDENTIAL_UNBOUND), e.g. the app's keys were reset. */
  unbindCredential(id: number): void {
    const c = this.credential(id)
    if (!isLiveCredential(c.status)) throw new ScimFailure(412, `Credential ${id} is ${c.status}.`, "mutability")
    this.setCredential(c, "UNBOUND")
    this.touchUser(c.userId)
  }

  /**
   * What the phones' next sync does: pending issuances become ISSUED, pending revocations REVOKED, and users
   * being deleted whose revocations are done become DELETED.
   */
  settle(): number {
    let n = 0
    for (const c of this.credentials.values()) {
      if (c.status === "ISSUE_INITIATED" && c.containerId !== undefined) {
        this.setCredential(c, this.options.failIssuance() ? "CREATION_FAILURE" : "ISSUED")
        n++
      } else if (c.status === "REVOKE_INITIATED") {
        this.setCredential(c, "REVOKED")
        n++
      }
    }
    for (const u of this.users.values()) {
      if (u.status !== "DELETE_INITIATED") continue
      const busy = [...this.credentials.values()].some((c) => c.userId === u.id && c.status === "REVOKE_INITIATED")
      if (!busy) {
        this.setUser(u, "DELETED")
        n++
      }
    }
    return n
  }

  consumedQty(userId: number): ReadonlyArray<{ partNumber: string; name: string; consumedQty: number }> {
    const byPart = new Map<string, { partNumber: string; name: string; consumedQty: number }>()
    for (const c of this.credentials.values()) {
      if (c.userId !== userId || !isLiveCredential(c.status)) continue
      const entry = byPart.get(c.partNumber) ?? { partNumber: c.partNumber, name: c.friendlyName, consumedQty: 0 }
      entry.consumedQty += 1
      byPart.set(c.partNumber, entry)
    }
    return [...byPart.values()]
  }
}
