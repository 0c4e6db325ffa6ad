/**
 * `/events/list` over the log's durable order: pages (by `page_cursor`, by `unstable_offset`)
 * return every event once, newest first, in the same order as the whole log; a filter that matches
 * few events still finds them however far back they are; a restart on the same store (in memory,
 * SQLite) keeps the order; and a store written before the order existed is indexed on first use.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { schemas } from "@seamapi/types/connect"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Persistence, Server, ServerConfig } from "../src/index.js"
import { client } from "./helpers.js"

const W = { id: "3b2a1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d", key: "seam_test_events_list" }

let dir = ""
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "credsync-seam-events-"))
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

interface Listed {
  readonly events: ReadonlyArray<{ readonly event_id: string; readonly event_type: string; readonly acs_user_id?: string }>
  readonly pagination: { readonly has_next_page: boolean; readonly next_page_cursor: string | null; readonly next_page_url: string | null }
}

const isListed = (x: unknown): x is Listed => typeof x === "object" && x !== null && "events" in x && "pagination" in x

/** One `/events/list` request; the raw answer (the SDK's `list` drops `pagination`). */
const list = async (server: Server.Handle, body: Record<string, unknown>): Promise<Listed> => {
  const res = await fetch(`${server.url}/events/list`, {
    method: "POST",
    headers: { authorization: `Bearer ${W.key}`, "content-type": "application/json" },
    body: JSON.stringify(body)
  })
  const answer: unknown = await res.json()
  if (res.status !== 200 || !isListed(answer)) throw new Error(`/events/list ${res.status}: ${JSON.stringify(answer)}`)
  return answer
}

/** Every page of a listing, by `page_cursor`. */
const allPages = async (server: Server.Handle, body: Record<string, unknown>) => {
  const pages: Array<Listed> = []
  let cursor: string | null = null
  do {
    const page: Listed = await list(server, { ...body, ...(cursor === null ? {} : { page_cursor: cursor }) })
    pages.push(page)
    cursor = page.pagination.next_page_cursor
    expect(page.pagination.has_next_page).toBe(cursor !== null)
  } while (cursor !== null && pages.length < 100)
  return pages
}

/** The whole log newest first, as the workspace holds it (oldest first, reversed). */
const wholeLog = (server: Server.Handle) =>
  Effect.runPromise(server.workspace(W.id).events).then((all) => all.map((e) => e.event_id).reverse())

const options = (persistence: Persistence.Source): Server.Options => ({
  workspaces: [{ id: W.id, apiKeys: [Redacted.make(W.key)], tickMs: 20, persistence }]
})

/** `n` ACS users: one `acs_user.created` each. */
const acsUsers = async (server: Server.Handle, n: number, prefix: string) => {
  const seam = client(W.key, server.url)
  const acs = (await seam.acs.systems.list()).find((s) => !s.is_credential_manager)
  if (acs === undefined) throw new Error("no ACS")
  const ids: Array<string> = []
  for (let k = 0; k < n; k++) ids.push((await seam.acs.users.create({ acs_system_id: acs.acs_system_id, full_name: `${prefix} ${k}` })).acs_user_id)
  return ids
}

