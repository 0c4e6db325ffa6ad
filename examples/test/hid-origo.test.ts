import { describe, expect, it } from "vitest"
import { main } from "../hid-origo.js"

describe("examples/hid-origo.ts", () => {
  it("runs the direct HID Origo flow against the fake and every step holds", async () => {
    const lines: Array<string> = []
    const result = await main({ log: (line) => lines.push(line) })
    expect(result.steps.filter((s) => !s.ok), lines.join("\n")).toEqual([])
    expect(result.ok).toBe(true)
    expect(result.steps.map((s) => s.name)).toContain("phone-ana-pixel deactivated → HID revokes its credential")
    expect(result.callbacks.batches).toBeGreaterThan(0)
  })
})
