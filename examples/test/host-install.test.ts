/**
 * Installs credsync like a host would: pack the library packages (their `prepack` builds them), check
 * that every packed manifest points only at files in its tarball, install the tarballs with npm into
 * a project outside the workspace, type-check that project under strict NodeNext, and run the README's
 * embedding example (examples/embed.ts) and an import of every installed package with plain Node.
 *
 * Adding a package (e.g. a new store) is one entry in `libraries`.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

interface Library {
  /** Folder under packages/. */
  readonly dir: string
  /** Installed into the host project, or only packed and checked, with the reason. */
  readonly install: true | { readonly packOnly: string }
  /** Native dependencies whose compiled build is copied from the workspace instead of rebuilt by npm. */
  readonly native?: ReadonlyArray<string>
  /** Statements run by plain Node in the host project after the imports (the package as `pkg`). */
  readonly smoke?: string
}

const libraries: ReadonlyArray<Library> = [
  { dir: "core", install: true },
  { dir: "adapter-memory", install: true },
  {
    dir: "store-sqlite",
    install: true,
    native: ["better-sqlite3"],
    // opens a database, so the native binding really loads
    smoke: `await Effect.runPromise(Effect.scoped(pkg.SqliteStore.make({ filename: ":memory:" })))`
  },
  { dir: "adapter-hid-origo", install: true },
  { dir: "hid-origo-fake", install: true },
  { dir: "sim-server", install: true },
  { dir: "cli", install: true },
  { dir: "adapter-seam", install: { packOnly: "its @seamapi client is a large download; the manifest is checked" } },
  { dir: "store-postgres", install: true },
  { dir: "seam-api", install: true },
  { dir: "testkit", install: { packOnly: "its peers are a test runner (vitest) a host brings itself" } }
]

const root = resolve(import.meta.dirname, "../..")
const installed = libraries.filter((l) => l.install === true)
const manifestOf = (dir: string): { readonly name: string; readonly version: string } =>
  JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8"))
const tarballName = (dir: string) => {
  const m = manifestOf(dir)
  return `${m.name.replace(/^@/, "").replace("/", "-")}-${m.version}.tgz`
}

let work = ""
const tarballs = () => join(work, "tarballs")
const host = () => join(work, "host")

const run = (command: string, args: ReadonlyArray<string>, cwd: string) =>
  new Promise<void>((ok, fail) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NODE_OPTIONS: "" } })
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on("error", fail)
    child.on("close", (code) =>
      code === 0 ? ok() : fail(new Error(`${command} ${args.join(" ")} in ${cwd} exited ${code}: ${stderr.slice(-2000)}`))
    )
  })

/** Pack each package in turn: its `prepack` builds it (declarations incrementally, with `tsc -b`). */
const packAll = async () => {
  for (const lib of libraries) {
    await run("npx", ["-y", "pnpm@12.4.2", "pack", "--pack-destination", tarballs()], join(root, "packages", lib.dir))
  }
}

