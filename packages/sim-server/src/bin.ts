#!/usr/bin/env node
/**
 * Start a simulator server standalone and print its URL (first line of stdout).
 *
 *   credsync-sim-server [--port 0] [--seed 1] [--issue-delay 0]
 *
 * Stops on SIGINT / SIGTERM.
 *
 * @since 0.1.0
 */
import { parseArgs } from "node:util"
import { Simulator } from "@credsync/adapter-memory"
import { start } from "./SimServer.js"

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    seed: { type: "string", default: "1" },
    "issue-delay": { type: "string", default: "0" }
  }
})

const int = (name: string, text: string | undefined): number => {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`--${name} must be a non-negative integer, got ${String(text)}\n`)
    process.exit(2)
  }
  return n
}

const sim = Simulator.make({
  seed: int("seed", values.seed),
  issueDelay: int("issue-delay", values["issue-delay"]),
  recordCallbacks: false
})
const server = await start(sim, { port: int("port", values.port) })
process.stdout.write(`${server.url}\n`)
const stop = () => {
  void server.close().then(() => process.exit(0))
}
process.on("SIGINT", stop)
process.on("SIGTERM", stop)
