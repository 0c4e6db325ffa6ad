import { invalidField, type SeamError } from "../SeamError.js"

/** Seam's pagination block. */
export interface Pagination {
  readonly next_page_cursor: string | null
  readonly has_next_page: boolean
  readonly next_page_url: string | null
}

export interface Page<A> {
  readonly items: ReadonlyArray<A>
  readonly pagination: Pagination
}

/** Seam's default page size. */
export const defaultLimit = 500

// The cursor is the sort key of the last item returned: pages stay stable when items are added.
/** The page cursor that continues after the item with this sort key. */
export const encode = (key: string): string => Buffer.from(JSON.stringify({ after: key }), "utf8").toString("base64url")
/** The sort key a page cursor continues after; undefined when it is not one of ours. */
export const decode = (cursor: string): string | undefined => {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
    if (typeof parsed === "object" && parsed !== null && "after" in parsed && typeof parsed.after === "string") {
      return parsed.after
    }
  } catch {
    // fall through: reported as invalid input
  }
  return undefined
}

/**
 * One page of `items`, ordered by `key` (ascending, unique per item). `url` builds the next page's
 * URL from its cursor.
 */
export const paginate = <A>(
  items: ReadonlyArray<A>,
  key: (a: A) => string,
  options: { readonly limit?: number | undefined; readonly page_cursor?: string | null | undefined },
  url: (cursor: string) => string
): Page<A> | SeamError => {
  const limit = options.limit ?? defaultLimit
  let after: string | undefined
  if (options.page_cursor !== undefined && options.page_cursor !== null) {
    after = decode(options.page_cursor)
    if (after === undefined) return invalidField("page_cursor", "Invalid page_cursor")
  }
  const sorted = [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
  const from = after === undefined ? sorted : sorted.filter((a) => key(a) > (after ?? ""))
  const page = from.slice(0, limit)
  const last = page[page.length - 1]
  const more = from.length > limit && last !== undefined
  const cursor = more ? encode(key(last)) : null
  return {
    items: page,
    pagination: { next_page_cursor: cursor, has_next_page: more, next_page_url: cursor === null ? null : url(cursor) }
  }
}
