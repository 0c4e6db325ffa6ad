/**
 * Planted bugs: small, realistic changes to the engine's source that the tests must catch. Each is
 * applied as text edits to a copy of one source file, loaded as `<file>?planted=<name>` (see
 * `plugin.ts`), so the production code carries no switch, flag or hook for them.
 *
 * When an edit's pattern no longer matches (the file was changed), loading the variant fails
 * loudly: update the pattern here so that it still plants the same kind of bug.
 */

/** A source file of packages/core/src that a bug is planted in. */
export type PlantedFile = "Plan.ts" | "internal/engine.ts" | `internal/plan/${string}.ts`

/** Is the file part of the planner (Plan.ts and its phases), so that the bug is loaded through `plan`? */
export const inPlanner = (file: string): boolean => file === "Plan.ts" || file.startsWith("internal/plan/")

/** One planted bug: text edits to one file, each of which must match. */
export interface PlantedBug {
  readonly file: PlantedFile
  /** What the bug does, as a reviewer would describe it. */
  readonly description: string
  readonly edits: ReadonlyArray<readonly [find: string | RegExp, replace: string]>
}

export const bugs = {
  noLock: {
    file: "internal/engine.ts",
    description: "reconcile and drain no longer serialise one identity (two reconciles of one identity at once)",
    edits: [
      [/(const reconcile: EngineShape\["reconcile"\] = \(id\) =>\s*)withLock\(/, "$1plantedNoLock("],
      ["withLock(claimed.id, work(claimed, now))", "plantedNoLock(claimed.id, work(claimed, now))"],
      [/$/, "\nconst plantedNoLock = <A>(_key: string, self: A): A => self\n"]
    ]
  },
  activeOnReturn: {
    file: "internal/engine.ts",
    description: "an issued credential is recorded as active when the issue call returns, without the manager confirming it",
    edits: [
      [
        "specs.Issue, action)",
        '{ ...specs.Issue, ok: (a, cred, at) => specs.Issue.ok(a, { ...cred, status: "active" }, at) }, action)'
      ]
    ]
  },
  noObserveRetry: {
    file: "internal/engine.ts",
    description: "a failed observation no longer sets a retry time (the identity is not looked at again)",
    edits: [[/if \(o\.failed !== undefined\) \{\s*retryAt = yield\* Clock\.currentTimeMillis/, "if (o.failed !== undefined) {"]]
  },
  lateIntents: {
    file: "internal/engine.ts",
    description: "intents are committed only at the end of a reconcile, after the calls they announce",
    edits: [["if (settled || p.events.some(isIntent)) {", "if (settled) {"]]
  },
  childIdWithoutEndpoint: {
    file: "internal/plan/issuance.ts",
    description: "a phone credential's id no longer depends on the endpoint (a re-enrolled phone gets the old id)",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text of issuance.ts, not a template
    edits: [["`child|${parent}|${phone}|${endpoint}`", "`child|${parent}|${phone}|${endpoint.length > 0 ? '' : endpoint}`"]]
  },
  retiringLiveness: {
    file: "internal/plan/retirement.ts",
    description: "a retiring credential missing from a lagging listing is taken as not live (forgotten unrevoked)",
    edits: [["const live = seen !== undefined ? isLive(seen) : c.ref !== undefined && fresh", "const live = seen !== undefined && isLive(seen)"]]
  },
  acsUserMatch: {
    file: "internal/plan/acs.ts",
    description: "an ACS entry counts as assigned when it is assigned to anyone, not to the parent's ACS user",
    edits: [["if (entry.assignedTo !== parent.acsUserId) {", "if (entry.assignedTo === undefined) {"]]
  },
  claimAnyProfile: {
    file: "internal/plan/learn.ts",
    description: "a lost issue response adopts a live credential of any card profile on the endpoint",
    edits: [["(want === undefined || profileKey(x) === want)", "(want === undefined || profileKey(x) !== '')"]]
  },
  keepUnclaimedAcs: {
    file: "internal/plan/acs.ts",
    description: "a managed ACS entry that no phone credential claims is left in the ACS",
    edits: [["if (isManaged(entry) && !ours?.has(entry.cardNumber)) {", "if (isManaged(entry) && !ours?.has(entry.cardNumber) && entry.label === '') {"]]
  }
} as const satisfies Record<string, PlantedBug>

export type PlantedName = keyof typeof bugs
