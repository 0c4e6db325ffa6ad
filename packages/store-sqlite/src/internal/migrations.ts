/**
 * The store's schema, as an ordered list of migrations. The file's schema version is kept in
 * `PRAGMA user_version` (0 = empty file); migration `n` takes a file from version `n - 1` to `n`.
 * Append new migrations at the end; never edit or reorder a released one.
 *
 * @internal
 */

/** @internal */
export interface Migration {
  readonly version: number
  readonly description: string
  readonly sql: string
}

/**
 * `application_id` stamped into every credsync store file ("cred" in ASCII), so a SQLite file that
 * belongs to another program is refused instead of being migrated into.
 *
 * @internal
 */
export const APPLICATION_ID = 0x63726564

/** @internal */
export const migrations: ReadonlyArray<Migration> = [
  {
    version: 1,
    description: "identities, events, keys, due-queue",
    sql: `
      CREATE TABLE identities (
        id      TEXT    PRIMARY KEY NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        state   TEXT    NOT NULL
      );
      -- seq is the rowid: max(seq) + 1 on insert. Never reused, because retention never deletes the
      -- newest event (no AUTOINCREMENT: that would write sqlite_sequence on every commit).
      CREATE TABLE events (
        seq      INTEGER PRIMARY KEY,
        identity TEXT    NOT NULL,
        tag      TEXT    NOT NULL,
        at       REAL    NOT NULL,
        body     TEXT    NOT NULL
      );
      CREATE TABLE keys (
        key      TEXT PRIMARY KEY NOT NULL,
        identity TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX keys_by_identity ON keys (identity);
      CREATE TABLE due (
        identity TEXT PRIMARY KEY NOT NULL,
        at       REAL NOT NULL
      );
      CREATE INDEX due_by_time ON due (at, identity);
    `
  }
]

/** The schema version this build writes. @internal */
export const LATEST_VERSION: number = migrations.length
