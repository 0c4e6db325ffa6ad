/**
 * The main job: a day in a building that issues mobile keys with credsync.
 *
 * On embedded defaults (no account needed): the in-memory credential manager simulator (HID Origo
 * style), an in-memory ACS, and the durable SQLite store in a file under the OS temp dir (or the one
 * given with `--db=FILE`). Time is virtual, so the day plays in a few seconds.
 *
 * Five people, phones coming online through the day, an invitation that expires and is retried, a
 * burst of provider faults (transient errors, rate limits, lost responses, duplicated and reordered
 * callbacks), an engine crash in the middle of an issue call, a lost phone, a sync credential deleted,
 * and a credential deleted behind the engine's back. Then a table per person and a verdict computed
 * from the simulator's ground truth, which explains every issue call and every injected fault. Exit
 * code 0 only if the invariant holds.
 *
 *   pnpm demo                      # a fresh store under the OS temp dir
 *   pnpm demo -- --db=./day.db     # a store file of your choice; run it again to resume that day
 *   pnpm demo -- --help
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Simulator } from "@credsync/adapter-memory"
import { Cli } from "@credsync/cli"
import {
  AccessControl,
  Command,
  CredentialManager,
  type Event,
  Engine,
  Identity,
  Ids,
  Notices,
  Observability,
  Store
} from "@credsync/core"
import { SqliteStore } from "@credsync/store-sqlite"
import Table from "cli-table3"
import { Effect, Exit, Layer, Option, Schedule, Schema } from "effect"
import { Command as CliCommand, Flag } from "effect/cli"
import { TestClock } from "effect/testing"
import * as DemoMetrics from "./demoMetrics.js"
import * as World from "./demo-world.js"

const day = Date.UTC(2026, 10, 28, 7, 0)
const minute = 60_000
const width = 100
const manager = Simulator.defaultManagerId
const acsSystem = Simulator.defaultAcsId

// ---------------------------------------------------------------------------------------------
// the people, their phones, and what the demo remembers between runs
// ---------------------------------------------------------------------------------------------

interface Person {
  readonly id: string
  readonly name: string
  acsUserId?: string | undefined
  /** sync credential id → card profile ("rfid48/9") */
  parents: Record<string, string>
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
/** Everything the demo keeps beside the store to resume a day: its own state and the world's journal. */
interface Saved {
  readonly version: 1
  /** Every sync credential's card profile, deleted ones included. */
  readonly profiles: Readonly<Record<string, string>>
  /** Index of the next scripted step. */
  readonly step: number
  readonly clock: number
  readonly seen: number
  readonly people: ReadonlyArray<Person>
  readonly phones: ReadonlyArray<PhoneScript>
  readonly endpointOwner: ReadonlyArray<readonly [string, string]>
  readonly redeemAt: ReadonlyArray<readonly [string, { readonly at: number | null; readonly phone: string }]>
  readonly journal: ReadonlyArray<World.Entry>
}

class DemoError extends Error {
  constructor(
    message: string,
    readonly hint: string
  ) {
    super(message)
  }
}

const clock = (t: number) => new Date(t).toISOString().slice(11, 16)
/** Print a line at a virtual time, wrapped to the width with an indent (never wider than 100). */
const log = (t: number, text: string) => {
  const indent = " ".repeat(9)
  let line = `  ${clock(t)}  `
  for (const word of text.split(" ")) {
    if (line.length + word.length + 1 > width && line.trim().length > 5) {
      console.log(line.trimEnd())
      line = indent
    }
    line += `${word} `
  }
  console.log(line.trimEnd())
}

const retiringWords: Record<string, string> = {
  phone_deactivated: "the phone was deactivated",
  parent_deleted: "its sync credential was deleted",
  endpoint_removed: "the phone's app left the credential manager"
}
const enrollmentWords: Record<string, string> = {
  invitation_expired: "the invitation expired before the app redeemed it",
  invitation_cancelled: "the invitation was cancelled",
  invitation_missing: "the invitation is gone at the credential manager"
}
const words = (code: string, table: Record<string, string>) =>
  table[code] ?? (code.startsWith("invite_") ? `the invitation could not be created (${code.slice(7)})` : code.replaceAll("_", " "))

// ---------------------------------------------------------------------------------------------
// the day
// ---------------------------------------------------------------------------------------------

