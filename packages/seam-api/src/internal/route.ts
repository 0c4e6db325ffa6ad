/**
 * What every route module shares: the route builder (decode the body with its Schema, then run),
 * the common field Schemas and the small lookups and list helpers several resources need.
 *
 * @internal
 */
import type { Command, Identity, PortError } from "@credsync/core"
import { Effect, Schema } from "effect"
import type * as Resources from "../Resources.js"
import {
  fromCommandRejected,
  fromPortError,
  fromSchemaError,
  notFound,
  type SeamError,
  SeamError as SeamErrorClass
} from "../SeamError.js"
import type { Workspace } from "../Workspace.js"
import { type Page, paginate } from "./pagination.js"

/** What a handler knows about the request. */
export interface RequestContext {
  readonly ws: Workspace
  /** `http://host:port`, for `next_page_url`. */
  readonly origin: string
  readonly path: string
}

/** A JSON response body without `ok` (added by the server). */
export type Body = { readonly [key: string]: unknown }

/** How a route may be called: `read` routes also answer GET, `delete` routes also DELETE. */
export type Kind = "read" | "write" | "delete"

/** One route. */
export interface Route {
  readonly kind: Kind
  /** The body's field names (for documents and generated tests). */
  readonly fields: ReadonlyArray<string>
  /** The body's Schema, as the handler decodes it (the OpenAPI document is generated from it). */
  readonly schema: Schema.Decoder<unknown>
  /** Decode the body, then run. */
  readonly handle: (ctx: RequestContext, body: unknown) => Effect.Effect<Body, SeamError>
}

/** A route of this kind: `run` gets the body decoded with `schema` (400 `invalid_input` otherwise). */
export const route = <S extends Schema.Decoder<unknown>>(
  kind: Kind,
  schema: S,
  run: (ctx: RequestContext, input: S["Type"]) => Effect.Effect<Body, SeamError>
): Route => {
  const decode = Schema.decodeUnknownEffect(schema)
  return {
    kind,
    schema,
    fields: Schema.isSchema(schema) && "fields" in schema && typeof schema.fields === "object" && schema.fields !== null ? Object.keys(schema.fields) : [],
    handle: (ctx, body) =>
      decode(body, { errors: "all", onExcessProperty: "ignore" }).pipe(
        Effect.mapError(fromSchemaError),
        Effect.flatMap((input) => run(ctx, input))
      )
  }
}

/** A non-empty id. */
export const Id = Schema.NonEmptyString
/** An optional field. */
export const opt = <S extends Schema.Top>(schema: S): Schema.optional<S> => Schema.optional(schema)
/** An ISO 8601 date-time. */
export const IsoDate = Schema.String.check(
  Schema.makeFilter((s: string) => !Number.isNaN(Date.parse(s)) || "Expected an ISO 8601 date-time")
)

/** A port failure as Seam's error for it. */
export const port = <A>(eff: Effect.Effect<A, PortError.PortError>): Effect.Effect<A, SeamError> => Effect.mapError(eff, fromPortError)

/** 404 `<resource>_not_found` for a missing value. */
export const orNotFound =
  (resource: string) =>
  <A>(a: A | undefined): Effect.Effect<A, SeamError> =>
    a === undefined ? Effect.fail(notFound(resource)) : Effect.succeed(a)

/** A live user identity, or 404 `user_identity_not_found`. */
export const identityOf = (ws: Workspace, id: string) => Effect.flatMap(port(ws.identity(id)), orNotFound("user_identity"))

// --- fields and helpers several resources share ------------------------------------------------

/** `limit` of a paginated list: 1 to 10,000 (Seam's default page is 500). */
export const Limit = opt(Schema.Int.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(10_000)))
/** `page_cursor` of a paginated list (`null` asks for the first page). */
export const Cursor = opt(Schema.NullOr(Schema.String))
/** An email address (one `@`, no spaces). */
export const Email = Schema.String.check(Schema.isPattern(/^[^@\s]+@[^@\s]+$/, { message: "Invalid email" }))
/** A phone number in E.164 form. */
export const PhoneNumber = Schema.String.check(
  Schema.isPattern(/^\+[1-9]\d{1,14}$/, { message: "Invalid phone number, expected E.164 such as +15555550100" })
)

/**
 * Run a host command on the engine; a rejection becomes Seam's error for it. The command's fields
 * come from a request body, so the engine decodes it (a bad field is named in the rejection).
 */
export const exec = (
  ws: Workspace,
  command: { readonly _tag: Command.Command["_tag"]; readonly [field: string]: unknown }
): Effect.Effect<Identity.IdentityState, SeamError> =>
  ws.engine.executeUnknown(command).pipe(
    Effect.mapError((e) => (e._tag === "CommandRejected" ? fromCommandRejected(e) : fromPortError(e))),
    Effect.tap(() => ws.wake)
  )

/** Sort key of a listed resource: creation time, then id (unique). */
export const keyBy =
  (idField: string) =>
  (r: Resources.Resource): string =>
    `${String(r.created_at)}|${String(r[idField])}`

/** One page of a list, or 400 `invalid_input` naming `page_cursor`; `next_page_url` repeats the route. */
export const page = <A>(
  ctx: RequestContext,
  items: ReadonlyArray<A>,
  key: (a: A) => string,
  options: { readonly limit?: number | undefined; readonly page_cursor?: string | null | undefined }
): Effect.Effect<Page<A>, SeamError> => {
  const p = paginate(items, key, options, (cursor) => `${ctx.origin}${ctx.path}?page_cursor=${encodeURIComponent(cursor)}`)
  return p instanceof SeamErrorClass ? Effect.fail(p) : Effect.succeed(p)
}

/** `created_before`: keeps resources created strictly before it (all when it is absent). */
export const beforeFilter = (createdBefore: string | undefined) => (r: Resources.Resource) =>
  createdBefore === undefined || Date.parse(String(r.created_at)) < Date.parse(createdBefore)

/** The identity holding this lookup key (`phone:…`, `credential:…`), or 404 `<resource>_not_found`. */
export const findIn = (ws: Workspace, key: string, resource: string) =>
  Effect.flatMap(port(ws.find(key)), orNotFound(resource))
