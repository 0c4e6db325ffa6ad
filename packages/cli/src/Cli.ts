/**
 * Command-line programs on Node with effect's own CLI module (`effect/cli`): the services it needs
 * (arguments, standard output, terminal width) from Node itself, and one way to end — help and usage
 * from effect/cli, a handler's failure as one readable line with a hint, the full cause only with
 * `--verbose`, and exit codes (0 done, 1 failed, 2 bad usage, 130 interrupted).
 *
 * `@effect/platform-node` provides the same services but requires Node ≥ 22.19; credsync supports
 * Node ≥ 20.19, so this module builds them from Node's `process` (no file system and no child
 * processes: credsync's programs take no file arguments and spawn nothing through effect/cli).
 *
 * @since 0.2.0
 */
import { Cause, Console, Effect, Exit, FileSystem, Fiber, Layer, Option, Path, Sink, Stdio, Stream, Terminal } from "effect"
import { CliError, CliOutput, Command, type HelpDoc } from "effect/cli"
import { ChildProcessSpawner } from "effect/process"

const writeTo =
  (stream: NodeJS.WriteStream) =>
  (chunk: string | Uint8Array): Effect.Effect<void> =>
    Effect.sync(() => {
      stream.write(chunk)
    })
const write = (stream: NodeJS.WriteStream) => () => Sink.forEach(writeTo(stream))

/** The program's arguments. `pnpm <script> -- --flag` passes the `--` through: it is dropped. */
const programArgs = (): ReadonlyArray<string> => {
  const args = process.argv.slice(2)
  return args[0] === "--" ? args.slice(1) : args
}

/** Help shows the built-in `--help` and `--version`, not effect/cli's wizard, completions or log level. */
const withoutExtras = (doc: HelpDoc.HelpDoc): HelpDoc.HelpDoc => ({
  ...doc,
  globalFlags: (doc.globalFlags ?? []).filter((f) => f.name === "help" || f.name === "version")
})

/**
 * The services `effect/cli` needs, from Node's `process`: arguments (`process.argv` after the script,
 * without the `--` that `pnpm <script> -- …` passes on),
 * standard output and error, and the terminal's width. Reading input, the file system and child
 * processes are not provided (they die if used).
 *
 * @since 0.2.0
 */
export const layer: Layer.Layer<Command.Environment> = Layer.mergeAll(
  FileSystem.layerNoop({}),
  Path.layer,
  Layer.succeed(
    Stdio.Stdio,
    Stdio.make({
      args: Effect.sync(programArgs),
      stdout: write(process.stdout),
      stderr: write(process.stderr),
      stdin: Stream.empty,
      stdoutIsTerminal: Effect.sync(() => process.stdout.isTTY === true),
      stderrIsTerminal: Effect.sync(() => process.stderr.isTTY === true)
    })
  ),
  Layer.succeed(
    Terminal.Terminal,
    Terminal.make({
      columns: Effect.sync(() => process.stdout.columns ?? 100),
      rows: Effect.sync(() => process.stdout.rows ?? 24),
      size: Effect.die("this program does not follow terminal resizes"),
      readInput: Effect.die("this program reads no terminal input"),
      readLine: Effect.die("this program reads no terminal input"),
      display: (text) =>
        Effect.sync(() => {
          process.stdout.write(text)
        })
    })
  ),
  Layer.succeed(
    ChildProcessSpawner.ChildProcessSpawner,
    ChildProcessSpawner.make(() => Effect.die("this program spawns no process through effect/cli"))
  ),
  CliOutput.layerPresenter({
    present: (event) => {
      switch (event._tag) {
        case "Help":
          return CliOutput.defaultPresenter.present({ ...event, helpDoc: withoutExtras(event.helpDoc) })
        case "InvalidInvocation":
          return Effect.gen(function* () {
            const formatter = yield* CliOutput.Formatter
            yield* Console.error(formatter.formatErrors(event.errors).trim())
            yield* Console.error(`usage: ${event.helpDoc.usage}    (--help lists every flag)`)
          })
        default:
          return CliOutput.defaultPresenter.present(event)
      }
    }
  })
)

/**
 * A failure explained for a person: what went wrong, in one line, and what to do about it.
 *
 * @since 0.2.0
 */
export interface Explained {
  /** One line, no object dump, no stack. */
  readonly line: string
  /** What to do, when the program knows. */
  readonly hint?: string | undefined
}

/**
 * A program's own knowledge of its failures: return an explanation for the errors it recognises
 * (e.g. a busy port → the variable that sets another), `undefined` for the rest.
 *
 * @since 0.2.0
 */
