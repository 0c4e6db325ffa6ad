import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import { SeamHttp } from "@seamapi/http/connect"
import { Loopback } from "@credsync/testkit"

export const until = Loopback.until

/** The official client, as the brief says tests must configure it. */
export const client = (apiKey: string, endpoint: string): SeamHttp =>
  SeamHttp.fromApiKey(apiKey, { endpoint, isUndocumentedApiEnabled: true, axiosRetryOptions: { retries: 0 } })

export interface Received {
  readonly body: string
  readonly headers: Record<string, string>
}

const flat = (h: IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(h)) if (typeof v === "string") out[k] = v
  return out
}

/** A local webhook receiver on 127.0.0.1. */
export const receiver = async () => {
  const received: Array<Received> = []
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      received.push({ body: Buffer.concat(chunks).toString("utf8"), headers: flat(req.headers) })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  const address: AddressInfo | string | null = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r()))
  }
}

/** Run and return the rejection (fails the test when it resolves). */
export const rejection = async (p: Promise<unknown>): Promise<unknown> => {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error("expected a rejection")
}
