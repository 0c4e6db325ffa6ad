import { type AccessControl, Ids, PortError } from "@credsync/core"
import { Effect } from "effect"
import { newId } from "./ids.js"

/**
 * Wraps an ACS port so that ACS user ids are UUIDs (Seam's form) whatever the ACS uses inside
 * (the simulator says `acsu_1`). The engine and the API only ever see the public ids.
 */
export interface AcsUserIds {
  readonly port: AccessControl.AccessControlShape
}

const unknownUser = (method: string, id: string) =>
  new PortError.PortError({ reason: "NotFound", port: "AccessControl", method, message: `unknown ACS user ${id}` })

export const wrap = (inner: AccessControl.AccessControlShape): AcsUserIds => {
  const toInner = new Map<string, Ids.AcsUserId>()
  const toPublic = new Map<string, Ids.AcsUserId>()
  const pub = (id: Ids.AcsUserId): Ids.AcsUserId => toPublic.get(id) ?? id
  const view = (u: AccessControl.AcsUser): AccessControl.AcsUser => ({ ...u, id: pub(u.id) })
  const port: AccessControl.AccessControlShape = {
    systems: inner.systems,
    createUser: (acs, user) =>
      Effect.map(inner.createUser(acs, user), (u) => {
        const id = Ids.AcsUserId.make(newId())
        toInner.set(id, u.id)
        toPublic.set(u.id, id)
        return view(u)
      }),
    getUser: (acs, id) => {
      const inside = toInner.get(id)
      return inside === undefined ? Effect.fail(unknownUser("getUser", id)) : Effect.map(inner.getUser(acs, inside), view)
    },
    observe: (acs, query) =>
      Effect.map(
        inner.observe(acs, {
          users: query.users.flatMap((u) => {
            const inside = toInner.get(u)
            return inside === undefined ? [] : [inside]
          }),
          cardNumbers: query.cardNumbers
        }),
        (entries) =>
          entries.map((e) => {
            if (e.assignedTo === undefined) return e
            const { assignedTo, ...rest } = e
            return { ...rest, assignedTo: pub(assignedTo) }
          })
      ),
    importCredential: inner.importCredential,
    assign: (acs, entry, id) => {
      const inside = toInner.get(id)
      return inside === undefined ? Effect.fail(unknownUser("assign", id)) : inner.assign(acs, entry, inside)
    },
    remove: inner.remove
  }
  return { port }
}
