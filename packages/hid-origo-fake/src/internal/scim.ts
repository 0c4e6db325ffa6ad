/** SCIM helpers shared by the fake's routes: URNs, error bodies, the filter subset. */

export const URN = {
  user: "urn:ietf:params:scim:schemas:core:2.0:User",
  userAction: "urn:hid:scim:api:ma:2.2:UserAction",
  invitation: "urn:hid:scim:api:ma:2.2:UserInvitation",
  container: "urn:hid:scim:api:ma:2.2:CredentialContainer",
  credential: "urn:hid:scim:api:ma:2.2:Credential",
  license: "urn:hid:scim:api:ma:2.2:LicenseInfo",
  partNumber: "urn:hid:scim:api:ma:2.2:PartNumber",
  listResponse: "urn:ietf:params:scim:api:messages:2.0:ListResponse",
  searchRequest: "urn:ietf:params:scim:api:messages:2.0:SearchRequest",
  // ASSUMPTION: v2.2 uses a 2.2 error URN (the known server code shows `ma:1.0:Error`).
  error: "urn:hid:scim:api:ma:2.2:Error"
} as const

export const MEDIA_TYPE = "application/vnd.assaabloy.ma.credential-management-2.2+json"

export type ScimType = "invalidSyntax" | "invalidValue" | "uniqueness" | "noTarget" | "invalidFilter" | "mutability"

/** A failure a handler raises; the router turns it into a SCIM error response. */
export class ScimFailure extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly scimType?: ScimType
  ) {
    super(detail)
  }
}

export const errorBody = (status: number, detail: string, scimType?: ScimType) => ({
  schemas: [URN.error],
  status,
  detail,
  ...(scimType ? { scimType } : {})
})

/** One comparison of the supported filter subset: `attr op "value"` or `attr pr`. */
interface Clause {
  readonly attr: string
  readonly op: "eq" | "ne" | "co" | "sw" | "ew" | "pr"
  readonly value: string
}

/** Disjunction of conjunctions. `not` and parentheses are not supported. */
export type Filter = ReadonlyArray<ReadonlyArray<Clause>>

// Attribute spellings accepted, mapped to a canonical name.
const ATTRIBUTES: Record<string, string> = {
  externalid: "externalId",
  emails: "email",
  "emails.value": "email",
  email: "email",
  "name.familyname": "familyName",
  familyname: "familyName",
  "name.givenname": "givenName",
  givenname: "givenName",
  status: "status",
  "meta.lastmodified": "lastModified"
}

const CLAUSE = /^\s*([A-Za-z.]+)\s+(eq|ne|co|sw|ew)\s+"((?:[^"\\]|\\.)*)"\s*$|^\s*([A-Za-z.]+)\s+(pr)\s*$/i

export const parseFilter = (text: string): Filter =>
  text.split(/\s+or\s+/i).map((conj) =>
    conj.split(/\s+and\s+/i).map((part): Clause => {
      const m = CLAUSE.exec(part)
      if (!m) throw new ScimFailure(400, `Cannot parse filter: ${part.trim()}`, "invalidFilter")
      const rawAttr = (m[1] ?? m[4] ?? "").toLowerCase()
      const attr = ATTRIBUTES[rawAttr]
      if (!attr) throw new ScimFailure(400, `Unsupported filter attribute: ${m[1] ?? m[4]}`, "invalidSyntax")
      const op = (m[2] ?? m[5] ?? "eq").toLowerCase()
      const value = (m[3] ?? "").replace(/\\(.)/g, "$1")
      if (op !== "eq" && op !== "ne" && op !== "co" && op !== "sw" && op !== "ew" && op !== "pr") {
        throw new ScimFailure(400, `Unsupported operator: ${op}`, "invalidFilter")
      }
      return { attr, op, value }
    })
  )

const compare = (op: Clause["op"], actual: string | undefined, expected: string): boolean => {
  if (op === "pr") return actual !== undefined && actual !== ""
  if (actual === undefined) return op === "ne"
  // SCIM string comparisons are case-insensitive by default (caseExact = false).
  const a = actual.toLowerCase()
  const e = expected.toLowerCase()
  switch (op) {
    case "eq":
      return a === e
    case "ne":
      return a !== e
    case "co":
      return a.includes(e)
    case "sw":
      return a.startsWith(e)
    case "ew":
      return a.endsWith(e)
  }
}

/** Evaluates a filter against an attribute reader (a multi-valued attribute matches if any value does). */
export const matches = (filter: Filter, read: (attr: string) => ReadonlyArray<string>): boolean =>
  filter.some((conj) =>
    conj.every((c) => {
      const values = read(c.attr)
      if (values.length === 0) return compare(c.op, undefined, c.value)
      return c.op === "ne" ? values.every((v) => compare("ne", v, c.value)) : values.some((v) => compare(c.op, v, c.value))
    })
  )
