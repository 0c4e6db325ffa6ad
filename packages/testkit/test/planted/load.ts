import type { Engine, Plan } from "@credsync/core"
import { bugs, inPlanner, type PlantedName } from "./bugs.js"

const core = new URL("../../../core/src/", import.meta.url)

/** The planted variant of its file (of Plan.ts for a bug in the planner's phases), as a module (see plugin.ts). */
const load = async (name: PlantedName): Promise<unknown> =>
  import(/* @vite-ignore */ `${new URL(inPlanner(bugs[name].file) ? "Plan.ts" : bugs[name].file, core).pathname}?planted=${name}`)

/** A planner with a bug planted in Plan.ts or one of its phases (internal/plan/). */
export const plantedPlanner = async (name: PlantedName): Promise<typeof Plan.plan> => ((await load(name)) as typeof Plan).plan

/** An engine constructor with a bug planted in internal/engine.ts (same signature as Engine.make). */
export const plantedEngine = async (name: PlantedName): Promise<typeof Engine.make> => ((await load(name)) as { make: typeof Engine.make }).make
