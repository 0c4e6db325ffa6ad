/**
 * The shared Store conformance suite (@credsync/testkit) against the SQLite store, each test on a
 * fresh file in a temp directory that is removed (database, -wal and -shm files) when the test ends.
 */
import * as path from "node:path"
import { Store } from "@credsync/core"
import { storeSuite } from "@credsync/testkit"
import { Effect, Layer } from "effect"
import { SqliteStore } from "../src/index.js"
import { tempDir } from "./fixtures.js"

storeSuite("SqliteStore (temp file)", () =>
  Layer.effect(
    Store.Store,
    Effect.flatMap(tempDir, (dir) => SqliteStore.make({ filename: path.join(dir, "store.db") }))
  )
)
