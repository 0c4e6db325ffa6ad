/**
 * Test helpers shared by the HTTP adapters' property tests: a loopback receiver that records what
 * a provider delivers (callbacks, webhooks), and a seeded random source.
 *
 * @since 0.1.0
 */
import { createServer, type IncomingHttpHeaders } from "node:http"

export interface Delivery {
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

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

/** A seeded generator of numbers in [0, 1) (mulberry32): the same seed, the same run. */
export const seeded = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
