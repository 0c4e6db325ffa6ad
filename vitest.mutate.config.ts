import { defineConfig } from "vitest/config"

// The tests Stryker runs against mutants of packages/core/src: the pure core's tests and the
// testkit's (engine tests and the model-based property). Left out: the adapters over HTTP and
// SQLite (they test the same engine again, far more slowly) and Planted.test.ts (it tests the
// tests; its source edits would not apply to Stryker's instrumented copy). The property runs a
// fixed seed and fewer runs, so a mutant's verdict is reproducible and each test run is short.
export default defineConfig({
  ssr: { resolve: { conditions: ["source"] } },
  resolve: { conditions: ["source"] },
  test: {
    include: ["packages/core/test/**/*.test.ts", "packages/testkit/test/**/*.test.ts"],
    exclude: ["packages/testkit/test/Planted.test.ts", "**/node_modules/**"],
    env: { CREDSYNC_PROP_RUNS: process.env.CREDSYNC_PROP_RUNS ?? "16", CREDSYNC_PROP_SEED: process.env.CREDSYNC_PROP_SEED ?? "1" },
    testTimeout: 120_000,
    hookTimeout: 60_000
  }
})
