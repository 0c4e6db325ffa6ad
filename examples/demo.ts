/**
 * The main job: a day in a building that issues mobile keys with credsync.
 *
 * On embedded defaults (no account needed): the in-memory credential manager simulator (HID Origo
 * style), an in-memory ACS, and the durable SQLite store in a file under the OS temp dir (or the path
 * given with `--db=<file>`). Time is virtual, so the day plays in a few seconds.
 *
 * Five people, phones coming online through the day, an invitation that expires and is retried,
 * a burst of provider faults (transient errors, rate limits, lost responses, duplicated and reordered
 * callbacks), an engine crash in the middle of an issue, a lost phone, a sync credential deleted, and
 * a credential deleted behind the engine's back. Then a table per person and a verdict computed from
 * the simulator's ground truth. Exit code 0 only if the invariant holds.
 *
 *   pnpm demo                      # fresh store under the OS temp dir
 *   pnpm demo -- --db=./day.db     # a store file of your choice
 */
import { tmpdir } from "node:os"
import { join } from "node:path"
import { MemoryAccessControl, MemoryCredentialManager, Simulator } from "@credsync/adapter-memory"
import { type Event, Engine, type Identity, Ids, Notices, Observability, Store } from "@credsync/core"
import { SqliteStore } from "@credsync/store-sqlite"
import { Effect, Exit, Layer, Option, Schedule } from "effect"
import { TestClock } from "effect/testing"
import * as DemoMetrics from "./demoMetrics.js"

const dbArg = process.argv.find((a) => a.startsWith("--db="))?.slice(5)
const dbPath = dbArg ?? join(tmpdir(), `credsync-demo-${process.pid}-${Date.now()}.db`)
const day = Date.UTC(2026, 10, 28, 7, 0)
const minute = 60_000

const sim = Simulator.make({ seed: 2026, issueDelay: 1.5 * minute, invitationTtl: 45 * minute })
const manager = Simulator.defaultManagerId
const acsSystem = Simulator.defaultAcsId

const clock = (t: number) => new Date(t).toISOString().slice(11, 16)
const log = (t: number, line: string) => console.log(`  ${clock(t)}  ${line}`)

interface Person {
  readonly id: string
  readonly name: string
  acsUserId?: string
  readonly parents: Map<string, string>
}
interface PhoneScript {
  readonly id: string
  readonly owner: string
  readonly label: string
  readonly type: "ios_phone" | "android_phone"
  /** minutes the app takes to redeem a code; the first `ignore` codes are never redeemed (app offline) */
  readonly redeemAfter: number
  ignore: number
  active: boolean
}

const people: Array<Person> = ["Ana", "Ben", "Chen", "Dana", "Eli"].map((name) => ({
  id: `user-${name.toLowerCase()}`,
  name,
  parents: new Map()
}))
const person = (name: string) => people.find((p) => p.name === name)!
const phones: Array<PhoneScript> = []
const endpointOwner = new Map<string, string>()
const redeemAt = new Map<string, { at: number; phone: PhoneScript }>()

