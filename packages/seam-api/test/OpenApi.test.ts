/**
 * The server's generated OpenAPI document against Seam's own (shipped in `@seamapi/types`): every
 * path served is one of Seam's, every field the server accepts is Seam's or a deviation the README
 * names, and the Seam-required fields the server lacks (or treats differently) are known lists, so
 * that a renamed field, a new route or a Seam update shows up here. The document is also checked
 * against the route table it is generated from, and as `GET /openapi.json` serves it.
 */
import { readFileSync } from "node:fs"
import { openapi } from "@seamapi/types/connect"
import { Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { OpenApi, Routes, Server } from "../src/index.js"

// --- walking a JSON OpenAPI document (Seam's is data: read with guards, never cast) -------------

type Json = Readonly<Record<string, unknown>>
const isRecord = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)
const at = (u: unknown, ...keys: ReadonlyArray<string>): unknown => keys.reduce<unknown>((acc, k) => (isRecord(acc) ? acc[k] : undefined), u)
const list = (u: unknown): ReadonlyArray<unknown> => (Array.isArray(u) ? u : [])

/** A schema with its `$ref` (to `#/components/schemas/...`) followed. */
const resolve = (doc: unknown, schema: unknown): unknown => {
  const ref = at(schema, "$ref")
  return typeof ref === "string" ? resolve(doc, at(doc, "components", "schemas", ref.split("/").pop() ?? "")) : schema
}

/** Property name → its schemas, through `allOf` / `oneOf` / `anyOf` (Seam's bodies use all three). */
const properties = (doc: unknown, schema: unknown): Map<string, Array<unknown>> => {
  const s = resolve(doc, schema)
  const out = new Map<string, Array<unknown>>()
  const props = at(s, "properties")
  if (isRecord(props)) for (const [k, v] of Object.entries(props)) out.set(k, [...(out.get(k) ?? []), v])
  for (const key of ["allOf", "oneOf", "anyOf"]) {
    for (const branch of list(at(s, key))) for (const [k, v] of properties(doc, branch)) out.set(k, [...(out.get(k) ?? []), ...v])
  }
  return out
}

/** Required names: the schema's own, every `allOf` part's, and those every `oneOf`/`anyOf` branch requires. */
const required = (doc: unknown, schema: unknown): Set<string> => {
  const s = resolve(doc, schema)
  const out = new Set(list(at(s, "required")).filter((r): r is string => typeof r === "string"))
  for (const part of list(at(s, "allOf"))) for (const r of required(doc, part)) out.add(r)
  const alternatives = [...list(at(s, "oneOf")), ...list(at(s, "anyOf"))].map((b) => required(doc, b))
  const [first, ...rest] = alternatives
  for (const r of first ?? []) if (rest.every((b) => b.has(r))) out.add(r)
  return out
}

const methods = ["get", "post", "delete", "put", "patch"] as const

/** What a path takes: its POST body's fields and every operation's query parameters. */
const fieldsOf = (doc: unknown, path: string) => {
  const item = at(doc, "paths", path)
  const body = at(item, "post", "requestBody", "content", "application/json", "schema")
  const props = properties(doc, body)
  const req = required(doc, body)
  for (const m of methods) {
    for (const p of list(at(item, m, "parameters"))) {
      const name = at(p, "name")
      if (typeof name !== "string") continue
      props.set(name, [...(props.get(name) ?? []), at(p, "schema")])
      if (at(p, "required") === true) req.add(name)
    }
  }
  return { props, required: req, methods: methods.filter((m) => isRecord(at(item, m))) }
}

/** Where the server's document and Seam's differ, each entry `"<path> <field>"` (or a path). */
interface Report {
  /** Paths served that Seam does not have. */
  readonly unknownPaths: ReadonlyArray<string>
  /** Fields accepted (nested ones as `a.b`) that Seam's path does not take. */
  readonly extraFields: ReadonlyArray<string>
  /** Fields Seam requires that the server does not accept at all. */
  readonly missingRequired: ReadonlyArray<string>
  /** Fields Seam requires that the server accepts but may do without. */
  readonly optionalHere: ReadonlyArray<string>
  /** Fields the server requires that Seam leaves optional. */
  readonly requiredHere: ReadonlyArray<string>
  /** Methods Seam documents for a served path that the server does not answer. */
  readonly missingMethods: ReadonlyArray<string>
}

