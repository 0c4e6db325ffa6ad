/**
 * The store's schema in one Postgres schema (default `credsync`), as an ordered list of
 * migrations. Migration `n` takes the schema from version `n - 1` to `n`; the versions applied are
 * rows of `<schema>.migrations`. Append new migrations at the end; never edit or reorder a
 * released one.
 *
 * Every table is keyed by `workspace` first: several workspaces share the tables and never see
 * each other's rows. Text keys use `COLLATE "C"`, so `list` orders ids and record keys by their
 * UTF-8 bytes (the order the Store and Records contracts name) whatever the database's locale.
 * Times are epoch milliseconds as `double precision`: exact for every integer a clock gives,
 * and it takes what the engine passes (an integer or not) without rounding.
 *
 * @internal
 */

/** @internal */
export interface Migration {
  readonly version: number
  readonly description: string
  /** One statement each: the extended protocol runs a single statement per query. */
  readonly statements: (schema: string) => ReadonlyArray<string>
}

/**
 * `save` as one server-side function, so a save is one round trip and one implicit transaction:
 * - the identity row: insert (expected 0) or compare-and-set on `version`, fenced by the lease
 *   owner when one is given;
 * - the identity's lookup keys replaced; a key another identity holds aborts the whole save;
 * - `due` (earliest wins) and a NOTIFY when the queue changed (delivered at commit);
 * - the events, unnumbered: {@link sequenceFunction} numbers them later, so saves never wait on
 *   each other for an event number (with durable commits, a number taken inside the save would
 *   hold a lock across the commit's flush and make saves of one workspace commit one at a time).
 * Refusals raise custom SQLSTATEs (CSV01 version, CSL01 lease, CSK01 key) that the client maps
 * to `Conflict` / `InvalidInput`; raising is what rolls everything back.
 */
const saveFunction = (s: string) => `
CREATE FUNCTION ${s}.save(
  p_ws text, p_id text, p_expected integer, p_state json, p_events text[], p_keys text[],
  p_due double precision, p_owner text, p_channel text
) RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
  v_version integer;
  v_current integer;
  v_key text;
  v_holder text;
  v_n integer := coalesce(array_length(p_events, 1), 0);
BEGIN
  IF p_expected = 0 THEN
    IF p_owner IS NOT NULL THEN
      -- an identity never saved has no lease to hold
      RAISE EXCEPTION USING ERRCODE = 'CSL01',
        MESSAGE = format('%s does not hold the lease of identity %s; nothing was saved', p_owner, p_id);
    END IF;
    INSERT INTO ${s}.identities (workspace, id, version, state) VALUES (p_ws, p_id, 1, p_state)
      ON CONFLICT (workspace, id) DO NOTHING;
    IF NOT FOUND THEN
      SELECT version INTO v_current FROM ${s}.identities WHERE workspace = p_ws AND id = p_id;
      RAISE EXCEPTION USING ERRCODE = 'CSV01',
        MESSAGE = format('identity %s is at version %s, the save expected version 0; nothing was saved', p_id, coalesce(v_current, 0));
    END IF;
    v_version := 1;
  ELSE
    UPDATE ${s}.identities SET version = version + 1, state = p_state
      WHERE workspace = p_ws AND id = p_id AND version = p_expected
        AND (p_owner IS NULL OR lease_owner = p_owner)
      RETURNING version INTO v_version;
    IF NOT FOUND THEN
      SELECT version INTO v_current FROM ${s}.identities WHERE workspace = p_ws AND id = p_id;
      IF coalesce(v_current, 0) <> p_expected THEN
        RAISE EXCEPTION USING ERRCODE = 'CSV01',
          MESSAGE = format('identity %s is at version %s, the save expected version %s; nothing was saved', p_id, coalesce(v_current, 0), p_expected);
      END IF;
      RAISE EXCEPTION USING ERRCODE = 'CSL01',
        MESSAGE = format('%s does not hold the lease of identity %s; nothing was saved', p_owner, p_id);
    END IF;
  END IF;

  DELETE FROM ${s}.keys WHERE workspace = p_ws AND identity = p_id AND key <> ALL (p_keys);
  -- a concurrent insert of the same key waits here for the other transaction, then is skipped;
  -- keys go in sorted, so two saves wanting the same keys cannot deadlock
  INSERT INTO ${s}.keys (workspace, key, identity)
    SELECT DISTINCT p_ws, k, p_id FROM unnest(p_keys) AS k ORDER BY k
    ON CONFLICT (workspace, key) DO NOTHING;
  SELECT key, identity INTO v_key, v_holder FROM ${s}.keys
    WHERE workspace = p_ws AND key = ANY (p_keys) AND identity <> p_id ORDER BY key LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'CSK01',
      MESSAGE = format('key %s is held by identity %s; nothing was saved', to_json(v_key), v_holder);
  END IF;

  IF p_due IS NOT NULL THEN
    INSERT INTO ${s}.due (workspace, identity, at) VALUES (p_ws, p_id, p_due)
      ON CONFLICT (workspace, identity) DO UPDATE SET at = EXCLUDED.at WHERE ${s}.due.at > EXCLUDED.at;
    IF FOUND THEN
      PERFORM pg_notify(p_channel, '');
    END IF;
  END IF;

  IF v_n > 0 THEN
    INSERT INTO ${s}.events (workspace, identity, body)
      SELECT p_ws, p_id, e.body::json FROM unnest(p_events) WITH ORDINALITY AS e(body, o) ORDER BY e.o;
  END IF;
  RETURN v_version;
END
$fn$`

