import { type AccessControl, type CredentialManager, Ids, PortError } from "@credsync/core"
import type { SeamHttp } from "@seamapi/http/connect"
import { Effect, type Schema } from "effect"
import type { SeamClientShape } from "../SeamClient.js"
import type { CallMode } from "./errors.js"
import * as R from "./resources.js"

const ref = Ids.ProviderRef.make

/** Decode a response we rely on; a mismatch is a typed `Unknown` failure naming the route. */
export const decode =
  <A>(port: "CredentialManager" | "AccessControl", method: string, decoder: (u: unknown) => Effect.Effect<A, Schema.SchemaError>) =>
  (u: unknown): Effect.Effect<A, PortError.PortError> =>
    decoder(u).pipe(
      Effect.mapError(
        (e) =>
          new PortError.PortError({
            reason: "Unknown",
            port,
            method,
            message: `Seam ${method}: unexpected response: ${e.message}`,
            cause: e
          })
      )
    )

/** NotFound is success for idempotent deletes. */
export const ignoreNotFound = <A>(eff: Effect.Effect<A, PortError.PortError>): Effect.Effect<void, PortError.PortError> =>
  eff.pipe(
    Effect.asVoid,
    Effect.catchIf((e) => e.reason === "NotFound", () => Effect.void)
  )

const warned = (c: { readonly warnings?: ReadonlyArray<{ readonly warning_code?: string | undefined }> | undefined }, code: string) => (c.warnings ?? []).some((w) => w.warning_code === code)

/** Which Seam routes the port drives: enrollment automations (deprecated by Seam) or Access Grants. */
export type Via = "enrollment_automations" | "access_grants"

export interface ManagerOptions {
  readonly system: Ids.AcsSystemId
  readonly name?: string | undefined
  readonly externalType?: string | undefined
  readonly capabilities?: Partial<CredentialManager.Capabilities> | undefined
  readonly via?: Via | undefined
  /** Access Grants: the card profile of the mobile keys Seam issues for a grant (a grant names none). */
  readonly grantCard?: { readonly cardFormat: string; readonly facilityCode: string } | undefined
}

/**
 * Access Grants mode: the ref of a user's enrolment. Seam has no resource for it (a grant enrols the
 * identity's phones itself), so `launchAutomation` records nothing and returns this, and `observe`
 * lists it while the user holds a live grant.
 */
export const grantEnrolment = (user: string): Ids.ProviderRef => ref(`access_grants:${user}`)

/** The mobile-key access methods a grant still holds. */
export const mobileKeys = (g: R.AccessGrant): ReadonlyArray<string> => {
  const live = new Set(g.access_method_ids)
  return g.requested_access_methods.filter((m) => m.mode === "mobile_key").flatMap((m) => (m.created_access_method_ids ?? []).filter((id) => live.has(id)))
}

export const defaultCapabilities: CredentialManager.Capabilities = { asyncIssue: true, listingLag: 0 }

/** The parents and children of one user at one manager, from a credential listing. */
export const split = (
  manager: string,
  credentials: ReadonlyArray<R.Credential>
): {
  readonly parents: ReadonlyArray<R.Credential>
  readonly children: ReadonlyArray<R.Credential>
} => {
  const ours = (c: R.Credential) => c.credential_manager_acs_system_id == null || c.credential_manager_acs_system_id === manager
  const parents = credentials.filter((c) => c.is_multi_phone_sync_credential === true && ours(c))
  const parentIds = new Set(parents.map((p) => p.acs_credential_id))
  const children = credentials.filter(
    (c) => c.parent_acs_credential_id != null && (parentIds.has(c.parent_acs_credential_id) || ours(c))
  )
  return { parents, children }
}

const profileOf = (c: R.Credential) => ({
  cardFormat: c.card_format ?? c.visionline_metadata?.card_format ?? "",
  facilityCode: c.facility_code ?? ""
})

/** A child's status: `is_issued` → active; being deleted (itself or its parent) → revoking; an
 *  error before issue → failed; otherwise issuing. */
export const childStatus = (c: R.Credential, parentDeleting: boolean): CredentialManager.CredentialStatus =>
  warned(c, "being_deleted") || parentDeleting
    ? "revoking"
    : c.is_issued === true
      ? "active"
      : (c.errors ?? []).length > 0
        ? "failed"
        : "issuing"