const compare = (ours: unknown, seam: unknown): Report => {
  const r: { readonly [K in keyof Report]: Array<string> } = {
    unknownPaths: [],
    extraFields: [],
    missingRequired: [],
    optionalHere: [],
    requiredHere: [],
    missingMethods: []
  }
  const paths = at(ours, "paths")
  for (const path of isRecord(paths) ? Object.keys(paths) : []) {
    if (!isRecord(at(seam, "paths", path))) {
      r.unknownPaths.push(path)
      continue
    }
    const mine = fieldsOf(ours, path)
    const theirs = fieldsOf(seam, path)
    for (const [field, schemas] of mine.props) {
      const seamSchemas = theirs.props.get(field)
      if (seamSchemas === undefined) {
        r.extraFields.push(`${path} ${field}`)
        continue
      }
      // one level of nesting (phone_metadata, access_schedule, visionline_metadata)
      const nested = new Set(seamSchemas.flatMap((s) => [...properties(seam, s).keys()]))
      for (const s of schemas) for (const sub of properties(ours, s).keys()) if (!nested.has(sub)) r.extraFields.push(`${path} ${field}.${sub}`)
    }
    for (const field of theirs.required) {
      if (!mine.props.has(field)) r.missingRequired.push(`${path} ${field}`)
      else if (!mine.required.has(field)) r.optionalHere.push(`${path} ${field}`)
    }
    for (const field of mine.required) if (!theirs.required.has(field)) r.requiredHere.push(`${path} ${field}`)
    for (const m of theirs.methods) if (!mine.methods.includes(m)) r.missingMethods.push(`${path} ${m}`)
  }
  return r
}

// --- what is known to differ ------------------------------------------------------------------

/**
 * Routes this server serves that Seam does not have. None: the operator endpoints (`/health`,
 * `/ready`, `/metrics`), `/openapi.json` and HID's callbacks are outside the route table and the
 * document, and fault injection is an in-process API (`server.injectFault`), not a route.
 */
const credsyncOnlyPaths: ReadonlyArray<string> = []

/** Accepted fields Seam's path does not take, each with the README "Deviations" line that names it. */
const deviations: ReadonlyArray<{ readonly field: string; readonly readme: string }> = [
  // the shared card details of a multi-phone sync credential, top level as in Seam's guide
  { field: "/acs/credentials/create card_format", readme: "`card_format` defaults to `rfid48`" },
  { field: "/acs/credentials/create facility_code", readme: "`facility_code` is required" },
  // accepted only to be refused by name: a per-card value has no place on a sync credential
  { field: "/acs/credentials/create card_number", readme: "`card_number`/`code` are" },
  { field: "/phones/simulate/create_sandbox_phone custom_metadata", readme: "`/phones/simulate/create_sandbox_phone` also takes `custom_metadata`" },
  // get_or_create shares create's body (routes/clientSessions.ts)
  { field: "/client_sessions/get_or_create customer_key", readme: "`/client_sessions/get_or_create` takes the body of `/client_sessions/create`" },
  { field: "/client_sessions/get_or_create customer_id", readme: "`/client_sessions/get_or_create` takes the body of `/client_sessions/create`" },
  // the cursor over the log's stored order, as on the other lists (routes/events.ts)
  { field: "/events/list page_cursor", readme: "Seam's `/events/list` pages only by `unstable_offset`" }
]

/** Seam-required fields the server does not accept at all: none today. */
const missingRequired: ReadonlyArray<string> = []

/** Seam requires it; the server does without. */
const optionalHere = [{ field: "/acs/credentials/create access_method", readme: "without `access_method` (Seam requires it)" }]

/** The server requires the id where Seam also looks the resource up by other fields (400 otherwise). */
const requiredHere = [
  { field: "/acs/users/get acs_user_id", readme: "`/acs/users/get`, `/events/get` and `/client_sessions/get` need their id" },
  { field: "/events/get event_id", readme: "`/acs/users/get`, `/events/get` and `/client_sessions/get` need their id" },
  { field: "/client_sessions/get client_session_id", readme: "`/acs/users/get`, `/events/get` and `/client_sessions/get` need their id" }
]

const deviationsSection = (): ReadonlyArray<string> => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
  const start = readme.indexOf("## Deviations from Seam")
  const end = readme.indexOf("\n## ", start + 1)
  return (start < 0 ? "" : readme.slice(start, end < 0 ? undefined : end)).split("\n")
}

// --- the tests ---------------------------------------------------------------------------------

const document = OpenApi.make()
const report = compare(document, openapi)
const sorted = (xs: ReadonlyArray<string>) => [...xs].sort()

