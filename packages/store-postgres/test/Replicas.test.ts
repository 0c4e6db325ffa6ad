import { MemoryAccessControl, MemoryCredentialManager, Simulator } from "@credsync/adapter-memory"
import { Command, Engine, Ids } from "@credsync/core"
import { PostgresStore } from "@credsync/store-postgres"
import { Postgres } from "@credsync/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"

const pg = Postgres.setup()

describe("engine replicas on one Postgres workspace", () => {
  it.effect("two replicas working at once issue exactly one credential per enrolled phone, none twice", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const sim = Simulator.make()
        const workspace = "replicas"
        // two engine processes in all but the process: each its own pool, lease owner and signals
        const replica = (name: string) =>
          Effect.flatMap(Layer.build(PostgresStore.layer({ connection: pg.url(), workspace, maxConnections: 4 })), (stores) =>
            Engine.make({ replica: name }).pipe(
              Effect.provide(Layer.mergeAll(MemoryCredentialManager.layer(sim), MemoryAccessControl.layer(sim), Layer.succeedContext(stores)))
            )
          )
        const a = yield* replica("replica-a")
        const b = yield* replica("replica-b")
        const both = Effect.all([a.drain, b.drain], { concurrency: 2 })

        const people = 10
        const ids = Array.from({ length: people }, (_, i) => Ids.UserIdentityId.make(`person-${i}`))
        for (const [i, id] of ids.entries()) {
          const engine = i % 2 === 0 ? a : b // commands go to any replica
          const acsUser = yield* sim.acs.createUser(Simulator.defaultAcsId, { fullName: `Person ${i}` })
          for (const command of [
            { _tag: "CreateUserIdentity", userIdentityId: id },
            { _tag: "LinkAcsUser", userIdentityId: id, acsUserId: acsUser.id, acsSystemId: Simulator.defaultAcsId },
            { _tag: "LaunchAutomation", userIdentityId: id, automationId: `auto-${i}`, managerId: Simulator.defaultManagerId },
            {
              _tag: "CreateSyncCredential",
              userIdentityId: id,
              credentialId: `cred-${i}`,
              acsUserId: acsUser.id,
              managerId: Simulator.defaultManagerId,
              cardFormat: "rfid48",
              facilityCode: "9"
            },
            { _tag: "PhoneOnline", userIdentityId: id, phoneId: `phone-${i}-1`, deviceType: "ios_phone" },
            { _tag: "PhoneOnline", userIdentityId: id, phoneId: `phone-${i}-2`, deviceType: "android_phone" }
          ] satisfies ReadonlyArray<Command.Encoded>) {
            yield* engine.execute(Command.make(command))
          }
        }
        // invitations, by whichever replica leases each identity
        yield* both
        for (const id of ids) {
          for (const enrollment of (yield* a.get(id)).enrollments) {
            if (enrollment.code !== undefined) yield* sim.redeem(enrollment.code)
          }
        }
        // both replicas reconcile every identity at the same moment: the lease lets one work it
        yield* Effect.all(
          ids.flatMap((id) => [a.reconcile(id), b.reconcile(id)]),
          { concurrency: 8, discard: true }
        )
        // the callbacks land on either replica; both work at once
        for (const [i, id] of ids.entries()) yield* (i % 2 === 0 ? b : a).ingest({ _tag: "Changed", userIdentityId: id, managerId: Simulator.defaultManagerId, what: "endpoint" })
        yield* both
        yield* a.resyncAll
        yield* both

        const truth = yield* sim.truth()
        const live = truth.credentials.filter((c) => c.live)
        assert.strictEqual(live.length, people * 2, "one live credential per enrolled phone")
        assert.strictEqual(new Set(live.map((c) => c.endpoint)).size, people * 2, "no endpoint holds two")
        assert.strictEqual(truth.acsEntries.filter((e) => e.assignedTo !== undefined).length, people * 2, "each imported and assigned")
        for (const id of ids) {
          const children = (yield* b.get(id)).children
          assert.strictEqual(children.filter((c) => c.issue === "active" && c.assigned).length, 2, `${id}: the store agrees`)
        }
      })
    )
  )
})
