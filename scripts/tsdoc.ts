/**
 * The TSDoc check: every export of every library package's public entry (and every member of a
 * namespace it re-exports, `export * as X from "./X.js"`) must carry a doc comment with a description.
 * A bare `@since` tag does not count.
 *
 *   npx -y pnpm@12.4.2 check:docs        # prints each undocumented export; exit 1 when there is one
 *
 * `pnpm test` runs it (scripts/test/tsdoc.test.ts), together with a test that it fails when an
 * export loses its comment.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import ts from "typescript"

/** One export without a doc comment. */
export interface Finding {
  /** Path from the repository root, with the line of the declaration. */
  readonly where: string
  /** The export as a host writes it, e.g. `@credsync/core` `Event.IdentityCreated`. */
  readonly name: string
}

/** A library package's public entry. */
export interface Entry {
  readonly packageName: string
  readonly file: string
}

const root = resolve(import.meta.dirname, "..")

/** The public entry (the `source` condition of `exports["."]`) of every package under packages/. */
export const entries = (): ReadonlyArray<Entry> =>
  readdirSync(join(root, "packages"))
    .map((dir) => join(root, "packages", dir, "package.json"))
    .flatMap((file) => {
      const manifest: { name: string; private?: boolean; exports?: { ".": { source?: string } } } = JSON.parse(
        readFileSync(file, "utf8")
      )
      const source = manifest.exports?.["."]?.source
      return manifest.private === true || source === undefined
        ? []
        : [{ packageName: manifest.name, file: resolve(file, "..", source) }]
    })

const hasDescription = (node: ts.Node): boolean =>
  ts.getJSDocCommentsAndTags(node).some((doc) => {
    if (!ts.isJSDoc(doc)) return false
    const text = typeof doc.comment === "string" ? doc.comment : (doc.comment ?? []).map((part) => part.text).join("")
    return text.trim() !== ""
  })

const documented = (declaration: ts.Declaration): boolean => {
  if (hasDescription(declaration)) return true
  // `export const a = …, b = …` and `export default …`: the comment sits on the statement
  let node: ts.Node = declaration
  while (node.parent !== undefined && !ts.isSourceFile(node.parent) && !ts.isModuleBlock(node.parent)) {
    node = node.parent
    if (hasDescription(node)) return true
  }
  return false
}

const fileDocumented = (file: ts.SourceFile): boolean => {
  const first = file.statements[0]
  if (first === undefined) return false
  const ranges = ts.getLeadingCommentRanges(file.text, first.getFullStart()) ?? []
  return ranges.some((r) => {
    const text = file.text.slice(r.pos, r.end)
    return text.startsWith("/**") && text.replace(/^\/\*\*|\*\/$|^\s*\*|@\w+.*$/gm, "").trim() !== ""
  })
}

/**
 * Undocumented exports of the given entries. `overrides` replaces files' text (absolute path → text),
 * so a test can remove one comment without touching the file.
 */
export const check = (
  list: ReadonlyArray<Entry> = entries(),
  overrides: ReadonlyMap<string, string> = new Map()
): ReadonlyArray<Finding> => {
  const config = ts.readConfigFile(join(root, "tsconfig.base.json"), ts.sys.readFile)
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root)
  const host = ts.createCompilerHost({ ...options, noEmit: true })
  const read = host.readFile.bind(host)
  host.readFile = (file) => overrides.get(resolve(file)) ?? read(file)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (file, language, onError, create) => {
    const text = overrides.get(resolve(file))
    return text === undefined ? getSourceFile(file, language, onError, create) : ts.createSourceFile(file, text, language, true)
  }
  const program = ts.createProgram({ rootNames: list.map((e) => e.file), options: { ...options, noEmit: true }, host })
  const checker = program.getTypeChecker()
  const findings: Array<Finding> = []
  const where = (node: ts.Node) => {
    const file = node.getSourceFile()
    const { line } = file.getLineAndCharacterOfPosition(node.getStart())
    return `${relative(root, file.fileName)}:${line + 1}`
  }
  const visit = (moduleSymbol: ts.Symbol, packageName: string, prefix: string) => {
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const name = `${prefix}${exported.getName()}`
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
      const moduleFile = target.valueDeclaration ?? target.declarations?.[0]
      if (moduleFile !== undefined && ts.isSourceFile(moduleFile)) {
        // `export * as X from "./X.js"`: the module's header documents X; each of its exports is checked
        if (!fileDocumented(moduleFile)) findings.push({ where: `${relative(root, moduleFile.fileName)}:1`, name: `${packageName} ${name}` })
        visit(target, packageName, `${name}.`)
        continue
      }
      const declarations = target.declarations ?? []
      if (declarations.length > 0 && !declarations.some(documented)) {
        findings.push({ where: where(declarations[0]!), name: `${packageName} ${name}` })
      }
    }
  }
  for (const entry of list) {
    const file = program.getSourceFile(entry.file)
    const moduleSymbol = file === undefined ? undefined : checker.getSymbolAtLocation(file)
    if (moduleSymbol === undefined) {
      findings.push({ where: relative(root, entry.file), name: `${entry.packageName} (entry not found)` })
      continue
    }
    visit(moduleSymbol, entry.packageName, "")
  }
  return findings
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const findings = check()
  for (const f of findings) console.log(`${f.where}  ${f.name} has no doc comment`)
  console.log(findings.length === 0 ? "every public export has a doc comment" : `${findings.length} exports without a doc comment`)
  process.exitCode = findings.length === 0 ? 0 : 1
}
