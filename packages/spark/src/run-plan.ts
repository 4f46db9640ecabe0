import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ExecutionPlan, ExecutionPolicy } from '@sparkle-studio/core'
import type { ColumnInfo, RunnerEvent } from './events.ts'
import { isLocalMaster } from './runner-launch.ts'
import type { SparkRuntime } from './runtime.ts'
import { SparkSubmitSubmitter } from './spark-submit-submitter.ts'
import type { JobError } from './submitter.ts'

/** Options of {@link runPlan}. */
export interface RunPlanOptions {
  /** The Spark installation to run on (from {@link findSparkRuntime}). */
  readonly runtime: SparkRuntime
  /**
   * Spark master URL (client mode). A `local` master, or a standalone one on 127.0.0.1, binds to the loopback
   * interface.
   * @default 'local[*]'
   */
  readonly master?: string | undefined
  /** Folder that gets the job's folder (plan, events, log); a fresh temporary folder when absent. */
  readonly workDir?: string | undefined
  /** Extra Spark configuration. */
  readonly conf?: Readonly<Record<string, string>> | undefined
  /** Secret values by name, as {@link SparkSubmitOptions.secrets}: the driver gets the ones the plan references. */
  readonly secrets?: Readonly<Record<string, string>> | undefined
  /** The execution policy, as {@link SparkSubmitOptions.policy}. @default undefined */
  readonly policy?: ExecutionPolicy | undefined
  /** Wall-clock limit; past it the run is stopped and fails with `JOB_TIMEOUT`. */
  readonly timeoutMs?: number | undefined
  /** Cancels the run: the Spark process group gets SIGTERM, then SIGKILL after 10 s. */
  readonly signal?: AbortSignal | undefined
}

/** The rows and schema a `query` step reported. */
export interface NodeRows {
  /** Columns of the result. */
  readonly schema: readonly ColumnInfo[]
  /** The first rows, as plain objects keyed by column name. */
  readonly rows: readonly Record<string, unknown>[]
  /** True when the result had more rows than the step's limit. */
  readonly truncated: boolean
}

/** The outcome of {@link runPlan}. */
export interface PlanRunResult {
  /** Final state (`lost` only when the job's processes vanished without any record). */
  readonly status: 'succeeded' | 'failed' | 'cancelled' | 'lost'
  /** Spark application id, once the session started. */
  readonly appId: string | undefined
  /** Rows reported by `query` steps, by node id. */
  readonly rows: Readonly<Record<string, NodeRows>>
  /** Every runner event, in order. */
  readonly events: readonly RunnerEvent[]
  /** For a failed run: the failing node (when a step failed), Spark's error class and message. */
  readonly error: JobError | undefined
  /** Path of the file holding spark-submit's stdout and stderr. */
  readonly logFile: string
  /** Wall-clock duration, submission to final state, in milliseconds. */
  readonly durationMs: number
}

/**
 * Runs an {@link ExecutionPlan} to the end with one `spark-submit` of the plan runner and returns its structured
 * outcome: a {@link SparkSubmitSubmitter} job, submitted and waited for. Never throws for a failed Spark job: a failure
 * is a result with `error`.
 *
 * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `SPARK_UNAVAILABLE` when the job cannot be started;
 * `VALIDATION_FAILED` for Spark configuration the plan may not set.
 * @example
 * ```ts
 * import { findSparkRuntime, runPlan } from '@sparkle-studio/spark'
 *
 * const runtime = await findSparkRuntime()
 * const result = await runPlan(
 *   { pipeline: 'hello', mode: 'run', steps: [{ nodeId: 'q', kind: 'query', sql: 'SELECT 1 AS one', limit: 10 }] },
 *   { runtime },
 * )
 * console.log(result.status, result.rows['q']?.rows)
 * ```
 */
export async function runPlan(plan: ExecutionPlan, options: RunPlanOptions): Promise<PlanRunResult> {
  const started = performance.now()
  const master = options.master ?? 'local[*]'
  const submitter = new SparkSubmitSubmitter({
    runtime: options.runtime,
    master,
    backend: isLocalMaster(master) ? 'local' : 'spark-submit',
    baseDir: options.workDir ?? (await mkdtemp(join(tmpdir(), 'sparkle-run-'))),
    conf: options.conf,
    secrets: options.secrets,
    policy: options.policy,
  })
  const { id } = await submitter.submit({
    jobId: 'run',
    plan,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    signal: options.signal,
  })
  const onAbort = () => void submitter.cancel(id)
  if (options.signal?.aborted) onAbort()
  else options.signal?.addEventListener('abort', onAbort, { once: true })
  const events: RunnerEvent[] = []
  try {
    const status = await submitter.wait(id, { onEvent: (e) => events.push(e) })
    const rows: Record<string, NodeRows> = {}
    for (const e of events) {
      if (e.type === 'rows') rows[e.nodeId] = { schema: e.schema, rows: e.rows, truncated: e.truncated }
    }
    return {
      status: status.state as PlanRunResult['status'],
      appId: status.appId,
      rows,
      events,
      error: status.error,
      logFile: status.logFile ?? join(id, 'spark.log'),
      durationMs: Math.round(performance.now() - started),
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
  }
}
