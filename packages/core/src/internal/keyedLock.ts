import { Effect, Semaphore } from "effect"

// One permit per key, created on demand and dropped when nobody holds or waits for it, so the map
// stays as small as the number of identities being worked on right now.
export const makeKeyedLock = () => {
  const locks = new Map<string, { readonly sem: Semaphore.Semaphore; users: number }>()
  return <A, E, R>(key: string, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      let entry = locks.get(key)
      if (entry === undefined) {
        entry = { sem: Semaphore.makeUnsafe(1), users: 0 }
        locks.set(key, entry)
      }
      const held = entry
      held.users++
      return Semaphore.withPermit(held.sem, self).pipe(
        Effect.ensuring(
          Effect.sync(() => {
            held.users--
            if (held.users === 0) locks.delete(key)
          })
        )
      )
    })
}