const listTarball = (file: string): ReadonlyArray<string> =>
  execFileSync("tar", ["tzf", file], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.replace(/^package\//, ""))

const packedManifest = (file: string): Record<string, unknown> =>
  JSON.parse(execFileSync("tar", ["xzf", file, "-O", "package/package.json"], { encoding: "utf8" }))

/** Every string reachable in an `exports` / `bin` value (condition targets). */
const targets = (value: unknown): Array<string> =>
  typeof value === "string"
    ? [value]
    : value !== null && typeof value === "object"
      ? Object.values(value).flatMap(targets)
      : []

beforeAll(async () => {
  const t0 = Date.now()
  const lap = (what: string) => process.stderr.write(`[host-install] ${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
  work = mkdtempSync(join(tmpdir(), "credsync-host-"))
  mkdirSync(tarballs())
  mkdirSync(join(host(), "src"), { recursive: true })
  await packAll()
  lap("packed")

  const dependencies: Record<string, string> = { effect: "4.1.0", "@types/node": "20.19.25" }
  for (const lib of installed) dependencies[manifestOf(lib.dir).name] = `file:${join(tarballs(), tarballName(lib.dir))}`
  writeFileSync(join(host(), "package.json"), JSON.stringify({ name: "host", private: true, type: "module", dependencies }, null, 2))
  writeFileSync(
    join(host(), "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: false,
        types: ["node"],
        outDir: "dist",
        rootDir: "src"
      },
      include: ["src"]
    })
  )
  cpSync(join(root, "examples/embed.ts"), join(host(), "src/embed.ts"))
  const names = installed.map((l) => manifestOf(l.dir).name)
  writeFileSync(
    join(host(), "src/imports.ts"),
    `import { Effect } from "effect"\n${names.map((n, i) => `import * as m${i} from "${n}"`).join("\n")}\n` +
      `const loaded: ReadonlyArray<object> = [${names.map((_, i) => `m${i}`).join(", ")}]\n` +
      installed
        .flatMap((l, i) => (l.smoke === undefined ? [] : [`{\n  const pkg = m${i}\n  ${l.smoke}\n}`]))
        .join("\n") +
      `\nconsole.log(\`\${loaded.filter((m) => Object.keys(m).length > 0).length} packages loaded\`)\nvoid Effect.void\n`
  )
  // npm's own scripts are skipped: native builds are copied from the workspace below (a host's npm
  // would compile them, which takes a minute without a prebuilt binary)
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], host())
  lap("installed")
  for (const lib of installed) {
    const requireFrom = createRequire(join(root, "packages", lib.dir, "package.json"))
    for (const name of lib.native ?? []) {
      const source = dirname(requireFrom.resolve(`${name}/package.json`))
      cpSync(join(source, "build"), join(host(), "node_modules", name, "build"), { recursive: true })
    }
  }
}, 300_000)

afterAll(() => {
  if (work !== "") rmSync(work, { recursive: true, force: true })
})

describe("installing the packed packages like a host", () => {
  for (const lib of libraries) {
    it(`${lib.dir}: the tarball holds its build, and its manifest points only at files in it`, () => {
      const file = join(tarballs(), tarballName(lib.dir))
      const files = new Set(listTarball(file))
      const manifest = packedManifest(file)
      expect([...files].filter((f) => f.startsWith("src/") || f.endsWith(".tsbuildinfo"))).toEqual([])
      for (const f of ["dist/index.js", "dist/index.d.ts", "dist/index.js.map", "README.md", "LICENSE", "CHANGELOG.md"]) {
        expect(files, f).toContain(f)
      }
      const pointed = [...targets(manifest.exports), ...targets(manifest.bin), ...targets(manifest.types)]
      for (const target of pointed.filter((t) => t !== "./package.json")) expect(files, target).toContain(target.replace(/^\.\//, ""))
      expect(JSON.stringify(manifest.exports)).not.toContain("source")
      expect(JSON.stringify(manifest)).not.toContain("workspace:")
      expect(manifest.peerDependencies).toHaveProperty("effect")
      expect(manifest.dependencies ?? {}).not.toHaveProperty("effect")
      expect(manifest.engines).toEqual({ node: ">=20.19" })
      expect(manifest.license).toBe("MIT")
    })
  }

  it("type-checks the host project (the README's example and every installed package) under strict NodeNext", () => {
    const tsc = join(root, "node_modules/typescript/bin/tsc")
    const out = spawnSync(process.execPath, [tsc, "-p", host()], { encoding: "utf8" })
    expect(out.stdout + out.stderr).toBe("")
    expect(out.status).toBe(0)
    expect(existsSync(join(host(), "dist/embed.js"))).toBe(true)
  })

  it("runs with plain Node: every installed package loads, and the README's example exits 0", () => {
    const imports = spawnSync(process.execPath, ["dist/imports.js"], { cwd: host(), encoding: "utf8" })
    expect(imports.stderr).toBe("")
    expect(imports.stdout).toContain(`${installed.length} packages loaded`)
    const example = spawnSync(process.execPath, ["dist/embed.js"], { cwd: host(), encoding: "utf8", timeout: 60_000 })
    expect(example.stderr).toBe("")
    expect(example.stdout).toContain("2 of 2 phones hold their credential")
    expect(example.status).toBe(0)
  })
})
