/**
 * The direct HID Origo flow (docs/design.md, "The flows"), end to end on loopback: the engine on the real HID Origo
 * adapter (HTTP client + CredentialManager + callback intake), against the local HID Origo fake started
 * in-process on 127.0.0.1, with the in-memory ACS and store. Real time, no account needed.
 *
 *   phone online → invitation code (printed) → the app redeems it (the fake's control, as the mobile SDK
 *   would) → HID creates a credential container → the engine issues one credential from the card
 *   profile's part number (ISSUE_INITIATED → ISSUED) → imported and assigned in the ACS → the phone is
 *   deactivated → revoked at HID (REVOKE_INITIATED → REVOKED) and removed from the ACS.
 *
 * Two phones of one person share one multi-phone sync credential; the second is the one lost. The flow
 * is driven by HID's callbacks: a loopback receiver is subscribed with HID (an event filter, and a callback
 * registration on it that authenticates with an X-API-Key), and passes each CloudEvents batch to
 * `OrigoEvents.ingest`, and the observations to `engine.ingest`. The intake resolves HID users locally
 * (the engine's store), so HID's traffic about anybody else costs no HID request. When a step does not happen
 * in time a full resync is the fallback (and is counted). Exit code 0 only if every step holds.
 *
 *   pnpm example:hid
 */
import { realpathSync } from "node:fs"
import { createServer, type IncomingMessage, type Server } from "node:http"
import { pathToFileURL } from "node:url"
import { OrigoClient, OrigoCredentialManager, OrigoEvents } from "@credsync/adapter-hid-origo"
import { MemoryAccessControl, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { Cli } from "@credsync/cli"
import { AccessControl, Command, Engine, type Identity, Ids } from "@credsync/core"
import { HidOrigoFake } from "@credsync/hid-origo-fake"
import { Effect, Fiber, Layer, ManagedRuntime, Redacted, Schedule } from "effect"
import { Command as CliCommand, Flag } from "effect/cli"

export interface Options {
  /** Where progress lines go. Default `console.log`. */
  readonly log?: (line: string) => void
  /** How long one step may take before it is reported as failed, ms. Default 15 s. */
  readonly stepTimeoutMs?: number
  /** How long to wait for callbacks before falling back to a resync, ms. Default 2 s. */
  readonly resyncAfterMs?: number
}

export interface Result {
  readonly ok: boolean
  readonly steps: ReadonlyArray<{ readonly name: string; readonly ok: boolean; readonly detail: string }>
  readonly callbacks: { readonly batches: number; readonly observations: number; readonly rejected: number }
  readonly resyncFallbacks: number
}

const managerId = Ids.AcsSystemId.make("hid-origo")
const acsSystemId = Simulator.defaultAcsId
/** Card profile → HID part number (`Card.profileKey` → the fake's first pool, H10301 at facility code 99). */
const card = { cardFormat: "H10301", facilityCode: "99" }
const partNumbers = { "H10301/99": "MID-SUB-CRD_FTPN_644245" }

class StepFailed extends Error {
  override readonly name = "StepFailed"
}

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)))
  return Buffer.concat(chunks).toString("utf8")
}

const listen = (server: Server): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") reject(new Error("no TCP port"))
      else resolve(address.port)
    })
  })

