/**
 * Test data built through the core Schemas (no casts): identity states with a phone, a parent and
 * a child, and a few domain events.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Event, Identity, Ids } from "@credsync/core"
import { Effect, Schema, type Scope } from "effect"

export const identityId = Schema.decodeUnknownSync(Ids.UserIdentityId)

export const stateOf = (id: string, n = 0): Identity.IdentityState =>
  Schema.decodeUnknownSync(Identity.IdentityState)({
    id,
    createdAt: 1_700_000_000_000 + n,
    profile: { key: `key-${id}`, email: `${id}@example.com` },
    deleting: false,
    acsUsers: { "acs-1": { acsUserId: `acsuser-${id}`, acsSystemId: "acs-1" } },
    managerUsers: {},
    automations: [],
    phones: [{ id: `phone-${id}-${n}`, deviceType: "ios_phone", active: true, createdAt: n }],
    enrollments: [],
    parents: [
      {
        id: `parent-${id}`,
        acsUserId: `acsuser-${id}`,
        acsSystemId: "acs-1",
        managerId: "mgr-1",
        card: { cardFormat: "H10301", facilityCode: "42" },
        createdAt: n,
        deleting: false
      }
    ],
    children: []
  })

export const phoneRegistered = (id: string, n: number): Event.DomainEvent =>
  Schema.decodeUnknownSync(Event.DomainEvent)({
    _tag: "PhoneRegistered",
    identity: id,
    at: 1_700_000_000_000 + n,
    phone: { id: `phone-${id}-${n}`, deviceType: "android_phone", active: true, createdAt: n }
  })

export const phoneDeactivated = (id: string, n: number): Event.DomainEvent =>
  Schema.decodeUnknownSync(Event.DomainEvent)({
    _tag: "PhoneDeactivated",
    identity: id,
    at: 1_700_000_000_000 + n,
    phoneId: `phone-${id}-${n}`
  })

/** A fresh temp directory for the scope of a test, removed (with the database files) afterwards. */
export const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "credsync-sqlite-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

export const tempFile: Effect.Effect<string, never, Scope.Scope> = Effect.map(tempDir, (dir) =>
  path.join(dir, "store.db")
)
