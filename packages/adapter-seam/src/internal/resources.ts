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
export const decodeEvent = Schema.decodeUnknownEffect(Event)
