/**
 * The parts of Seam's resources this adapter relies on, as Schemas. Responses are decoded with
 * them (unknown fields ignored), so a response that lacks what we need is a typed failure, never
 * an unchecked cast. Seam's own types stay here.
 */
import { Schema } from "effect"

const opt = Schema.optional
const Str = Schema.String
const NullableStr = opt(Schema.NullOr(Schema.String))
const Notice = Schema.Struct({ warning_code: opt(Str), error_code: opt(Str), message: opt(Str) })

export const UserIdentity = Schema.Struct({
  user_identity_id: Str,
  user_identity_key: NullableStr,
  email_address: NullableStr,
  full_name: NullableStr,
  acs_user_ids: opt(Schema.Array(Str))
})
export type UserIdentity = typeof UserIdentity.Type

export const Phone = Schema.Struct({
  device_id: Str,
  device_type: opt(Str),
  owner_user_identity_id: NullableStr
})
export type Phone = typeof Phone.Type

export const Automation = Schema.Struct({
  enrollment_automation_id: Str,
  credential_manager_acs_system_id: Str,
  user_identity_id: Str
})
export type Automation = typeof Automation.Type

export const Credential = Schema.Struct({
  acs_credential_id: Str,
  acs_user_id: NullableStr,
  user_identity_id: NullableStr,
  acs_system_id: opt(Str),
  parent_acs_credential_id: NullableStr,
  is_multi_phone_sync_credential: opt(Schema.NullOr(Schema.Boolean)),
  is_issued: opt(Schema.NullOr(Schema.Boolean)),
  card_number: NullableStr,
  access_method: opt(Str),
  // not in Seam's published model; Seam's mobile-credential guide and the Seam-compatible API show them
  device_id: NullableStr,
  credential_manager_acs_system_id: NullableStr,
  card_format: NullableStr,
  facility_code: NullableStr,
  visionline_metadata: opt(Schema.NullOr(Schema.Struct({ card_format: NullableStr }))),
  errors: opt(Schema.Array(Notice)),
  warnings: opt(Schema.Array(Notice))
})
export type Credential = typeof Credential.Type

export const AcsUser = Schema.Struct({
  acs_user_id: Str,
  acs_system_id: Str,
  full_name: NullableStr,
  display_name: opt(Str),
  email_address: NullableStr,
  user_identity_id: NullableStr
})
export type AcsUser = typeof AcsUser.Type

/** An Access Grant: its mobile-key access methods are `requested_access_methods[].created_access_method_ids`
 *  of mode `mobile_key` that `access_method_ids` still lists. */
export const AccessGrant = Schema.Struct({
  access_grant_id: Str,
  user_identity_id: Str,
  access_method_ids: Schema.Array(Str),
  requested_access_methods: Schema.Array(Schema.Struct({ mode: Str, created_access_method_ids: opt(Schema.Array(Str)) })),
  warnings: opt(Schema.Array(Notice))
})
export type AccessGrant = typeof AccessGrant.Type

/** The part of `/access_methods/get_related`'s batch this adapter reads. */
export const RelatedBatch = Schema.Struct({ acs_credentials: opt(Schema.Array(Credential)) })
export type RelatedBatch = typeof RelatedBatch.Type

export const Entrance = Schema.Struct({ acs_entrance_id: Str, acs_system_id: Str })
export type Entrance = typeof Entrance.Type

/** The fields of Seam events that route them to a user identity. */
export const Event = Schema.Struct({
  event_id: Str,
  event_type: Str,
  workspace_id: opt(Str),
  occurred_at: opt(Str),
  acs_credential_id: opt(Str),
  acs_system_id: opt(Str),
  device_id: opt(Str),
  enrollment_automation_id: opt(Str),
  acs_user_id: opt(Str)
})
export type Event = typeof Event.Type

export const decodeUserIdentity = Schema.decodeUnknownEffect(UserIdentity)
export const decodePhones = Schema.decodeUnknownEffect(Schema.Array(Phone))
export const decodePhone = Schema.decodeUnknownEffect(Phone)
export const decodeAutomation = Schema.decodeUnknownEffect(Automation)
export const decodeAutomations = Schema.decodeUnknownEffect(Schema.Array(Automation))
export const decodeCredential = Schema.decodeUnknownEffect(Credential)
export const decodeCredentials = Schema.decodeUnknownEffect(Schema.Array(Credential))
export const decodeAcsUser = Schema.decodeUnknownEffect(AcsUser)
export const decodeAcsUsers = Schema.decodeUnknownEffect(Schema.Array(AcsUser))
export const decodeAccessGrant = Schema.decodeUnknownEffect(AccessGrant)
export const decodeAccessGrants = Schema.decodeUnknownEffect(Schema.Array(AccessGrant))
export const decodeRelatedBatch = Schema.decodeUnknownEffect(RelatedBatch)
export const decodeEntrances = Schema.decodeUnknownEffect(Schema.Array(Entrance))
export const decodeEvent = Schema.decodeUnknownEffect(Event)