const program = Effect.gen(function* () {
  yield* TestClock.setTime(day)
  const store = yield* SqliteStore.make({ filename: dbPath })
  const ports = Layer.mergeAll(
    MemoryCredentialManager.layer(sim),
    MemoryAccessControl.layer(sim),
    Layer.succeed(Store.Store, Store.Store.of(store))
  )
  // Virtual time: in-call retries must not sleep (nothing would wake them), so they retry at once;
  // the engine's back-off between reconciles still runs on the virtual clock.
  const boot = Engine.make({ retry: Schedule.recurs(2) }).pipe(Effect.provide(ports))
  let engine = yield* boot
  let seen = 0
  const now = Effect.clockWith((c) => c.currentTimeMillis)

  const execute = (command: Record<string, unknown>) =>
    engine.execute(command).pipe(Effect.tapError((e) => Effect.sync(() => console.error(`  rejected: ${e.message}`))))

  // Print what the engine committed since last time, in words.
  const narrate = Effect.gen(function* () {
    const events = yield* store.events({ after: seen, limit: 10_000 })
    for (const { seq, event } of events) {
      seen = seq
      const line = describe(event)
      if (line !== undefined) log(event.at, line)
    }
  })

  // The world between two scripted moments: engine work, provider callbacks, the phone apps.
  const until = (t: number) =>
    Effect.gen(function* () {
      for (let step = 0; step < 10_000; step++) {
        const callbacks = yield* sim.takeCallbacks()
        for (const callback of callbacks) yield* Effect.ignore(engine.ingest(callback))
        const exit = yield* Effect.exit(engine.drain)
        if (Exit.isFailure(exit)) {
          yield* narrate
          log(yield* now, "!! the engine process died in the middle of an issue call; restarting on the same store")
          engine = yield* boot
          yield* engine.resyncAll
          continue
        }
        yield* narrate
        const redeemed = yield* apps
        if (callbacks.length > 0 || redeemed > 0 || exit.value > 0) continue
        const current = yield* now
        const due = [(yield* engine.nextDue) ?? Number.POSITIVE_INFINITY, ...[...redeemAt.values()].map((r) => r.at), t]
        const next = Math.min(...due)
        if (next >= t && current >= t) return
        if (next > current) yield* TestClock.setTime(Math.min(next, t))
      }
    })

  // Each phone's app redeems the invitation code the backend handed it (the engine's InvitationCreated).
  const apps = Effect.gen(function* () {
    const t = yield* now
    let redeemed = 0
    for (const p of people) {
      const state = yield* Effect.option(engine.get(Ids.UserIdentityId.make(p.id)))
      if (Option.isNone(state)) continue
      for (const e of Object.values(state.value.enrollments)) {
        const phone = phones.find((x) => x.id === e.phoneId)
        if (phone === undefined || e.status !== "invited" || e.code === undefined || redeemAt.has(e.code)) continue
        if (phone.ignore > 0) {
          phone.ignore--
          redeemAt.set(e.code, { at: Number.POSITIVE_INFINITY, phone })
          log(t, `${phone.label}: the app is offline and misses code ${e.code}`)
          continue
        }
        redeemAt.set(e.code, { at: t + phone.redeemAfter * minute, phone })
      }
    }
    for (const [code, r] of redeemAt) {
      if (r.at > t) continue
      redeemAt.set(code, { at: Number.POSITIVE_INFINITY, phone: r.phone })
      const endpoint = yield* Effect.option(sim.redeem(code))
      if (Option.isSome(endpoint)) {
        endpointOwner.set(endpoint.value, r.phone.id)
        redeemed++
        log(t, `${r.phone.label}: the app redeemed ${code} (endpoint ${endpoint.value})`)
      }
    }
    return redeemed
  })

  const at = (hhmm: string) => {
    const [h, m] = hhmm.split(":").map(Number)
    return day - 7 * 60 * minute + (h! * 60 + m!) * minute
  }
  const phoneOnline = (owner: string, label: string, type: PhoneScript["type"], redeemAfter: number, ignore = 0) =>
    Effect.gen(function* () {
      const phone: PhoneScript = { id: `phone-${phones.length + 1}`, owner: person(owner).id, label, type, redeemAfter, ignore, active: true }
      phones.push(phone)
      log(yield* now, `${label} comes online`)
      yield* execute({ _tag: "PhoneOnline", userIdentityId: phone.owner, phoneId: phone.id, deviceType: type })
    })
  const createParent = (owner: string, cardFormat: string, facilityCode: string) =>
    Effect.gen(function* () {
      const p = person(owner)
      const credentialId = `sync-${p.name.toLowerCase()}-${cardFormat}`
      yield* execute({
        _tag: "CreateSyncCredential",
        userIdentityId: p.id,
        credentialId,
        acsUserId: p.acsUserId,
        managerId: manager,
        cardFormat,
        facilityCode
      })
      p.parents.set(credentialId, `${cardFormat}/${facilityCode}`)
      log(yield* now, `${owner}: multi-phone sync credential ${cardFormat}, facility ${facilityCode}`)
    })

  console.log(`credsync demo: one day, store ${dbPath}\n`)
  // 07:00 the backend sets everyone up: user identity, ACS user, enrollment automation, sync credential
  for (const p of people) {
    const acsUser = yield* sim.acs.createUser(acsSystem, { fullName: p.name })
    p.acsUserId = acsUser.id
    yield* execute({ _tag: "CreateUserIdentity", userIdentityId: p.id, fullName: p.name, email: `${p.name.toLowerCase()}@example.com` })
    yield* execute({ _tag: "LinkAcsUser", userIdentityId: p.id, acsUserId: acsUser.id, acsSystemId: acsSystem })
    yield* execute({ _tag: "LaunchAutomation", userIdentityId: p.id, automationId: `auto-${p.name.toLowerCase()}`, managerId: manager })
    yield* createParent(p.name, "rfid48", "9")
  }
  yield* createParent("Chen", "h10301", "42")

  const script: ReadonlyArray<readonly [string, Effect.Effect<void, unknown>]> = [
    ["08:02", phoneOnline("Ana", "Ana's iPhone", "ios_phone", 2)],
    ["08:30", phoneOnline("Ben", "Ben's iPhone", "ios_phone", 4)],
    ["08:45", phoneOnline("Chen", "Chen's Pixel", "android_phone", 1)],
    ["09:10", phoneOnline("Dana", "Dana's iPhone", "ios_phone", 3, 1)],
    ["09:15", phoneOnline("Ana", "Ana's Galaxy", "android_phone", 6)],
    [
      "10:00",
      Effect.gen(function* () {
        log(yield* now, "provider trouble starts: 15% transient errors, 5% lost responses, rate limits, duplicated and reordered callbacks")
        yield* sim.setFaults({
          transient: 0.15,
          rateLimited: 0.05,
          retryAfter: 30_000,
          lostResponse: 0.05,
          duplicateCallbacks: 0.3,
          reorderCallbacks: 0.3,
          ops: { acsCreateUser: { transient: 0, rateLimited: 0, lostResponse: 0 } }
        })
      })
    ],
    ["10:20", phoneOnline("Eli", "Eli's iPhone", "ios_phone", 2)],
    ["10:40", phoneOnline("Chen", "Chen's iPad mini", "ios_phone", 3)],
    [
      "11:00",
      Effect.gen(function* () {
        yield* sim.failNext("issue", "Crash")
        yield* phoneOnline("Ben", "Ben's Galaxy", "android_phone", 1)
      })
    ],
    [
      "12:00",
      Effect.gen(function* () {
        log(yield* now, "provider trouble ends")
        yield* sim.setFaults({})
      })
    ],
    [
      "13:00",
      Effect.gen(function* () {
        const phone = phones.find((p) => p.label === "Ben's iPhone")!
        phone.active = false
        log(yield* now, "Ben reports his iPhone lost: deactivate it")
        yield* execute({ _tag: "DeactivatePhone", userIdentityId: phone.owner, phoneId: phone.id })
      })
    ],
    [
      "15:00",
      Effect.gen(function* () {
        const chen = person("Chen")
        log(yield* now, "Chen's h10301 sync credential is deleted")
        yield* execute({ _tag: "DeleteSyncCredential", userIdentityId: chen.id, credentialId: "sync-chen-h10301" })
        chen.parents.delete("sync-chen-h10301")
      })
    ],
    [
      "16:00",
      Effect.gen(function* () {
        const victim = (yield* sim.truth()).credentials.find((c) => c.live && endpointOwner.get(c.endpoint) === "phone-1")
        if (victim !== undefined) {
          log(yield* now, `someone deletes credential ${victim.ref} (Ana's iPhone) directly at the manager`)
          yield* sim.deleteCredential(victim.ref)
        }
      })
    ],
    [
      "17:00",
      Effect.gen(function* () {
        log(yield* now, "periodic resync: every identity is observed again")
        yield* engine.resyncAll
      })
    ],
    ["18:00", Effect.void]
  ]
  for (const [hhmm, step] of script) {
    yield* until(at(hhmm))
    yield* step
  }
  yield* until(at("19:00"))

  // The day is over: what does everyone have?
  console.log("\nEnd of day\n")
  const states = new Map<string, Identity.IdentityState>()
  for (const p of people) states.set(p.id, yield* engine.get(Ids.UserIdentityId.make(p.id)))
  const truth = yield* sim.truth()
  printTables(states, truth)
  console.log(`${yield* DemoMetrics.summary}\n`)
  return verdict(truth)
})

