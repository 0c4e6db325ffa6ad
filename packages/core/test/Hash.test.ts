/**
 * The ids the planner derives from keys are stored (phone credentials, enrolments): the same key
 * must give the same id in every version, or a restarted engine would not recognise its own work.
 */
import { describe, expect, it } from "vitest"
import { uuidOf } from "../src/internal/hash.js"

describe("uuidOf", () => {
  it("gives the ids earlier versions gave", () => {
    // recorded with the first implementation (four FNV-1a passes, toString(16) and slices)
    expect(uuidOf("")).toBe("ab3e7c0b-0578-5b1b-a7a2-a8ee67035893")
    expect(uuidOf("child|c1|p1|ep1")).toBe("faa3e927-40ce-510e-b7aa-706af9c8d9b4")
    expect(uuidOf("enrollment|u1|p1|cm|0")).toBe("e9f0be0b-1473-5284-b135-6830dbc8dd3a")
    expect(uuidOf("child|é€😀|p|e")).toBe("49d431e7-fd4f-5ab1-8a1c-3a60416d50c2")
  })

  it("is a version 5 uuid with the RFC 4122 variant", () => {
    for (let i = 0; i < 1_000; i++) expect(uuidOf(`k${i}`)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })
})
