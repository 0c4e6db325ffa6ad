/**
 * Operator endpoints, outside Seam's API and without an API key (probes and scrapers carry none):
 *
 * | route | answer |
 * |---|---|
 * | `GET /health` | 200 `{ ok: true, status: "alive" }` while the process serves requests (liveness) |
 * | `GET /ready` | 200 when every workspace's store answers and its engine loop is running, else 503; per workspace: `loop`, `store` and how many identities are `stuck` (readiness) |
 * | `GET /metrics` | the `credsync_*` metrics (and any other of the process's registry) in the Prometheus text format |
 *
 * Bodies name states only: an error's text (a store's may name its file) stays in the log.
 *
 * @since 0.2.0
 */
import { Observability } from "@credsync/core"
import { Effect } from "effect"
import type { Workspace } from "./Workspace.js"

/** The paths served here. */
export const paths: ReadonlySet<string> = new Set(["/health", "/ready", "/metrics"])

/** An answer, ready to send. */
export interface Answer {
  readonly status: number
  readonly contentType: string
  readonly body: string
}

const json = (status: number, body: unknown): Answer => ({ status, contentType: "application/json", body: JSON.stringify(body) })

/** One workspace's readiness. */
export interface WorkspaceReadiness {
  readonly workspace_id: string
  readonly ready: boolean
  readonly loop: "stopped" | "starting" | "running" | "failed"
  readonly store: "reachable" | "unreachable"
  readonly stuck: number
}

/** Readiness of every workspace (the engine's `health`, which probes its store). */
export const readiness = (workspaces: ReadonlyArray<Workspace>): Effect.Effect<ReadonlyArray<WorkspaceReadiness>> =>
  Effect.forEach(workspaces, (ws) =>
    Effect.map(ws.engine.health, (h) => ({
      workspace_id: ws.id,
      ready: h.loop === "running" && h.store === "reachable",
      loop: h.loop,
      store: h.store,
      stuck: h.stuck
    }))
  )

/**
 * Answer `path` (one of {@link paths}) for `method`, or `undefined` when it is not an operator
 * path. Metrics are read from the registry of the context this runs in (the server's).
 *
 * @since 0.2.0
 */
export const answer = (workspaces: ReadonlyArray<Workspace>, method: string, path: string): Effect.Effect<Answer> | undefined => {
  if (!paths.has(path)) return undefined
  if (method !== "GET" && method !== "HEAD") {
    return Effect.succeed(json(405, { error: { type: "method_not_allowed", message: `Method ${method} not allowed` } }))
  }
  switch (path) {
    case "/health":
      return Effect.succeed(json(200, { ok: true, status: "alive" }))
    case "/ready":
      return Effect.map(readiness(workspaces), (all) => {
        const ready = all.every((w) => w.ready)
        return json(ready ? 200 : 503, { ok: ready, ready, workspaces: all })
      })
    default:
      return Effect.map(Observability.prometheus, (text) => ({ status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: text }))
  }
}
