/**
 * The engine on the HID adapter against the fake, in virtual time (the testkit World's TestClock): HID's
 * failures the planner repairs (UNBOUND, CREATION_FAILURE), and HID's request budget under traffic about
 * users credsync does not manage and under polling.
 */
import { Command, Ids } from "@credsync/core"
import { World } from "@credsync/testkit"
import { Effect, Redacted } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import * as HidProvider from "./HidProvider.js"

const profile = { cardFormat: "rfid48", facilityCode: "9" }
const worlds: Array<{ world: World; provider: HidProvider.HidProvider }> = []

afterEach(async () => {
  for (const { world, provider } of worlds.splice(0)) {
    await world.dispose()
    await provider.close?.()
  }
})

const start = async (options: HidProvider.HidProviderOptions = {}) => {
  const provider = await HidProvider.make({ seed: 11, ...options })
  const world = new World({ provider })
  worlds.push({ world, provider })
  return { world, provider }
}

/** ana: an ACS user, HID enrolment for her phones and one multi-phone sync credential. */
const ana = async (world: World, provider: HidProvider.HidProvider) => {
  const acsUser = await world.effect(provider.acs.createUser(provider.acsSystemId, { fullName: "Ana Example" }))
  const run = (command: Command.Encoded) => world.ok((e) => e.execute(Command.make(command)))
  await run({ _tag: "CreateUserIdentity", userIdentityId: "ana", email: "ana@example.com" })
  await run({ _tag: "LinkAcsUser", userIdentityId: "ana", acsUserId: acsUser.id, acsSystemId: provider.acsSystemId })
  await run({ _tag: "LaunchAutomation", userIdentityId: "ana", automationId: "auto-ana", managerId: provider.managerId })
  await run({ _tag: "CreateSyncCredential", userIdentityId: "ana", credentialId: "badge-ana", acsUserId: acsUser.id, managerId: provider.managerId, ...profile })
  return acsUser.id
}

const phoneOnline = (world: World, phoneId: string) =>
  world.ok((e) => e.execute(Command.make({ _tag: "PhoneOnline", userIdentityId: "ana", phoneId, deviceType: "ios_phone" })))

/** The phone's credential as the engine holds it, once issued at HID and assigned in the ACS. */
const assigned = async (world: World, phoneId: string) => {
  const s = await world.state("ana")
  const child = (s?.children ?? []).find((c) => c.phoneId === phoneId && !c.retiring)
  return child?.issue === "active" && child.assigned ? child : undefined
}

/**
 * Drives the world the way a host does, driven by HID's callbacks: the app redeems codes, HID's deliveries
 * go to the engine, due work runs, phones sync; virtual time moves only to the next due time. Returns the
 * virtual milliseconds it took `probe` to hold.
 */
const until = async <A>(world: World, provider: HidProvider.HidProvider, probe: () => Promise<A | undefined>, maxMs: number) => {
  const t0 = await world.now()
  for (let step = 0; step < 200; step++) {
    await world.ok((e) => e.drain)
    await world.redeemAll(["ana"])
    await world.deliverCallbacks()
    await world.ok((e) => e.drain)
    await world.effect(provider.settle)
    await world.deliverCallbacks()
    await world.ok((e) => e.drain)
    const found = await probe()
    const elapsed = (await world.now()) - t0
    if (found !== undefined) return { found, elapsed }
    if (elapsed > maxMs) break
    const next = await world.ok((e) => e.nextDue)
    const now = await world.now()
    await world.advance(next === undefined ? 1_000 : Math.max(1, Math.min(next - now, 1_000)))
  }
  throw new Error(`not reached within ${maxMs} ms of virtual time`)
}

const liveOn = async (provider: HidProvider.HidProvider, endpoint: string) =>
  (await provider.truth.pipe(Effect.runPromise)).credentials.filter((c) => c.endpoint === endpoint && c.live)

