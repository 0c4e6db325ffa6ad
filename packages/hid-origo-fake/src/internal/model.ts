/**
 * The fake's in-memory state and the operations on it. Plain mutable data: one process, one thread,
 * every HTTP handler runs to completion before the next one starts.
 */
import { randomUUID } from "node:crypto"
import { ScimFailure } from "./scim.js"

export type UserStatus = "ACTIVE" | "DELETED"
// ASSUMPTION: string spellings of the invitation states (HID's server code only shows integer codes).
export type InvitationStatus = "PENDING" | "ACKNOWLEDGED" | "EXPIRED" | "CANCELLED"
// ASSUMPTION: only ACTIVE is confirmed; DELETE_INITIATED / DELETED are guessed spellings.
export type ContainerStatus = "ACTIVE" | "DELETE_INITIATED" | "DELETED"
// ASSUMPTION: ISSUE_INITIATED and REVOKE_INITIATED are seen; ACTIVE and REVOKED are guessed end states.
export type CredentialStatus = "ISSUE_INITIATED" | "ACTIVE" | "REVOKE_INITIATED" | "REVOKED"

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
  // ASSUMPTION: a container records the invitation it was created from (`invitationId`); HID's public
  // material does not show how an endpoint is tied to its invitation.
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

  private event(kind: "user" | "invitation" | "credentialcontainer" | "credential", path: string, data: Record<string, unknown>) {
    // ASSUMPTION: only `com.origo.mi.user` is seen in public code; the invitation, container and credential
    // type names, their `data` fields and media types follow the same pattern and are guessed.
    this.options.emit(this.id, {
      specversion: "1.0",
      id: randomUUID(),
      type: `com.origo.mi.${kind}`,
      source: `${this.options.baseUrl()}/credential-management/customer/${this.id}/${path}`,
      time: new Date(this.now()).toISOString(),
      datacontenttype: `application/vnd.hidglobal.origo.events.${kind}-2.0+json`,
      data: { organization_id: this.id, ...data }
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
    this.event("invitation", `invitation/${inv.id}`, { userId: String(inv.userId), invitationId: String(inv.id), status })
  }

  private setCredential(c: Credential, status: CredentialStatus) {
    c.status = status
    c.lastModified = this.now()
    this.event("credential", `credential/${c.id}`, {
      userId: String(c.userId),
      credentialId: String(c.id),
      credentialContainerId: c.containerId === undefined ? undefined : String(c.containerId),
      partNumber: c.partNumber,
      cardNumber: c.cardNumber,
      status
    })
  }

  private setContainer(cc: Container, status: ContainerStatus) {
    cc.status = status
    cc.lastModified = this.now()
    this.event("credentialcontainer", `credential-container/${cc.id}`, {
      userId: String(cc.userId),
      credentialContainerId: String(cc.id),
      invitationId: String(cc.invitationId),
      status
    })
  }

  private touchUser(userId: number) {
    const u = this.users.get(userId)
    if (u) u.lastModified = this.now()
  }

  // ---- users

  createUser(input: { externalId: string; familyName?: string | undefined; givenName?: string | undefined; emails: ReadonlyArray<string> }): User {
    // ASSUMPTION: uniqueness is on externalId among live users (HID's clients report 409 for duplicate users).
    for (const u of this.users.values()) {
      if (input.externalId !== "" && u.status === "ACTIVE" && u.externalId === input.externalId) {
        throw new ScimFailure(409, `A user with externalId ${input.externalId} already exists.`, "uniqueness")
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
    this.event("user", `users/${user.id}`, {
      userId: String(user.id),
      firstName: user.givenName,
      lastName: user.familyName,
      email: user.emails[0],
      status: "USER_CREATED"
    })
    return user
  }

  user(id: number): User {
    const u = this.users.get(id)
    if (!u || u.status === "DELETED") throw new ScimFailure(404, `User ${id} not found.`, "noTarget")
    return u
  }

  /** Cascade: cancel pending invitations, revoke credentials, delete containers, then the user. */
  deleteUser(id: number): void {
    const user = this.user(id)
    for (const inv of this.invitations.values()) if (inv.userId === id && inv.status === "PENDING") this.setInvitation(inv, "CANCELLED")
    for (const c of this.credentials.values()) if (c.userId === id && c.status !== "REVOKED") this.setCredential(c, "REVOKED")
    for (const cc of this.containers.values()) if (cc.userId === id && cc.status !== "DELETED") this.setContainer(cc, "DELETED")
    // ASSUMPTION: the delete completes synchronously (HID lists DELETE_INITIATED; the fake skips it).
    user.status = "DELETED"
    user.lastModified = this.now()
    this.event("user", `users/${id}`, { userId: String(id), status: "USER_DELETED" })
  }

  liveUsers(): ReadonlyArray<User> {
    return [...this.users.values()].filter((u) => u.status === "ACTIVE")
  }

  // ---- invitations

  createInvitation(userId: number, reserve: string | undefined): { invitation: Invitation; credentials: ReadonlyArray<Credential> } {
    this.user(userId)
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
    const credentials = reserve === undefined ? [] : [this.allocate(userId, reserve, undefined, invitation.id)]
    this.touchUser(userId)
    this.event("invitation", `invitation/${invitation.id}`, { userId: String(userId), invitationId: String(invitation.id), status: "PENDING" })
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
    this.user(inv.userId)
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

  /** Terminates an endpoint: its credentials are revoked with it. */
  deleteContainer(id: number): void {
    const cc = this.container(id)
    // ASSUMPTION: deleting an already deleted container is a 412 conflict; terminated containers stay listed as DELETED.
    if (cc.status !== "ACTIVE") throw new ScimFailure(412, `Credential container ${id} is ${cc.status}.`, "mutability")
    for (const c of this.credentialsOf(id)) if (c.status !== "REVOKED") this.setCredential(c, "REVOKED")
    this.setContainer(cc, "DELETED")
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
    const existing = this.credentialsOf(containerId).find(
      (c) => (c.partNumber === partNumber || this.partNumbers.get(partNumber)?.partNumber === c.partNumber) && (c.status === "ISSUE_INITIATED" || c.status === "ACTIVE")
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
    if (c.status === "REVOKE_INITIATED" || c.status === "REVOKED") {
      throw new ScimFailure(412, `Credential ${id} is already ${c.status}.`, "mutability")
    }
    this.setCredential(c, "REVOKE_INITIATED")
    this.touchUser(c.userId)
  }

  /** What the phone's next sync does: pending issuances become ACTIVE, pending revocations REVOKED. */
  settle(): number {
    let n = 0
    for (const c of this.credentials.values()) {
      if (c.status === "ISSUE_INITIATED" && c.containerId !== undefined) {
        this.setCredential(c, "ACTIVE")
        n++
      } else if (c.status === "REVOKE_INITIATED") {
        this.setCredential(c, "REVOKED")
        n++
      }
    }
    return n
  }

  consumedQty(userId: number): ReadonlyArray<{ partNumber: string; name: string; consumedQty: number }> {
    const byPart = new Map<string, { partNumber: string; name: string; consumedQty: number }>()
    for (const c of this.credentials.values()) {
      if (c.userId !== userId || c.status === "REVOKED") continue
      const entry = byPart.get(c.partNumber) ?? { partNumber: c.partNumber, name: c.friendlyName, consumedQty: 0 }
      entry.consumedQty += 1
      byPart.set(c.partNumber, entry)
    }
    return [...byPart.values()]
  }
}
