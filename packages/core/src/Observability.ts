/**
 * Logs, metrics and traces of the engine, through effect's own modules (`Logger`, `Metric`,
 * `Tracer`, `effect/observability`).
 *
 * The engine logs, measures and traces in the Effect context it runs in: the Promise facade
 * (`Client`) and the Seam-compatible API set that context up with {@link layer}; an Effect host
 * provides {@link layer} (or its own loggers, tracer and OTLP layers) where it runs the engine.
 *
 * | variable | effect |
 * |---|---|
 * | `CREDSYNC_LOG_LEVEL` | `trace`, `debug`, `info` (default), `warn`, `error`, `fatal`, `none` |
 * | `CREDSYNC_LOG_FORMAT` | `json` (one JSON object per line), `pretty`, `logfmt`; default `pretty` on a terminal, else `json` |
 * | `OTEL_EXPORTER_OTLP_ENDPOINT` | base URL of an OTLP/HTTP collector: turns export of traces, metrics and logs on (off when unset) |
 * | `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT` | one signal's full URL |
 * | `OTEL_{TRACES,METRICS,LOGS}_EXPORTER` | `otlp` (the default once an endpoint is set) or `none` |
 * | `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_COMPRESSION`, `OTEL_SDK_DISABLED`, ... | as OpenTelemetry defines them |
 *
 * Log levels used by the engine: `Debug` for each reconcile, in-call retries, conflicts settled by
 * observing and lease acquisitions and renewals; `Info` for back-offs, rate limits (with the wait),
 * leases taken over from an expired holder, callbacks ignored and identities that recover; `Warn`
 * for leases lost and identities that become stuck; `Error` for saves the store refuses and for a
 * failed background loop. Lines carry the identity, manager, action and outcome as annotations and
 * never a secret: ports see keys and secrets only as `Redacted`, and the engine logs only ids,
 * reasons and the ports' error messages.
 *
 * @since 0.2.0
 */
import { Config, ConfigProvider, Effect, Layer, Logger, type LogLevel, Metric, References, Schema, SchemaGetter } from "effect"
import { FetchHttpClient } from "effect/http"
import { Otlp, type OtlpExporter, OtlpSerialization, PrometheusMetrics } from "effect/observability"

// ------------------------------------------------------------------------------------------ metrics

/** Boundaries (seconds) of the time-to-ACS histogram: a second to a day. */
const toAcsBoundaries = [1, 5, 15, 30, 60, 120, 300, 600, 1_800, 3_600, 4 * 3_600, 24 * 3_600]

// every credsync counter counts up from where the process started (Prometheus `_total`)
const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })

/**
 * Every metric the engine records. Names carry the `credsync_` prefix; attributes (Prometheus
 * labels) are low-cardinality: never an identity id.
 *
 * @since 0.2.0
 */
export const metrics = {
  /** Reconciles run, by `outcome`: `converged`, `retry` (a round failed, backing off), `race`
   *  (the version moved), `rejected` (the store refused the save), `skipped` (leased elsewhere). */
  reconciles: counter("credsync_reconciles_total", "Reconciles run, by outcome (converged, retry, race, rejected, skipped)"),
  /** Provider calls (each attempt), by `port`, `action` and `outcome` (`ok` or the PortError reason). */
  portCalls: counter("credsync_port_calls_total", "Calls to the credential manager and the ACS (each attempt), by port, action and outcome (ok or the error reason)"),
  /** In-call retries of failed provider calls, by `port`, `action` and `reason` of the failure. */
  retries: counter("credsync_retries_total", "In-call retries of failed provider calls, by port, action and the reason of the failure retried"),
  /** Identities re-queued with back-off after a failed reconcile, by `reason`. */
  backoffs: counter("credsync_backoffs_total", "Identities re-queued with back-off after a failed reconcile, by reason"),
  /** Identities due now and waiting to be worked (from the store, when it can count them). */
  queueDepth: Metric.gauge("credsync_queue_depth", { description: "Identities due now and waiting to be worked" }),
  /** How late the earliest due identity is, seconds (0 when nothing is overdue). */
  dueLag: Metric.gauge("credsync_due_lag_seconds", { description: "How late the earliest due identity is, in seconds" }),
  /** From a phone coming online (or its sync credential being created, whichever is later) to its
   *  credential being assigned in the ACS, seconds. A credential issued again after it was lost
   *  counts from its new request; an ACS-side repair of the same credential is not counted. */
  timeToAcs: Metric.histogram("credsync_phone_to_acs_seconds", {
    description: "Time from a phone coming online (or its sync credential created, if later) to its credential assigned in the ACS, in seconds",
    boundaries: toAcsBoundaries
  }),
  /** Identities currently stuck (failing reconcile after reconcile, or refused by the store). */
  stuck: Metric.gauge("credsync_stuck_identities", { description: "Identities failing reconcile after reconcile, or whose save the store refuses" }),
  /** Saves the store refused for a reason other than a version race, by `reason`. */
  saveRejections: counter("credsync_save_rejections_total", "Saves the store refused for a reason other than a version race, by reason"),
  /** Provider callbacks handed to the engine, by `outcome`: `accepted`, `unknown` (names no known identity), `invalid`. */
  callbacks: counter("credsync_callbacks_total", "Provider callbacks handed to the engine, by outcome (accepted, unknown, invalid)"),
  /** Lease changes of this replica, by `change`: `acquired`, `taken_over` (from an expired holder), `lost`. */
  leaseChanges: counter("credsync_lease_changes_total", "Lease changes of this replica, by change (acquired, taken_over, lost)"),
  /** Failures of the background loop (each one restarts it). */
  loopFailures: counter("credsync_loop_failures_total", "Failures of the background loop"),
  /** Domain events committed to the store. */
  events: counter("credsync_events_committed_total", "Domain events committed to the store")
} as const

