/**
 * Seam events built from the engine's persisted domain events: `phone.deactivated`,
 * `enrollment_automation.deleted`, `acs_credential.issued|reissued|invalidated|deleted`
 * (`acs_user.created` comes from the API itself, the engine does not create ACS users).
 * Engine facts Seam has no event for (intents, imports, enrollments) produce none.
 *
 * @since 0.1.0
 */
import type { Store } from "@credsync/core"
import { Schema } from "effect"
import { iso, stableId } from "./internal/ids.js"

/** A Seam event as `/events/*` return it and webhooks deliver it. */
export interface SeamEvent {
  readonly event_id: string
  readonly event_type: string
  readonly workspace_id: string
  readonly created_at: string
  readonly occurred_at: string
  readonly event_description?: string
  readonly [field: string]: unknown
}

/**
 * The Schema of a stored Seam event: the fields every event has, and any others (kept as they are).
 *
 * @since 0.2.0
 */
export const SeamEventSchema = Schema.StructWithRest(
  Schema.Struct({
    event_id: Schema.NonEmptyString,
    event_type: Schema.NonEmptyString,
    workspace_id: Schema.String,
    created_at: Schema.String,
    occurred_at: Schema.String,
    event_description: Schema.optionalKey(Schema.String)
  }),
  [Schema.Record(Schema.String, Schema.Unknown)]
)

/**
 * What a translator has folded from the log so far, as JSON: with it, a translator continues from a
 * persisted cursor instead of reading the log from its start.
 *
 * @since 0.2.0
 */
export const FoldState = Schema.Struct({
  /** Live parent credential → its ACS. */
  parentAcs: Schema.Record(Schema.String, Schema.String),
  /** Live child credential → its parent's ACS. */
  childAcs: Schema.Record(Schema.String, Schema.String),
  /** Children that were issued once (a second issue is `reissued`). */
  issuedBefore: Schema.Array(Schema.String),
  /** Active phone → its custom metadata (for `phone.deactivated`). */
  phoneMetadata: Schema.Record(Schema.String, Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Boolean]))),
  /**
   * Live child credential → its parent (for the events of an Access Grant's access method). Absent
   * in a cursor an older version wrote: its children are then not known to have a parent.
   */
  childParent: Schema.optionalKey(Schema.Record(Schema.String, Schema.String))
})
/** @since 0.2.0 */
export type FoldState = typeof FoldState.Type

/** A translator's state before the first event. */
export const emptyFold: FoldState = { parentAcs: {}, childAcs: {}, issuedBefore: [], phoneMetadata: {}, childParent: {} }

/** A translator: feed it stored events in `seq` order; `state()` is what it has folded so far. */
export interface Translator {
  (stored: Store.StoredEvent): ReadonlyArray<SeamEvent>
  readonly state: () => FoldState
  /** The parent of a child credential the fold knows (before the event that removes it is fed). */
  readonly parentOf: (childId: string) => string | undefined
}

/** Where the events go. */
export interface Context {
  readonly workspaceId: string
  readonly connectedAccountId: string
}

/** The fields every event carries. */
export const base = (
  ctx: Context,
  eventId: string,
  eventType: string,
  at: number,
  description: string
): SeamEvent => ({
  event_id: eventId,
  event_type: eventType,
  workspace_id: ctx.workspaceId,
  created_at: iso(at),
  occurred_at: iso(at),
  event_description: description
})

/**
 * A stateful translator: it folds the log in order (to know, e.g., which ACS a child credential
 * belongs to after the child is gone). Feed it every stored event exactly once, in `seq` order,
 * starting from the log's start with an empty fold, or from a persisted cursor with the fold
 * `state()` returned there. Event ids are derived from the workspace and `seq`, so a replayed log
 * yields the same ids.
 *
 * @since 0.1.0
 */
