/**
 * Embedding credsync in a backend that does not use Effect: the Promise facade (`Client`).
 *
 *   npx -y pnpm@12.4.2 example:embed
 *
 * The host creates a user identity, links the person's ACS user, turns on the enrollment automation
 * and creates a multi-phone sync credential; then each phone that logs in is reported with
 * `phoneOnline`. The engine hands out invitation codes through its event stream (forward them to the
 * app, which redeems them with the credential manager's SDK) and takes provider callbacks with
 * `ingest`. Here the in-memory simulator plays the credential manager and the phone's SDK.
 */
import { pathToFileURL } from "node:url"
import { MemoryAccessControl, MemoryCredentialManager, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { Client, Engine } from "@credsync/core"
import { Effect, Layer } from "effect"

export const main = async (): Promise<{ readonly phones: number; readonly credentials: number }> => {
  const sim = Simulator.make()
  const credsync = Client.make(
    Engine.layer().pipe(Layer.provide(Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), MemoryStore.layer())))
  )
  // The app's side: redeem each invitation code the engine hands out (normally: push it to the phone).
  const codes: Array<string> = []
  const unsubscribe = credsync.onEvent((event) => {
    if (event._tag === "InvitationCreated") codes.push(event.code)
    if (event._tag === "CredentialAssigned") console.log(`credential ${event.credentialId} is on the phone and assigned in the ACS`)
  })
  const step = async () => {
    await credsync.drain()
    for (const code of codes.splice(0)) await Effect.runPromise(sim.redeem(code))
    for (const callback of await Effect.runPromise(sim.takeCallbacks())) await credsync.ingest(callback)
    await credsync.drain()
  }
  try {
    const acsUser = await Effect.runPromise(sim.acs.createUser(Simulator.defaultAcsId, { fullName: "Jane Doe" }))
    const jane = await credsync.createUserIdentity({ email: "jane@example.com", fullName: "Jane Doe" })
    await credsync.linkAcsUser({ userIdentityId: jane.id, acsUserId: acsUser.id, acsSystemId: Simulator.defaultAcsId })
    await credsync.launchEnrollmentAutomation({ userIdentityId: jane.id, managerId: Simulator.defaultManagerId })
    await credsync.createSyncCredential({
      userIdentityId: jane.id,
      acsUserId: acsUser.id,
      managerId: Simulator.defaultManagerId,
      cardFormat: "rfid48",
      facilityCode: "9"
    })
    await credsync.phoneOnline({ userIdentityId: jane.id, phoneId: "jane-iphone", deviceType: "ios_phone" })
    await credsync.phoneOnline({ userIdentityId: jane.id, phoneId: "jane-pixel", deviceType: "android_phone" })
    await step()
    await step()
    // A typed rejection, as a host sees it:
    await credsync
      .createSyncCredential({ userIdentityId: jane.id, acsUserId: acsUser.id, managerId: "cm_sim", cardFormat: "rfid48", facilityCode: "9" })
      .catch((e: { _tag: string; reason: string; message: string }) => console.log(`rejected (${e._tag}/${e.reason}): ${e.message}`))
    const state = await credsync.get(jane.id)
    const children = Object.values(state.children)
    for (const c of children) console.log(`${c.phoneId}: card ${c.cardNumber} ${c.issue}${c.assigned ? ", assigned" : ""}`)
    return { phones: Object.keys(state.phones).length, credentials: children.filter((c) => c.issue === "active" && c.assigned).length }
  } finally {
    unsubscribe()
    await credsync.close()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().then(
    (r) => {
      process.exitCode = r.credentials === r.phones ? 0 : 1
    },
    (e: unknown) => {
      console.error(e)
      process.exitCode = 2
    }
  )
}
