import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// Stryker runs the tests in a sandbox copy whose node_modules links back to the original
// workspace packages: point the packages' names at the sandbox's own (mutated) sources, or the
// testkit's tests would exercise the unmutated engine.
const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url))

// The tests Stryker runs against mutants of packages/core/src: the pure core's tests and the
// testkit's (engine tests and the model-based property). Left out: the adapters over HTTP and
// SQLite (they test the same engine again, far more slowly) and Planted.test.ts (it tests the
// tests; its source edits would not apply to Stryker's instrumented copy). The property runs a
// fixed seed and fewer runs, so a mutant's verdict is reproducible and each test run is short.
export default defineConfig({
  ssr: { resolve: { conditions: ["source"] } },
  resolve: {
    conditions: ["source"],
    alias: {
      "@credsync/core": src("core"),
      "@credsync/adapter-memory": src("adapter-memory"),
      "@credsync/testkit": src("testkit")
    }
  },
  test: {
    include: ["packages/core/test/**/*.test.ts", "packages/testkit/test/**/*.test.ts"],
    exclude: ["packages/testkit/test/Planted.test.ts", "**/node_modules/**"],
    env: { CREDSYNC_PROP_RUNS: process.env.CREDSYNC_PROP_RUNS ?? "16", CREDSYNC_PROP_SEED: process.env.CREDSYNC_PROP_SEED ?? "1" },
    testTimeout: 120_000,
    hookTimeout: 60_000
  }
})
