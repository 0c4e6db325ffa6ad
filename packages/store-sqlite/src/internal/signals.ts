/**
 * The store's `signals` within one process. SQLite has no notifications, and another process
 * cannot hold the same file (the holder rule), so the only other writers are stores opened on the
 * same file and workspace in this process: they share a hub here, keyed by the file's real path
 * and the workspace. (A second copy of this module, or a worker thread, has its own hubs: its
 * engines find work by `nextDue` and the lease expiry instead, a little later.)
 *
 * @internal
 */
import { type Cause, Effect, Queue, Stream } from "effect"

const hubs = new Map<string, Set<Queue.Enqueue<void, Cause.Done>>>()

/** Wake every listener of `key` (a hint: they claim again). @internal */
export const emit = (key: string): void => {
  const listeners = hubs.get(key)
  if (listeners !== undefined) for (const queue of listeners) Queue.offerUnsafe(queue, undefined)
}

/** The hints for `key`, as the Store port's `signals`. @internal */
export const stream = (key: string): Stream.Stream<void> =>
  Stream.callback<void>(
    (queue) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          let listeners = hubs.get(key)
          if (listeners === undefined) {
            listeners = new Set()
            hubs.set(key, listeners)
          }
          listeners.add(queue)
        }),
        () =>
          Effect.sync(() => {
            const listeners = hubs.get(key)
            listeners?.delete(queue)
            if (listeners?.size === 0) hubs.delete(key)
          })
      ),
    { bufferSize: 1, strategy: "sliding" }
  )
