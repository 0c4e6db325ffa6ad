/**
 * @credsync/store-sqlite: the embedded durable `Store` (SQLite through better-sqlite3, WAL mode).
 *
 * @since 0.1.0
 * @module @credsync/store-sqlite
 */
export * as SqliteStore from "./SqliteStore.js"
