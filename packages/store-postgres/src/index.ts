/**
 * @credsync/store-postgres: the shared durable `Store` and `Records` on PostgreSQL, for several
 * engine processes working one workspace.
 *
 * @since 0.2.0
 */
export * as PostgresStore from "./PostgresStore.js"
