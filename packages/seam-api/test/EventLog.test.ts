/**
 * The event log's outbox protocol, instance by instance, with the races made to happen: two
 * instances translating the same part of the feed (one read the cursor before the other moved it),
 * an instance that recorded an event and stalls before delivering it (taken over only once its
 * claim is older than `takeoverAfter`, in TestClock time), and a damaged record (a typed error).
 */
import { MemoryRecords, MemoryStore } from "@credsync/adapter-memory"
import { Ids, type Records, type Store } from "@credsync/core"
import { Effect, Exit, Option, Redacted, Scope } from "effect"
import { TestClock } from "effect/testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as EventLog from "../src/internal/eventLog.js"
import type * as Webhooks from "../src/Webhooks.js"
import { deliveryCounts } from "./durable.js"
import { receiver, until } from "./helpers.js"

let hooks: Awaited<ReturnType<typeof receiver>>
beforeAll(async () => {
  hooks = await receiver()
})
afterAll(async () => {
  await hooks?.close()
})

const deactivated = (seq: number): Store.StoredEvent => ({
  seq,
  event: { _tag: "PhoneDeactivated", identity: Ids.UserIdentityId.make("u1"), at: 1_000 + seq, phoneId: Ids.PhoneId.make(`p${seq}`) }
})

/** A store whose feed is `feed` (the log only reads the feed). */
const feedStore = (feed: ReadonlyArray<Store.StoredEvent>): Store.StoreShape => ({
  ...MemoryStore.make(),
  events: ({ after, limit }) => Effect.succeed(feed.filter((e) => e.seq > after).slice(0, limit))
})

const webhookTo = (url: string): Webhooks.Webhook => ({
  webhook_id: "w1",
  url,
  event_types: undefined,
  secret: Redacted.make(`whsec_${Buffer.from("0123456789abcdef0123456789abcdef").toString("base64")}`),
  created_at: new Date(0).toISOString()
})

const logOn = (records: Records.RecordsShape, store: Store.StoreShape, owner: string, webhook: Webhooks.Webhook, lines: Array<string>) =>
  EventLog.make({
    records,
    store,
    ctx: { workspaceId: "ws", connectedAccountId: "ca" },
    owner,
    // the receiver is on loopback
    delivery: { takeoverAfter: "30 seconds", allowPrivateUrls: true },
    webhooks: Effect.succeed([webhook]),
    webhook: (id) => Effect.succeed(id === webhook.webhook_id ? webhook : undefined),
    onDomainEvent: () => Effect.void,
    log: (line) => lines.push(`${owner}: ${line}`)
  })

const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(TestClock.layer())))

const delivered = (n: number) => Effect.promise(() => until(`${n} deliveries`, async () => (hooks.received.length >= n ? true : undefined)))

describe("the event log across instances", () => {
  it("two instances translating the same feed record each event once and deliver it once", async () => {
    hooks.received.splice(0)
    const lines: Array<string> = []
    await run(
      Effect.gen(function* () {
        const records = MemoryRecords.make()
        const store = feedStore([1, 2, 3, 4, 5].map(deactivated))
        // B read the cursor before A moved it: its first pass starts from the feed's start again
        let stale = true
        const staleOnce: Records.RecordsShape = {
          ...records,
          get: (kind, key) =>
            kind === "seam-tail" && stale
              ? Effect.sync(() => {
                  stale = false
                  return Option.none()
                })
              : records.get(kind, key)
        }
        const webhook = webhookTo(hooks.url)
        const a = yield* logOn(records, store, "A", webhook, lines)
        const b = yield* logOn(staleOnce, store, "B", webhook, lines)
        yield* a.sync
        yield* b.sync
        expect(stale).toBe(false)
        yield* delivered(5)
        const events = yield* b.list
        expect(events.map((e) => e.event_type)).toEqual(Array(5).fill("phone.deactivated"))
        expect(events.map((e) => e.device_id)).toEqual(["p1", "p2", "p3", "p4", "p5"])
        // both again, at once: nothing new
        yield* Effect.all([a.sync, b.sync], { concurrency: 2 })
        expect((yield* a.list).length).toBe(5)
        // every delivery finished: no outbox entry left
        yield* Effect.promise(() =>
          until("outbox empty", () => Effect.runPromise(Effect.map(records.list("seam-outbox", { limit: 10 }), (r) => (r.length === 0 ? true : undefined))))
        )
        const counts = deliveryCounts(hooks.received)
        expect([...counts.values()]).toEqual([1, 1, 1, 1, 1])
        expect([...counts.keys()].sort()).toEqual(events.map((e) => e.event_id).sort())
      })
    )
    expect(lines).toEqual([])
  })

  it("an instance that recorded an event and stalls is taken over only once its claim is stale", async () => {
    hooks.received.splice(0)
    const lines: Array<string> = []
    await run(
      Effect.gen(function* () {
        const records = MemoryRecords.make()
        const store = feedStore([deactivated(1)])
        // A's claim before its first delivery attempt never returns (it stalls, or dies)
        const stalls: Records.RecordsShape = {
          ...records,
          put: (kind, key, value, expected) => (kind === "seam-event" && expected > 0 ? Effect.never : records.put(kind, key, value, expected))
        }
        const webhook = webhookTo(hooks.url)
        const scopeA = yield* Scope.make()
        const a = yield* logOn(stalls, store, "A", webhook, lines).pipe(Scope.provide(scopeA))
        const b = yield* logOn(records, store, "B", webhook, lines)
        yield* a.sync
        const [event] = yield* b.list
        if (event === undefined) throw new Error("the event was not recorded")
        const claimOf = Effect.map(records.get("seam-event", event.event_id), (o) =>
          Option.match(o, { onNone: () => undefined, onSome: (r) => JSON.stringify(r.value) })
        )
        expect(yield* claimOf).toContain('"owner":"A"')
        expect(Option.isSome(yield* records.get("seam-outbox", event.event_id))).toBe(true)

        // B's sweep leaves a fresh claim alone (given real time to do otherwise: what it forks runs meanwhile)
        yield* b.sweep
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 200)))
        expect(yield* claimOf).toContain('"owner":"A"')
        expect(hooks.received).toEqual([])
        // ... and takes over a stale one
        yield* TestClock.adjust("30 seconds")
        yield* b.sweep
        yield* delivered(1)
        yield* Effect.promise(() =>
          until("delivery recorded", () =>
            Effect.runPromise(Effect.map(records.get("seam-outbox", event.event_id), (o) => (Option.isNone(o) ? true : undefined)))
          )
        )
        expect(yield* claimOf).toContain('"pending":{}')
        yield* Scope.close(scopeA, Exit.void)
        expect([...deliveryCounts(hooks.received)]).toEqual([[event.event_id, 1]])
      })
    )
    expect(lines).toEqual([])
  })

  it("a damaged record is a typed error naming the record, in one line", async () => {
    const exit = await run(
      Effect.gen(function* () {
        const records = MemoryRecords.make()
        yield* records.put("seam-event", "e1", { event: { event_id: 42 } }, 0)
        const log = yield* logOn(records, feedStore([]), "A", webhookTo(hooks.url), [])
        return yield* Effect.exit(log.list)
      })
    )
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? Option.getOrUndefined(Exit.findErrorOption(exit)) : undefined
    expect(error?.reason).toBe("Unknown")
    expect(error?.message).toMatch(/^damaged seam-event record e1: /)
    expect(error?.message).not.toContain("\n")
  })
})