export type Explain = (error: unknown) => Explained | undefined

const field = (u: unknown, key: string): unknown =>
  typeof u === "object" && u !== null && key in u ? (u as Record<string, unknown>)[key] : undefined
const text = (u: unknown, key: string): string | undefined => {
  const v = field(u, key)
  return typeof v === "string" ? v : undefined
}
const firstLine = (s: string): string => s.split("\n")[0]?.trim() ?? ""

/** `Expected string\n  at ["HID_ORIGO_CLIENT_ID"]` → the variable, and whether it is missing. */
const configProblem = (message: string): Explained => {
  const path = /at \[(.*)\]/.exec(message)?.[1]
  const name = path === undefined ? undefined : path.split(",").map((p) => p.trim().replace(/^"|"$/g, "")).join("_")
  const expected = firstLine(message)
  if (name === undefined) return { line: `invalid configuration: ${expected}` }
  return /^Expected (string|a value)$|Missing/i.test(expected)
    ? { line: `the environment variable ${name} is not set`, hint: `set ${name} (the package's README lists every variable)` }
    : { line: `the environment variable ${name} is invalid: ${expected.replace(/^Expected /, "expected ")}`, hint: `fix ${name}` }
}

/**
 * Explain any failure in one line: the program's own `explain` first, then credsync's error types
 * (`PortError`, `CommandRejected`, `ConfigError`), then the error's first line of message.
 *
 * @since 0.2.0
 */
export const explain = (error: unknown, own?: Explain): Explained => {
  const mine = own?.(error)
  if (mine !== undefined) return mine
  const tag = text(error, "_tag")
  const message = text(error, "message") ?? (typeof error === "string" ? error : String(error))
  if (tag === "PortError") {
    const reason = text(error, "reason") ?? "Unknown"
    const hint =
      reason === "Unauthorized"
        ? "check the provider's credentials"
        : reason === "Transient" || reason === "RateLimited" || reason === "Ambiguous"
          ? "the provider may be unavailable; try again"
          : undefined
    return { line: `${text(error, "port") ?? "a provider"} ${text(error, "method") ?? "call"} failed (${reason}): ${firstLine(message)}`, hint }
  }
  if (tag === "CommandRejected") return { line: `rejected (${text(error, "reason") ?? "?"}): ${firstLine(message)}` }
  if (tag === "ConfigError") return configProblem(text(field(error, "cause"), "message") ?? message)
  return { line: firstLine(message) || "failed" }
}

/**
 * Run a command as the program's entry point: parse `process.argv` with effect/cli (`--help`,
 * `--version`, unknown flags refused with usage), run its handler, and end the process.
 *
 * - usage errors: effect/cli prints the help and the error; exit code 2;
 * - a failure of the handler: `error: <one line>` and `hint: <what to do>` on stderr, the full cause
 *   only when `--verbose` was given; exit code 1;
 * - SIGINT / SIGTERM interrupt the handler (its finalizers run); exit code 130 (0 when `stopOk`);
 * - otherwise exit code 0, or the one the handler set on `process.exitCode`.
 *
 * @since 0.2.0
 */
export const run = <Name extends string, Input, ContextInput, E>(
  command: Command.Command<Name, Input, ContextInput, E, Command.Environment>,
  options: { readonly version: string; readonly explain?: Explain; readonly stopOk?: boolean }
): void => {
  const verbose = programArgs().includes("--verbose")
  const fiber = Effect.runFork(Command.run(command, { version: options.version }).pipe(Effect.provide(layer)))
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
  fiber.addObserver((exit) => {
    process.removeListener("SIGINT", stop)
    process.removeListener("SIGTERM", stop)
    if (Exit.isSuccess(exit)) return
    if (Cause.hasInterruptsOnly(exit.cause)) {
      process.exitCode = options.stopOk === true ? 0 : 130
      return
    }
    const failure = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
    if (failure !== undefined && CliError.isCliError(failure)) {
      // effect/cli has already shown the help and what was wrong with the arguments
      process.exitCode = 2
      return
    }
    const error = failure ?? Cause.squash(exit.cause)
    const { line, hint } = explain(error, options.explain)
    process.stderr.write(`error: ${line}\n`)
    if (hint !== undefined) process.stderr.write(`hint: ${hint}\n`)
    if (verbose) process.stderr.write(`${Cause.pretty(exit.cause)}\n`)
    else process.stderr.write("(run with --verbose for details)\n")
    process.exitCode = 1
  })
}
