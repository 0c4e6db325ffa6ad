/**
 * Seam's error shape: `{ error: { type, message, validation_errors? } }` with Seam's status codes
 * (400 invalid_input, 401 unauthorized, 404 `<resource>_not_found`, ...). Every failure a route can
 * produce is one of these, so `@seamapi/http` maps it the way it maps Seam's own errors.
 *
 * @since 0.1.0
 */
import type { Command, PortError } from "@credsync/core"
import { Schema, SchemaIssue } from "effect"

/** `{ <param>: { _errors: [message] } }`, the zod-style map Seam returns for `invalid_input`. */
export type ValidationErrors = Readonly<Record<string, { readonly _errors: ReadonlyArray<string> }>>

/**
 * An API error with its HTTP status and Seam `type`.
 *
 * @since 0.1.0
 */
export class SeamError extends Schema.TaggedError<SeamError>()("SeamError", {
  status: Schema.Number,
  type: Schema.String,
  message: Schema.String,
  validationErrors: Schema.optional(Schema.Record(Schema.String, Schema.Struct({ _errors: Schema.Array(Schema.String) }))),
  retryAfterSeconds: Schema.optional(Schema.Number),
  /** What the operator's log gets (a port's own message); never sent to the client. */
  detail: Schema.optional(Schema.String)
}) {
  /** The JSON body Seam sends for this error. */
  get body(): { readonly error: Record<string, unknown> } {
    return {
      error: {
        type: this.type,
        message: this.message,
        ...(this.validationErrors === undefined ? {} : { validation_errors: this.validationErrors })
      }
    }
  }
}

/** 400 `invalid_input`, naming the offending fields. */
export const invalidInput = (message: string, fields: ValidationErrors = {}): SeamError =>
  new SeamError({ status: 400, type: "invalid_input", message, validationErrors: fields })

/** 400 `invalid_input` about one field. */
export const invalidField = (field: string, message: string): SeamError =>
  invalidInput(message, { [field]: { _errors: [message] } })

/** 401 `unauthorized`. */
export const unauthorized = (message = "Unauthorized"): SeamError =>
  new SeamError({ status: 401, type: "unauthorized", message })

/** 404 `<resource>_not_found`, e.g. `notFound("user_identity")`. */
export const notFound = (resource: string, message = `${resource.replaceAll("_", " ")} not found`): SeamError =>
  new SeamError({ status: 404, type: `${resource}_not_found`, message })

/** 404 for an unknown route (Seam answers the same way). */
export const routeNotFound = (path: string): SeamError =>
  new SeamError({ status: 404, type: "not_found", message: `No route for ${path}` })

/** 405 for a method the route does not accept. */
export const methodNotAllowed = (method: string): SeamError =>
  new SeamError({ status: 405, type: "method_not_allowed", message: `Method ${method} not allowed` })

/** 413: the request body is larger than the server accepts; nothing was read further or changed. */
export const payloadTooLarge = (max: number): SeamError =>
  new SeamError({ status: 413, type: "payload_too_large", message: `Request body is larger than ${max} bytes` })

/** 500 `internal_server_error`; the message never carries secrets or stack traces. */
export const internal = (message = "Internal server error"): SeamError =>
  new SeamError({ status: 500, type: "internal_server_error", message })

/** The request body failed its Schema: every issue becomes a `validation_errors` entry. */
export const fromSchemaError = (error: Schema.SchemaError): SeamError => {
  const result = SchemaIssue.makeFormatterStandardSchemaV1()(error.issue)
  const fields: Record<string, { _errors: Array<string> }> = {}
  for (const issue of result.issues) {
    const path = (issue.path ?? [])
      .map((p) => (typeof p === "object" && p !== null && "key" in p ? p.key : p))
      .map(String)
      .join(".")
    const key = path === "" ? "_root" : path
    const entry = fields[key] ?? { _errors: [] }
    entry._errors.push(issue.message)
    fields[key] = entry
  }
  return invalidInput("Error while parsing input", fields)
}

// core field names → Seam parameter names, so validation_errors name what the client sent
const coreFields: Record<string, string> = {
  userIdentityId: "user_identity_id",
  acsUserId: "acs_user_id",
  phoneId: "device_id",
  automationId: "enrollment_automation_id",
  managerId: "credential_manager_acs_system_id",
  credentialId: "acs_credential_id",
  facilityCode: "facility_code",
  cardFormat: "card_format",
  key: "user_identity_key",
  email: "email_address",
  phoneNumber: "phone_number",
  fullName: "full_name"
}

const notFoundTypes: Record<string, string> = {
  userIdentityId: "user_identity",
  acsUserId: "acs_user",
  phoneId: "device",
  automationId: "enrollment_automation",
  managerId: "acs_system",
  credentialId: "acs_credential"
}

/**
 * A rejected engine command: NotFound → 404 `<resource>_not_found`; InvalidInput → 400 naming the
 * Seam parameter; AlreadyExists / Conflict → 409 (Seam documents no code for these).
 */
export const fromCommandRejected = (e: Command.CommandRejected): SeamError => {
  const field = e.field === undefined ? undefined : (coreFields[e.field] ?? e.field)
  switch (e.reason) {
    case "NotFound":
      return notFound((e.field !== undefined ? notFoundTypes[e.field] : undefined) ?? "resource", e.message)
    case "InvalidInput":
      return field === undefined ? invalidInput(e.message) : invalidField(field, e.message)
    case "AlreadyExists":
      return new SeamError({ status: 409, type: "already_exists", message: e.message })
    case "Conflict":
      return new SeamError({ status: 409, type: "conflict", message: e.message })
  }
}

const portNames: Record<string, string> = {
  Store: "the workspace's store",
  CredentialManager: "the credential manager",
  AccessControl: "the access control system"
}

/**
 * A port failure behind a route (store down or full, provider rate limit...). The client gets one
 * line naming what failed, never the port's own message (it may hold a file path or a host): that
 * goes to `detail`, for the log. A store that fails to read or write answers a retryable 503 (a full
 * disk or a lost connection clears; the write did not happen or is settled by a retry), as does any
 * `Transient` / `Ambiguous` failure; a rate limit is 429 with its retry time.
 */
export const fromPortError = (e: PortError.PortError): SeamError => {
  const what = portNames[e.port] ?? "a dependency"
  const detail = `${e.port}.${e.method}: ${e.reason}: ${e.message}`
  if (e.reason === "RateLimited") {
    return new SeamError({
      status: 429,
      type: "rate_limited",
      message: `Rate limited by ${what}`,
      detail,
      ...(e.retryAfter === undefined ? {} : { retryAfterSeconds: Math.ceil(e.retryAfter / 1000) })
    })
  }
  if (e.reason === "Transient" || e.reason === "Ambiguous" || e.port === "Store") {
    return new SeamError({
      status: 503,
      type: "service_unavailable",
      message: `${what.charAt(0).toUpperCase()}${what.slice(1)} is unavailable: retry later`,
      detail,
      retryAfterSeconds: 1
    })
  }
  return new SeamError({ status: 500, type: "internal_server_error", message: `${what.charAt(0).toUpperCase()}${what.slice(1)} failed`, detail })
}
