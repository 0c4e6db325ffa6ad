import { spawnSync } from "node:child_process"
import { existsSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, it } from "vitest"

// The README's first command runs this: keep it true.
it("the demo plays its day and the invariant holds (exit 0)", () => {
  const db = join(tmpdir(), `credsync-demo-test-${process.pid}.db`)
  try {
    const run = spawnSync(process.execPath, ["--conditions=source", "--import", "tsx", "examples/demo.ts", `--db=${db}`], {
      encoding: "utf8",
      timeout: 110_000
    })
    expect(run.stderr).not.toMatch(/Error/)
    expect(run.stdout).toContain("INVARIANT HOLDS")
    expect(run.status).toBe(0)
    expect(existsSync(db)).toBe(true)
  } finally {
    for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true })
  }
})