describe("/events/list pages over the log's order", () => {
  it("returns every event once, newest first, across pages; offset and filters agree", async () => {
    const server = await Server.start(options(Persistence.memoryLayer()))
    try {
      const users = await acsUsers(server, 23, "User")
      const log = await wholeLog(server)
      expect(log).toHaveLength(23)

      const pages = await allPages(server, { limit: 5 })
      expect(pages.map((p) => p.events.length)).toEqual([5, 5, 5, 5, 3])
      const paged = pages.flatMap((p) => p.events.map((e) => e.event_id))
      expect(paged).toEqual(log)
      // newest first: the last ACS user created is the first event
      expect(pages[0]?.events[0]?.acs_user_id).toBe(users[users.length - 1])
      for (const p of pages) for (const e of p.events) schemas.seam_event.parse(e)
      expect(pages[0]?.pagination.next_page_url).toMatch(/\/events\/list\?page_cursor=/)

      // Seam's unstable_offset: the same order
      const byOffset: Array<string> = []
      for (let offset = 0; offset < 30; offset += 4) byOffset.push(...(await list(server, { limit: 4, unstable_offset: offset })).events.map((e) => e.event_id))
      expect(byOffset).toEqual(log)
      // without a limit: the whole log in one page
      const whole = await list(server, {})
      expect(whole.events.map((e) => e.event_id)).toEqual(log)
      expect(whole.pagination).toEqual({ has_next_page: false, next_page_cursor: null, next_page_url: null })

      // a filter that matches one event far back in the log finds it, with no next page
      const first = users[0] ?? ""
      const one = await list(server, { acs_user_id: first, limit: 1 })
      expect(one.events.map((e) => e.acs_user_id)).toEqual([first])
      expect(one.pagination.has_next_page).toBe(false)
      // a filter matching two events, one per page
      const two = await allPages(server, { acs_user_ids: undefined, event_ids: [log[3], log[20]], limit: 1 })
      expect(two.flatMap((p) => p.events.map((e) => e.event_id))).toEqual([log[3], log[20]])
      expect(two).toHaveLength(2)
      // nothing matches: an empty page
      expect((await list(server, { event_type: "phone.deactivated" })).events).toEqual([])

      // events recorded after a page was read are newer: the cursor's next page is unchanged
      const firstPage = await list(server, { limit: 10 })
      await acsUsers(server, 2, "Later")
      const next = await list(server, { limit: 10, page_cursor: firstPage.pagination.next_page_cursor })
      expect(next.events.map((e) => e.event_id)).toEqual(log.slice(10, 20))

      // a cursor that is not one of ours is 400 naming it, an offset that is not a number too
      const bad = await fetch(`${server.url}/events/list`, {
        method: "POST",
        headers: { authorization: `Bearer ${W.key}`, "content-type": "application/json" },
        body: JSON.stringify({ page_cursor: "nope" })
      })
      expect(bad.status).toBe(400)
      expect(JSON.stringify(await bad.json())).toContain("page_cursor")
      const badOffset = await fetch(`${server.url}/events/list?unstable_offset=-1`, { headers: { authorization: `Bearer ${W.key}` } })
      expect(badOffset.status).toBe(400)
      expect(JSON.stringify(await badOffset.json())).toContain("unstable_offset")
      // GET with a query string
      const got = await fetch(`${server.url}/events/list?limit=2&unstable_offset=1`, { headers: { authorization: `Bearer ${W.key}` } })
      const gotBody: unknown = await got.json()
      expect(isListed(gotBody) && gotBody.events.map((e) => e.event_id)).toEqual((await wholeLog(server)).slice(1, 3))
    } finally {
      await server.close()
    }
  }, 60_000)

  it("finds a match behind more than one read of the store (the order is read 200 entries at a time)", async () => {
    const server = await Server.start(options(Persistence.memoryLayer()))
    try {
      const users = await acsUsers(server, 230, "Many")
      const oldest = users[0] ?? ""
      const found = await list(server, { acs_user_id: oldest, limit: 5 })
      expect(found.events.map((e) => e.acs_user_id)).toEqual([oldest])
      expect(found.pagination.has_next_page).toBe(false)
      const log = await wholeLog(server)
      const paged = (await allPages(server, { limit: 150 })).flatMap((p) => p.events.map((e) => e.event_id))
      expect(paged).toEqual(log)
    } finally {
      await server.close()
    }
  }, 60_000)

  const stores: ReadonlyArray<readonly [string, () => () => Persistence.Source]> = [
    [
      "in memory (kept across the restart)",
      () => {
        const kept = Persistence.memory()
        return () => Persistence.layer(kept)
      }
    ],
    [
      "SQLite",
      () => {
        const filename = join(dir, "events-restart.db")
        return () => ServerConfig.defaultBackends.sqlite({ filename, workspaceId: W.id })
      }
    ]
  ]

  it.each(stores)("a restart keeps the order: %s", async (_name, make) => {
    const persistence = make()
    let server = await Server.start(options(persistence()))
    await acsUsers(server, 12, "Before")
    const before = (await allPages(server, { limit: 5 })).flatMap((p) => p.events.map((e) => e.event_id))
    expect(before).toHaveLength(12)
    await server.close()
    server = await Server.start(options(persistence()))
    try {
      expect((await allPages(server, { limit: 5 })).flatMap((p) => p.events.map((e) => e.event_id))).toEqual(before)
      await acsUsers(server, 3, "After")
      const after = (await allPages(server, { limit: 4 })).flatMap((p) => p.events.map((e) => e.event_id))
      expect(after.slice(3)).toEqual(before)
      expect(after).toEqual(await wholeLog(server))
    } finally {
      await server.close()
    }
  }, 60_000)

  it("lists events recorded before the order existed (indexed once, on first use)", async () => {
    const kept = Persistence.memory()
    let server = await Server.start(options(Persistence.layer(kept)))
    await acsUsers(server, 7, "Old")
    const before = await wholeLog(server)
    await server.close()
    // what an older version left: event records without order entries, and no "indexed" mark
    await Effect.runPromise(
      Effect.gen(function* () {
        for (const kind of ["seam-event-order", "seam-event-order-meta"]) {
          for (const r of yield* kept.records.list(kind, { limit: 10_000 })) yield* kept.records.remove(kind, r.key, r.version)
        }
        expect(yield* kept.records.list("seam-event-order", { limit: 10 })).toEqual([])
      })
    )
    server = await Server.start(options(Persistence.layer(kept)))
    try {
      expect((await allPages(server, { limit: 3 })).flatMap((p) => p.events.map((e) => e.event_id))).toEqual(before)
      const entries = await Effect.runPromise(kept.records.list("seam-event-order", { limit: 10_000 }))
      expect(entries).toHaveLength(7)
    } finally {
      await server.close()
    }
  }, 60_000)
})
