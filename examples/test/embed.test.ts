import { expect, it } from "vitest"
import { main } from "../embed.js"

it("the Promise-facade example puts one credential on each phone", async () => {
  expect(await main()).toEqual({ phones: 2, credentials: 2 })
})
