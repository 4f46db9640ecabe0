// A studio's Prometheus metrics in a registry of its own (never prom-client's global one, so that several studios in
// one process do not collide): what happens in this process is observed where it happens (API requests, previews,
// git writes); what the shared run store holds is counted at scrape time.
import type { GitWriteEvent, GitWriteListener } from '@sparkle-studio/git'
import type { StoreSchema } from '@sparkle-studio/runs'
import type { Kysely } from 'kysely'
import { Counter, collectDefaultMetrics, Gauge, Histogram, type Metric, Registry } from 'prom-client'
import type { Logger } from '../logger.ts'
import { countRuns, lastSuccesses, oldestClaimable, type RunCount, runDurations } from './run-store-figures.ts'

/** Options of a studio's metrics (see `StudioOptions.metrics`). */
export interface MetricsOptions {
  /**
   * Adds prom-client's default metrics of the process (CPU, memory, event loop lag, garbage collection), under their
   * usual names (`process_*`, `nodejs_*`).
   * @default false
   */
  readonly processMetrics?: boolean | undefined
}

/** How a preview ended: answered (even with per-node errors), or failed. */
export type PreviewOutcome = 'ok' | 'error'

/**
 * A studio's metrics: the registry `GET /metrics` answers from, and the hooks the studio's parts observe through.
 * Every name starts with `sparkle_`, carries its unit, and counters end in `_total`; no label holds a run id.
 */
export interface StudioMetrics {
  /** The studio's own prom-client registry. */
  readonly registry: Registry
  /** Observes one API request by its contract route name (`unmatched` when none matched), method and status. */
  observeRequest(route: string, method: string, status: number, seconds: number): void
  /** Observes one preview (dry-run) on Spark, from asking for the preview session to its answer. */
  observePreview(outcome: PreviewOutcome, seconds: number): void
  /** Observes one git write (the git store's `onWrite` listener). */
  readonly observeGitWrite: GitWriteListener
  /** The registry's figures in the Prometheus text format, with the content type to send them with. */
  scrape(): Promise<{ readonly contentType: string; readonly text: string }>
}

/** Upper bounds of the API request duration histogram, in seconds. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** Upper bounds of the preview duration histogram, in seconds (a cold start of the driver takes tens of seconds). */
const PREVIEW_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120]
/** Upper bounds of the git write duration histogram, in seconds. */
const GIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
/** Upper bounds of the run duration histogram, in seconds: from a second to a day. */
const RUN_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400]

/** The methods a request's label keeps; any other is `other`. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
/** The statuses a run waits for a worker in. */
const WAITING = new Set(['queued', 'retrying'])
/** The statuses a run ends in. */
const FINAL = new Set(['succeeded', 'failed', 'cancelled'])

/** Shares one call among the callers that ask while it is in flight (the collectors of one scrape). */
function shared<T>(fn: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined
  return () => {
    pending ??= fn().finally(() => {
      pending = undefined
    })
    return pending
  }
}

/**
 * A histogram whose buckets the database counts at scrape time: prom-client's `Histogram` can only observe values one
 * by one, so this is a collector of the registry's own shape (name, help, type, `get`), answering what a histogram does.
 */
function storeHistogram(
  name: string,
  help: string,
  bounds: readonly number[],
  read: () => Promise<
    readonly { labels: Record<string, string>; buckets: readonly number[]; count: number; sum: number }[]
  >,
): Metric {
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = []
      for (const series of await read()) {
        bounds.forEach((le, i) => {
          values.push({ labels: { ...series.labels, le }, value: series.buckets[i] ?? 0, metricName: `${name}_bucket` })
        })
        values.push({ labels: { ...series.labels, le: '+Inf' }, value: series.count, metricName: `${name}_bucket` })
        values.push({ labels: series.labels, value: series.sum, metricName: `${name}_sum` })
        values.push({ labels: series.labels, value: series.count, metricName: `${name}_count` })
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values }
    },
    reset() {
      // Nothing is kept: every scrape counts again.
    },
  }
  return metric as unknown as Metric
}

/** What the studio wires besides {@link StudioMetrics}: the run store, once it is open. */
export interface StudioMetricsWiring extends StudioMetrics {
  /** Adds the run store's figures, counted by the database at each scrape. */
  watchRunStore(db: Kysely<StoreSchema>, now?: () => Date): void
}

/**
 * Creates a studio's metrics in a registry of its own. The run store's figures are added by `watchRunStore` once the
 * store is open; a query that fails leaves its figures empty (0 for those without labels) in that scrape and counts in
 * `sparkle_run_store_query_failures_total`: the rest of the scrape is still answered.
 */
