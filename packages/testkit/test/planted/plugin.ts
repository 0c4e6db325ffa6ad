/**
 * A Vite plugin that serves a planted-bug variant of a core source file: importing
 * `…/packages/core/src/Plan.ts?planted=acsUserMatch` yields Plan.ts with that bug's edits applied.
 * The planner is several modules (Plan.ts and its phases in internal/plan/): a planted variant of
 * one of them imports the others as planted variants too, so a bug in a phase is reached through
 * `Plan.ts?planted=…`. Every other import resolves to the ordinary module, so the variant plugs into
 * the real engine (a planner through `Engine.Config.planner`, an engine through the World's `makeEngine`).
 */
import { dirname, relative, resolve } from "node:path"
import { bugs, inPlanner } from "./bugs.js"

/** The path of a file of core/src from that directory, or undefined when `file` is not there. */
const coreFile = (file: string): string | undefined => /\/core\/src\/(.+)$/.exec(file)?.[1]

export const plantedBugs = () => ({
  name: "credsync-planted-bugs",
  enforce: "pre" as const,
  transform(code: string, id: string) {
    const name = /[?&]planted=([\w-]+)/.exec(id)?.[1]
    if (name === undefined) return undefined
    const bug = (bugs as Record<string, (typeof bugs)[keyof typeof bugs]>)[name]
    if (bug === undefined) throw new Error(`unknown planted bug ${name}`)
    const file = id.split("?")[0]!
    const own = coreFile(file)
    const planner = own !== undefined && inPlanner(bug.file) && inPlanner(own)
    if (own !== bug.file && !planner) throw new Error(`planted bug ${name} belongs to ${bug.file}, not ${file}`)
    let out = code
    if (own === bug.file) {
      for (const [find, replace] of bug.edits) {
        const next = out.replace(find, replace)
        if (next === out) throw new Error(`planted bug ${name}: ${String(find)} no longer matches ${bug.file}; update packages/testkit/test/planted/bugs.ts`)
        out = next
      }
    }
    if (planner) {
      // the planner's own modules, imported as planted variants of the same bug
      out = out.replace(/(from\s+")(\.{1,2}\/[^"]+)\.js"/g, (whole, from: string, spec: string) => {
        const target = resolve(dirname(file), `${spec}.ts`)
        const inCore = coreFile(target)
        if (inCore === undefined || !inPlanner(inCore)) return whole
        return `${from}./${relative(dirname(file), target)}?planted=${name}"`
      })
    }
    return { code: out, map: null }
  }
})