export const translator = (ctx: Context, from: FoldState = emptyFold): Translator => {
  const parentAcs = new Map<string, string>(Object.entries(from.parentAcs))
  const childAcs = new Map<string, string>(Object.entries(from.childAcs))
  const issuedBefore = new Set<string>(from.issuedBefore)
  const phoneMetadata = new Map<string, Readonly<Record<string, string | boolean>>>(Object.entries(from.phoneMetadata))
  const childParent = new Map<string, string>(Object.entries(from.childParent ?? {}))
  const state = (): FoldState => ({
    parentAcs: Object.fromEntries(parentAcs),
    childAcs: Object.fromEntries(childAcs),
    issuedBefore: [...issuedBefore],
    phoneMetadata: Object.fromEntries(phoneMetadata),
    childParent: Object.fromEntries(childParent)
  })
  // every event names the user identity it is about, so /events/list can filter by user_identity_id
  const translate = (stored: Store.StoredEvent): ReadonlyArray<SeamEvent> =>
    translateOne(stored).map((ev) => ({ ...ev, user_identity_id: stored.event.identity }))
  const translateOne = ({ seq, event: e }: Store.StoredEvent): ReadonlyArray<SeamEvent> => {
    const id = (n = 0) => stableId(`${ctx.workspaceId}|event|${seq}|${n}`)
    const credential = (type: string, credentialId: string, acsSystemId: string, description: string): SeamEvent => ({
      ...base(ctx, id(), type, e.at, description),
      connected_account_id: ctx.connectedAccountId,
      acs_system_id: acsSystemId,
      acs_credential_id: credentialId
    })
    switch (e._tag) {
      case "PhoneRegistered":
        if (e.phone.metadata !== undefined) phoneMetadata.set(e.phone.id, e.phone.metadata)
        return []
      case "PhoneDeactivated": {
        const metadata = phoneMetadata.get(e.phoneId)
        // a phone registered again brings its metadata again: keep the fold to the active phones
        phoneMetadata.delete(e.phoneId)
        return [
          {
            ...base(ctx, id(), "phone.deactivated", e.at, "A phone was deactivated."),
            device_id: e.phoneId,
            ...(metadata === undefined ? {} : { device_custom_metadata: metadata })
          }
        ]
      }
      case "AutomationDeleted":
        return [
          {
            ...base(ctx, id(), "enrollment_automation.deleted", e.at, "An enrollment automation was deleted."),
            enrollment_automation_id: e.automationId
          }
        ]
      case "ParentCreated":
        parentAcs.set(e.parent.id, e.parent.acsSystemId)
        return []
      case "ParentRemoved": {
        const acs = parentAcs.get(e.credentialId)
        parentAcs.delete(e.credentialId)
        return acs === undefined
          ? []
          : [credential("acs_credential.deleted", e.credentialId, acs, "A multi-phone sync credential was deleted.")]
      }
      case "CredentialRequested": {
        const acs = parentAcs.get(e.child.parentId)
        if (acs !== undefined) {
          childAcs.set(e.child.id, acs)
          childParent.set(e.child.id, e.child.parentId)
        }
        return []
      }
      case "CredentialIssued": {
        const acs = childAcs.get(e.credentialId)
        if (!e.active || acs === undefined) return []
        const again = issuedBefore.has(e.credentialId)
        issuedBefore.add(e.credentialId)
        return [
          again
            ? credential("acs_credential.reissued", e.credentialId, acs, "A phone credential was reissued.")
            : credential("acs_credential.issued", e.credentialId, acs, "A phone credential was issued to a phone.")
        ]
      }
      case "CredentialLost": {
        const acs = childAcs.get(e.credentialId)
        return acs === undefined || !issuedBefore.has(e.credentialId)
          ? []
          : [credential("acs_credential.invalidated", e.credentialId, acs, "A phone credential can no longer be used.")]
      }
      case "CredentialRevoked": {
        const acs = childAcs.get(e.credentialId)
        childAcs.delete(e.credentialId)
        childParent.delete(e.credentialId)
        issuedBefore.delete(e.credentialId)
        return acs === undefined
          ? []
          : [credential("acs_credential.deleted", e.credentialId, acs, "A phone credential was revoked and removed.")]
      }
      default:
        return []
    }
  }
  return Object.assign(translate, { state, parentOf: (childId: string) => childParent.get(childId) })
}