export function createStudioMetrics(options: MetricsOptions & { readonly log: Logger }): StudioMetricsWiring {
  const registry = new Registry()
  const registers = [registry]
  if (options.processMetrics) collectDefaultMetrics({ register: registry })

  const requests = new Histogram({
    name: 'sparkle_http_request_duration_seconds',
    help: 'API requests by contract route name, method and status: time to the response head, in seconds',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: REQUEST_BUCKETS,
    registers,
  })
  const previews = new Histogram({
    name: 'sparkle_preview_duration_seconds',
    help: 'Previews (dry-runs) on Spark by outcome, from asking for the preview session to its answer, in seconds',
    labelNames: ['outcome'] as const,
    buckets: PREVIEW_BUCKETS,
    registers,
  })
  const gitWrites = new Histogram({
    name: 'sparkle_git_write_duration_seconds',
    help: 'Writes to the pipelines repository (save, commit, delete, rename) by outcome, under its write lock, in seconds',
    labelNames: ['operation', 'outcome'] as const,
    buckets: GIT_BUCKETS,
    registers,
  })
  const queryFailures = new Counter({
    name: 'sparkle_run_store_query_failures_total',
    help: 'Run store queries of a scrape that failed (their figures were left out of that scrape)',
    registers,
  })

  const failed = (figure: string) => (error: unknown) => {
    queryFailures.inc()
    options.log.warn('metrics query failed', { figure, error: error instanceof Error ? error.message : String(error) })
    return undefined
  }

  return {
    registry,
    observeRequest(route, method, status, seconds) {
      // A method a client made up would be a new series each: those count as `other`.
      const known = METHODS.has(method) ? method : 'other'
      requests.observe({ route, method: known, status: String(status) }, seconds)
    },
    observePreview(outcome, seconds) {
      previews.observe({ outcome }, seconds)
    },
    observeGitWrite(event: GitWriteEvent) {
      gitWrites.observe({ operation: event.operation, outcome: event.outcome }, event.durationMs / 1000)
    },
    async scrape() {
      return { contentType: registry.contentType, text: await registry.metrics() }
    },
    watchRunStore(db, now = () => new Date()) {
      // One query serves the three figures made of run counts.
      const counts = shared(() => countRuns(db).catch(failed('runs by status')))
      const collectCounts = async (keep: (r: RunCount) => boolean, set: (rows: RunCount[]) => void) => {
        const rows = await counts()
        if (rows) set(rows.filter(keep))
      }
      new Gauge({
        name: 'sparkle_runs',
        help: 'Runs not finished yet, by pipeline and status (queued, retrying, submitting, running), in the run store',
        labelNames: ['pipeline', 'status'] as const,
        registers,
        async collect() {
          this.reset()
          await collectCounts(
            (r) => !FINAL.has(r.status),
            (rows) => {
              for (const r of rows) this.set({ pipeline: r.pipeline, status: r.status }, r.count)
            },
          )
        },
      })
      new Counter({
        name: 'sparkle_runs_finished_total',
        help: 'Runs finished, by pipeline and final status (succeeded, failed, cancelled), in the run store',
        labelNames: ['pipeline', 'status'] as const,
        registers,
        async collect() {
          this.reset()
          await collectCounts(
            (r) => FINAL.has(r.status),
            (rows) => {
              for (const r of rows) this.inc({ pipeline: r.pipeline, status: r.status }, r.count)
            },
          )
        },
      })
      new Gauge({
        name: 'sparkle_queue_depth',
        help: 'Runs waiting for a worker (queued or retrying), all pipelines together',
        registers,
        async collect() {
          this.reset()
          await collectCounts(
            (r) => WAITING.has(r.status),
            (rows) => this.set(rows.reduce((n, r) => n + r.count, 0)),
          )
        },
      })
      new Gauge({
        name: 'sparkle_queue_oldest_age_seconds',
        help: 'How long the run waiting longest for a worker has been claimable, in seconds (0 when none waits)',
        registers,
        async collect() {
          this.reset()
          const at = now()
          const oldest = await oldestClaimable(db, at).catch(failed('oldest queued'))
          if (oldest !== undefined) this.set(oldest ? Math.max(0, (at.getTime() - oldest.getTime()) / 1000) : 0)
        },
      })
      new Gauge({
        name: 'sparkle_pipeline_last_success_timestamp_seconds',
        help: "When each pipeline's latest successful run finished, in seconds since the Unix epoch",
        labelNames: ['pipeline'] as const,
        registers,
        async collect() {
          this.reset()
          const rows = await lastSuccesses(db).catch(failed('last success'))
          for (const r of rows ?? []) this.set({ pipeline: r.pipeline }, r.finishedAt.getTime() / 1000)
        },
      })
      registry.registerMetric(
        storeHistogram(
          'sparkle_run_duration_seconds',
          'Durations of the finished runs in the run store (its whole history), from first claim to end, by pipeline and final status, in seconds',
          RUN_BUCKETS,
          async () =>
            ((await runDurations(db, RUN_BUCKETS).catch(failed('run durations'))) ?? []).map((d) => ({
              labels: { pipeline: d.pipeline, status: d.status },
              buckets: d.buckets,
              count: d.count,
              sum: d.sum,
            })),
        ),
      )
    },
  }
}
