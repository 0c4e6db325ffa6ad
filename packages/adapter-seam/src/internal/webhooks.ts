import { Ids, type Observation, type PortError } from "@credsync/core"
import { SeamWebhook } from "@seamapi/webhook"
import { Effect, Redacted, type Schema } from "effect"
import type { SeamClientShape } from "../SeamClient.js"
import { decode } from "./manager.js"
import * as R from "./resources.js"

export type Headers = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

export interface WebhookOptions {
  readonly secret: Redacted.Redacted<string>
  readonly system: Ids.AcsSystemId
  readonly lookup?: ((key: string) => Effect.Effect<Ids.UserIdentityId | undefined, PortError.PortError>) | undefined
}

export type Rejection = { readonly reason: "BadSignature" | "Malformed"; readonly message: string }

const flat = (headers: Headers): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) {
    if (typeof v === "string") out[k.toLowerCase()] = v
    else if (Array.isArray(v) && typeof v[0] === "string") out[k.toLowerCase()] = v[0]
  }
  return out
}

export const makeWebhooks = (client: SeamClientShape, options: WebhookOptions) => {
  let verifier: SeamWebhook | undefined
  let bad: string | undefined
  try {
    verifier = new SeamWebhook(Redacted.value(options.secret))
  } catch {
    bad = "the webhook secret is not a valid whsec_ secret"
  }
  const dec = <A>(method: string, d: (u: unknown) => Effect.Effect<A, Schema.SchemaError>) => decode("CredentialManager", method, d)

  const verify = (body: string, headers: Headers): Effect.Effect<R.Event, Rejection> =>
    Effect.gen(function* () {
      if (verifier === undefined) return yield* Effect.fail({ reason: "BadSignature" as const, message: bad ?? "no verifier" })
      const v = verifier
      const raw = yield* Effect.try({
        try: () => v.verify(body, flat(headers)),
        catch: (e): Rejection => ({
          reason: "BadSignature",
          message: `webhook rejected: ${e instanceof Error ? e.message : "verification failed"}`
        })
      })
      return yield* R.decodeEvent(raw).pipe(
        Effect.mapError((e): Rejection => ({ reason: "Malformed", message: `webhook event is malformed: ${e.message}` }))
      )
    })

  const orUndefined = <A>(eff: Effect.Effect<A, PortError.PortError>) =>
    eff.pipe(
      Effect.map((a): A | undefined => a),
      Effect.catchIf((e) => e.reason === "NotFound", () => Effect.succeed(undefined))
    )

  const credential = (id: string) =>
    orUndefined(
      client
        .call("CredentialManager", "acs.credentials.get", "read", (s) => s.acs.credentials.get({ acs_credential_id: id }))
        .pipe(Effect.flatMap(dec("acs.credentials.get", R.decodeCredential)))
    )
  const automation = (id: string) =>
    orUndefined(
      client
        .call("CredentialManager", "enrollmentAutomations.get", "read", (s) =>
          s.userIdentities.enrollmentAutomations.get({ enrollment_automation_id: id })
        )
        .pipe(Effect.flatMap(dec("enrollmentAutomations.get", R.decodeAutomation)))
    )
  /** Seam user identity → credsync identity id (its user_identity_key). */
  const keyOf = (userIdentityId: string) =>
    orUndefined(
      client
        .call("CredentialManager", "userIdentities.get", "read", (s) => s.userIdentities.get({ user_identity_id: userIdentityId }))
        .pipe(Effect.flatMap(dec("userIdentities.get", R.decodeUserIdentity)))
    ).pipe(Effect.map((u) => (u?.user_identity_key == null ? undefined : Ids.UserIdentityId.make(u.user_identity_key))))

  const viaOwner = (resourceId: string, fromApi: string | null | undefined) => {
    const owner = fromApi ?? client.ownerOf(resourceId)
    return owner === undefined ? Effect.succeed(undefined) : keyOf(owner)
  }
  const viaLookup = (key: string) => (options.lookup === undefined ? Effect.succeed(undefined) : options.lookup(key))

  const observations = (event: R.Event): Effect.Effect<ReadonlyArray<Observation.Observation>, PortError.PortError> =>
    Effect.gen(function* () {
      const managerId = options.system
      const at = event.occurred_at === undefined ? undefined : Date.parse(event.occurred_at)
      const when = at === undefined || Number.isNaN(at) ? {} : { at }
      const ref = Ids.ProviderRef.make
      const type = event.event_type
      if (type.startsWith("acs_credential.") && event.acs_credential_id !== undefined) {
        const id = event.acs_credential_id
        const c = yield* credential(id)
        const who = yield* viaOwner(id, c?.user_identity_id)
        if (who === undefined) return []
        const base = { managerId, userIdentityId: who, credential: ref(id), ...when }
        if ((type === "acs_credential.issued" || type === "acs_credential.reissued") && c !== undefined) {
          return [{ _tag: "CredentialIssued" as const, ...base, endpoint: ref(c.device_id ?? `unknown-phone:${id}`) }]
        }
        if (type === "acs_credential.invalidated") return [{ _tag: "CredentialFailed" as const, ...base, reason: "invalidated" }]
        return [{ _tag: "CredentialRevoked" as const, ...base }]
      }
      if (type === "phone.deactivated" && event.device_id !== undefined) {
        const device = event.device_id
        const who = (yield* viaOwner(device, undefined)) ?? (yield* viaLookup(`phone:${device}`))
        return who === undefined ? [] : [{ _tag: "EndpointRemoved" as const, managerId, userIdentityId: who, endpoint: ref(device), ...when }]
      }
      if (type === "enrollment_automation.deleted" && event.enrollment_automation_id !== undefined) {
        const id = event.enrollment_automation_id
        const a = yield* automation(id)
        const who = yield* viaOwner(id, a?.user_identity_id)
        // the core has no observation for automations: an automation is what invites phones
        return who === undefined ? [] : [{ _tag: "InvitationExpired" as const, managerId, userIdentityId: who, invitation: ref(id), ...when }]
      }
      return []
    })

  return { verify, observations }
}
