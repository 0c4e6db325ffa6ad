/**
 * Which URLs a webhook may point at. The server POSTs to them from inside the deployment, so a URL
 * naming a loopback, private, link-local (cloud metadata), carrier-grade NAT, multicast or reserved
 * address would let any API key holder make the server call into its own network (server-side
 * request forgery). Such URLs are refused unless the workspace allows them (tests with a loopback
 * receiver; a receiver on the same private network on purpose).
 *
 * A host name is resolved and every address it resolves to must be public; it is checked again
 * before each delivery (a name that resolved publicly at registration may not any more), and
 * deliveries do not follow redirects.
 *
 * @internal
 */
import { lookup } from "node:dns/promises"
import { isIPv4, isIPv6 } from "node:net"

const v4 = (ip: string): number | undefined => {
  const parts = ip.split(".").map(Number)
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined
  return parts.reduce((acc, p) => acc * 256 + p, 0)
}

// [first address, prefix length] of the IPv4 ranges that are not public unicast
const v4Blocked: ReadonlyArray<readonly [string, number]> = [
  ["0.0.0.0", 8], // this network
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local (cloud metadata services)
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4] // reserved and broadcast
]

const inBlock = (n: number, [first, prefix]: readonly [string, number]) => {
  const base = v4(first) ?? 0
  const size = 2 ** (32 - prefix)
  return n >= base && n < base + size
}

/** The 8 groups of an IPv6 address (`::` expanded, a trailing dotted IPv4 folded in). */
const groups = (ip: string): ReadonlyArray<number> | undefined => {
  let s = ip.toLowerCase().split("%")[0] ?? ""
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s)?.[1]
  if (dotted !== undefined) {
    const n = v4(dotted)
    if (n === undefined) return undefined
    s = `${s.slice(0, -dotted.length)}${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`
  }
  const [head = "", tail] = s.split("::")
  const h = head === "" ? [] : head.split(":")
  const t = tail === undefined || tail === "" ? [] : tail.split(":")
  const fill = tail === undefined ? 0 : 8 - h.length - t.length
  const all = [...h, ...Array.from({ length: fill }, () => "0"), ...t].map((g) => Number.parseInt(g, 16))
  return all.length === 8 && all.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? all : undefined
}

/**
 * Is this IP address anything but public unicast? (Unparseable counts as not public.)
 *
 * @internal
 */
export const isNonPublicAddress = (ip: string): boolean => {
  if (isIPv4(ip)) {
    const n = v4(ip)
    return n === undefined || v4Blocked.some((b) => inBlock(n, b))
  }
  if (!isIPv6(ip)) return true
  const g = groups(ip)
  if (g === undefined) return true
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, x = 0, y = 0] = g
  const embedded = `${x >> 8}.${x & 255}.${y >> 8}.${y & 255}`
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && (f === 0xffff || f === 0)) {
    // ::, ::1, IPv4-mapped and IPv4-compatible: judged by the IPv4 address inside
    return f === 0 && x === 0 && y <= 1 ? true : isNonPublicAddress(embedded)
  }
  if (a === 0x64 && b === 0xff9b) return isNonPublicAddress(embedded) // NAT64
  if ((a & 0xfe00) === 0xfc00) return true // unique local
  if ((a & 0xffc0) === 0xfe80) return true // link-local
  if ((a & 0xff00) === 0xff00) return true // multicast
  if (a === 0x2001 && b === 0x0db8) return true // documentation
  return false
}

/** Why a URL is refused, or undefined when it may be used. */
export type Verdict = string | undefined

/**
 * Check a webhook URL: http(s), no credentials in it, and (unless `allowPrivate`) a host whose every
 * address is public. A name that does not resolve is refused (nothing could be delivered).
 *
 * @internal
 */
export const check = async (raw: string, allowPrivate: boolean): Promise<Verdict> => {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return "Expected an http(s) URL"
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "Expected an http(s) URL"
  if (url.username !== "" || url.password !== "") return "The URL must not carry credentials"
  if (allowPrivate) return undefined
  const host = url.hostname.replace(/^\[|\]$/g, "")
  const refused = "The URL must name a public host: loopback, private, link-local and reserved addresses are refused"
  if (host === "localhost" || host.endsWith(".localhost")) return refused
  if (isIPv4(host) || isIPv6(host)) return isNonPublicAddress(host) ? refused : undefined
  let addresses: ReadonlyArray<{ readonly address: string }>
  try {
    addresses = await lookup(host, { all: true, verbatim: true })
  } catch {
    return "The URL's host name does not resolve"
  }
  return addresses.length === 0 || addresses.some((a) => isNonPublicAddress(a.address)) ? refused : undefined
}
