/**
 * `/phones/list|get|deactivate` and `/phones/simulate/create_sandbox_phone`: Seam's `phone` resource,
 * an engine phone of a user identity (its display name and SDK installation id kept in the store).
 * A sandbox phone goes online with the engine at once; in a sandbox workspace the server then plays
 * the phone SDK (see the README).
 *
 * Deviations (README): a deactivated phone is 404 `device_not_found` and is no longer listed;
 * `/phones/list` without a filter loads every identity.
 *
 * @internal
 */
import { Identity } from "@credsync/core"
import { Effect, Schema } from "effect"
import { newId } from "../internal/ids.js"
import { exec, findIn, Id, identityOf, opt, orNotFound, port, type Route, route } from "../internal/route.js"
import * as Resources from "../Resources.js"
import { SeamError as SeamErrorClass } from "../SeamError.js"
import type { Workspace } from "../Workspace.js"

/** `custom_metadata`: string or boolean values by key. */
const Metadata = Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Boolean]))

/** Phone resources of these (identity, phone) pairs, with their sandbox names read in one go. */
const phoneResources = (ws: Workspace, items: ReadonlyArray<readonly [Identity.IdentityState, Identity.Phone]>) =>
  Effect.map(port(ws.phones.many(items.map(([, p]) => p.id))), (names) =>
    items.map(([s, p]) => Resources.phone(ws, s, p, names.get(p.id)))
  )

const livePhone = (s: Identity.IdentityState, id: string) => {
  const p = Identity.phone(s, id)
  return p?.active === true ? p : undefined
}

/** The `/phones/*` routes, by path. */
export const routes: Record<string, Route> = {
  "/phones/list": route(
    "read",
    Schema.Struct({ owner_user_identity_id: opt(Id), acs_credential_id: opt(Id) }),
    ({ ws }, input) =>
      Effect.gen(function* () {
        const scope =
          input.owner_user_identity_id !== undefined
            ? yield* Effect.map(port(ws.identity(input.owner_user_identity_id)), (s) => (s === undefined ? [] : [s]))
            : input.acs_credential_id !== undefined
              ? yield* Effect.map(port(ws.find(`credential:${input.acs_credential_id}`)), (s) => (s === undefined ? [] : [s]))
              : yield* port(ws.identities)
        const credential = input.acs_credential_id
        const listed = scope.flatMap((s) =>
          s.phones
            .filter((p) => p.active)
            .filter(
              (p) =>
                credential === undefined ||
                s.children.some((c) => c.phoneId === p.id && !c.retiring && (c.id === credential || c.parentId === credential))
            )
            .map((p) => [s, p] as const)
        )
        return { phones: yield* phoneResources(ws, listed) }
      })
  ),
  "/phones/get": route("read", Schema.Struct({ device_id: Id }), ({ ws }, input) =>
    Effect.gen(function* () {
      const s = yield* findIn(ws, `phone:${input.device_id}`, "device")
      const p = yield* orNotFound("device")(livePhone(s, input.device_id))
      return { phone: Resources.phone(ws, s, p, yield* port(ws.phones.get(p.id))) }
    })
  ),
  "/phones/deactivate": route("delete", Schema.Struct({ device_id: Id }), ({ ws }, input) =>
    Effect.gen(function* () {
      const s = yield* findIn(ws, `phone:${input.device_id}`, "device")
      yield* orNotFound("device")(livePhone(s, input.device_id))
      yield* exec(ws, { _tag: "DeactivatePhone", userIdentityId: s.id, phoneId: input.device_id })
      return {}
    })
  ),
  "/phones/simulate/create_sandbox_phone": route(
    "write",
    Schema.Struct({
      user_identity_id: Id,
      custom_sdk_installation_id: opt(Schema.String),
      phone_metadata: opt(
        Schema.Struct({
          operating_system: opt(Schema.Literals(["android", "ios"])),
          os_version: opt(Schema.Union([Schema.String, Schema.Number])),
          device_manufacturer: opt(Schema.String),
          device_model: opt(Schema.String)
        })
      ),
      assa_abloy_metadata: opt(Schema.Record(Schema.String, Schema.Unknown)),
      custom_metadata: opt(Metadata)
    }),
    ({ ws }, input) =>
      Effect.gen(function* () {
        if (!ws.sandbox) {
          return yield* Effect.fail(new SeamErrorClass({ status: 400, type: "workspace_not_sandbox", message: "This workspace is not a sandbox" }))
        }
        yield* identityOf(ws, input.user_identity_id)
        const deviceId = newId()
        const ios = input.phone_metadata?.operating_system === "ios"
        // the display name must exist before the engine's events mention the phone
        const info = {
          display_name: input.phone_metadata?.device_model ?? (ios ? "iPhone 15" : "Samsung Galaxy S10"),
          custom_sdk_installation_id: input.custom_sdk_installation_id
        }
        yield* port(ws.phones.create(deviceId, info))
        const s = yield* exec(ws, {
          _tag: "PhoneOnline",
          userIdentityId: input.user_identity_id,
          phoneId: deviceId,
          deviceType: ios ? "ios_phone" : "android_phone",
          ...(input.custom_metadata === undefined ? {} : { metadata: input.custom_metadata })
        }).pipe(Effect.tapError(() => Effect.ignore(ws.phones.remove(deviceId))))
        const p = yield* orNotFound("device")(livePhone(s, deviceId))
        return { phone: Resources.phone(ws, s, p, info) }
      })
  )
}