const close = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Runs the flow once; never throws for a failed step (it is in the result). */
export const main = async (options: Options = {}): Promise<Result> => {
  const log = options.log ?? ((line: string) => console.log(line))
  const stepTimeoutMs = options.stepTimeoutMs ?? 15_000
  const resyncAfterMs = options.resyncAfterMs ?? 2_000
  const steps: Array<{ name: string; ok: boolean; detail: string }> = []
  const callbacks = { batches: 0, observations: 0, rejected: 0 }
  let resyncFallbacks = 0

  // ---- HID (the fake), on loopback
  const fake = await HidOrigoFake.start({ host: "127.0.0.1", port: 0 })
  log(`HID Origo fake on ${fake.url} (organization ${fake.organizationId})`)
  // the key HID sends in X-API-Key with each delivery (a real deployment keeps it in its secrets)
  const apiKey = Redacted.make(`example-${Math.random().toString(36).slice(2)}`)
  const config: OrigoClient.OrigoConfig = {
    clientId: fake.account.clientId,
    clientSecret: Redacted.make(fake.account.clientSecret),
    applicationId: "HID-CREDSYNC-EXAMPLE",
    applicationVersion: "0.1.0",
    environment: fake.environment
  }

  // ---- the engine: HID adapter + memory ACS + memory store, on the real clock
  const sim = Simulator.make()
  const hid = OrigoCredentialManager.layer({ system: managerId, name: "HID Origo", partNumbers }).pipe(
    Layer.provideMerge(OrigoClient.layer(config))
  )
  const engineLayer = Engine.layer({ poll: "250 millis" }).pipe(
    Layer.provideMerge(Layer.mergeAll(hid, MemoryAccessControl.layer(sim), MemoryStore.layer()))
  )
  // the callback intake sits on the engine: it resolves HID users through the engine's store
  const runtime = ManagedRuntime.make(
    OrigoEvents.layerWithEngine({ system: managerId, authentication: { _tag: "ApiKey", apiKey } }).pipe(Layer.provideMerge(engineLayer))
  )
  const run = <A, E>(effect: Effect.Effect<A, E, Engine.Engine | OrigoEvents.OrigoEvents | OrigoClient.OrigoClient | AccessControl.AccessControl>) =>
    runtime.runPromise(effect)
  const engine = await run(
    Effect.gen(function* () {
      return yield* Engine.Engine
    })
  )

  // ---- the host's callback receiver: HID → OrigoEvents.ingest → engine.ingest
  const receiver = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req)
      const answer = await runtime.runPromise(
        Effect.gen(function* () {
          const events = yield* OrigoEvents.OrigoEvents
          const observations = yield* events.ingest({ headers: req.headers, body })
          // An observation of an identity the engine does not know (yet) changes nothing: ignore it.
          for (const o of observations) yield* Effect.ignore(engine.ingest(o))
          return { status: 200, observations: observations.length }
        }).pipe(
          // Rejected (nothing changed): 4xx. Failed to resolve HID's user: 5xx (polling / resync catch up).
          Effect.catchTag("CallbackRejected", (e) =>
            Effect.succeed({ status: e.reason === "Unauthenticated" ? 401 : e.reason === "UnsupportedMediaType" ? 415 : 400, observations: 0 })
          ),
          Effect.catch(() => Effect.succeed({ status: 503, observations: 0 }))
        )
      )
      if (answer.status === 200) {
        callbacks.batches++
        callbacks.observations += answer.observations
      } else {
        callbacks.rejected++
      }
      res.writeHead(answer.status).end()
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
  })
  const receiverPort = await listen(receiver)
  const receiverUrl = `http://127.0.0.1:${receiverPort}/hid/callbacks`
  await run(
    Effect.gen(function* () {
      const client = yield* OrigoClient.OrigoClient
      const { filter } = yield* OrigoEvents.subscribe(client, { url: receiverUrl, apiKey })
      return filter
    })
  ).then((filter) => log(`callbacks registered with HID → ${receiverUrl} (filter: ${filter.filterSet.join(", ")})`))

  // the engine's loop: drain due work, sleep until the next due time or new work (restarted if it fails)
  const loop = runtime.runFork(engine.run.pipe(Effect.retry(Schedule.spaced("200 millis"))))

  const step = (name: string, ok: boolean, detail: string) => {
    steps.push({ name, ok, detail })
    log(`${ok ? "  ok  " : "  FAIL"}  ${name}${detail ? `: ${detail}` : ""}`)
    if (!ok) throw new StepFailed(`${name}: ${detail}`)
  }
  /** Waits for `probe` to find something, driven by callbacks; a resync after `resyncAfterMs` as the fallback. */
  const waitFor = async <A>(name: string, probe: () => Promise<A | undefined>): Promise<A> => {
    const start = Date.now()
    let resynced = false
    for (;;) {
      const found = await probe()
      if (found !== undefined) return found
      const waited = Date.now() - start
      if (waited > stepTimeoutMs) {
        step(name, false, `not reached in ${stepTimeoutMs} ms`)
      }
      if (!resynced && waited > resyncAfterMs) {
        resynced = true
        resyncFallbacks++
        log(`        (no callback moved it on: resync fallback)`)
        await run(engine.resyncAll)
      }
      await sleep(25)
    }
  }
  const userIdentityId = Ids.UserIdentityId.make("user-ana")
  const state = (): Promise<Identity.IdentityState> => run(engine.get(userIdentityId))
  const execute = (command: Command.Encoded) => run(engine.execute(Command.make(command)))
  const hidCredentials = () => fake.controls.snapshot().credentials
  const acsEntries = async () => (await run(sim.truth())).acsEntries

  try {
    // ---- the person: identity, ACS user, enrollment automation, one multi-phone sync credential
    const acsUser = await run(
      Effect.gen(function* () {
        const acs = yield* AccessControl.AccessControl
        return yield* acs.createUser(acsSystemId, { fullName: "Ana Example", email: "ana@example.com" })
      })
    )
    await execute({ _tag: "CreateUserIdentity", userIdentityId, email: "ana@example.com", fullName: "Ana Example" })
    await execute({ _tag: "LinkAcsUser", userIdentityId, acsUserId: acsUser.id, acsSystemId })
    await execute({ _tag: "LaunchAutomation", userIdentityId, automationId: "auto-ana", managerId })
    await execute({ _tag: "CreateSyncCredential", userIdentityId, credentialId: "badge-ana", acsUserId: acsUser.id, managerId, ...card })
    step(
      "identity user-ana with ACS user, enrollment automation and sync credential",
      true,
      `ACS user ${acsUser.id}; card ${card.cardFormat}/${card.facilityCode} → HID part number ${partNumbers["H10301/99"]}`
    )

    const enrolPhone = async (phoneId: string, deviceType: "ios_phone" | "android_phone", model: string) => {
      await execute({ _tag: "PhoneOnline", userIdentityId, phoneId, deviceType })
      const enrollment = await waitFor(`${phoneId}: invitation code`, async () =>
        (await state()).enrollments.find((e) => e.phoneId === phoneId && e.status === "invited" && e.code !== undefined)
      )
      const code = enrollment.code ?? ""
      const atHid = fake.controls.snapshot().invitations.find((i) => i.code === code)
      step(`${phoneId} online → HID invitation`, atHid?.status === "PENDING", `code ${code} (invitation ${enrollment.invitation}, ${atHid?.status})`)

      // the app hands the code to HID's mobile SDK
      const { containerId } = fake.controls.redeem(code, { model, manufacturer: deviceType === "ios_phone" ? "Apple" : "Google" })
      step(`${phoneId} redeems the code`, true, `HID credential container ${containerId}`)

      const issuing = await waitFor(`${phoneId}: credential requested at HID`, async () =>
        hidCredentials().find((c) => c.containerId === containerId && c.status !== "REVOKED")
      )
      step(
        `${phoneId}: engine issues one credential to the container`,
        issuing.partNumber === partNumbers["H10301/99"],
        `credential ${issuing.id}, part number ${issuing.partNumber}, card ${issuing.cardNumber}, ${issuing.status}`
      )
      // the phone syncs: HID finishes the issuance
      fake.controls.settle()
      const active = hidCredentials().find((c) => c.id === issuing.id)
      step(`${phoneId}: HID finishes the issuance`, active?.status === "ISSUED", `${issuing.status} → ${active?.status}`)

      const entry = await waitFor(`${phoneId}: imported and assigned in the ACS`, async () => {
        const child = (await state()).children.find((c) => c.phoneId === phoneId && !c.retiring)
        if (child?.issue !== "active" || !child.assigned) return undefined
        return (await acsEntries()).find((e) => e.cardNumber === issuing.cardNumber && e.assignedTo === acsUser.id)
      })
      step(`${phoneId}: card ${issuing.cardNumber} in the ACS`, true, `entry ${entry.ref} (${entry.label}) assigned to ${entry.assignedTo}`)
      return { containerId, credential: issuing.id, cardNumber: issuing.cardNumber }
    }

    const iphone = await enrolPhone("phone-ana-iphone", "ios_phone", "iPhone15,2")
    const pixel = await enrolPhone("phone-ana-pixel", "android_phone", "Pixel 8")
    const live = hidCredentials().filter((c) => c.status === "ISSUED" || c.status === "ISSUE_INITIATED")
    step(
      "one sync credential, one credential per phone",
      live.length === 2 && new Set(live.map((c) => c.containerId)).size === 2 && iphone.cardNumber !== pixel.cardNumber,
      `${live.map((c) => `container ${c.containerId}: card ${c.cardNumber}`).join(", ")}`
    )

    // ---- the Pixel is lost: deactivation revokes at HID and removes the card from the ACS
    await execute({ _tag: "DeactivatePhone", userIdentityId, phoneId: "phone-ana-pixel" })
    const revoking = await waitFor("phone-ana-pixel: revocation at HID", async () =>
      hidCredentials().find((c) => c.id === pixel.credential && (c.status === "REVOKE_INITIATED" || c.status === "REVOKED"))
    )
    step("phone-ana-pixel deactivated → HID revokes its credential", true, `credential ${pixel.credential}: ${revoking.status}`)
    fake.controls.settle()
    const revoked = hidCredentials().find((c) => c.id === pixel.credential)
    step("phone-ana-pixel: HID finishes the revocation", revoked?.status === "REVOKED", `${revoking.status} → ${revoked?.status}`)
    await waitFor("phone-ana-pixel: card removed from the ACS and the engine settled", async () => {
      const gone = !(await acsEntries()).some((e) => e.cardNumber === pixel.cardNumber)
      const settled = (await state()).children.every((c) => !c.retiring)
      return gone && settled ? true : undefined
    })
    step("phone-ana-pixel: card removed from the ACS", true, `card ${pixel.cardNumber} no longer in the ACS`)

    // ---- the end state, from HID's and the ACS's own records
    const finalLive = hidCredentials().filter((c) => c.status === "ISSUED" || c.status === "ISSUE_INITIATED")
    const finalAcs = (await acsEntries()).filter((e) => e.label.startsWith("credsync:"))
    step(
      "end state: the iPhone keeps exactly one credential, in HID and in the ACS",
      finalLive.length === 1 &&
        finalLive[0]?.containerId === iphone.containerId &&
        finalAcs.length === 1 &&
        finalAcs[0]?.cardNumber === iphone.cardNumber &&
        finalAcs[0]?.assignedTo === acsUser.id,
      `HID live: ${finalLive.map((c) => c.cardNumber).join(", ")}; ACS: ${finalAcs.map((e) => `${e.cardNumber}→${e.assignedTo}`).join(", ")}`
    )
    step(
      "driven by HID callbacks",
      callbacks.batches > 0 && callbacks.rejected === 0,
      `${callbacks.batches} batches, ${callbacks.observations} observations, ${callbacks.rejected} rejected; ${resyncFallbacks} resync fallbacks`
    )
  } catch (e) {
    if (!(e instanceof StepFailed)) steps.push({ name: "unexpected error", ok: false, detail: e instanceof Error ? e.message : String(e) })
    if (!(e instanceof StepFailed)) log(`  FAIL  unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
  } finally {
    await runtime.runPromise(Fiber.interrupt(loop))
    await close(receiver)
    await fake.stop()
    await runtime.dispose()
  }
  const ok = steps.length > 0 && steps.every((s) => s.ok)
  log(ok ? "every step held" : "a step did not hold")
  return { ok, steps, callbacks, resyncFallbacks }
}

const invokedDirectly = (): boolean => {
  const entry = process.argv[1]
  if (entry === undefined) return false
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href
  } catch {
    return false
  }
}

if (invokedDirectly()) {
  const command = CliCommand.make(
    "example-hid",
    { verbose: Flag.Boolean("verbose").pipe(Flag.withDescription("On an error, print its full cause."), Flag.withDefault(false)) },
    () =>
      Effect.tryPromise({ try: () => main(), catch: (e) => (e instanceof Error ? e : new Error(String(e))) }).pipe(
        Effect.tap((result) =>
          Effect.sync(() => {
            process.exitCode = result.ok ? 0 : 1
          })
        )
      )
  ).pipe(CliCommand.withDescription("The direct HID Origo flow against a local fake of HID's API (exit 0: every step held)."))
  Cli.run(command, { version: "0.1.0" })
}
