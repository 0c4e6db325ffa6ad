// @ts-check
/**
 * Equivalent mutants of the gated files, one entry each: the source text of the node whose
 * mutants cannot change behaviour (every mutant Stryker makes in that node and inside it), and why. Stryker reports them as Ignored with that reason
 * (the score leaves them out). Nothing is silenced wholesale: a node is ignored only while its
 * text matches exactly, so an edit to that code brings its mutants back.
 */

/**
 * `inside`, when given, narrows an entry to the node of that text within an enclosing node whose
 * text is `inside` (for code such as `[]` that occurs in many places).
 * @type {ReadonlyArray<{ readonly file: string, readonly code: string, readonly inside?: string, readonly why: string }>}
 */
export const equivalent = [
  {
    file: "packages/core/src/Aggregate.ts",
    code: "if (o.error === undefined) return o",
    why: "equivalent: without an error, the rest copy that follows makes a record equal to o field for field (the branch only skips that copy)"
  },
  {
    file: "packages/core/src/internal/engine.ts",
    code: "unsaved.length === 0 ? p.events : [...unsaved, ...p.events]",
    why: "equivalent: spreading an empty list before p.events gives the same events in the same order"
  },
  {
    file: "packages/core/src/internal/engine.ts",
    code: "unsaved.length === 0 ? learned : [...unsaved, ...learned]",
    why: "equivalent: spreading an empty list before learned gives the same events in the same order"
  },
  {
    file: "packages/core/src/internal/actions.ts",
    code: "o.acs.get(a) ?? []",
    why: "equivalent: withAcs patches Import and Assign results, which plan asks for only when that ACS was observed, so the entry is always there"
  },
  {
    file: "packages/core/src/internal/engine.ts",
    code: `if (Option.isNone(stored)) {
          return { rounds, actions, next: undefined, failedRound: false, scheduled: undefined, state: undefined, version: 0, cause }
        }`,
    why: "equivalent: reconcileLocked runs only under a lease, and the Store grants leases on stored identities only (claim and acquire skip unknown ids)"
  },
  {
    file: "packages/core/src/internal/engine.ts",
    code: '/at \\["?([\\w.]+)"?\\]/',
    why: "equivalent: observation paths are quoted keys (no arrays), so requiring either quote matches the same"
  },
  {
    file: "packages/core/src/internal/engine.ts",
    code: "{ discard: true }",
    why: "equivalent: resyncAll ignores what scheduling each page returns, so collecting it or not is the same"
  },
  {
    file: "packages/core/src/internal/engine.ts",
    code: "true",
    inside: "{ concurrency: reads.length > 1 ? actionConcurrency : 1, discard: true }",
    why: "equivalent: observe ignores what the reads return (each stores its own result), so collecting it or not is the same"
  },
  {
    file: "packages/core/src/internal/engine.ts",
    code: "true",
    inside: '{ concurrency: "unbounded", discard: true }',
    why: "equivalent: drain counts its work in `total` and ignores what the workers return"
  },
  {
    file: "packages/core/src/internal/engine.ts",
    code: '/\\["?(after|limit)"?\\]/',
    why: "equivalent: the feed request's paths are quoted keys (no arrays), so requiring either quote matches the same"
  },
  {
    file: "packages/core/src/internal/plan/issuance.ts",
    code: "x.phoneId === phone.id",
    why: "equivalent: an endpoint belongs to one phone (the manager's container for that phone's enrollment), so the phone credential of this parent on this endpoint is this phone's"
  },
  {
    file: "packages/core/src/internal/plan/replicating.ts",
    code: "[]",
    inside: "p.remote === undefined ? [] : [p.remote]",
    why: "equivalent: these sets hold providers' refs of our parents; a placeholder string in them matches no provider's ref"
  },
  {
    file: "packages/core/src/internal/plan/learn.ts",
    code: "e.invitation !== undefined",
    inside: 'e.managerId === m && e.status === "invited" && e.invitation !== undefined',
    why: "equivalent: step 2 has already adopted every active endpoint made from a still-invited enrollment's invitation, so no `inv:` entry can match an active endpoint; which invited enrollments add one does not matter"
  },
  {
    file: "packages/core/src/internal/plan/learn.ts",
    code: '"invited"',
    inside: 'e.managerId === m && e.status === "invited" && e.invitation !== undefined',
    why: "equivalent: as above, an `inv:` entry of an invited enrollment never matches an active endpoint here, so adding none is the same"
  },
  {
    file: "packages/core/src/internal/plan/learn.ts",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal, not a template
    code: "`inv:${e.invitation}`",
    why: "equivalent: as above, the `inv:` entries never match an active endpoint here"
  },
  {
    file: "packages/core/src/internal/plan/learn.ts",
    code: "ep.invitation !== undefined",
    why: "equivalent: as above, the `inv:` lookup never matches (an endpoint without an invitation would look up `inv:undefined`, which is never added)"
  },
  {
    file: "packages/core/src/internal/plan/learn.ts",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal, not a template
    code: "`inv:${ep.invitation}`",
    why: "equivalent: as above, the `inv:` lookup never matches an active endpoint here"
  },
  {
    file: "packages/core/src/Aggregate.ts",
    code: '/at \\["?([\\w.]+)"?\\]/',
    why: "equivalent: command paths are quoted keys (no arrays), so requiring either quote matches the same"
  }
]

// What `declareValuePlugin(PluginKind.Ignore, ...)` of @stryker-mutator/api returns, written out so
// this file needs no import from a package the workspace does not depend on directly.
export const strykerPlugins = [
  {
    kind: "Ignore",
    name: "equivalent",
    value: {
      /** @param {unknown} path a Babel NodePath */
      shouldIgnore(path) {
        /** @typedef {{ hub?: { file?: { opts?: { filename?: string } } }, parentPath?: Path | null, getSource(): string }} Path */
        const p = /** @type {Path} */ (path)
        const file = p.hub?.file?.opts?.filename ?? ""
        const candidates = equivalent.filter((e) => file.endsWith(e.file))
        if (candidates.length === 0) return undefined
        // the node's own text in the file (not a reprint)
        const code = p.getSource()
        /** @param {string} text */
        const within = (text) => {
          for (let up = p.parentPath; up; up = up.parentPath) if (up.getSource() === text) return true
          return false
        }
        return candidates.find((e) => e.code === code && (e.inside === undefined || within(e.inside)))?.why
      }
    }
  }
]
