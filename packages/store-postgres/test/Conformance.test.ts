import { Records, Store } from "@credsync/core"
import { PostgresStore } from "@credsync/store-postgres"
import { Postgres, recordsSuite, storeSuite } from "@credsync/testkit"
import { Effect, Layer } from "effect"

// one server and database for the file; every test gets an empty store by using a fresh workspace
const pg = Postgres.setup()
let workspaces = 0
const fresh = () => PostgresStore.layer({ connection: pg.url(), workspace: `conformance-${++workspaces}`, maxConnections: 2 })

storeSuite("PostgresStore", () => Layer.effect(Store.Store, Effect.service(Store.Store)).pipe(Layer.provide(fresh())))
recordsSuite("PostgresStore", () => Layer.effect(Records.Records, Effect.service(Records.Records)).pipe(Layer.provide(fresh())))
