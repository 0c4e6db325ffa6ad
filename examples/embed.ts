// Embedding credsync in a Node backend that does not use Effect, through the Promise facade.
// Run it: `npx -y pnpm@12.4.2 example:embed`. The in-memory simulator plays the credential
// manager, the ACS and the phone app; swap its layers for HID Origo or Seam in production.
import { MemoryAccessControl, MemoryCredentialManager, MemoryStore, Simulator } from "@credsync/adapter-memory"
import { Client, Engine } from "@credsync/core"
import { Effect, Layer } from "effect"

const sim = Simulator.make()
const ports = Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), MemoryStore.layer())
const credsync = Client.make(Engine.layer().pipe(Layer.provide(ports)))

// A provider callback only tells the engine where to look again (in production: your webhook route
// calls `credsync.ingest(request.body)`). Here the simulator's callbacks are handed over directly.
const deliverCallbacks = async () => {
  for (const callback of await Effect.runPromise(sim.takeCallbacks())) await credsync.ingest(callback)
}

// Invitation codes come out as events: push each one to the phone's app, which redeems it with the
// credential manager's SDK. Here the simulator redeems it at once.
credsync.onEvent((event) => {
  if (event._tag === "InvitationCreated") {
    void Effect.runPromise(sim.redeem(event.code)).then(deliverCallbacks)
  }
  if (event._tag === "CredentialAssigned") console.log(`${event.credentialId}: on the phone, assigned in the ACS`)
})
await credsync.start() // reconcile in the background (rejects when the store cannot be opened)

const acsSystemId = Simulator.defaultAcsId
const managerId = Simulator.defaultManagerId
const acsUser = await Effect.runPromise(sim.acs.createUser(acsSystemId, { fullName: "Jane Doe" })) // Jane's ACS account
const jane = await credsync.createUserIdentity({ email: "jane@example.com", fullName: "Jane Doe" })
await credsync.linkAcsUser({ userIdentityId: jane.id, acsUserId: acsUser.id, acsSystemId })
await credsync.launchEnrollmentAutomation({ userIdentityId: jane.id, managerId })
const card = { acsUserId: acsUser.id, managerId, cardFormat: "rfid48", facilityCode: "9" }
await credsync.createSyncCredential({ userIdentityId: jane.id, ...card })
await credsync.phoneOnline({ userIdentityId: jane.id, phoneId: "jane-iphone", deviceType: "ios_phone" })
await credsync.phoneOnline({ userIdentityId: jane.id, phoneId: "jane-pixel", deviceType: "android_phone" })

// Every rejection is typed and changes nothing: a second sync credential with the same card details.
await credsync.createSyncCredential({ userIdentityId: jane.id, ...card }).catch((e: Client.CommandRejected) => {
  console.log(`rejected (${e.reason}): ${e.message}`)
})

// Wait (bounded) until each phone holds one active credential, imported into the ACS and assigned.
let done = 0
for (let i = 0; i < 100 && done < 2; i++) {
  await new Promise((resolve) => setTimeout(resolve, 50))
  const state = await credsync.get(jane.id)
  done = state.children.filter((c) => c.issue === "active" && c.assigned).length
}
console.log(`${done} of 2 phones hold their credential`)
await credsync.close()
process.exitCode = done === 2 ? 0 : 1
