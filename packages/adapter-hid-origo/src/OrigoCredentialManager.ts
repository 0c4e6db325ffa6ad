/**
 * The core `CredentialManager` port on HID Origo MI v2.2. HID does not replicate: the engine issues one
 * credential per (parent, credential container) itself, from the part number configured for the card profile.
 *
 * @since 0.1.0
 */
import { Card, CredentialManager, Ids, PortError } from "@credsync/core"
import { Clock, Effect, Layer, Ref } from "effect"
import { containerStatus, credentialStatus, invitationStatus, userLive } from "./internal/mapping.js"
import { OrigoClient, type OrigoClientShape, type OrigoUser } from "./OrigoClient.js"

/**
 * Options of the HID Origo credential manager: its system id, the part number per card profile, and timings.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The manager system this layer serves (the engine's `credential_manager_acs_system_id`). */
  readonly system: Ids.AcsSystemId
  readonly name?: string
  /**
   * Card profile → part number, keyed by `Card.profileKey` (`"{cardFormat}/{facilityCode}"`), e.g.
   * `{ "H10301/99": "MID-SUB-CRD_FTPN_644245" }`. An unknown profile is rejected as InvalidInput.
   */
  readonly partNumbers: Readonly<Record<string, string>>
  readonly capabilities?: Partial<CredentialManager.Capabilities>
  /**
   * After HID refused an identity's user because another user has its email (409 `DUPLICATE_USER`), the same
   * identity with the same email is refused at once, without a request, for this long (ms). Default 10 minutes:
   * the engine asks again every round, and only a person can resolve the clash.
   */
  readonly duplicateEmailHoldMs?: number
}

/**
 * HID issues asynchronously (ISSUE_INITIATED → ISSUED). Its user GET reads back its own writes, so the
 * listing is taken as consistent.
 */
export const defaultCapabilities: CredentialManager.Capabilities = { asyncIssue: true, listingLag: 0 }

const portError = (reason: PortError.Reason, method: string, message: string) =>
  new PortError.PortError({ reason, port: "CredentialManager", method, message })

/** Reads a HID user into the core's view. `profileOf` names a part number's card profile. */
export const toView = (
  user: OrigoUser,
  profileOf: (partNumber: string) => { readonly cardFormat: string; readonly facilityCode: string }
): CredentialManager.ManagerView => {
  const ref = Ids.ProviderRef.make
  return {
    user: ref(user.id),
    invitations: user.invitations.map((i) => ({
      ref: ref(i.id),
      code: i.code,
      status: invitationStatus(i.status),
      ...(i.expiresAt === undefined ? {} : { expiresAt: i.expiresAt })
    })),
    endpoints: user.containers.flatMap((c) => {
      const status = containerStatus(c.status)
      if (status === undefined) return []
      return [{ ref: ref(c.id), status, ...(c.invitationId === undefined ? {} : { invitation: ref(c.invitationId) }) }]
    }),
    credentials: user.containers.flatMap((c) =>
      c.credentials.map((cr) => {
        const { status, error } = credentialStatus(cr.status)
        const profile = profileOf(cr.partNumber)
        return {
          ref: ref(cr.id),
          endpoint: ref(c.id),
          cardFormat: profile.cardFormat,
          facilityCode: profile.facilityCode,
          status,
          ...(cr.cardNumber === undefined ? {} : { cardNumber: cr.cardNumber }),
          ...(error === undefined ? {} : { error })
        }
      })
    )
  }
}

