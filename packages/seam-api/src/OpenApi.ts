/**
 * The server's OpenAPI 3.1 document, generated from the route table (`Routes.routes`): each route's
 * body Schema becomes its JSON Schema through effect's own generator, the way effect's `HttpApi`
 * builds its document (canonical JSON codec → `SchemaRepresentation` → draft 2020-12 →
 * `JsonSchema.toMultiDocumentOpenApi3_1`), typed after effect's `OpenApi.OpenAPISpec`.
 *
 * Per path, as the router answers it (Server.ts): `post` with a JSON body; `get` (read routes) and
 * `delete` (delete routes) with the same fields as query parameters; `put` and `patch` (write
 * routes) with the JSON body. The summary is the path and the tag its first segment (`/acs`), as in
 * Seam's own document. Success is `{ok: true, ...}` (the response bodies are not modelled by a
 * Schema here, so the document says only `ok`); failures are Seam's `{error: {...}}` envelope.
 *
 * `GET /openapi.json` serves this document without an API key (Seam publishes its spec openly too).
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"
import { JsonSchema, Schema, SchemaRepresentation } from "effect"
import type * as OpenApiSpec from "effect/http-api/OpenApi"
import type { Route } from "./internal/route.js"
import { routes as allRoutes } from "./Routes.js"

/** One operation: effect's, but a body is required only when the route has a required field. */
export type Operation = Omit<OpenApiSpec.OpenAPISpecOperation, "requestBody"> & {
  requestBody?: { content: OpenApiSpec.OpenApiSpecContent; required: boolean }
}

/** The methods a path may answer in this document. */
export type Method = "get" | "post" | "delete" | "put" | "patch"

/** The document: effect's `OpenAPISpec` with these operations. */
export type Document = Omit<OpenApiSpec.OpenAPISpec, "paths"> & {
  paths: Record<string, Partial<Record<Method, Operation>>>
}

/**
 * The package's version, from its package.json (shipped with it, one level above both `src/` and
 * `dist/`): read when a document is made rather than written here, where a release would leave it behind.
 */
const packageVersion = (): string =>
  Schema.decodeUnknownSync(Schema.Struct({ version: Schema.String }))(createRequire(import.meta.url)("../package.json")).version

/** Seam's error body (SeamError.ts builds it). */
const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    type: Schema.String,
    message: Schema.String,
    validation_errors: Schema.optionalKey(
      Schema.Record(Schema.String, Schema.Struct({ _errors: Schema.Array(Schema.String) }))
    )
  })
}).annotate({ identifier: "SeamError" })

const okBody: JsonSchema.JsonSchema = {
  type: "object",
  properties: { ok: { type: "boolean", const: true } },
  required: ["ok"],
  additionalProperties: true
}

const isObject = (u: unknown): u is { readonly [key: string]: unknown } => typeof u === "object" && u !== null && !Array.isArray(u)

/** The body with `null` at this property path, the rest left out. */
const nullAt = (path: ReadonlyArray<string>): unknown => path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), null)

/**
 * `null` only where the route's own Schema takes it. The generator describes effect's JSON codec,
 * which reads `null` as `undefined`, so it adds a `{type: "null"}` branch to every field that may
 * be `undefined` (each `Schema.optional`); the server decodes with the route's Schema, which
 * refuses `null` there. So each property (nested ones too) is asked of the decoder itself: a body
 * with `null` there and nothing else either fails at that path (the `null` branches go) or not
 * (one `null` branch stays, e.g. `page_cursor`).
 */
const nullsAsDecoded = (
  schema: JsonSchema.JsonSchema,
  takesNull: (path: ReadonlyArray<string>) => boolean,
  at: ReadonlyArray<string> = []
): JsonSchema.JsonSchema => {
  const properties = schema.properties
  if (!isObject(properties)) return schema
  const out: Record<string, unknown> = {}
  for (const [name, property] of Object.entries(properties)) {
    const path = [...at, name]
    const anyOf = isObject(property) ? property.anyOf : undefined
    if (!isObject(property) || !Array.isArray(anyOf)) {
      out[name] = isObject(property) ? nullsAsDecoded(property, takesNull, path) : property
      continue
    }
    const isNull = (b: unknown) => isObject(b) && b.type === "null" && Object.keys(b).length === 1
    const others = anyOf.filter((b) => !isNull(b))
    const branches = takesNull(path) ? [...others, { type: "null" }] : others
    const [only] = branches
    const inner: JsonSchema.JsonSchema = branches.length === 1 && isObject(only) ? { ...only } : { ...property, anyOf: branches }
    out[name] = nullsAsDecoded(inner, takesNull, path)
  }
  return { ...schema, properties: out }
}