describe("engine on the HID adapter: failures HID reports are repaired", () => {
  it("a credential HID reports UNBOUND is replaced on the same phone, and its card leaves the ACS", async () => {
    const { world, provider } = await start()
    const acsUser = await ana(world, provider)
    await phoneOnline(world, "iphone")
    const first = (await until(world, provider, () => assigned(world, "iphone"), 10_000)).found
    const endpoint = first.endpoint
    provider.fake.controls.unbindCredential(first.ref ?? "")

    const second = (await until(world, provider, async () => {
      const c = await assigned(world, "iphone")
      return c !== undefined && c.ref !== first.ref ? c : undefined
    }, 30_000)).found
    expect(second.endpoint).toBe(endpoint)
    expect((await liveOn(provider, endpoint)).map((c) => c.ref)).toEqual([second.ref])
    const acs = (await world.effect(provider.acs.observe(provider.acsSystemId, { users: [acsUser], cardNumbers: [] }))).filter((e) => e.assignedTo === acsUser)
    expect(acs.map((e) => e.cardNumber)).toEqual([second.cardNumber])
    const statuses = new Map(provider.fake.controls.snapshot().credentials.map((c) => [c.id, c.status]))
    expect(statuses.get(first.ref ?? "")).toBe("UNBOUND")
  })

  it("an issuance HID reports as CREATION_FAILURE is issued again", async () => {
    const { world, provider } = await start()
    await ana(world, provider)
    provider.fake.controls.setIssuanceFailure(1)
    await phoneOnline(world, "iphone")
    await until(
      world,
      provider,
      async () => (provider.fake.controls.snapshot().credentials.some((c) => c.status === "CREATION_FAILURE") ? true : undefined),
      10_000
    )
    provider.fake.controls.setIssuanceFailure(0)
    const child = (await until(world, provider, () => assigned(world, "iphone"), 30_000)).found
    const credentials = provider.fake.controls.snapshot().credentials
    expect(credentials.filter((c) => c.containerId === child.endpoint).map((c) => c.status).sort()).toEqual(["CREATION_FAILURE", "ISSUED"])
    const s = await world.state("ana")
    expect((s?.children ?? []).filter((c) => c.issue === "failed")).toEqual([])
  })
})

describe("engine on the HID adapter: HID's request budget", () => {
  /** ordinary traffic of a shared HID organization: 320 events about 280 users of other systems */
  const foreign = Array.from({ length: 320 }, (_, i) => ({
    specversion: "1.0",
    id: `foreign-${i}`,
    type: ["com.origo.mi.user", "com.origo.mi.endpoint", "com.origo.mi.credential"][i % 3],
    source: "https://ma.api.assaabloy.com/credential-management/customer/1234567",
    time: "2026-11-28T10:00:00.000Z",
    data: {
      userId: String(700_000 + (i % 280)),
      endpointId: String(800_000 + i),
      invitationId: String(600_000 + i),
      mid: 900_000 + i,
      cardNumber: i,
      status: ["USER_CREATED", "ENDPOINT_ACTIVE", "CREDENTIAL_ISSUED"][i % 3]
    }
  }))

  it("a callback batch of 320 events about users credsync does not manage makes no HID call, and a new phone still gets its credential promptly", async () => {
    // HID's documented limit, applied by the fake (403 beyond it) and kept by the client.
    const { world, provider } = await start({ rateLimit: { limit: 300, windowMs: 300_000 } })
    await ana(world, provider)
    await phoneOnline(world, "iphone")
    await until(world, provider, () => assigned(world, "iphone"), 10_000)

    const before = provider.fake.controls.stats()
    const observations = await world.effect(
      provider.events.ingest({
        headers: { "content-type": "application/cloudevents-batch+json", "x-api-key": Redacted.value(provider.apiKey) },
        body: JSON.stringify(foreign)
      })
    )
    expect(observations).toEqual([])
    expect(provider.fake.controls.stats().apiRequests).toBe(before.apiRequests)
    expect(provider.fake.controls.stats().tokensIssued).toBe(before.tokensIssued)

    await phoneOnline(world, "ipad")
    const { found, elapsed } = await until(world, provider, () => assigned(world, "ipad"), 60_000)
    // nothing had to wait for HID's budget: the phone's credential came without any virtual time passing
    expect(elapsed).toBe(0)
    expect(await liveOn(provider, found.endpoint)).toHaveLength(1)
    expect(provider.fake.controls.stats().rateLimited).toBe(0)
  })

  it("polling that spent its share of HID's budget does not hold up a new phone: issue goes first", async () => {
    const limit = 40
    const { world, provider } = await start({ rateLimit: { limit, windowMs: 300_000 } })
    await ana(world, provider)
    await phoneOnline(world, "iphone")
    await until(world, provider, () => assigned(world, "iphone"), 10_000)
    const s = await world.state("ana")
    const hidUser = Object.values(s?.managerUsers ?? {})[0]?.ref
    expect(hidUser).toBeDefined()
    // a host polling HID's user as fast as it can: polling takes at most 70% of the window
    let polls = 0
    for (;;) {
      const exit = await world.runtime.runPromiseExit(provider.events.poll([Ids.ProviderRef.make(hidUser ?? "")]))
      if (exit._tag === "Failure") break
      polls++
      expect(polls).toBeLessThan(limit)
    }
    expect(await world.effect(provider.client.budgetUsed)).toBe(Math.floor(limit * 0.7))

    await phoneOnline(world, "ipad")
    const { found, elapsed } = await until(world, provider, () => assigned(world, "ipad"), 60_000)
    expect(elapsed).toBe(0)
    expect(await liveOn(provider, found.endpoint)).toHaveLength(1)
    // HID never had to refuse anything: the client kept within its limit
    expect(provider.fake.controls.stats().rateLimited).toBe(0)
  })
})
