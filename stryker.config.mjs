// @ts-check
import { fileURLToPath } from "node:url"

/**
 * Mutation testing of the engine's core: `pnpm mutate` (the planner, Plan.ts and its phases in
 * internal/plan/, Aggregate.ts, internal/engine.ts and internal/actions.ts) or
 * `pnpm mutate -- --mutate packages/core/src/Plan.ts` (one). Incremental: results of mutants whose
 * code and covering tests did not change are reused from reports/stryker-incremental.json, which
 * is committed: it is also the recorded result `pnpm mutate:check` gates on (reports/mutation.json,
 * the same in the report format, is not kept).
 * Equivalent mutants are listed with their reason in stryker.equivalent.mjs.
 * @type {import("@stryker-mutator/api/core").PartialStrykerOptions}
 */
export default {
  packageManager: "pnpm",
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutate.config.ts", related: false },
  plugins: ["@stryker-mutator/vitest-runner", fileURLToPath(new URL("./stryker.equivalent.mjs", import.meta.url))],
  // equivalent mutants, each with its reason (stryker.equivalent.mjs)
  ignorers: ["equivalent"],
  mutate: [
    "packages/core/src/Plan.ts",
    "packages/core/src/internal/plan/*.ts",
    "packages/core/src/Aggregate.ts",
    "packages/core/src/internal/engine.ts",
    "packages/core/src/internal/actions.ts"
  ],
  coverageAnalysis: "perTest",
  incremental: true,
  incrementalFile: "reports/stryker-incremental.json",
  reporters: ["clear-text", "progress-append-only", "json"],
  jsonReporter: { fileName: "reports/mutation.json" },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false },
  thresholds: { high: 90, low: 85, break: null },
  concurrency: 2,
  timeoutMS: 60_000,
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always"
}
