/**
 * Error mapping of the Seam client against the Seam-compatible API (with its fault injection) and
 * against raw sockets: every failure lands on one of the core's closed reasons, 429 carries
 * Retry-After, and the API key appears in no message.
 */
import { createServer, type Server as NodeServer } from "node:net"
import { CredentialManager, Ids, type PortError } from "@credsync/core"
import { Cause, Effect, Layer, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SeamClient, SeamCredentialManager } from "../src/index.js"
import { failure, type Started, start } from "./helpers.js"

let env: Started
let someone: string
beforeAll(async () => {
  env = await start()
  someone = (await env.seam.userIdentities.create({ user_identity_key: "someone" })).user_identity_id
})
afterAll(async () => {
  await env?.server.close()
})

const managerWith = (apiKey: string, endpoint: string) =>
  SeamCredentialManager.layer({ system: env.managerId }).pipe(
    Layer.provide(SeamClient.layer({ apiKey: Redacted.make(apiKey), endpoint }))
  )
const observe = (user: string) =>
  CredentialManager.CredentialManager.use((cm) => cm.observe(env.managerId, Ids.ProviderRef.make(user)))
const createIdentity = (key: string) =>
  SeamClient.SeamClient.use((c) => c.call("CredentialManager", "userIdentities.create", "create", (s) => s.userIdentities.create({ user_identity_key: key })))

const noKey = (e: PortError.PortError, key: string) => {
  expect(e.message).not.toContain(key)
  expect(JSON.stringify(e)).not.toContain(key)
  expect(Cause.pretty(Cause.fail(e))).not.toContain(key)
}

describe("SeamClient error mapping", () => {
  it("401 → Unauthorized; a malformed key → Unauthorized; neither leaks the key", async () => {
    const wrong = "seam_wrong_key_0123456789"
    const e = await failure(observe("nobody"), managerWith(wrong, env.server.url))
    expect(e.reason).toBe("Unauthorized")
    noKey(e, wrong)
    const malformed = "not_a_seam_key_secret"
    const m = await failure(observe("nobody"), managerWith(malformed, env.server.url))
    expect(m.reason).toBe("Unauthorized")
    noKey(m, malformed)
  })

  it("404 *_not_found → NotFound; invalid_input → InvalidInput with Seam's message", async () => {
    const nf = await failure(observe("no-such-identity"), env.managerLayer)
    expect(nf.reason).toBe("NotFound")
    const bad = await failure(
      SeamClient.SeamClient.use((c) =>
        c.call("CredentialManager", "userIdentities.create", "create", (s) => s.userIdentities.create({ email_address: "not an email" }))
      ),
      env.clientLayer
    )
    expect(bad.reason).toBe("InvalidInput")
    expect(bad.cause).toBeDefined()
    noKey(bad, env.key)
  })

  it("429 → RateLimited with Retry-After in ms; 409 → Conflict", async () => {
    env.server.injectFault({ path: "/phones/list", status: 429, retryAfterSeconds: 7 })
    const e = await failure(observe(someone), env.managerLayer)
    expect(e.reason).toBe("RateLimited")
    expect(e.retryAfter).toBe(7_000)
    env.server.injectFault({ path: "/user_identities/create", status: 409, type: "conflict" })
    const c = await failure(createIdentity("conflict-key"), env.clientLayer)
    expect(c.reason).toBe("Conflict")
  })

  it("5xx: Transient on a read, Ambiguous on a create (503 stays Transient)", async () => {
    env.server.injectFault({ path: "/phones/list", status: 500 })
    expect((await failure(observe(someone), env.managerLayer)).reason).toBe("Transient")
    env.server.injectFault({ path: "/user_identities/create", status: 502 })
    expect((await failure(createIdentity("k-502"), env.clientLayer)).reason).toBe("Ambiguous")
    env.server.injectFault({ path: "/user_identities/create", status: 503 })
    expect((await failure(createIdentity("k-503"), env.clientLayer)).reason).toBe("Transient")
  })

  it("a lost create response is Ambiguous, and ensureUser then adopts what Seam holds", async () => {
    env.server.injectFault({ path: "/user_identities/create", status: 500, afterHandling: true })
    const cm = CredentialManager.CredentialManager.use((m) =>
      m.ensureUser(env.managerId, { id: Ids.UserIdentityId.make("lost-response-user") })
    )
    const e = await failure(cm, env.managerLayer)
    expect(e.reason).toBe("Ambiguous")
    const ref = await Effect.runPromise(Effect.provide(cm, env.managerLayer))
    const again = await Effect.runPromise(Effect.provide(cm, env.managerLayer))
    expect(again).toBe(ref)
    const listed = await env.seam.userIdentities.list()
    expect(listed.filter((u) => u.user_identity_key === "lost-response-user")).toHaveLength(1)
  })

  it("no response: Transient when the connection is refused; Ambiguous for a create whose socket died", async () => {
    // a port that refuses: listen, note the port, close
    const port = await new Promise<number>((resolve) => {
      const s: NodeServer = createServer()
      s.listen(0, "127.0.0.1", () => {
        const a = s.address()
        const p = typeof a === "object" && a !== null ? a.port : 0
        s.close(() => resolve(p))
      })
    })
    const refused = SeamClient.layer({ apiKey: Redacted.make(env.key), endpoint: `http://127.0.0.1:${port}` })
    expect((await failure(createIdentity("refused"), refused)).reason).toBe("Transient")
    // a server that reads the request and hangs up without answering
    const hangup = createServer((socket) => socket.once("data", () => socket.destroy()))
    await new Promise<void>((r) => hangup.listen(0, "127.0.0.1", r))
    const a = hangup.address()
    const hp = typeof a === "object" && a !== null ? a.port : 0
    try {
      const layer = SeamClient.layer({ apiKey: Redacted.make(env.key), endpoint: `http://127.0.0.1:${hp}` })
      const lost = await failure(createIdentity("hangup"), layer)
      expect(lost.reason).toBe("Ambiguous")
      noKey(lost, env.key)
      const read = await failure(
        SeamClient.SeamClient.use((c) => c.call("CredentialManager", "phones.list", "read", (s) => s.phones.list({}))),
        layer
      )
      expect(read.reason).toBe("Transient")
    } finally {
      await new Promise<void>((r) => hangup.close(() => r()))
    }
  })
})
