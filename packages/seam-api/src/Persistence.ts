/**
 * Where a workspace keeps everything: the engine's `Store` and the API's own `Records` (ACS users,
 * webhooks and their delivery queue, the Seam event log and its cursor, phone names, profile
 * claims, the sandbox simulator's state), both from @credsync/core. One store instance serves one
 * workspace.
 *
 * A workspace takes its persistence as a layer providing both services, built in the workspace's
 * scope (a file or a connection pool is closed with it):
 *
 * ```ts
 * // nothing survives the process (the default)
 * Workspace.make({ id, apiKeys })
 * // a store kept by the caller: hand the same pair to a fresh workspace after the first one is
 * // closed, and it continues where the first stopped (a restart); or to two live workspaces
 * // (two instances of one workspace)
 * const kept = Persistence.memory()
 * Workspace.make({ id, apiKeys, persistence: Persistence.layer(kept) })
 * // durable stores: see ServerConfig.persistence
 * ```
 *
 * @since 0.2.0
 */
import { MemoryRecords, MemoryStore } from "@credsync/adapter-memory"
import { type PortError, Records, Store } from "@credsync/core"
import { Context, Effect, Layer, type Scope } from "effect"

/** A workspace's store and records. */
export interface Persistence {
  readonly store: Store.StoreShape
  readonly records: Records.RecordsShape
}

/** What opens a workspace's persistence (in the workspace's scope). */
export type Source = Layer.Layer<Store.Store | Records.Records, PortError.PortError>

/**
 * A layer over an existing store and records: every build gives these same instances.
 *
 * @since 0.2.0
 */
export const layer = (persistence: Persistence): Source =>
  Layer.succeedContext(Context.make(Store.Store, persistence.store).pipe(Context.add(Records.Records, persistence.records)))

/**
 * Fresh in-memory store and records (kept as long as the caller keeps the value).
 *
 * @since 0.2.0
 */
export const memory = (): Persistence => ({ store: MemoryStore.make(), records: MemoryRecords.make() })

/**
 * A layer with fresh in-memory store and records on every build: the default of a workspace.
 *
 * @since 0.2.0
 */
export const memoryLayer = (): Source => Layer.effectContext(Effect.sync(() => Context.make(Store.Store, MemoryStore.make()).pipe(Context.add(Records.Records, MemoryRecords.make()))))

/**
 * Build a source in the current scope.
 *
 * @since 0.2.0
 */
export const open = (source: Source): Effect.Effect<Persistence, PortError.PortError, Scope.Scope> =>
  Effect.map(Layer.build(source), (context) => ({ store: Context.get(context, Store.Store), records: Context.get(context, Records.Records) }))
