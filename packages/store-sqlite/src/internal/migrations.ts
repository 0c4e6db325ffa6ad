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
  },
  {
    version: 2,
    description: "workspaces, leases, records, holder",
    // SQLite cannot change a primary key in place: identities, keys and due are rebuilt with
    // (workspace, …) keys, their rows landing in workspace "default". events keeps its key (seq)
    // and only gains a column. Runs inside the migration transaction, so a failure leaves the file
    // at version 1.
    sql: `
      CREATE TABLE identities_v2 (
        workspace TEXT    NOT NULL,
        id        TEXT    NOT NULL,
        version   INTEGER NOT NULL CHECK (version >= 1),
        state     TEXT    NOT NULL,
        PRIMARY KEY (workspace, id)
      );
      INSERT INTO identities_v2 (workspace, id, version, state) SELECT 'default', id, version, state FROM identities;
      DROP TABLE identities;
      ALTER TABLE identities_v2 RENAME TO identities;

      ALTER TABLE events ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default';
      CREATE INDEX events_by_workspace ON events (workspace, seq);

      CREATE TABLE keys_v2 (
        workspace TEXT NOT NULL,
        key       TEXT NOT NULL,
        identity  TEXT NOT NULL,
        PRIMARY KEY (workspace, key)
      ) WITHOUT ROWID;
      INSERT INTO keys_v2 (workspace, key, identity) SELECT 'default', key, identity FROM keys;
      DROP TABLE keys;
      ALTER TABLE keys_v2 RENAME TO keys;
      CREATE INDEX keys_by_identity ON keys (workspace, identity);

      CREATE TABLE due_v2 (
        workspace TEXT NOT NULL,
        identity  TEXT NOT NULL,
        at        REAL NOT NULL,
        PRIMARY KEY (workspace, identity)
      ) WITHOUT ROWID;
      INSERT INTO due_v2 (workspace, identity, at) SELECT 'default', identity, at FROM due;
      DROP TABLE due;
      ALTER TABLE due_v2 RENAME TO due;
      CREATE INDEX due_by_time ON due (workspace, at, identity);

      -- One row per identity ever leased. owner is NULL once released; the row stays while
      -- hold_until matters (an earlier holder's calls may still land). holder is the token of the
      -- open (row in holders) that took the lease, so that a dead process's leases can be released.
      CREATE TABLE leases (
        workspace  TEXT NOT NULL,
        identity   TEXT NOT NULL,
        owner      TEXT,
        expires    REAL NOT NULL,
        grace      REAL NOT NULL,
        hold_until REAL NOT NULL DEFAULT 0,
        holder     TEXT,
        PRIMARY KEY (workspace, identity)
      ) WITHOUT ROWID;
      CREATE INDEX leases_by_holder ON leases (holder) WHERE owner IS NOT NULL;

      CREATE TABLE records (
        workspace TEXT    NOT NULL,
        kind      TEXT    NOT NULL,
        key       TEXT    NOT NULL,
        version   INTEGER NOT NULL CHECK (version >= 1),
        value     TEXT    NOT NULL,
        PRIMARY KEY (workspace, kind, key)
      );

      -- The process(es) holding the file: one row per open store. Rows of one process coexist;
      -- a row of another live process refuses the open.
      CREATE TABLE holders (
        token       TEXT    PRIMARY KEY NOT NULL,
        pid         INTEGER NOT NULL,
        host        TEXT    NOT NULL,
        machine     TEXT,
        started     TEXT,
        opened_at   REAL    NOT NULL,
        heartbeat   REAL    NOT NULL,
        stale_after REAL    NOT NULL
      );
    `
  }
]

/** The first schema version with the holders table. @internal */
export const HOLDERS_VERSION = 2

/** The schema version this build writes. @internal */
export const LATEST_VERSION: number = migrations.length
