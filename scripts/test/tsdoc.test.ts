import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { describe, expect, it } from "vitest"
import { check, entries } from "../tsdoc.js"

describe("the TSDoc check (every public export has a doc comment)", () => {
  it("passes on every library package", () => {
    const list = entries()
    expect(list.map((e) => e.packageName)).toContain("@credsync/core")
    expect(check(list).map((f) => `${f.where} ${f.name}`)).toEqual([])
  })

  it("fails, naming the export, when an export loses its comment", () => {
    const file = resolve(import.meta.dirname, "../../packages/core/src/Engine.ts")
    const text = readFileSync(file, "utf8")
    const documented = /\/\*\*(?:(?!\*\/)[\s\S])*\*\/\n(export const layer)/
    expect(text).toMatch(documented)
    const core = entries().filter((e) => e.packageName === "@credsync/core")
    const findings = check(core, new Map([[file, text.replace(documented, "$1")]]))
    expect(findings.map((f) => f.name)).toEqual(["@credsync/core Engine.layer"])
    expect(findings[0]?.where).toMatch(/^packages\/core\/src\/Engine\.ts:\d+$/)
  })

  it("does not count a bare @since tag as documentation", () => {
    const file = resolve(import.meta.dirname, "../../packages/core/src/Engine.ts")
    const text = readFileSync(file, "utf8")
    const core = entries().filter((e) => e.packageName === "@credsync/core")
    const stripped = text.replace(/\/\*\*(?:(?!\*\/)[\s\S])*\*\/\n(export const make)/, "/** @since 0.1.0 */\n$1")
    expect(check(core, new Map([[file, stripped]])).map((f) => f.name)).toEqual(["@credsync/core Engine.make"])
  })
})
