/**
 * A Vite plugin that serves a planted-bug variant of a core source file: importing
 * `…/packages/core/src/Plan.ts?planted=acsUserMatch` yields Plan.ts with that bug's edits applied.
 * Its own imports resolve to the ordinary modules, so the variant plugs into the real engine
 * (a planner through `Engine.Config.planner`, an engine through the World's `makeEngine`).
 */
import { bugs } from "./bugs.js"

export const plantedBugs = () => ({
  name: "credsync-planted-bugs",
  enforce: "pre" as const,
  transform(code: string, id: string) {
    const name = /[?&]planted=([\w-]+)/.exec(id)?.[1]
    if (name === undefined) return undefined
    const bug = (bugs as Record<string, (typeof bugs)[keyof typeof bugs]>)[name]
    if (bug === undefined) throw new Error(`unknown planted bug ${name}`)
    const file = id.split("?")[0]!
    if (!file.endsWith(`/core/src/${bug.file}`)) throw new Error(`planted bug ${name} belongs to ${bug.file}, not ${file}`)
    let out = code
    for (const [find, replace] of bug.edits) {
      const next = out.replace(find, replace)
      if (next === out) throw new Error(`planted bug ${name}: ${String(find)} no longer matches ${bug.file}; update packages/testkit/test/planted/bugs.ts`)
      out = next
    }
    return { code: out, map: null }
  }
})
