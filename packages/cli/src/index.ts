/**
 * @credsync/cli: credsync's command-line programs on Node with effect's own CLI module — the Node
 * services effect/cli needs, and errors as one readable line with a hint.
 *
 * @since 0.2.0
 * @module @credsync/cli
 */
export * as Cli from "./Cli.js"