describe("the generated OpenAPI document against Seam's", () => {
  it("serves only Seam's paths (or the credsync-only ones)", () => {
    expect(sorted(report.unknownPaths)).toEqual(sorted(credsyncOnlyPaths))
  })

  it("accepts only Seam's fields, or a deviation the README names", () => {
    expect(sorted(report.extraFields)).toEqual(sorted(deviations.map((d) => d.field)))
    const section = deviationsSection()
    for (const d of deviations) expect(section.some((line) => line.includes(d.readme)), `README deviation for ${d.field}`).toBe(true)
  })

  it("knows which fields Seam requires that the server lacks or treats differently", () => {
    expect(sorted(report.missingRequired)).toEqual(sorted(missingRequired))
    expect(sorted(report.optionalHere)).toEqual(sorted(optionalHere.map((d) => d.field)))
    expect(sorted(report.requiredHere)).toEqual(sorted(requiredHere.map((d) => d.field)))
    const section = deviationsSection()
    for (const d of [...optionalHere, ...requiredHere]) {
      expect(section.some((line) => line.includes(d.readme)), `README deviation for ${d.field}`).toBe(true)
    }
  })

  it("tags and summarises each operation as Seam does", () => {
    for (const [path, item] of Object.entries(document.paths)) {
      // some of Seam's operations (its newer resources, e.g. /access_grants) carry no tag at all
      const seamTags = list(at(openapi, "paths", path, "post", "tags"))
      if (seamTags.length > 0) expect(item.post?.tags, path).toEqual(seamTags)
      expect(item.post?.summary, path).toEqual(at(openapi, "paths", path, "post", "summary"))
    }
  })

  it("answers every method Seam documents for a served path", () => {
    expect(report.missingMethods).toEqual([])
  })

  it("reports a renamed field, a field gone, a new path and a missing method (the comparison can fail)", () => {
    const doctored = structuredClone(OpenApi.make())
    const create = doctored.paths["/acs/users/create"]?.post?.requestBody?.content["application/json"]?.schema
    const props = create?.properties
    if (create === undefined || !isRecord(props)) throw new Error("no /acs/users/create body")
    const { full_name, ...others } = props
    create.properties = { ...others, fullname: full_name }
    create.required = ["fullname", "acs_system_id"]
    doctored.paths["/acs/users/frobnicate"] = {}
    const phonesGet = doctored.paths["/phones/get"]
    if (phonesGet !== undefined) delete phonesGet.get
    const r = compare(doctored, openapi)
    expect(r.extraFields).toContain("/acs/users/create fullname")
    expect(r.missingRequired).toContain("/acs/users/create full_name")
    expect(r.requiredHere).toContain("/acs/users/create fullname")
    expect(r.unknownPaths).toEqual(["/acs/users/frobnicate"])
    expect(r.missingMethods).toEqual(["/phones/get get"])
  })
})

describe("the generated OpenAPI document against the route table", () => {
  it("has every route, with the methods the router answers and the fields its Schema decodes", () => {
    expect(Object.keys(document.paths)).toEqual(Object.keys(Routes.routes))
    for (const [path, route] of Object.entries(Routes.routes)) {
      const item = document.paths[path]
      expect(Object.keys(item ?? {}).sort(), path).toEqual([...OpenApi.methodsOf(route.kind)].sort())
      const body = item?.post?.requestBody?.content["application/json"]?.schema
      expect(Object.keys(isRecord(body?.properties) ? body.properties : {}), path).toEqual(route.fields)
      expect(item?.post?.summary).toBe(path)
      const query = item?.get ?? item?.delete
      if (query !== undefined) expect(query.parameters.map((p) => p.name), path).toEqual(route.fields)
    }
  })

  it("says an optional field is absent or a value, not null, unless its Schema takes null", () => {
    const body = (path: string) => at(document.paths[path]?.post?.requestBody, "content", "application/json", "schema", "properties")
    expect(at(body("/acs/users/list"), "acs_system_id")).toEqual({ type: "string", minLength: 1 })
    expect(at(body("/acs/users/list"), "page_cursor")).toEqual({ anyOf: [{ type: "string" }, { type: "null" }] })
    // nested: access_schedule.ends_at is NullOr (null means no end), starts_at is not
    expect(at(body("/acs/users/create"), "access_schedule", "properties", "ends_at")).toEqual({ anyOf: [{ type: "string" }, { type: "null" }] })
    expect(at(body("/acs/users/create"), "access_schedule", "properties", "starts_at")).toEqual({ type: "string" })
    expect(at(body("/phones/simulate/create_sandbox_phone"), "phone_metadata", "properties", "operating_system")).toEqual({
      type: "string",
      enum: ["android", "ios"]
    })
  })

  it("describes the package's version", () => {
    const pkg: unknown = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
    expect(document.info.version).toBe(at(pkg, "version"))
  })
})

describe("GET /openapi.json", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await Server.start({ workspaces: [{ id: "5d1c0a7e-3b2f-4e6d-9a8c-7b6e5d4c3b2a", apiKeys: [Redacted.make("seam_openapi_test")] }] })
  })
  afterAll(async () => {
    await server?.close()
  })

  it("serves the document without an API key, and only to GET and HEAD", async () => {
    const res = await fetch(`${server.url}/openapi.json`)
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toBe("application/json")
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(document)))
    expect((await fetch(`${server.url}/openapi.json`, { method: "HEAD" })).status).toBe(200)
    const post = await fetch(`${server.url}/openapi.json`, { method: "POST", body: "{}" })
    expect(post.status).toBe(405)
    expect(at(await post.json(), "error", "type")).toBe("method_not_allowed")
  })
})