const describe = (e: Event.DomainEvent): string | undefined => {
  const who = people.find((p) => p.id === e.identity)?.name ?? e.identity
  const phoneLabel = (id: string) => phones.find((p) => p.id === id)?.label ?? id
  switch (e._tag) {
    case "InvitationCreated":
      return `${phoneLabel(e.phoneId)}: invitation ${e.code} handed to the app`
    case "PhoneEnrolled":
      return `${phoneLabel(e.phoneId)}: enrolled with the credential manager`
    case "EnrollmentFailed":
      return `${who}: enrollment failed (${e.error.code}); it will be retried`
    case "CredentialIssued":
      return e.active ? `${who}: credential ${e.cardNumber ?? ""} is active on the phone` : undefined
    case "CredentialAssigned":
      return `${who}: credential imported into the ACS and assigned`
    case "CredentialLost":
      return `${who}: a credential is missing at the manager (${e.reason}); issuing it again`
    case "CredentialRetiring":
      return `${who}: revoking a credential (${e.reason})`
    case "CredentialRevoked":
      return `${who}: credential revoked and removed from the ACS`
    case "ParentRemoved":
      return `${who}: sync credential ${e.credentialId} fully removed`
    default:
      return undefined
  }
}

const printTables = (states: Map<string, Identity.IdentityState>, truth: Simulator.Truth) => {
  for (const p of people) {
    const s = states.get(p.id)!
    console.log(`${p.name}  (${p.id}, ACS user ${p.acsUserId})`)
    for (const parent of Object.values(s.parents)) {
      const n = Notices.parent(s, parent)
      const shown = [...n.errors, ...n.warnings].map((x) => x.code).join(", ") || "in sync"
      console.log(`  sync credential ${parent.card.cardFormat}/${parent.card.facilityCode}: ${shown}`)
    }
    const rows: Array<Record<string, string>> = []
    for (const phone of phones.filter((x) => x.owner === p.id)) {
      const enrollment = Object.values(s.enrollments).find((e) => e.phoneId === phone.id)
      const creds = Object.values(s.children).filter((c) => c.phoneId === phone.id)
      const credText =
        creds.length === 0
          ? "-"
          : creds
              .map((c) => {
                const live = truth.credentials.find((t) => t.ref === c.ref)
                const acs = truth.acsEntries.find((a) => a.cardNumber === c.cardNumber)
                return `${s.parents[c.parentId]?.card.cardFormat ?? "?"} #${c.cardNumber ?? "?"} ${live?.status ?? c.issue}${acs?.assignedTo === p.acsUserId ? ", in ACS" : ""}`
              })
              .join("; ")
      rows.push({
        phone: phone.label,
        type: phone.type,
        status: s.phones[phone.id]?.active ? "active" : "deactivated",
        enrollment: enrollment?.status ?? "-",
        credentials: credText
      })
    }
    console.table(rows)
  }
}

