/**
 * What every route module shares: the route builder (decode the body with its Schema, then run),
 * the common field Schemas and the small lookups every resource needs.
 *
 * @internal
 */
import type { PortError } from "@credsync/core"
import { Effect, Schema } from "effect"
import { fromPortError, fromSchemaError, notFound, type SeamError } from "../SeamError.js"
import type { Workspace } from "../Workspace.js"

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
  /** Decode the body, then run. */
  readonly handle: (ctx: RequestContext, body: unknown) => Effect.Effect<Body, SeamError>
}

export const route = <S extends Schema.Decoder<unknown>>(
  kind: Kind,
  schema: S,
  run: (ctx: RequestContext, input: S["Type"]) => Effect.Effect<Body, SeamError>
): Route => {
  const decode = Schema.decodeUnknownEffect(schema)
  return {
    kind,
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
