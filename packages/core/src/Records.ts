/**
 * Port: a front-end's own records (a Seam-compatible API's ACS users, webhooks, delivery cursors,
 * phone names, ...), kept in the same store as the engine's identities so that a restart loses
 * nothing and several instances can serve one workspace. Each record is a JSON value under
 * (kind, key) with a version for optimistic concurrency; the caller decodes values with its own
 * Schemas (a record is a boundary like any other).
 *
 * A store instance serves one workspace: two workspaces never see each other's records (nor
 * identities), whatever files or databases they are given.
 *
 * Contract (checked by @credsync/testkit's Records suite):
 * - `put` with `expected` 0 creates; with `expected` = the current version replaces; anything else
 *   fails with reason `Conflict` and writes nothing. The new version is returned (from 1).
 * - `remove` with `expected` ≠ the current version (or a missing record) fails with `Conflict`.
 * - `list` returns one kind's records in key order (binary order of the UTF-8 key), after `after`,
 *   whose key starts with `prefix` when given, at most `limit`.
 * - values round-trip as JSON (`JSON.stringify` then `JSON.parse`).
 *
 * @since 0.2.0
 */
import { Context, type Effect, type Option } from "effect"
import type { PortError } from "./PortError.js"

/**
 * One stored record.
 *
 * @since 0.2.0
 */
export interface Record {
  readonly kind: string
  readonly key: string
  /** From 1; moves by one on every `put`. */
  readonly version: number
  /** A JSON value: decode it with the Schema of its kind. */
  readonly value: unknown
}

/**
 * The records of one workspace.
 *
 * @since 0.2.0
 */
export interface RecordsShape {
  readonly get: (kind: string, key: string) => Effect.Effect<Option.Option<Record>, PortError>
  /** Create (`expected` 0) or replace (`expected` = current version); returns the new version. */
  readonly put: (kind: string, key: string, value: unknown, expected: number) => Effect.Effect<number, PortError>
  readonly remove: (kind: string, key: string, expected: number) => Effect.Effect<void, PortError>
  readonly list: (
    kind: string,
    options: { readonly after?: string | undefined; readonly prefix?: string | undefined; readonly limit: number }
  ) => Effect.Effect<ReadonlyArray<Record>, PortError>
}

/**
 * The Records service.
 *
 * @since 0.2.0
 */
export class Records extends Context.Service<Records, RecordsShape>()("@credsync/core/Records") {}