/** The invariant, from the simulator's ground truth and the phones' own record of their endpoints. */
const verdict = (truth: Simulator.Truth): boolean => {
  const live = truth.credentials.filter((c) => c.live)
  const managed = truth.acsEntries.filter((e) => e.label.startsWith("credsync:"))
  let expected = 0
  let missing = 0
  const problems: Array<string> = []
  for (const p of people) {
    for (const phone of phones.filter((x) => x.owner === p.id && x.active)) {
      for (const profile of p.parents.values()) {
        expected++
        const mine = live.filter((c) => endpointOwner.get(c.endpoint) === phone.id && `${c.cardFormat}/${c.facilityCode}` === profile)
        if (mine.length !== 1) {
          missing++
          problems.push(`${phone.label}: ${mine.length} live ${profile} credentials`)
          continue
        }
        const entry = managed.find((e) => e.cardNumber === mine[0]!.cardNumber)
        if (entry?.assignedTo !== p.acsUserId) problems.push(`${phone.label}: ${profile} not assigned in the ACS`)
      }
    }
  }
  const pairs = new Map<string, number>()
  for (const c of live) pairs.set(`${c.endpoint}|${c.cardFormat}/${c.facilityCode}`, (pairs.get(`${c.endpoint}|${c.cardFormat}/${c.facilityCode}`) ?? 0) + 1)
  const duplicates = [...pairs.values()].filter((n) => n > 1).length
  const orphans = live.length - (expected - missing) - duplicates
  if (duplicates > 0) problems.push(`${duplicates} phones hold duplicate credentials`)
  if (orphans > 0) problems.push(`${orphans} orphan credentials at the manager`)
  if (managed.length !== expected) problems.push(`${managed.length} credentials in the ACS, want ${expected}`)
  const active = phones.filter((p) => p.active).length
  console.log("Verdict (from the simulator's ground truth)")
  console.table([
    {
      "active phones": active,
      "expected credentials": expected,
      "live credentials": live.length,
      "in ACS": managed.length,
      duplicates,
      orphans: Math.max(0, orphans),
      "issue calls": truth.calls.issue
    }
  ])
  if (problems.length === 0) {
    console.log("\nINVARIANT HOLDS: every active enrolled phone has exactly one credential per sync credential; nothing else is live.")
    return true
  }
  console.log("\nINVARIANT VIOLATED:")
  for (const line of problems) console.log(`  - ${line}`)
  return false
}

// the engine's own log lines only when asked for (CREDSYNC_LOG_LEVEL=info): the narration is the story
const main = program.pipe(Effect.scoped, Effect.provide(TestClock.layer()), Effect.provide(Observability.layerLogger({ defaultLevel: "None" })))
// exitCode, not exit(): let stdout drain when it is a pipe
Effect.runPromise(main).then(
  (ok) => {
    process.exitCode = ok ? 0 : 1
  },
  (error: unknown) => {
    console.error(error)
    process.exitCode = 2
  }
)

