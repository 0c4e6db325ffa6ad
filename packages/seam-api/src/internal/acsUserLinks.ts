/**
 * What the user-identity, ACS-user, ACS-system and credential routes share about ACS users: the
 * lookups (an ACS user, the identity it belongs to, how many each ACS has), creating one (with its
 * `acs_user.created` event) and linking it to a user identity through the engine.
 *
 * @internal
 */
import { Effect } from "effect"
import { notFound, SeamError as SeamErrorClass } from "../SeamError.js"
import type * as SeamEvents from "../SeamEvents.js"
import type { AcsUserRecord, Workspace } from "../Workspace.js"
import { newId } from "./ids.js"
import { exec, orNotFound, port } from "./route.js"

/** An ACS user of the workspace, or 404 `acs_user_not_found`. */
export const acsUserOf = (ws: Workspace, id: string) => Effect.flatMap(port(ws.acsUsers.get(id)), orNotFound("acs_user"))

/** ACS users per ACS (for `acs_user_count`): one pass over the workspace's ACS users. */
export const acsUserCounts = (ws: Workspace) =>
  Effect.map(port(ws.acsUsers.list), (users) => {
    const counts = new Map<string, number>()
    for (const u of users) counts.set(u.acs_system_id, (counts.get(u.acs_system_id) ?? 0) + 1)
    return (acsSystemId: string) => counts.get(acsSystemId) ?? 0
  })

/** The user identity an ACS user is linked to, if any. */
export const ownerOfAcsUser = (ws: Workspace, id: string) => port(ws.find(`acs-user:${id}`))

/** Create an ACS user in the ACS, record its profile, emit `acs_user.created`. */
export const createAcsUser = (
  ws: Workspace,
  input: {
    readonly acs_system_id: string
    readonly full_name: string
    readonly email_address?: string | undefined
    readonly phone_number?: string | undefined
    readonly access_schedule?: { readonly starts_at: string; readonly ends_at: string | null } | undefined
  },
  forIdentity?: string
) =>
  Effect.gen(function* () {
    const system = ws.acsSystems.find((a) => a.id === input.acs_system_id)
    if (system === undefined) return yield* Effect.fail(notFound("acs_system"))
    const record = yield* port(
      ws.acsUsers.create({
        acs_system_id: system.id,
        full_name: input.full_name,
        email_address: input.email_address,
        phone_number: input.phone_number,
        access_schedule: input.access_schedule
      })
    )
    const at = new Date(record.created_at).toISOString()
    const event: SeamEvents.SeamEvent = {
      event_id: newId(),
      event_type: "acs_user.created",
      workspace_id: ws.id,
      created_at: at,
      occurred_at: at,
      event_description: "An ACS user was created.",
      connected_account_id: ws.connectedAccountId,
      acs_system_id: system.id,
      acs_user_id: record.acs_user_id,
      ...(forIdentity === undefined ? {} : { user_identity_id: forIdentity })
    }
    yield* ws.publish(event)
    return record
  })

/** Link an ACS user to a user identity (the engine then assigns its credentials to that user). */
export const link = (ws: Workspace, identityId: string, acsUser: AcsUserRecord) =>
  exec(ws, {
    _tag: "LinkAcsUser",
    userIdentityId: identityId,
    acsUserId: acsUser.acs_user_id,
    acsSystemId: acsUser.acs_system_id
  })

/** 409: the identity has another ACS user in that ACS (one per ACS, the engine's rule). */
export const acsUserTaken = (identityId: string, acsUserId: string) =>
  new SeamErrorClass({
    status: 409,
    type: "conflict",
    message: `user identity ${identityId} already has ACS user ${acsUserId} in this ACS`
  })
