/**
 * The shrunk counterexample of the property (Invariant.test.ts), as a fixed scenario: a phone's copy is
 * lost at Seam's credential manager and Seam reissues it under the same `acs_credential_id` with a new
 * card number (Seam's `acs_credential.reissued`). The outer engine must mirror the new card number; it
 * keeps believing in the old one (core Plan.ts, `mirror`: a kept copy is re-emitted only when its ref or
 * its active flag changes, never its card number).
 */
import { Command } from "@credsync/core"
import { Property, World } from "@credsync/testkit"
import { describe, expect, it } from "vitest"
import * as SeamProvider from "./SeamProvider.js"

describe("a copy Seam reissues under the same id", () => {
  it("is mirrored with its new card number", async () => {
    const provider = await SeamProvider.make({ seed: 3 })
    const world = new World({ provider })
    try {
      const ok = (command: Command.Encoded) => world.ok((e) => e.execute(Command.make(command)))
      const model = Property.Model.emptyModel()
      const id = "user-1"
      const acsUser = await world.effect(provider.acs.createUser(provider.acsSystemId, { fullName: id }))
      await ok({ _tag: "CreateUserIdentity", userIdentityId: id, email: `${id}@example.com` })
      await ok({ _tag: "LinkAcsUser", userIdentityId: id, acsUserId: acsUser.id, acsSystemId: provider.acsSystemId })
      await ok({ _tag: "LaunchAutomation", userIdentityId: id, automationId: `auto-${id}`, managerId: provider.managerId })
      const phone = await world.newPhone(id, "unused")
      await ok({ _tag: "PhoneOnline", userIdentityId: id, phoneId: phone, deviceType: "android_phone" })
      await ok({
        _tag: "CreateSyncCredential",
        userIdentityId: id,
        credentialId: "parent-1",
        acsUserId: acsUser.id,
        managerId: provider.managerId,
        cardFormat: "rfid48",
        facilityCode: "9"
      })
      model.identities.set(id, { id, acsUserId: acsUser.id, phones: new Map([[phone, true]]), parents: new Map([["parent-1", "rfid48/9"]]) })
      await world.settle([id])
      await Property.checkQuiet(world, model)

      const before = (await world.effect(provider.truth)).credentials.filter((c) => c.live)
      expect(before).toHaveLength(1)
      const copy = before[0]!
      await world.effect(provider.deleteCredential!(copy.ref))
      await world.settle([id])
      const after = (await world.effect(provider.truth)).credentials.filter((c) => c.live)
      // Seam reissued it: same acs_credential_id, same phone, a new card number
      expect(after.map((c) => [c.ref, c.endpoint])).toEqual([[copy.ref, copy.endpoint]])
      expect(after[0]!.cardNumber).not.toBe(copy.cardNumber)
      const child = ((await world.state(id))?.children ?? [])[0]
      expect(child).toMatchObject({ ref: copy.ref, issue: "active" })
      expect(child?.cardNumber).toBe(after[0]!.cardNumber)
      await Property.checkQuiet(world, model)
    } finally {
      await world.dispose()
      await provider.close?.()
    }
  })
})
