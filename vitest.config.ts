import { defineConfig } from "vitest/config"
import { plantedBugs } from "./packages/testkit/test/planted/plugin.js"

export default defineConfig({
  plugins: [plantedBugs()],
  ssr: { resolve: { conditions: ["source"] } },
  resolve: { conditions: ["source"] },
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/test/**/*.test.ts", "scripts/test/**/*.test.ts"],
    reporters: ["default", ["json", { outputFile: ".vitest/results.json" }]],
    testTimeout: 120_000,
    hookTimeout: 60_000
  }
})
