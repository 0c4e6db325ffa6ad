import { defineConfig } from "vitest/config"

export default defineConfig({
  ssr: { resolve: { conditions: ["source"] } },
  resolve: { conditions: ["source"] },
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/test/**/*.test.ts", "scripts/test/**/*.test.ts"],
    reporters: ["default", ["json", { outputFile: ".vitest/results.json" }]],
    testTimeout: 120_000,
    hookTimeout: 60_000
  }
})
