/** Webhook intake: signatures verified with @seamapi/webhook; bad ones and malformed events rejected. */
import { Ids } from "@credsync/core"
import { Webhooks } from "@credsync/seam-api"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SeamWebhooks } from "../src/index.js"
import { type Started, start } from "./helpers.js"

let env: Started
beforeAll(async () => {
  env = await start()
})
afterAll(async () => {
  await env?.server.close()
})

const secret = Webhooks.newSecret()
const signed = (body: string, s = secret, now = Date.now()) => ({ body, headers: Webhooks.headers(s, `msg_${Math.random()}`, body, now) })
const intake = (body: string, headers: Record<string, string>, s = secret) =>
  Effect.runPromise(
    Effect.result(
      Effect.provide(
        Effect.flatMap(SeamWebhooks.make({ secret: s, system: env.managerId }), (w) => w.intake(body, headers)),
        env.clientLayer
      )
    )
  )

describe("SeamWebhooks", () => {
  it("accepts a signed event and routes it through the Seam API to the credsync identity", async () => {
    const identity = await env.seam.userIdentities.create({ user_identity_key: "hook-user" })
    const phone = await env.seam.phones.simulate.createSandboxPhone({ user_identity_id: identity.user_identity_id })
    const automation = await env.seam.userIdentities.enrollmentAutomations.launch({
      user_identity_id: identity.user_identity_id,
      credential_manager_acs_system_id: env.managerId
    })
    const event = {
      event_id: "e1",
      event_type: "enrollment_automation.deleted",
      workspace_id: env.workspaceId,
      created_at: new Date().toISOString(),
      occurred_at: new Date().toISOString(),
      enrollment_automation_id: automation.enrollment_automation_id
    }
    const { body, headers } = signed(JSON.stringify(event))
    const r = await intake(body, headers)
    expect(r._tag === "Success" && r.success).toEqual([
      {
        _tag: "InvitationExpired",
        managerId: env.managerId,
        userIdentityId: Ids.UserIdentityId.make("hook-user"),
        invitation: automation.enrollment_automation_id,
        at: Date.parse(event.occurred_at)
      }
    ])
    // a phone deactivation nobody can route (no lookup, never listed) yields nothing, not an error
    const unknown = signed(JSON.stringify({ ...event, event_type: "phone.deactivated", device_id: phone.device_id }))
    const none = await intake(unknown.body, unknown.headers)
    expect(none._tag === "Success" && none.success).toEqual([])
    // event types that need no reconcile yield nothing
    const other = signed(JSON.stringify({ ...event, event_type: "acs_user.created", acs_user_id: "x" }))
    const ignored = await intake(other.body, other.headers)
    expect(ignored._tag === "Success" && ignored.success).toEqual([])
  })

  it("rejects a tampered body, a wrong secret, a stale timestamp and missing headers (BadSignature)", async () => {
    const { body, headers } = signed(JSON.stringify({ event_id: "e", event_type: "phone.deactivated", device_id: "d" }))
    for (const [b, h, s] of [
      [`${body} `, headers, secret],
      [body, headers, Webhooks.newSecret()],
      [body, signed(body, secret, Date.now() - 10 * 60_000).headers, secret],
      [body, {}, secret]
    ] as const) {
      const r = await intake(b, h, s)
      expect(r._tag === "Failure" && r.failure._tag === "WebhookRejected" && r.failure.reason).toBe("BadSignature")
    }
    const badSecret = await intake(body, headers, Redacted.make("not-a-secret"))
    expect(badSecret._tag === "Failure" && badSecret.failure._tag === "WebhookRejected" && badSecret.failure.reason).toBe("BadSignature")
  })

  it("rejects a correctly signed body that is not a Seam event (Malformed)", async () => {
    for (const text of [JSON.stringify({ hello: "world" }), JSON.stringify({ event_id: 1, event_type: "x" })]) {
      const { body, headers } = signed(text)
      const r = await intake(body, headers)
      expect(r._tag === "Failure" && r.failure._tag === "WebhookRejected" && r.failure.reason).toBe("Malformed")
    }
  })
})