/** Builds the port on a client. Exposed for the event intake, which reads users the same way. */
export const make = Effect.fnUntraced(function* (client: OrigoClientShape, options: Options) {
  const holdMs = options.duplicateEmailHoldMs ?? 10 * 60_000
  // identity|email → until when HID's DUPLICATE_USER answer stands
  const clashes = new Map<string, number>()
  const duplicateEmail = (cause: unknown) =>
    new PortError.PortError({
      reason: "Conflict",
      port: "CredentialManager",
      method: "ensureUser",
      message:
        "HID Origo already has a user with this email address (409 DUPLICATE_USER) that credsync did not create; give the identity another email or remove that user at HID",
      cause
    })
  const byProfile = new Map(Object.entries(options.partNumbers))
  const byPartNumber = new Map<string, { cardFormat: string; facilityCode: string }>()
  for (const [key, pn] of byProfile) {
    const [cardFormat = key, facilityCode = ""] = key.split("/")
    byPartNumber.set(pn, { cardFormat, facilityCode })
  }
  // Part numbers not in the config (issued by someone else) are described from HID's programmingData.
  const catalog = yield* Ref.make<ReadonlyMap<string, { cardFormat: string; facilityCode: string }> | undefined>(undefined)
  const loadCatalog = Effect.gen(function* () {
    const known = yield* Ref.get(catalog)
    if (known) return known
    const list = yield* client.listPartNumbers()
    const map = new Map(
      list.map((p) => [p.partNumber, { cardFormat: (p.formatNumber ?? p.partNumber).replace(/^[A-Z]+-/, ""), facilityCode: p.facilityCode ?? "" }])
    )
    yield* Ref.set(catalog, map)
    return map
  })

  const checkSystem = (method: string, manager: Ids.AcsSystemId) =>
    manager === options.system ? Effect.void : Effect.fail(portError("NotFound", method, `Unknown credential manager ${manager}`))

  const viewOf = (user: OrigoUser) =>
    Effect.gen(function* () {
      const unknown = user.containers.some((c) => c.credentials.some((cr) => !byPartNumber.has(cr.partNumber)))
      const extra = unknown ? yield* loadCatalog.pipe(Effect.orElseSucceed(() => new Map())) : undefined
      return toView(user, (pn) => byPartNumber.get(pn) ?? extra?.get(pn) ?? { cardFormat: pn, facilityCode: "" })
    })

  const shape: CredentialManager.IssuingManagerShape = {
    kind: "issuing",
    systems: [
      {
        id: options.system,
        name: options.name ?? "HID Origo",
        externalType: "hid_credential_manager_organization",
        capabilities: { ...defaultCapabilities, ...options.capabilities }
      }
    ],
    ensureUser: (manager, identity) =>
      Effect.gen(function* () {
        yield* checkSystem("ensureUser", manager)
        const clashKey = `${identity.id}|${identity.email ?? ""}`
        const now = yield* Clock.currentTimeMillis
        const held = clashes.get(clashKey)
        if (held !== undefined && now < held) return yield* duplicateEmail(undefined)
        clashes.delete(clashKey)
        // HID does not keep externalId unique (its 409 DUPLICATE_USER is about the email): look for our user
        // first, so a retry after a lost create response never makes a second one.
        const ours = client
          .searchUsers(`externalId eq "${identity.id.replace(/["\\]/g, "\\$&")}"`, { count: 10 })
          .pipe(Effect.map((page) => page.users.find((u) => u.externalId === identity.id && userLive(u.status))))
        const found = yield* ours
        const [givenName, ...rest] = (identity.fullName ?? "").split(" ")
        const id =
          found?.id ??
          (yield* client
            .createUser({
              externalId: identity.id,
              email: identity.email,
              givenName: givenName || undefined,
              familyName: rest.join(" ") || undefined
            })
            .pipe(
              Effect.map((u) => u.id),
              Effect.catchIf(
                (e) => e.reason === "Conflict" || e.reason === "Ambiguous",
                // Ambiguous: it may have been created. 409: HID has a user with this email; ours only if it
                // carries our externalId (a create whose answer was lost), never someone else's.
                (e) =>
                  Effect.flatMap(ours, (again) => {
                    if (again !== undefined) return Effect.succeed(again.id)
                    if (e.reason === "Ambiguous") return Effect.fail(e)
                    return Effect.sync(() => clashes.set(clashKey, now + holdMs)).pipe(Effect.andThen(Effect.fail(duplicateEmail(e))))
                  })
              )
            ))
        client.users.remember(id, identity.id)
        return Ids.ProviderRef.make(id)
      }),
    observe: (manager, user) =>
      Effect.gen(function* () {
        yield* checkSystem("observe", manager)
        const found = yield* client.getUser(user)
        // what the event intake resolves callbacks with, without asking HID
        if (found.externalId !== undefined && userLive(found.status)) client.users.remember(found.id, found.externalId)
        return yield* viewOf(found)
      }),
    invite: (manager, user) =>
      Effect.gen(function* () {
        yield* checkSystem("invite", manager)
        const inv = yield* client.createInvitation(user)
        return {
          ref: Ids.ProviderRef.make(inv.id),
          code: inv.code,
          status: invitationStatus(inv.status),
          ...(inv.expiresAt === undefined ? {} : { expiresAt: inv.expiresAt })
        }
      }),
    cancelInvitation: (manager, invitation) =>
      Effect.gen(function* () {
        yield* checkSystem("cancelInvitation", manager)
        yield* client.cancelInvitation(invitation).pipe(
          Effect.catchIf(
            (e) => e.reason === "NotFound" || e.reason === "Conflict",
            (e) =>
              e.reason === "NotFound"
                ? Effect.void
                : // 412: no longer pending. Cancelled or expired is what was asked; redeemed is a real conflict.
                  client.getInvitation(invitation).pipe(
                    Effect.flatMap((inv) => {
                      const s = invitationStatus(inv.status)
                      return s === "cancelled" || s === "expired" ? Effect.void : Effect.fail(e)
                    })
                  )
          )
        )
      }),
    issue: (manager, request) =>
      Effect.gen(function* () {
        yield* checkSystem("issue", manager)
        const partNumber = byProfile.get(Card.profileKey(request.card))
        if (partNumber === undefined) {
          return yield* portError("InvalidInput", "issue", `No part number configured for card profile ${Card.profileKey(request.card)}`)
        }
        const c = yield* client.issueCredential(request.endpoint, partNumber)
        const { status, error } = credentialStatus(c.status)
        return {
          ref: Ids.ProviderRef.make(c.id),
          endpoint: request.endpoint,
          cardFormat: request.card.cardFormat,
          facilityCode: request.card.facilityCode,
          status,
          ...(c.cardNumber === undefined ? {} : { cardNumber: c.cardNumber }),
          ...(error === undefined ? {} : { error })
        }
      }),
    revoke: (manager, credential) =>
      Effect.gen(function* () {
        yield* checkSystem("revoke", manager)
        // 412: already revoking or revoked; 404: unknown. Both are what the port calls success.
        yield* client
          .revokeCredential(credential)
          .pipe(Effect.catchIf((e) => e.reason === "Conflict" || e.reason === "NotFound", () => Effect.void))
      }),
    removeEndpoint: (manager, endpoint) =>
      Effect.gen(function* () {
        yield* checkSystem("removeEndpoint", manager)
        yield* client
          .deleteContainer(endpoint)
          .pipe(Effect.catchIf((e) => e.reason === "Conflict" || e.reason === "NotFound", () => Effect.void))
      })
  }
  return shape
})

/**
 * The `CredentialManager` port on HID Origo, over an `OrigoClient`.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<CredentialManager.CredentialManager, never, OrigoClient> =>
  Layer.effect(
    CredentialManager.CredentialManager,
    Effect.gen(function* () {
      return yield* make(yield* OrigoClient, options)
    })
  )
