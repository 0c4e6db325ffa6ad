/**
 * The shared Store and Records conformance suites (@credsync/testkit) against the SQLite store,
 * each test on a fresh file in a temp directory that is removed (database, -wal and -shm files)
 * when the test ends; and once more on a file whose other workspace is busy with the same ids,
 * keys and records, which the suites must never see.
 */
import * as path from "node:path"
import { Ids, Records, Store } from "@credsync/core"
import { recordsSuite, sampleEvents, sampleState, storeSuite } from "@credsync/testkit"
import { Effect, Layer } from "effect"
import { SqliteStore } from "../src/index.js"
import { tempDir } from "./fixtures.js"

const fresh = (workspace?: string) =>
  Effect.flatMap(tempDir, (dir) => SqliteStore.open({ filename: path.join(dir, "store.db"), workspace }))

/**
 * A file where workspace "default" already holds identities (with the suites' ids), keys, queue
 * entries due long ago, unexpiring leases and records; the suites then run on workspace "suite".
 */
const crowded = Effect.gen(function* () {
  const dir = yield* tempDir
  const filename = path.join(dir, "store.db")
  const other = yield* SqliteStore.open({ filename })
  const labels = ["list-a", "list-b", "list-c", "list-d", "never-saved", "due-1", "lease-1"]
  for (const [i, label] of labels.entries()) {
    const id = Ids.UserIdentityId.make(label)
    const keys = i === 0 ? ["phone:1", "k1", "k2", "k3", "k:stale:1", "b:own"] : [`other-${label}`]
    yield* other.store.save({ id, expected: 0, state: sampleState(id), events: sampleEvents(id), keys, due: 0 })
    yield* other.store.acquire({ owner: "replica-1", ttl: 1e12, grace: 5 }, 0, id)
  }
  for (const key of ["u1", "x", "a/1", "b/1", "c", "gone"]) {
    for (const kind of ["item", "acs_user", "k", "webhook", "other"]) yield* other.records.put(kind, key, { other: true }, 0)
  }
  return yield* SqliteStore.open({ filename, workspace: "suite" })
})

storeSuite("SqliteStore (temp file)", () => Layer.effect(Store.Store, Effect.map(fresh(), (o) => o.store)))
recordsSuite("SqliteStore (temp file)", () => Layer.effect(Records.Records, Effect.map(fresh(), (o) => o.records)))
storeSuite("SqliteStore (workspace sharing its file)", () => Layer.effect(Store.Store, Effect.map(crowded, (o) => o.store)))
recordsSuite("SqliteStore (workspace sharing its file)", () => Layer.effect(Records.Records, Effect.map(crowded, (o) => o.records)))