/** Whether the route's Schema takes `null` at this property path (no issue there when it is sent). */
const takesNullIn =
  (schema: Route["schema"]) =>
  (path: ReadonlyArray<string>): boolean => {
    const result = Schema.toStandardSchemaV1(schema, { parseOptions: { errors: "all" } })["~standard"].validate(nullAt(path))
    // every route Schema decodes synchronously; were one not to, keep what the generator said
    if (result instanceof Promise) return true
    const same = (p: ReadonlyArray<unknown> | undefined) =>
      p !== undefined && p.length === path.length && p.every((k, i) => (isObject(k) ? k.key : k) === path[i])
    return result.issues === undefined || !result.issues.some((i) => same(i.path))
  }

/** Seam tags an operation with its path's first segment (`/acs/users/list` → `/acs`). */
const tagOf = (path: string) => `/${path.split("/")[1] ?? ""}`

const camel = (path: string) =>
  path
    .split(/[/_]/)
    .filter((s) => s.length > 0)
    .map((s, i) => (i === 0 ? s : s.charAt(0).toUpperCase() + s.slice(1)))
    .join("")

/** The methods the router answers for a route of this kind (Server.ts decides the same way). */
export const methodsOf = (kind: Route["kind"]): ReadonlyArray<Method> =>
  kind === "read" ? ["post", "get"] : kind === "delete" ? ["post", "delete"] : ["post", "put", "patch"]

const responses = (errorRef: JsonSchema.JsonSchema): OpenApiSpec.OpenAPISpecResponses => {
  const error = (description: string) => ({ description, content: { "application/json": { schema: errorRef } } })
  return {
    200: { description: "OK: the resource (or list) under its key, and `ok: true`", content: { "application/json": { schema: okBody } } },
    400: error("Bad Request: `invalid_input` naming the fields in `validation_errors`, or a documented refusal; nothing changed"),
    401: error("Unauthorized: no or an unknown API key"),
    404: error("Not Found: `<resource>_not_found`"),
    409: error("Conflict: the engine refused a duplicate"),
    413: error("Payload Too Large: a body over the server's limit"),
    503: error("Service Unavailable: the store or a provider is unavailable; `Retry-After` says when to try again")
  }
}

/**
 * The OpenAPI 3.1 document of these routes (default: every route this server serves).
 *
 * @since 0.1.0
 */
export const make = (routes: Readonly<Record<string, Route>> = allRoutes): Document => {
  const entries = Object.entries(routes)
  const json = (s: Schema.Constraint) => Schema.toCodecJson(s).ast
  // one multi-document for all of them, so shared definitions land once in components.schemas
  const multi = JsonSchema.toMultiDocumentOpenApi3_1(
    SchemaRepresentation.toJsonSchemaMultiDocument(
      SchemaRepresentation.toRepresentations([json(ErrorBody), ...entries.map(([, r]) => json(r.schema))])
    )
  )
  const [errorRef = {}, ...bodies] = multi.schemas
  const paths: Document["paths"] = {}
  entries.forEach(([path, r], i) => {
    const body = nullsAsDecoded(bodies[i] ?? {}, takesNullIn(r.schema))
    const properties = isObject(body.properties) ? body.properties : {}
    const required = Array.isArray(body.required) ? body.required : []
    const parameters: Array<OpenApiSpec.OpenAPISpecParameter> = Object.entries(properties).map(([name, schema]) => ({
      name,
      in: "query",
      required: required.includes(name),
      schema: isObject(schema) ? schema : {}
    }))
    const tag = tagOf(path)
    const item: Partial<Record<Method, Operation>> = {}
    for (const method of methodsOf(r.kind)) {
      const inQuery = method === "get" || method === "delete"
      item[method] = {
        operationId: `${camel(path)}${method.charAt(0).toUpperCase()}${method.slice(1)}`,
        summary: path,
        tags: [tag],
        parameters: inQuery ? parameters : [],
        ...(inQuery ? {} : { requestBody: { content: { "application/json": { schema: body } }, required: required.length > 0 } }),
        security: [{ api_key: [] }],
        responses: responses(errorRef)
      }
    }
    paths[path] = item
  })
  return {
    openapi: "3.1.0",
    info: {
      title: "credsync Seam-compatible API",
      version: packageVersion(),
      description:
        "Seam Connect's mobile-credential routes served by a self-hosted credsync engine. Bodies are decoded with the Schemas this document is generated from; unknown fields are ignored."
    },
    paths,
    components: {
      schemas: multi.definitions,
      securitySchemes: { api_key: { type: "http", scheme: "bearer", bearerFormat: "API Key" } }
    },
    security: [{ api_key: [] }],
    tags: [...new Set(Object.keys(paths).map(tagOf))].map((name) => ({ name }))
  }
}