const playDay = (dbPath: string, fresh: boolean, stopAt: string | undefined) =>
  Effect.gen(function* () {
    const savedPath = `${dbPath}.demo.json`
    const saved = fresh ? undefined : loadSaved(dbPath, savedPath)
    const people: Array<Person> = saved?.people.map((p) => ({ ...p, parents: { ...p.parents } })) ??
      ["Ana", "Ben", "Chen", "Dana", "Eli"].map((name) => ({ id: `user-${name.toLowerCase()}`, name, parents: {} }))
    const phones: Array<PhoneScript> = saved?.phones.map((p) => ({ ...p })) ?? []
    const endpointOwner = new Map<string, string>(saved?.endpointOwner ?? [])
    const redeemAt = new Map<string, { at: number; phone: PhoneScript }>(
      (saved?.redeemAt ?? []).map(([code, r]) => [
        code,
        { at: r.at ?? Number.POSITIVE_INFINITY, phone: phones.find((p) => p.id === r.phone)! }
      ])
    )
    const profiles: Record<string, string> = { ...saved?.profiles }
    const person = (name: string) => people.find((p) => p.name === name)!
    const personOf = (id: string) => people.find((p) => p.id === id)
    const phoneLabel = (id: string) => phones.find((p) => p.id === id)?.label ?? id

    const world = World.make((endpoint) => endpointOwner.get(endpoint))
    yield* TestClock.setTime(day)
    if (saved !== undefined) {
      yield* world.replay(saved.journal)
      yield* TestClock.setTime(saved.clock)
    }
    const store = yield* SqliteStore.make({ filename: dbPath })
    const ports = Layer.mergeAll(
      Layer.succeed(CredentialManager.CredentialManager, CredentialManager.CredentialManager.of(world.manager)),
      Layer.succeed(AccessControl.AccessControl, AccessControl.AccessControl.of(world.acs)),
      Layer.succeed(Store.Store, Store.Store.of(store))
    )
    // Virtual time: in-call retries must not sleep (nothing would wake them), so they retry at once;
    // the engine's back-off between reconciles still runs on the virtual clock. One identity and one
    // call at a time, so that the world's journal replays in the order the calls were made.
    const boot = Engine.make({ retry: Schedule.recurs(2), concurrency: 1, actionConcurrency: 1 }).pipe(Effect.provide(ports))
    let engine = yield* boot
    let seen = 0
    const now = Effect.clockWith((c) => c.currentTimeMillis)

    // What the narration knows about each phone credential (from the events it has read).
    const children = new Map<string, { phoneId: string; parentId: string; cardNumber?: string | undefined }>()
    const profileOf = (parentId: string) => profiles[parentId] ?? parentId
    const credentialText = (credentialId: string) => {
      const c = children.get(credentialId)
      if (c === undefined) return { phone: "a phone", profile: "a" }
      return { phone: phoneLabel(c.phoneId), profile: profileOf(c.parentId), number: c.cardNumber }
    }
    const describe = (e: Event.DomainEvent): string | undefined => {
      const who = personOf(e.identity)?.name ?? e.identity
      switch (e._tag) {
        case "CredentialRequested":
          children.set(e.child.id, { phoneId: e.child.phoneId, parentId: e.child.parentId })
          return undefined
        case "InvitationCreated":
          return `${phoneLabel(e.phoneId)}: invitation ${e.code} handed to the app`
        case "PhoneEnrolled":
          return `${phoneLabel(e.phoneId)}: enrolled with the credential manager`
        case "EnrollmentFailed":
          return `${who}: ${words(e.error.code, enrollmentWords)}; a new invitation will follow`
        case "CredentialIssued": {
          const c = children.get(e.credentialId)
          if (c !== undefined && e.cardNumber !== undefined) c.cardNumber = e.cardNumber
          const t = credentialText(e.credentialId)
          return e.active ? `${t.phone}: ${t.profile} credential #${e.cardNumber ?? "?"} is active on the phone` : undefined
        }
        case "CredentialAssigned": {
          const t = credentialText(e.credentialId)
          return `${t.phone}: ${t.profile} credential #${t.number ?? "?"} imported into the ACS, assigned to ${who}`
        }
        case "CredentialLost": {
          const t = credentialText(e.credentialId)
          return `${t.phone}: ${t.profile} credential #${t.number ?? "?"} is gone at the manager; issuing it again`
        }
        case "CredentialRetiring": {
          const t = credentialText(e.credentialId)
          return `${t.phone}: revoking ${t.profile} credential #${t.number ?? "?"} (${words(e.reason, retiringWords)})`
        }
        case "CredentialRevoked": {
          const t = credentialText(e.credentialId)
          return `${t.phone}: ${t.profile} credential #${t.number ?? "?"} revoked and removed from the ACS`
        }
        case "ParentRemoved":
          return `${who}: ${profileOf(e.credentialId)} sync credential fully removed`
        default:
          return undefined
      }
    }

    // Print what the engine committed since last time, in words (silently up to `quietUntil`).
    const narrate = (quietUntil = 0) =>
      Effect.gen(function* () {
        for (;;) {
          const events = yield* store.events({ after: seen, limit: 1000 })
          if (events.length === 0) return
          for (const { seq, event } of events) {
            seen = seq
            const line = describe(event)
            if (line !== undefined && seq > quietUntil) log(event.at, line)
          }
        }
      })

    const execute = (command: Command.Encoded) =>
      engine.execute(Command.make(command)).pipe(
        Effect.asVoid,
        Effect.catchTag("CommandRejected", (e) =>
          e.reason === "AlreadyExists" && saved !== undefined
            ? Effect.void // a step interrupted in an earlier run had already done it
            : Effect.fail(e)
        )
      )

    // Each phone's app redeems the invitation code the backend handed it (the engine's InvitationCreated).
    const apps = Effect.gen(function* () {
      const t = yield* now
      let redeemed = 0
      for (const p of people) {
        const state = yield* Effect.option(engine.get(Ids.UserIdentityId.make(p.id)))
        if (Option.isNone(state)) continue
        for (const e of state.value.enrollments) {
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
        const endpoint = yield* Effect.option(world.redeem(code))
        if (Option.isSome(endpoint)) {
          endpointOwner.set(endpoint.value, r.phone.id)
          redeemed++
          log(t, `${r.phone.label}: the app redeemed ${code}`)
        }
      }
      return redeemed
    })

    // The world between two scripted moments: engine work, provider callbacks, the phone apps.
    const until = (t: number) =>
      Effect.gen(function* () {
        for (let step = 0; step < 10_000; step++) {
          const callbacks = yield* world.takeCallbacks()
          for (const callback of callbacks) yield* Effect.ignore(engine.ingest(callback))
          const exit = yield* Effect.exit(engine.drain)
          if (Exit.isFailure(exit) && !exit.cause.reasons.some((r) => r._tag === "Die" && Simulator.isSimulatedCrash(r.defect))) {
            return yield* Effect.failCause(exit.cause) // not the scripted crash: a real failure
          }
          if (Exit.isFailure(exit)) {
            yield* narrate()
            log(yield* now, "!! the engine process died in the middle of an issue call")
            engine = yield* boot
            yield* engine.resyncAll
            yield* Effect.ignore(engine.drain)
            yield* narrate()
            log(yield* now, recovery(world, endpointOwner, phoneLabel))
            continue
          }
          yield* narrate()
          const redeemed = yield* apps
          if (callbacks.length > 0 || redeemed > 0 || exit.value > 0) continue
          const current = yield* now
          const due = [(yield* engine.nextDue) ?? Number.POSITIVE_INFINITY, ...[...redeemAt.values()].map((r) => r.at), t]
          const next = Math.min(...due)
          if (next >= t && current >= t) return
          if (next > current) yield* TestClock.setTime(Math.min(next, t))
        }
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
        const acsUserId = p.acsUserId
        if (acsUserId === undefined) return yield* Effect.fail(new Error(`${owner} has no ACS user: the script creates one first`))
        yield* execute({ _tag: "CreateSyncCredential", userIdentityId: p.id, credentialId, acsUserId, managerId: manager, cardFormat, facilityCode })
        p.parents[credentialId] = `${cardFormat}/${facilityCode}`
        profiles[credentialId] = `${cardFormat}/${facilityCode}`
        log(yield* now, `${owner}: multi-phone sync credential ${cardFormat}/${facilityCode}`)
      })

    const script: ReadonlyArray<readonly [string, Effect.Effect<void, unknown>]> = [
      [
        "07:00",
        Effect.gen(function* () {
          // the backend sets everyone up: user identity, ACS user, enrollment automation, sync credential
          for (const p of people) {
            const acsUser = yield* world.acs.createUser(acsSystem, { fullName: p.name })
            p.acsUserId = acsUser.id
            yield* execute({ _tag: "CreateUserIdentity", userIdentityId: p.id, fullName: p.name, email: `${p.name.toLowerCase()}@example.com` })
            yield* execute({ _tag: "LinkAcsUser", userIdentityId: p.id, acsUserId: acsUser.id, acsSystemId: acsSystem })
            yield* execute({ _tag: "LaunchAutomation", userIdentityId: p.id, automationId: `auto-${p.name.toLowerCase()}`, managerId: manager })
            yield* createParent(p.name, "rfid48", "9")
          }
          yield* createParent("Chen", "h10301", "42")
        })
      ],
      ["08:02", phoneOnline("Ana", "Ana's iPhone", "ios_phone", 2)],
      ["08:30", phoneOnline("Ben", "Ben's iPhone", "ios_phone", 4)],
      ["08:45", phoneOnline("Chen", "Chen's Pixel", "android_phone", 1)],
      ["09:10", phoneOnline("Dana", "Dana's iPhone", "ios_phone", 3, 1)],
      ["09:15", phoneOnline("Ana", "Ana's Galaxy", "android_phone", 6)],
      [
        "10:00",
        Effect.gen(function* () {
          log(yield* now, "provider trouble starts: transient errors, rate limits, lost responses, duplicated and reordered callbacks")
          yield* world.setFaults({
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
          yield* world.failNext("issue", "Crash")
          yield* phoneOnline("Ben", "Ben's Galaxy", "android_phone", 1)
        })
      ],
      [
        "12:00",
        Effect.gen(function* () {
          log(yield* now, "provider trouble ends")
          yield* world.setFaults({})
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
          log(yield* now, "Chen's h10301/42 sync credential is deleted")
          yield* execute({ _tag: "DeleteSyncCredential", userIdentityId: chen.id, credentialId: "sync-chen-h10301" })
          delete chen.parents["sync-chen-h10301"]
        })
      ],
      [
        "16:00",
        Effect.gen(function* () {
          const victim = (yield* world.truth()).credentials.find((c) => c.live && endpointOwner.get(c.endpoint) === "phone-1")
          if (victim !== undefined) {
            log(yield* now, `someone deletes Ana's iPhone's rfid48/9 credential #${victim.cardNumber} directly at the manager`)
            yield* world.deleteCredential(victim.ref)
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

    const checkpoint = (step: number) =>
      Effect.gen(function* () {
        const state: Saved = {
          version: 1,
          profiles,
          step,
          clock: yield* now,
          seen,
          people,
          phones,
          endpointOwner: [...endpointOwner],
          redeemAt: [...redeemAt].map(([code, r]) => [code, { at: Number.isFinite(r.at) ? r.at : null, phone: r.phone.id }] as const),
          journal: world.journal
        }
        writeFileSync(`${savedPath}.tmp`, JSON.stringify(state))
        renameSync(`${savedPath}.tmp`, savedPath)
      })

    if (saved === undefined) {
      console.log(`credsync demo: one day in a building\nthe engine's store: ${dbPath}\n`)
    } else {
      yield* narrate(saved.seen)
      const done = saved.step >= script.length
      console.log(`credsync demo: resuming the day kept in ${dbPath}`)
      console.log(done ? "the day is over: checking it again\n" : `from ${clock(saved.clock)}\n`)
      // a restarted engine looks at everyone again (a crash or a stop loses nothing)
      yield* engine.resyncAll
    }
    for (let i = saved?.step ?? 0; i < script.length; i++) {
      const [hhmm, step] = script[i]!
      if (stopAt !== undefined && at(hhmm) > at(stopAt)) {
        yield* until(at(stopAt))
        yield* checkpoint(i)
        console.log(`\nStopped at ${stopAt}. Run the demo again with --db=${dbPath} to resume the day.`)
        return true
      }
      yield* until(at(hhmm))
      yield* step
      yield* checkpoint(i + 1)
    }
    yield* until(at("19:00"))
    yield* checkpoint(script.length)

    // The day is over: what does everyone have?
    console.log("\nEnd of day\n")
    const states = new Map<string, Identity.IdentityState>()
    for (const p of people) states.set(p.id, yield* engine.get(Ids.UserIdentityId.make(p.id)))
    const truth = yield* world.truth()
    printTables(people, phones, states, truth)
    console.log(`${yield* DemoMetrics.summary}\n`)
    const events = yield* store.events({ after: 0, limit: 1_000_000 })
    return verdict(people, phones, endpointOwner, truth, world.counts, events.map((e) => e.event))
  })

/** After the crash: was the credential of the cut call adopted, or issued twice? */
const recovery = (world: World.World, endpointOwner: Map<string, string>, phoneLabel: (id: string) => string): string => {
  const cut = world.counts.crashedIssue
  if (cut === undefined) return "recovered: the engine restarted on the same store and resynced everyone"
  const truth = world.sim.truthUnsafe()
  const live = truth.credentials.filter((c) => c.live && c.endpoint === cut.endpoint && `${c.cardFormat}/${c.facilityCode}` === cut.profile)
  const phone = phoneLabel(endpointOwner.get(cut.endpoint) ?? cut.endpoint)
  return live.length === 1
    ? `recovered: restarted on the same store; ${phone}'s ${cut.profile} credential #${live[0]!.cardNumber}, issued by the cut call, was found at the manager and adopted, not issued again`
    : `recovered: restarted on the same store; ${phone} holds ${live.length} live ${cut.profile} credentials`
}

const loadSaved = (dbPath: string, savedPath: string): Saved => {
  if (!existsSync(savedPath)) {
    throw new DemoError(
      `${dbPath} exists but is not a day of this demo (no ${savedPath} beside it)`,
      "give --db a new file name, or delete the old file"
    )
  }
  const parsed: unknown = JSON.parse(readFileSync(savedPath, "utf8"))
  if (typeof parsed !== "object" || parsed === null || (parsed as { version?: unknown }).version !== 1) {
    throw new DemoError(`${savedPath} was written by another version of the demo`, "give --db a new file name")
  }
  return parsed as Saved
}

// ---------------------------------------------------------------------------------------------
// the report
// ---------------------------------------------------------------------------------------------

const table = (head: ReadonlyArray<string>, colWidths: ReadonlyArray<number>) =>
  new Table({ head: [...head], colWidths: [...colWidths], wordWrap: true, style: { head: [], border: [], compact: true } })

const deviceWords = { ios_phone: "iOS", android_phone: "Android" } as const

const printTables = (
  people: ReadonlyArray<Person>,
  phones: ReadonlyArray<PhoneScript>,
  states: Map<string, Identity.IdentityState>,
  truth: Simulator.Truth
) => {
  for (const p of people) {
    const s = states.get(p.id)!
    const notices = s.parents.map((parent) => {
      const n = Notices.parent(s, parent)
      const shown = [...n.errors, ...n.warnings].map((x) => x.code.replaceAll("_", " ")).join(", ") || "in sync"
      return `${parent.card.cardFormat}/${parent.card.facilityCode}: ${shown}`
    })
    console.log(`${p.name} (ACS user ${p.acsUserId}); sync credentials ${notices.join("; ") || "none"}`)
    const t = table(["phone", "device", "phone state", "enrolment", "credentials on the phone"], [18, 9, 13, 11, 42])
    for (const phone of phones.filter((x) => x.owner === p.id)) {
      const enrollment = s.enrollments
        .filter((e) => e.phoneId === phone.id)
        .sort((a, b) => b.generation - a.generation)[0]
      const creds = s.children.filter((c) => c.phoneId === phone.id)
      const credText =
        creds.length === 0
          ? "none"
          : creds
              .map((c) => {
                const live = truth.credentials.find((x) => x.ref === c.ref)
                const acs = truth.acsEntries.find((a) => a.cardNumber === c.cardNumber)
                const profile = Identity.parent(s, c.parentId)
                const name = profile === undefined ? "?" : `${profile.card.cardFormat}/${profile.card.facilityCode}`
                return `${name} #${c.cardNumber ?? "?"} ${live?.status ?? c.issue}${acs?.assignedTo === p.acsUserId ? ", in the ACS" : ""}`
              })
              .join("; ")
      t.push([phone.label, deviceWords[phone.type], Identity.phone(s, phone.id)?.active ? "active" : "deactivated", enrollment?.status ?? "none", credText])
    }
    console.log(`${t.toString()}\n`)
  }
}

const faultWords: Record<World.FaultKind, { readonly what: readonly [string, string]; readonly absorbed: string }> = {
  Transient: { what: ["transient error", "transient errors"], absorbed: "retried, in the call or at the next reconcile" },
  RateLimited: { what: ["rate limit", "rate limits"], absorbed: "waited out Retry-After (30 s), then retried" },
  Ambiguous: {
    what: ["lost response to a change", "lost responses to changes"],
    absorbed: "the change had been made: resolved by observation (adopted, not made twice)"
  },
  Crash: { what: ["engine crash", "engine crashes"], absorbed: "restarted on the same store; resolved by observation" }
}
/** Operations that change nothing: a lost response to one is just a failed read. */
const reads = new Set(["observe", "acsObserve", "acsGetUser"])
const opWords: Record<string, string> = {
  acsCreateUser: "ACS user",
  acsGetUser: "ACS read",
  acsObserve: "ACS listing",
  acsImport: "ACS import",
  acsAssign: "ACS assign",
  acsRemove: "ACS removal",
  observe: "listing",
  ensureUser: "user",
  cancelInvitation: "cancel",
  removeEndpoint: "endpoint removal"
}

/** The invariant, from the simulator's ground truth and the phones' own record of their endpoints. */
const verdict = (
  people: ReadonlyArray<Person>,
  phones: ReadonlyArray<PhoneScript>,
  endpointOwner: Map<string, string>,
  truth: Simulator.Truth,
  counts: World.Counts,
  events: ReadonlyArray<Event.DomainEvent>
): boolean => {
  const live = truth.credentials.filter((c) => c.live)
  const managed = truth.acsEntries.filter((e) => e.label.startsWith("credsync:"))
  let expected = 0
  let missing = 0
  const problems: Array<string> = []
  for (const p of people) {
    for (const phone of phones.filter((x) => x.owner === p.id && x.active)) {
      for (const profile of Object.values(p.parents)) {
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
  for (const c of live) {
    const key = `${c.endpoint}|${c.cardFormat}/${c.facilityCode}`
    pairs.set(key, (pairs.get(key) ?? 0) + 1)
  }
  const duplicates = [...pairs.values()].filter((n) => n > 1).length
  const orphans = Math.max(0, live.length - (expected - missing) - duplicates)
  if (duplicates > 0) problems.push(`${duplicates} phones hold duplicate credentials`)
  if (orphans > 0) problems.push(`${orphans} orphan credentials at the manager`)
  if (managed.length !== expected) problems.push(`${managed.length} credentials in the ACS, want ${expected}`)

  console.log("Verdict, from the simulator's ground truth")
  const t = table(["active phones", "credentials wanted", "live at the manager", "in the ACS", "duplicates", "orphans"], [15, 20, 21, 12, 12, 9])
  t.push([phones.filter((p) => p.active).length, expected, live.length, managed.length, duplicates, orphans].map(String))
  console.log(t.toString())

  // Every issue call, by cause: they add up to the manager's own count.
  const c = counts.issue
  const causes: ReadonlyArray<readonly [number, string]> = [
    [c.first, "first issue of a sync credential to a phone"],
    [c.reenrolment, "reissue to a phone that enrolled again (new endpoint)"],
    [c.drift, "reissue after a credential was deleted behind the engine's back"],
    [c.loss, "reissue after a credential was lost for another reason"],
    [c.refused, "refused by the manager (e.g. the phone's endpoint was gone), nothing issued"],
    [c.faultTransient, "refused by an injected transient error, then retried"],
    [c.faultRateLimited, "refused by an injected rate limit, then retried after Retry-After"]
  ]
  const explained = causes.reduce((n, [k]) => n + k, 0)
  console.log(`\nIssue calls at the credential manager: ${truth.calls.issue}`)
  for (const [n, why] of causes) if (n > 0) console.log(`  ${String(n).padStart(3)}  ${why}`)
  console.log(`  ${String(explained).padStart(3)}  in all${explained === truth.calls.issue ? "" : "  (DOES NOT MATCH)"}`)
  if (explained !== truth.calls.issue) problems.push(`${truth.calls.issue - explained} issue calls unexplained`)

  // Every injected fault, and how it was absorbed.
  console.log("\nFaults injected, and how each was absorbed")
  const line = (n: number, what: readonly [string, string], byOp: ReadonlyArray<readonly [string, number]>, absorbed: string) => {
    if (n === 0) return
    const detail = byOp.map(([op, k]) => `${k} ${opWords[op] ?? op}`).join(", ")
    console.log(`  ${String(n).padStart(3)}  ${what[n === 1 ? 0 : 1]}${detail === "" ? "" : ` (${detail})`}`)
    console.log(`       ${absorbed}`)
  }
  const sum = (byOp: ReadonlyArray<readonly [string, number]>) => byOp.reduce((n, [, k]) => n + k, 0)
  for (const kind of ["Transient", "RateLimited", "Ambiguous", "Crash"] as const) {
    const all = Object.entries(counts.faults[kind])
    const byOp = kind === "Ambiguous" ? all.filter(([op]) => !reads.has(op)) : all
    line(sum(byOp), faultWords[kind].what, byOp, faultWords[kind].absorbed)
    if (kind === "Ambiguous") {
      const lostReads = all.filter(([op]) => reads.has(op))
      line(sum(lostReads), ["lost response to a read", "lost responses to reads"], lostReads, "read again at the next round")
    }
  }
  line(counts.duplicatedCallbacks, ["duplicated callback", "duplicated callbacks"], [], "harmless: a callback only tells the engine whom to look at again")
  line(counts.reorderedCallbacks, ["callback out of order", "callbacks out of order"], [], "harmless: the engine compares states, not messages")
  const retired = new Set(events.flatMap((e) => (e._tag === "CredentialRetiring" ? [e.credentialId] : [])))
  const refsOfRetired = new Set<string>(events.flatMap((e) => (e._tag === "CredentialIssued" && retired.has(e.credentialId) ? [e.ref as string] : [])))
  const duplicatesRevoked = new Set(counts.revoked.filter((ref) => !refsOfRetired.has(ref))).size
  console.log(`  ${String(duplicatesRevoked).padStart(3)}  duplicate or orphan credentials found at the manager: revoked`)

  if (problems.length === 0) {
    console.log("\nINVARIANT HOLDS: every active enrolled phone has exactly one credential per sync credential,")
    console.log("imported into the ACS and assigned; nothing else is live.")
    return true
  }
  console.log("\nINVARIANT VIOLATED:")
  for (const line of problems) console.log(`  - ${line}`)
  return false
}

// ---------------------------------------------------------------------------------------------
// the command line
// ---------------------------------------------------------------------------------------------

const demo = CliCommand.make(
  "demo",
  {
    db: Flag.String("db").pipe(
      Flag.withDescription("SQLite file of the engine's store; a file from a run before resumes its day."),
      Flag.optional
    ),
    stopAt: Flag.String("stop-at").pipe(
      Flag.withDescription("Stop the day at HH:MM; run again with the same --db to go on."),
      Flag.withSchema(Schema.String.check(Schema.isPattern(/^(0[7-9]|1[0-8]):[0-5][0-9]$/, { message: "Expected a time between 07:00 and 18:59, as HH:MM" }))),
      Flag.optional
    ),
    verbose: Flag.Boolean("verbose").pipe(Flag.withDescription("On an error, print its full cause and stack."), Flag.withDefault(false))
  },
  ({ db, stopAt }) =>
    Effect.gen(function* () {
      const dbPath = Option.getOrElse(db, () => join(tmpdir(), `credsync-demo-${process.pid}-${Date.now()}.db`))
      const fresh = !existsSync(dbPath)
      if (fresh) rmSync(`${dbPath}.demo.json`, { force: true })
      const ok = yield* playDay(dbPath, fresh, Option.getOrUndefined(stopAt)).pipe(
        Effect.scoped,
        Effect.provide(TestClock.layer()),
        // the narration says what happens; the engine's own log lines stay off (CREDSYNC_LOG_LEVEL)
        Effect.provide(Observability.layerLogger({ defaultLevel: "None" }))
      )
      process.exitCode = ok ? 0 : 1
    })
).pipe(
  CliCommand.withDescription(
    "A day in a building that issues mobile keys with credsync (exit 0: the invariant holds)."
  )
)

Cli.run(demo, {
  version: "0.1.0",
  explain: (e) => (e instanceof DemoError ? { line: e.message, hint: e.hint } : undefined)
})