/**
 * `sequence(workspace)`: numbers the workspace's committed, unnumbered events, in insertion order,
 * after the last number given, under the workspace row's lock (so two callers number each batch
 * once). Numbers grow in the order events become visible: a reader paging with `after` never misses
 * an event that commits later with a lower number, because it has no number until it is committed
 * and seen here. One identity's saves commit one after another (its row is locked by each), so its
 * events keep their order. The reader calls it before reading (`events`).
 */
const sequenceFunction = (s: string) => `
CREATE FUNCTION ${s}.sequence(p_ws text) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  v_last bigint;
  v_n bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ${s}.events WHERE workspace = p_ws AND seq IS NULL) THEN
    RETURN;
  END IF;
  SELECT last_seq INTO v_last FROM ${s}.workspaces WHERE workspace = p_ws FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO ${s}.workspaces (workspace) VALUES (p_ws) ON CONFLICT DO NOTHING;
    SELECT last_seq INTO v_last FROM ${s}.workspaces WHERE workspace = p_ws FOR UPDATE;
  END IF;
  WITH todo AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM ${s}.events WHERE workspace = p_ws AND seq IS NULL
  )
  UPDATE ${s}.events e SET seq = v_last + todo.n FROM todo WHERE e.id = todo.id;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  UPDATE ${s}.workspaces SET last_seq = v_last + v_n WHERE workspace = p_ws;
END
$fn$`

/** @internal */
export const migrations: ReadonlyArray<Migration> = [
  {
    version: 1,
    description: "workspaces, identities with leases, keys, events, due-queue, records, save()",
    statements: (s) => [
      `CREATE TABLE ${s}.workspaces (
        workspace text COLLATE "C" PRIMARY KEY,
        last_seq  bigint NOT NULL DEFAULT 0
      )`,
      // lease columns live on the identity row: claim, renew and release touch no index column,
      // so their updates stay HOT (heap-only) and cheap; fillfactor leaves room for that
      `CREATE TABLE ${s}.identities (
        workspace     text COLLATE "C" NOT NULL,
        id            text COLLATE "C" NOT NULL,
        version       integer NOT NULL CHECK (version >= 1),
        state         json NOT NULL,
        lease_owner   text,
        lease_expires double precision,
        hold_until    double precision NOT NULL DEFAULT 0,
        PRIMARY KEY (workspace, id)
      ) WITH (fillfactor = 80)`,
      `CREATE TABLE ${s}.keys (
        workspace text COLLATE "C" NOT NULL,
        key       text COLLATE "C" NOT NULL,
        identity  text COLLATE "C" NOT NULL,
        PRIMARY KEY (workspace, key),
        FOREIGN KEY (workspace, identity) REFERENCES ${s}.identities (workspace, id) ON DELETE CASCADE
      )`,
      `CREATE INDEX keys_by_identity ON ${s}.keys (workspace, identity)`,
      // `id` orders events as inserted; `seq` is their number in the workspace's feed, given by
      // sequence() once committed (NULL until then)
      `CREATE TABLE ${s}.events (
        id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        workspace text COLLATE "C" NOT NULL,
        seq       bigint,
        identity  text COLLATE "C" NOT NULL,
        body      json NOT NULL
      )`,
      `CREATE UNIQUE INDEX events_by_seq ON ${s}.events (workspace, seq)`,
      `CREATE INDEX events_unnumbered ON ${s}.events (workspace, id) WHERE seq IS NULL`,
      // only stored identities can be queued (the foreign key): nothing is ever due that claim
      // could not lease, so nextDue never reports work that does not exist
      `CREATE TABLE ${s}.due (
        workspace text COLLATE "C" NOT NULL,
        identity  text COLLATE "C" NOT NULL,
        at        double precision NOT NULL,
        PRIMARY KEY (workspace, identity),
        FOREIGN KEY (workspace, identity) REFERENCES ${s}.identities (workspace, id) ON DELETE CASCADE
      )`,
      `CREATE INDEX due_by_time ON ${s}.due (workspace, at, identity)`,
      `CREATE TABLE ${s}.records (
        workspace text COLLATE "C" NOT NULL,
        kind      text COLLATE "C" NOT NULL,
        key       text COLLATE "C" NOT NULL,
        version   integer NOT NULL CHECK (version >= 1),
        value     json NOT NULL,
        PRIMARY KEY (workspace, kind, key)
      )`,
      saveFunction(s),
      sequenceFunction(s)
    ]
  }
]

/** The schema version this build writes. @internal */
export const LATEST_VERSION: number = migrations.length
