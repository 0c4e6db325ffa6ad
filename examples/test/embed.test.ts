import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { expect, it } from "vitest"

/** The README shows examples/embed.ts verbatim between these markers, so the snippet cannot rot. */
export const readmeBlock = (file: string): string | undefined => {
  const readme = readFileSync("README.md", "utf8")
  const match = new RegExp(`<!-- include: ${file} -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\`\\n<!-- end include -->`).exec(readme)
  return match?.[1]
}

it("the README's embedding example is examples/embed.ts, verbatim", () => {
  expect(readmeBlock("examples/embed.ts")).toBe(readFileSync("examples/embed.ts", "utf8"))
})

it("the embedding example puts one credential on each phone (exit 0)", () => {
  const run = spawnSync(process.execPath, ["--conditions=source", "--import", "tsx", "examples/embed.ts"], {
    encoding: "utf8",
    timeout: 60_000
  })
  expect(run.stderr).toBe("")
  expect(run.stdout).toContain("2 of 2 phones hold their credential")
  expect(run.stdout).toMatch(/rejected \(Conflict\)/)
  expect(run.status).toBe(0)
})