export const makeManager = (client: SeamClientShape, options: ManagerOptions): CredentialManager.ReplicatingManagerShape => {
  const call = <A>(method: string, mode: CallMode, f: (seam: SeamHttp) => Promise<A>) => client.call("CredentialManager", method, mode, f)
  const dec = <A>(method: string, d: (u: unknown) => Effect.Effect<A, Schema.SchemaError>) => decode("CredentialManager", method, d)
  const capabilities = { ...defaultCapabilities, ...options.capabilities }
  const systems: ReadonlyArray<CredentialManager.ManagerSystem> = [
    {
      id: options.system,
      name: options.name ?? "Seam credential manager",
      externalType: options.externalType ?? "seam_credential_manager",
      capabilities
    }
  ]
  const checkSystem = (method: string, manager: Ids.AcsSystemId) =>
    manager === options.system
      ? Effect.void
      : Effect.fail(
          new PortError.PortError({ reason: "NotFound", port: "CredentialManager", method, message: `this layer serves ${options.system}, not ${manager}` })
        )

  const getByKey = (key: string) =>
    call("userIdentities.get", "read", (s) => s.userIdentities.get({ user_identity_key: key })).pipe(
      Effect.flatMap(dec("userIdentities.get", R.decodeUserIdentity))
    )

  const ensureUser: CredentialManager.CredentialManagerShape["ensureUser"] = (manager, identity) =>
    Effect.gen(function* () {
      yield* checkSystem("ensureUser", manager)
      const found = yield* getByKey(identity.id).pipe(
        Effect.map((u): R.UserIdentity | undefined => u),
        Effect.catchIf((e) => e.reason === "NotFound", () => Effect.succeed(undefined))
      )
      if (found !== undefined) return ref(found.user_identity_id)
      const body = {
        user_identity_key: identity.id,
        ...(identity.email === undefined ? {} : { email_address: identity.email }),
        ...(identity.fullName === undefined ? {} : { full_name: identity.fullName })
      }
      const created = yield* call("userIdentities.create", "create", (s) => s.userIdentities.create(body)).pipe(
        Effect.flatMap(dec("userIdentities.create", R.decodeUserIdentity)),
        // created meanwhile (a lost response, a concurrent caller): the key is unique, read it back
        Effect.catchIf((e) => e.reason === "InvalidInput" || e.reason === "Conflict", (e) =>
          getByKey(identity.id).pipe(Effect.mapError(() => e))
        )
      )
      return ref(created.user_identity_id)
    })

  const phonesOf = (user: string) =>
    call("phones.list", "read", (s) => s.phones.list({ owner_user_identity_id: user })).pipe(Effect.flatMap(dec("phones.list", R.decodePhones)))

  const credentialsOf = (user: string) =>
    call("acs.credentials.list", "read", (s) => s.createPaginator(s.acs.credentials.list({ user_identity_id: user })).flattenToArray()).pipe(
      Effect.flatMap(dec("acs.credentials.list", R.decodeCredentials))
    )

  const automationsOf = (user: string) =>
    call("userIdentities.enrollmentAutomations.list", "read", (s) => s.userIdentities.enrollmentAutomations.list({ user_identity_id: user })).pipe(
      Effect.flatMap(dec("userIdentities.enrollmentAutomations.list", R.decodeAutomations))
    )

  // a child that does not name its phone: ask which phone holds it
  const deviceOf = (child: R.Credential) =>
    child.device_id != null
      ? Effect.succeed(child.device_id)
      : call("phones.list", "read", (s) => s.phones.list({ acs_credential_id: child.acs_credential_id })).pipe(
          Effect.flatMap(dec("phones.list", R.decodePhones)),
          Effect.map((phones) => phones[0]?.device_id ?? `unknown-phone:${child.acs_credential_id}`)
        )

  /**
   * The view from a credential listing: `parentOf` names the port's parent of a multi-phone sync
   * credential (itself with enrollment automations, its grant with Access Grants).
   */
  const viewOf = (
    manager: Ids.AcsSystemId,
    user: Ids.ProviderRef,
    phones: ReadonlyArray<R.Phone>,
    credentials: ReadonlyArray<R.Credential>,
    parentOf: (credential: string) => string
  ) =>
    Effect.gen(function* () {
      const { parents, children } = split(manager, credentials)
      const byId = new Map(parents.map((p) => [p.acs_credential_id, p]))
      const view: Array<CredentialManager.ManagerCredential> = []
      for (const c of children) {
        const parent = c.parent_acs_credential_id == null ? undefined : byId.get(c.parent_acs_credential_id)
        const profile = parent === undefined ? profileOf(c) : profileOf(parent)
        const status = childStatus(c, parent !== undefined && warned(parent, "being_deleted"))
        const firstError = (c.errors ?? [])[0]
        view.push({
          ref: ref(c.acs_credential_id),
          endpoint: ref(yield* deviceOf(c)),
          ...profile,
          status,
          ...(c.card_number == null ? {} : { cardNumber: c.card_number }),
          ...(status === "failed" && firstError !== undefined ? { error: firstError.message ?? firstError.error_code ?? "failed" } : {}),
          ...(c.parent_acs_credential_id == null ? {} : { parent: ref(parentOf(c.parent_acs_credential_id)) })
        })
      }
      for (const c of credentials) client.rememberOwner(c.acs_credential_id, user)
      for (const p of phones) client.rememberOwner(p.device_id, user)
      return { parents, view }
    })

  const observeAutomations: CredentialManager.CredentialManagerShape["observe"] = (manager, user) =>
    Effect.gen(function* () {
      yield* checkSystem("observe", manager)
      const [phones, credentials, automations] = yield* Effect.all([phonesOf(user), credentialsOf(user), automationsOf(user)], {
        concurrency: 3
      })
      const { parents, view } = yield* viewOf(manager, user, phones, credentials, (id) => id)
      const mine = automations.filter((a) => a.credential_manager_acs_system_id === manager)
      for (const a of mine) client.rememberOwner(a.enrollment_automation_id, user)
      return {
        user,
        invitations: [],
        endpoints: phones.map((p) => ({ ref: ref(p.device_id), status: "active" as const })),
        credentials: view,
        parents: parents
          .filter((p) => !warned(p, "being_deleted"))
          .map((p) => ({ ref: ref(p.acs_credential_id), ...profileOf(p) })),
        automations: mine.map((a) => ({ ref: ref(a.enrollment_automation_id) }))
      } satisfies CredentialManager.ManagerView
    })

  // --- Access Grants

  const grantsOf = (user: string) =>
    call("accessGrants.list", "read", (s) => s.createPaginator(s.accessGrants.list({ user_identity_id: user })).flattenToArray()).pipe(
      Effect.flatMap(dec("accessGrants.list", R.decodeAccessGrants))
    )

  // An access method's multi-phone sync credential never changes: ask Seam once per method.
  const parentByMethod = new Map<string, string>()
  const parentOfMethod = (method: string) => {
    const known = parentByMethod.get(method)
    if (known !== undefined) return Effect.succeed<string | undefined>(known)
    return call("accessMethods.getRelated", "read", (s) =>
      s.accessMethods.getRelated({ access_method_ids: [method], include: ["acs_credentials"] })
    ).pipe(
      Effect.flatMap(dec("accessMethods.getRelated", R.decodeRelatedBatch)),
      Effect.map((batch) => {
        // the multi-phone sync credential itself, else the one a phone credential of the method names
        const related = batch.acs_credentials ?? []
        const parent =
          related.find((c) => c.is_multi_phone_sync_credential === true)?.acs_credential_id ??
          related.find((c) => c.parent_acs_credential_id != null)?.parent_acs_credential_id ??
          undefined
        if (parent !== undefined) {
          if (parentByMethod.size >= 10_000) parentByMethod.clear()
          parentByMethod.set(method, parent)
        }
        return parent
      })
    )
  }

  const observeGrants: CredentialManager.CredentialManagerShape["observe"] = (manager, user) =>
    Effect.gen(function* () {
      yield* checkSystem("observe", manager)
      const [phones, credentials, grants] = yield* Effect.all([phonesOf(user), credentialsOf(user), grantsOf(user)], { concurrency: 3 })
      // a grant with a mobile key is a parent; the multi-phone sync credential it stands for links its children
      const live = grants.filter((g) => !warned(g, "being_deleted") && mobileKeys(g).length > 0)
      const grantOf = new Map<string, string>()
      for (const g of live) {
        for (const method of mobileKeys(g)) {
          const parent = yield* parentOfMethod(method)
          if (parent !== undefined) grantOf.set(parent, g.access_grant_id)
        }
        client.rememberOwner(g.access_grant_id, user)
      }
      const { parents, view } = yield* viewOf(manager, user, phones, credentials, (id) => grantOf.get(id) ?? id)
      const credentialOf = new Map<string, R.Credential>()
      for (const p of parents) {
        const g = grantOf.get(p.acs_credential_id)
        if (g !== undefined) credentialOf.set(g, p)
      }
      // (the public Options require grantCard with Access Grants)
      const card = options.grantCard ?? { cardFormat: "", facilityCode: "" }
      // a grant whose credential another credential manager holds is that manager's, not a parent here
      const elsewhere = new Set(
        credentials
          .filter((c) => c.is_multi_phone_sync_credential === true && c.credential_manager_acs_system_id != null && c.credential_manager_acs_system_id !== manager)
          .map((c) => c.acs_credential_id)
      )
      const mine = live.filter((g) => !mobileKeys(g).some((m) => elsewhere.has(parentByMethod.get(m) ?? "")))
      const shown = mine.filter((g) => {
        const p = credentialOf.get(g.access_grant_id)
        return p === undefined || !warned(p, "being_deleted")
      })
      return {
        user,
        invitations: [],
        endpoints: phones.map((p) => ({ ref: ref(p.device_id), status: "active" as const })),
        credentials: view,
        parents: shown.map((g) => {
          const p = credentialOf.get(g.access_grant_id)
          return { ref: ref(g.access_grant_id), ...(p === undefined ? card : profileOf(p)) }
        }),
        // the grant enrols the phones: no enrolment resource of its own (see grantEnrolment)
        automations: mine.length > 0 ? [{ ref: grantEnrolment(user) }] : []
      } satisfies CredentialManager.ManagerView
    })

  // Seam issues for an ACS user linked to the user identity (a grant would otherwise pick or create one)
  const linkAcsUser = (user: string, acsUserId: string) =>
    Effect.gen(function* () {
      const linked = yield* call("userIdentities.listAcsUsers", "read", (s) =>
        s.userIdentities.listAcsUsers({ user_identity_id: user })
      ).pipe(Effect.flatMap(dec("userIdentities.listAcsUsers", R.decodeAcsUsers)))
      if (!linked.some((u) => u.acs_user_id === acsUserId)) {
        yield* call("userIdentities.addAcsUser", "idempotent", (s) => s.userIdentities.addAcsUser({ user_identity_id: user, acs_user_id: acsUserId }))
      }
    })

  const createParentCredential: CredentialManager.ReplicatingManagerShape["createParent"] = (manager, request) =>
    Effect.gen(function* () {
      yield* checkSystem("createParent", manager)
      yield* linkAcsUser(request.user, request.acsUserId)
      // shared card details only: card_format and facility_code as in Seam's guide
      const body = {
        access_method: "mobile_key" as const,
        is_multi_phone_sync_credential: true,
        acs_user_id: request.acsUserId,
        credential_manager_acs_system_id: manager,
        card_format: request.card.cardFormat,
        facility_code: request.card.facilityCode,
        ...(request.card.startsAt === undefined ? {} : { starts_at: request.card.startsAt }),
        ...(request.card.endsAt === undefined ? {} : { ends_at: request.card.endsAt })
      }
      const created = yield* call("acs.credentials.create", "create", (s) => s.acs.credentials.create(body)).pipe(
        Effect.flatMap(dec("acs.credentials.create", R.decodeCredential))
      )
      client.rememberOwner(created.acs_credential_id, request.user)
      return ref(created.acs_credential_id)
    })

  const deleteCredential = (method: string) => (manager: Ids.AcsSystemId, credential: Ids.ProviderRef) =>
    checkSystem(method, manager).pipe(
      Effect.andThen(
        ignoreNotFound(call("acs.credentials.delete", "idempotent", (s) => s.acs.credentials.delete({ acs_credential_id: credential })))
      )
    )

  const createGrant: CredentialManager.ReplicatingManagerShape["createParent"] = (manager, request) =>
    Effect.gen(function* () {
      yield* checkSystem("createParent", manager)
      const want = options.grantCard
      if (want !== undefined && (want.cardFormat !== request.card.cardFormat || want.facilityCode !== request.card.facilityCode)) {
        return yield* Effect.fail(
          new PortError.PortError({
            reason: "InvalidInput",
            port: "CredentialManager",
            method: "createParent",
            message: `card: an access grant names no card profile; Seam issues mobile keys of ${want.cardFormat}/${want.facilityCode} here, not ${request.card.cardFormat}/${request.card.facilityCode}`
          })
        )
      }
      yield* linkAcsUser(request.user, request.acsUserId)
      // the entrances of the ACS the ACS user belongs to
      const acsUser = yield* call("acs.users.get", "read", (s) => s.acs.users.get({ acs_user_id: request.acsUserId })).pipe(
        Effect.flatMap(dec("acs.users.get", R.decodeAcsUser))
      )
      const entrances = yield* call("acs.entrances.list", "read", (s) => s.createPaginator(s.acs.entrances.list({ acs_system_id: acsUser.acs_system_id })).flattenToArray()).pipe(
        Effect.flatMap(dec("acs.entrances.list", R.decodeEntrances))
      )
      const ids = entrances.filter((e) => e.acs_system_id === acsUser.acs_system_id).map((e) => e.acs_entrance_id)
      if (ids.length === 0) {
        return yield* Effect.fail(
          new PortError.PortError({
            reason: "InvalidInput",
            port: "CredentialManager",
            method: "createParent",
            message: `acsUserId: ACS ${acsUser.acs_system_id} of ACS user ${request.acsUserId} lists no entrance to grant`
          })
        )
      }
      const body = {
        user_identity_id: request.user,
        acs_entrance_ids: ids,
        requested_access_methods: [{ mode: "mobile_key" as const }],
        ...(request.card.startsAt === undefined ? {} : { starts_at: request.card.startsAt }),
        ...(request.card.endsAt === undefined ? {} : { ends_at: request.card.endsAt })
      }
      const grant = yield* call("accessGrants.create", "create", (s) => s.accessGrants.create(body)).pipe(
        Effect.flatMap(dec("accessGrants.create", R.decodeAccessGrant))
      )
      client.rememberOwner(grant.access_grant_id, request.user)
      return ref(grant.access_grant_id)
    })

  const deleteGrant: CredentialManager.ReplicatingManagerShape["deleteParent"] = (manager, grant) =>
    checkSystem("deleteParent", manager).pipe(
      Effect.andThen(ignoreNotFound(call("accessGrants.delete", "idempotent", (s) => s.accessGrants.delete({ access_grant_id: grant }))))
    )

  // a grant enrols the identity's phones: nothing to launch at Seam
  const launchGrantEnrolment: CredentialManager.ReplicatingManagerShape["launchAutomation"] = (manager, user) =>
    checkSystem("launchAutomation", manager).pipe(Effect.as(grantEnrolment(user)))

  const launchAutomation: CredentialManager.ReplicatingManagerShape["launchAutomation"] = (manager, user) =>
    Effect.gen(function* () {
      yield* checkSystem("launchAutomation", manager)
      const a = yield* call("userIdentities.enrollmentAutomations.launch", "create", (s) =>
        s.userIdentities.enrollmentAutomations.launch({
          user_identity_id: user,
          credential_manager_acs_system_id: manager,
          create_credential_manager_user: true
        })
      ).pipe(Effect.flatMap(dec("userIdentities.enrollmentAutomations.launch", R.decodeAutomation)))
      client.rememberOwner(a.enrollment_automation_id, user)
      return ref(a.enrollment_automation_id)
    })

  const grants = options.via === "access_grants"
  return {
    kind: "replicating",
    systems,
    ensureUser,
    observe: grants ? observeGrants : observeAutomations,
    revoke: deleteCredential("revoke"),
    removeEndpoint: (manager, endpoint) =>
      checkSystem("removeEndpoint", manager).pipe(
        Effect.andThen(ignoreNotFound(call("phones.deactivate", "idempotent", (s) => s.phones.deactivate({ device_id: endpoint }))))
      ),
    createParent: grants ? createGrant : createParentCredential,
    deleteParent: grants ? deleteGrant : deleteCredential("deleteParent"),
    launchAutomation: grants ? launchGrantEnrolment : launchAutomation
  }
}

