import { describe, expect, it } from "vitest"
import { main } from "../seam-flow.js"

describe("examples/seam-flow.ts", () => {
  it("runs Seam's mobile-credential flow against the in-process server", async () => {
    const lines: Array<string> = []
    const outcome = await main((line) => lines.push(line))
    expect(outcome).toMatchObject({ childrenIssued: 3, childrenAfterDeactivation: 2, credentialsAfterDelete: 0 })
    expect(outcome.eventTypes).toContain("phone.deactivated")
    expect(outcome.eventTypes.filter((t) => t === "acs_credential.issued")).toHaveLength(3)
    expect(lines.some((l) => l.includes("multi-phone sync credential"))).toBe(true)
  })
})
