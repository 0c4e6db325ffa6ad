/**
 * Helpers for tests against servers on loopback: a receiver that records what a provider delivers
 * (callbacks, webhooks), and a bounded poll. Seeded randomness lives in `@credsync/adapter-memory`'s
 * `Seeded`.
 *
 * @since 0.1.0
 */
import { createServer, type IncomingHttpHeaders } from "node:http"

/** One request received by a loopback receiver. */
export interface Delivery {
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/** A loopback HTTP receiver (callbacks, webhooks) with its URL and what it received. */
export interface Receiver {
  readonly url: string
  /** The deliveries since the last call. */
  readonly take: () => Array<Delivery>
  readonly close: () => Promise<void>
}

/** Listen on 127.0.0.1 (port 0), record every request, answer `status`. */
export const receiver = async (path: string, status = 200): Promise<Receiver> => {
  const received: Array<Delivery> = []
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") })
      res.writeHead(status).end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("the loopback receiver did not bind a TCP port")
  return {
    url: `http://127.0.0.1:${address.port}${path}`,
    take: () => received.splice(0),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

/** Poll until `check` returns a value: a bounded number of attempts, never an assertion on time. */
export const until = async <A>(what: string, check: () => Promise<A | undefined>, tries = 400, everyMs = 25): Promise<A> => {
  for (let i = 0; i < tries; i++) {
    const v = await check()
    if (v !== undefined) return v
    await new Promise((r) => setTimeout(r, everyMs))
  }
  throw new Error(`did not converge: ${what}`)
}