// ------------------------------------------------------------------------------- access control

export interface AccessControlOptions {
  readonly systems: ReadonlyArray<{ readonly id: Ids.AcsSystemId; readonly name?: string | undefined; readonly externalType?: string | undefined }>
}

const acsError = (reason: PortError.Reason, method: string, message: string) =>
  new PortError.PortError({ reason, port: "AccessControl", method, message })

export const makeAccessControl = (client: SeamClientShape, options: AccessControlOptions): AccessControl.AccessControlShape => {
  const dec = <A>(method: string, d: (u: unknown) => Effect.Effect<A, Schema.SchemaError>) => decode("AccessControl", method, d)
  const systems = options.systems.map((s) => ({ id: s.id, name: s.name ?? "Seam ACS", externalType: s.externalType ?? "seam_acs_system" }))
  const known = (method: string, acs: Ids.AcsSystemId) =>
    systems.some((s) => s.id === acs) ? Effect.void : Effect.fail(acsError("NotFound", method, `this layer does not serve ACS ${acs}`))
  const toUser = (u: R.AcsUser): AccessControl.AcsUser => ({
    id: Ids.AcsUserId.make(u.acs_user_id),
    acsSystemId: Ids.AcsSystemId.make(u.acs_system_id),
    fullName: u.full_name ?? u.display_name ?? "",
    ...(u.email_address == null ? {} : { email: u.email_address })
  })
  const entry = (c: R.Credential): AccessControl.AcsEntry | undefined =>
    c.card_number == null || c.is_multi_phone_sync_credential === true
      ? undefined
      : {
          ref: ref(c.acs_credential_id),
          cardNumber: c.card_number,
          ...profileOf(c),
          // not "credsync:": Seam imports these itself, the engine must never remove them as its own
          label: `seam:${c.acs_credential_id}`,
          ...(c.acs_user_id == null ? {} : { assignedTo: Ids.AcsUserId.make(c.acs_user_id) })
        }
  const list = (body: { readonly acs_user_id: string } | { readonly acs_system_id: string; readonly search: string }) =>
    client
      .call("AccessControl", "acs.credentials.list", "read", (s) => s.createPaginator(s.acs.credentials.list(body)).flattenToArray())
      .pipe(Effect.flatMap(dec("acs.credentials.list", R.decodeCredentials)))
  const unsupported = (method: string) => () =>
    Effect.fail(acsError("InvalidInput", method, "Seam imports phone credentials into the ACS and assigns them itself"))
  return {
    systems,
    createUser: (acs, user) =>
      known("createUser", acs).pipe(
        Effect.andThen(
          client.call("AccessControl", "acs.users.create", "create", (s) =>
            s.acs.users.create({ acs_system_id: acs, full_name: user.fullName, ...(user.email === undefined ? {} : { email_address: user.email }) })
          )
        ),
        Effect.flatMap(dec("acs.users.create", R.decodeAcsUser)),
        Effect.map(toUser)
      ),
    getUser: (acs, id) =>
      known("getUser", acs).pipe(
        Effect.andThen(client.call("AccessControl", "acs.users.get", "read", (s) => s.acs.users.get({ acs_user_id: id }))),
        Effect.flatMap(dec("acs.users.get", R.decodeAcsUser)),
        Effect.flatMap((u) => (u.acs_system_id === acs ? Effect.succeed(toUser(u)) : Effect.fail(acsError("NotFound", "getUser", `ACS user ${id} is not in ACS ${acs}`))))
      ),
    observe: (acs, query) =>
      Effect.gen(function* () {
        yield* known("observe", acs)
        const byUser = yield* Effect.forEach(query.users, (u) => list({ acs_user_id: u }), { concurrency: 4 })
        const seen = new Set(byUser.flat().map((c) => c.card_number))
        const missing = query.cardNumbers.filter((n) => !seen.has(n))
        const byCard = yield* Effect.forEach(missing, (n) => list({ acs_system_id: acs, search: n }), { concurrency: 4 })
        const out = new Map<string, AccessControl.AcsEntry>()
        for (const c of [...byUser.flat(), ...byCard.flat()]) {
          if (c.acs_system_id !== undefined && c.acs_system_id !== acs) continue
          const e = entry(c)
          const wanted = e !== undefined && (query.cardNumbers.includes(e.cardNumber) || (e.assignedTo !== undefined && query.users.includes(e.assignedTo)))
          if (e !== undefined && wanted) out.set(e.ref, e)
        }
        return [...out.values()]
      }),
    importCredential: unsupported("importCredential"),
    assign: unsupported("assign"),
    remove: unsupported("remove")
  }
}
