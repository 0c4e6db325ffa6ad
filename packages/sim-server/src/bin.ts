#!/usr/bin/env node
/**
 * `credsync-sim-server`: start a simulator server standalone and print its URL (first line of stdout).
 *
 *   credsync-sim-server [--port 0] [--seed 1] [--issue-delay 0]
 *
 * Arguments are parsed by effect/cli (`--help`, `--version`); Ctrl-C (SIGINT) or SIGTERM stops it.
 *
 * @since 0.1.0
 */
import { Simulator } from "@credsync/adapter-memory"
import { Cli } from "@credsync/cli"
import { Effect, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { start } from "./SimServer.js"

const whole = (name: string, description: string, fallback: number) =>
  Flag.Int(name).pipe(
    Flag.withDescription(description),
    Flag.withSchema(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))),
    Flag.withDefault(fallback)
  )

const command = Command.make(
  "credsync-sim-server",
  {
    port: whole("port", "TCP port on 127.0.0.1 (0: any free one).", 0),
    seed: whole("seed", "Seed of the simulator's faults and invitation codes.", 1),
    issueDelay: whole("issue-delay", "Milliseconds an issuance stays 'issuing'.", 0),
    verbose: Flag.Boolean("verbose").pipe(Flag.withDescription("On an error, print its full cause."), Flag.withDefault(false))
  },
  ({ port, seed, issueDelay }) =>
    Effect.acquireRelease(
      Effect.tryPromise({
        try: () => start(Simulator.make({ seed, issueDelay, recordCallbacks: false }), { port }),
        catch: (e) => (e instanceof Error ? e : new Error(String(e)))
      }),
      (server) => Effect.promise(() => server.close())
    ).pipe(
      Effect.tap((server) => Effect.sync(() => process.stdout.write(`${server.url}\n`))),
      Effect.andThen(Effect.never),
      Effect.scoped
    )
).pipe(Command.withDescription("The credsync credential manager and ACS simulator over loopback HTTP."))

Cli.run(command, {
  version: "0.1.0",
  stopOk: true,
  explain: (e) =>
    e instanceof Error && e.message.includes("EADDRINUSE")
      ? { line: "the port is already in use", hint: "choose another with --port (0: any free one)" }
      : undefined
})