/**
 * The metrics of the current context (its `Metric.MetricRegistry`) in the Prometheus text format.
 *
 * @since 0.2.0
 */
export const prometheus: Effect.Effect<string> = PrometheusMetrics.format()

// ------------------------------------------------------------------------------------------- logs

/** How log lines are written. */
export const LogFormat = Schema.Literals(["json", "pretty", "logfmt"])
/** @since 0.2.0 */
export type LogFormat = typeof LogFormat.Type

const levels: Readonly<Record<string, LogLevel.LogLevel>> = {
  all: "All",
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  warning: "Warn",
  error: "Error",
  fatal: "Fatal",
  none: "None",
  off: "None"
}

const lowerTrimmed = Schema.String.pipe(
  Schema.decode({ decode: SchemaGetter.transform((s: string) => s.trim().toLowerCase()), encode: SchemaGetter.transform((s: string) => s) })
)

/** A log level as people write it (`debug`, `WARN`, `warning`, `none`...). */
const LogLevelText = lowerTrimmed.check(
  Schema.makeFilter((s: string) => Object.hasOwn(levels, s) || `Expected one of ${Object.keys(levels).join(", ")}`)
)
const LogFormatText = lowerTrimmed.check(
  Schema.makeFilter((s: string) => LogFormat.literals.some((f) => f === s) || `Expected one of ${LogFormat.literals.join(", ")}`)
)

/**
 * `CREDSYNC_LOG_LEVEL` and `CREDSYNC_LOG_FORMAT` (unset format: none chosen, see {@link layerLogger}).
 *
 * @since 0.2.0
 */
export const config = (defaults: { readonly level?: LogLevel.LogLevel | undefined } = {}) =>
  Config.all({
    level: Config.schema(LogLevelText, "CREDSYNC_LOG_LEVEL").pipe(
      Config.map((s): LogLevel.LogLevel => levels[s] ?? "Info"),
      Config.withDefault(defaults.level ?? "Info")
    ),
    format: Config.option(
      Config.schema(LogFormatText, "CREDSYNC_LOG_FORMAT").pipe(Config.map((s): LogFormat => (s === "pretty" ? "pretty" : s === "logfmt" ? "logfmt" : "json")))
    )
  })

const isTerminal = (): boolean => globalThis.process?.stdout?.isTTY === true

const loggerFor = (format: LogFormat) =>
  format === "pretty" ? Logger.consolePretty() : format === "logfmt" ? Logger.consoleLogFmt : Logger.consoleJson

/** Options of {@link layerLogger} and {@link layer}; each wins over its environment variable. */
export interface LogOptions {
  readonly level?: LogLevel.LogLevel | undefined
  readonly format?: LogFormat | undefined
  /** Level when neither `level` nor `CREDSYNC_LOG_LEVEL` is given. Default `Info`. */
  readonly defaultLevel?: LogLevel.LogLevel | undefined
}

/**
 * The console logger and minimum level from `CREDSYNC_LOG_LEVEL` / `CREDSYNC_LOG_FORMAT` (or the
 * options). JSON lines unless the format says otherwise or stdout is a terminal (pretty).
 *
 * @since 0.2.0
 */
export const layerLogger = (options: LogOptions = {}): Layer.Layer<never, Config.ConfigError> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const c = yield* config({ level: options.defaultLevel })
      const level = options.level ?? c.level
      const format = options.format ?? (c.format._tag === "Some" ? c.format.value : isTerminal() ? "pretty" : "json")
      return Layer.mergeAll(Logger.layer([loggerFor(format)]), Layer.succeed(References.MinimumLogLevel, level))
    })
  )

// ------------------------------------------------------------------------------------------- OTLP

/**
 * OTLP/HTTP export (JSON) of traces, metrics and logs, configured by the OpenTelemetry variables
 * and off unless an endpoint is set. As OpenTelemetry specifies (and unlike effect's bare
 * `Otlp.layerFromConfig`), an endpoint alone turns on every signal; `OTEL_<SIGNAL>_EXPORTER=none`
 * turns one off. Logs go to the collector as well as to the console. Provides effect's
 * `OtlpExporter.Flusher` (flush before a process is suspended; a no-op while export is off).
 *
 * @since 0.2.0
 */
export const layerOtlp = (
  options: { readonly serviceName?: string | undefined; readonly serviceVersion?: string | undefined } = {}
): Layer.Layer<OtlpExporter.Flusher> =>
  Otlp.layerFromConfig({
    resource: { serviceName: options.serviceName ?? "credsync", ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion }) },
    loggerMergeWithExisting: true
  }).pipe(
    Layer.provide(
      Layer.mergeAll(
        FetchHttpClient.layer,
        OtlpSerialization.layerJson,
        // the specification's default exporter, below whatever the environment says
        ConfigProvider.layerAdd(ConfigProvider.fromUnknown({ OTEL_TRACES_EXPORTER: "otlp", OTEL_METRICS_EXPORTER: "otlp", OTEL_LOGS_EXPORTER: "otlp" }))
      )
    )
  )

/**
 * Logs (see {@link layerLogger}) and, when the OpenTelemetry variables ask for it, OTLP export of
 * traces, metrics and logs (see {@link layerOtlp}). Metrics are always recorded in the context's
 * registry; read them with {@link prometheus}.
 *
 * @since 0.2.0
 */
export const layer = (
  options: LogOptions & { readonly serviceName?: string | undefined } = {}
): Layer.Layer<OtlpExporter.Flusher, Config.ConfigError> =>
  // built after the console logger, so the OTLP logger joins it instead of replacing it
  layerOtlp({ serviceName: options.serviceName }).pipe(Layer.provideMerge(layerLogger(options)))
