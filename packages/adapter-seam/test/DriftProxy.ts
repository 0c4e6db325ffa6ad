/**
 * A loopback proxy in front of the Seam-compatible API that plays "someone else" at Seam: it plants
 * credentials in `/acs/credentials/list` answers (a duplicate copy), hides listed credentials (a
 * copy deleted behind the engine's back), and answers deletes of planted ones. Everything else is
 * passed through untouched. The Seam-compatible API itself never lists a duplicate and refuses to
 * delete a child, so drift at Seam's level can only be staged here.
 *
 * `paths` records the route path of every request it receives, in order (a test asserts which
 * routes a mode calls, e.g. none of `/user_identities/enrollment_automations/*` with Access Grants).
 *
 * `intercept` sees the path of every forwarded request just before it goes upstream (the property
 * test's provider uses it to arm the server's fault injection for that one request).
 */
import { createServer, type IncomingMessage } from "node:http"

export interface DriftProxy {
  readonly url: string
  /** Credentials added to listings whose `user_identity_id` matches theirs. */
  readonly planted: Map<string, Record<string, unknown>>
  readonly hidden: Set<string>
  /** Fields replaced in listed credentials, by `acs_credential_id`. */
  readonly patched: Map<string, Record<string, unknown>>
  /** Planted credentials deleted through the proxy. */
  readonly deleted: Array<string>
  /** The route path of every request received, in order. */
  readonly paths: Array<string>
  /** The upstream status of every request forwarded, in order. */
  readonly answered: Array<{ readonly path: string; readonly status: number }>
  readonly close: () => Promise<void>
}

const body = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const parse = (text: string): Record<string, unknown> => {
  try {
    const v: unknown = JSON.parse(text)
    return typeof v === "object" && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v)) : {}
  } catch {
    return {}
  }
}

export interface ProxyOptions {
  /** Called with the route path of each request about to be forwarded upstream. */
  readonly intercept?: ((path: string) => void) | undefined
}

export const start = async (target: string, options: ProxyOptions = {}): Promise<DriftProxy> => {
  const planted = new Map<string, Record<string, unknown>>()
  const hidden = new Set<string>()
  const patched = new Map<string, Record<string, unknown>>()
  const deleted: Array<string> = []
  const paths: Array<string> = []
  const answered: Array<{ readonly path: string; readonly status: number }> = []
  const server = createServer((req, res) => {
    void (async () => {
      const text = await body(req)
      const path = (req.url ?? "/").split("?")[0]
      const input = parse(text)
      paths.push(path ?? "/")
      const reply = (status: number, json: unknown) => {
        const s = JSON.stringify(json)
        res.writeHead(status, { "content-type": "application/json", "seam-request-id": "proxy" }).end(s)
      }
      if (path === "/acs/credentials/delete" && typeof input.acs_credential_id === "string" && planted.has(input.acs_credential_id)) {
        planted.delete(input.acs_credential_id)
        deleted.push(input.acs_credential_id)
        return reply(200, { ok: true })
      }
      options.intercept?.(path ?? "/")
      const headers: Record<string, string> = { "content-type": "application/json" }
      if (typeof req.headers.authorization === "string") headers.authorization = req.headers.authorization
      const upstream = await fetch(`${target}${req.url ?? "/"}`, {
        method: req.method ?? "POST",
        headers,
        ...(req.method === "GET" ? {} : { body: text })
      })
      const answer = await upstream.text()
      answered.push({ path: path ?? "/", status: upstream.status })
      if (path === "/acs/credentials/list" && upstream.ok) {
        const json = parse(answer)
        const list = Array.isArray(json.acs_credentials) ? json.acs_credentials : []
        const idOf = (c: unknown) => (typeof c === "object" && c !== null && "acs_credential_id" in c ? String(c.acs_credential_id) : undefined)
        const kept = list
          .filter((c: unknown) => !hidden.has(idOf(c) ?? ""))
          .map((c: unknown) => {
            const patch = patched.get(idOf(c) ?? "")
            return patch === undefined || typeof c !== "object" || c === null ? c : { ...c, ...patch }
          })
        const extra = [...planted.values()].filter((c) => input.user_identity_id === undefined || c.user_identity_id === input.user_identity_id)
        return reply(200, { ...json, acs_credentials: [...kept, ...extra] })
      }
      res.writeHead(upstream.status, {
        "content-type": upstream.headers.get("content-type") ?? "application/json",
        ...(upstream.headers.get("seam-request-id") === null ? {} : { "seam-request-id": upstream.headers.get("seam-request-id") ?? "" })
      })
      res.end(answer)
    })().catch(() => {
      if (!res.headersSent) res.writeHead(502).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  const a = server.address()
  const port = typeof a === "object" && a !== null ? a.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    planted,
    hidden,
    patched,
    deleted,
    paths,
    answered,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r())
        server.closeAllConnections()
      })
  }
}
