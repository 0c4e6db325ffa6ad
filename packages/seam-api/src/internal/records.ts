/**
 * Typed access to the workspace's `Records` (core's port): each kind of record has a Schema, every
 * value read back is decoded with it (a record is a boundary: a damaged one is a typed `PortError`,
 * never a crash), every value written is encoded with it, and changes are versioned puts, so two
 * instances sharing a store cannot both win a check-and-act.
 *
 * @internal
 */
import { PortError, type Records } from "@credsync/core"
import { Effect, Option, Schema } from "effect"

/** One kind of record: its name in the store and the Schema of its values. */
export interface Kind<A, I> {
  readonly name: string
  readonly schema: Schema.Codec<A, I>
  /** Values may hold secrets: errors about them never quote the decoder's message. */
  readonly sensitive: boolean
}

/** Declare a kind. */
export const kind = <A, I>(name: string, schema: Schema.Codec<A, I>, options: { readonly sensitive?: boolean } = {}): Kind<A, I> => ({
  name,
  schema,
  sensitive: options.sensitive ?? false
})

/** A decoded record with the version its next `put` must expect. */
export interface Versioned<A> {
  readonly key: string
  readonly version: number
  readonly value: A
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, "; ")

const damaged = <A, I>(k: Kind<A, I>, key: string, method: string, detail: string) =>
  new PortError.PortError({
    reason: "Unknown",
    port: "Store",
    method,
    message: k.sensitive ? `damaged ${k.name} record ${key}` : `damaged ${k.name} record ${key}: ${oneLine(detail)}`
  })

const decode = <A, I>(k: Kind<A, I>, key: string, version: number, value: unknown): Effect.Effect<Versioned<A>, PortError.PortError> =>
  Schema.decodeUnknownEffect(k.schema)(value).pipe(
    Effect.map((a) => ({ key, version, value: a })),
    Effect.mapError((e) => damaged(k, key, "decode", e.message))
  )

const encode = <A, I>(k: Kind<A, I>, key: string, value: A): Effect.Effect<I, PortError.PortError> =>
  Schema.encodeEffect(k.schema)(value).pipe(
    Effect.mapError(
      (e) =>
        new PortError.PortError({
          reason: "InvalidInput",
          port: "Store",
          method: "encode",
          message: k.sensitive ? `${k.name} record ${key} cannot be encoded` : `${k.name} record ${key} cannot be encoded: ${oneLine(e.message)}`
        })
    )
  )

/** Is this the store's answer to a version that moved (another writer won)? */
export const isConflict = (e: PortError.PortError): boolean => e.reason === "Conflict"

/** Read and decode one record. */
export const get = <A, I>(records: Records.RecordsShape, k: Kind<A, I>, key: string): Effect.Effect<Option.Option<Versioned<A>>, PortError.PortError> =>
  Effect.flatMap(records.get(k.name, key), (o) =>
    Option.match(o, {
      onNone: () => Effect.succeedNone,
      onSome: (r) => Effect.asSome(decode(k, key, r.version, r.value))
    })
  )

/** Create a record; `false` when one exists already (someone else created it first). */
export const create = <A, I>(records: Records.RecordsShape, k: Kind<A, I>, key: string, value: A): Effect.Effect<boolean, PortError.PortError> =>
  Effect.flatMap(encode(k, key, value), (json) =>
    records.put(k.name, key, json, 0).pipe(
      Effect.as(true),
      Effect.catchIf(isConflict, () => Effect.succeed(false))
    )
  )

/** Replace a record at `expected`; fails with `Conflict` when its version moved. Returns the new version. */
export const replace = <A, I>(
  records: Records.RecordsShape,
  k: Kind<A, I>,
  key: string,
  value: A,
  expected: number
): Effect.Effect<number, PortError.PortError> => Effect.flatMap(encode(k, key, value), (json) => records.put(k.name, key, json, expected))

/** Remove a record at `expected`; `false` when its version moved or it is gone already. */
export const remove = <A, I>(records: Records.RecordsShape, k: Kind<A, I>, key: string, expected: number): Effect.Effect<boolean, PortError.PortError> =>
  records.remove(k.name, key, expected).pipe(
    Effect.as(true),
    Effect.catchIf(isConflict, () => Effect.succeed(false))
  )

/** One page of a kind, decoded, in key order. */
export const page = <A, I>(
  records: Records.RecordsShape,
  k: Kind<A, I>,
  options: { readonly after?: string | undefined; readonly prefix?: string | undefined; readonly limit: number }
): Effect.Effect<ReadonlyArray<Versioned<A>>, PortError.PortError> =>
  Effect.flatMap(records.list(k.name, options), (rows) => Effect.forEach(rows, (r) => decode(k, r.key, r.version, r.value)))

/** Every record of a kind (page by page), decoded, in key order. */
export const all = <A, I>(
  records: Records.RecordsShape,
  k: Kind<A, I>,
  options: { readonly prefix?: string | undefined } = {}
): Effect.Effect<ReadonlyArray<Versioned<A>>, PortError.PortError> =>
  Effect.gen(function* () {
    const out: Array<Versioned<A>> = []
    let after: string | undefined
    while (true) {
      const rows = yield* page(records, k, { after, prefix: options.prefix, limit: 500 })
      out.push(...rows)
      const last = rows[rows.length - 1]
      if (last === undefined || rows.length < 500) return out
      after = last.key
    }
  })

/** What `modify` should do with the record it read. */
export type Change<A, B> =
  | { readonly _tag: "Put"; readonly value: A; readonly result: B }
  | { readonly _tag: "Remove"; readonly result: B }
  | { readonly _tag: "Keep"; readonly result: B }

/** How many times `modify` reads again after losing a race before it gives up with the Conflict. */
const maxRaces = 32

/**
 * Read, decide, write at the version read: a lost race (another instance wrote in between) reads
 * again and decides again, so the decision is always made on the current value.
 */
export const modify = <A, I, B>(
  records: Records.RecordsShape,
  k: Kind<A, I>,
  key: string,
  decide: (current: Versioned<A> | undefined) => Change<A, B>
): Effect.Effect<B, PortError.PortError> => {
  const attempt = (left: number): Effect.Effect<B, PortError.PortError> =>
    Effect.gen(function* () {
      const current = Option.getOrUndefined(yield* get(records, k, key))
      const change = decide(current)
      if (change._tag === "Keep") return change.result
      const write =
        change._tag === "Put"
          ? replace(records, k, key, change.value, current?.version ?? 0)
          : current === undefined
            ? Effect.void
            : records.remove(k.name, key, current.version)
      return yield* write.pipe(
        Effect.as(change.result),
        Effect.catchIf(
          (e) => isConflict(e) && left > 0,
          () => attempt(left - 1)
        )
      )
    })
  return attempt(maxRaces)
}
