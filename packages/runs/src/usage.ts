import { type Selectable, sql } from 'kysely'
import type { AttemptRef } from './attempts.ts'
import { checkSignal, type StoreContext } from './context.ts'
import type { RunUsageTable } from './schema.ts'

/**
 * What one attempt of a run used on the cluster, as Spark's own bookkeeping counts it (its status store, the data
 * behind the monitoring REST API), reported by the runner when the application ends.
 */
export interface RunUsage {
  /** Executor cores held × the time they were held, in seconds: what a cluster bills. */
  readonly coreSeconds: number
  /** Time tasks ran on executors, in seconds (at most `coreSeconds`). */
  readonly taskSeconds: number
  /** CPU time of those tasks, in seconds. */
  readonly cpuSeconds?: number | undefined
  /** Largest memory one executor held (JVM heap and off-heap), in bytes. */
  readonly peakMemoryBytes?: number | undefined
  /** Bytes read from storage. */
  readonly inputBytes?: number | undefined
  /** Bytes written to storage. */
  readonly outputBytes?: number | undefined
  /** Bytes read by shuffles. */
  readonly shuffleReadBytes?: number | undefined
  /** Bytes written by shuffles. */
  readonly shuffleWriteBytes?: number | undefined
  /** Executors the application had. */
  readonly executors?: number | undefined
  /** Executor cores the application had in all. */
  readonly cores?: number | undefined
}

/** The usage of one attempt, as stored. */
export interface AttemptUsage extends RunUsage {
  readonly runId: string
  readonly attempt: number
  readonly pipeline: string
  /** When the usage was recorded (the day it counts against a budget). */
  readonly recordedAt: Date
}

/** A pipeline's usage over one UTC day, summed over its runs' attempts. */
export interface DailyUsage {
  /** The UTC day, `YYYY-MM-DD`. */
  readonly day: string
  /** Attempts that reported usage that day. */
  readonly attempts: number
  readonly coreSeconds: number
  readonly taskSeconds: number
  readonly cpuSeconds: number
  /** The largest peak memory of one executor that day. */
  readonly peakMemoryBytes: number
  readonly inputBytes: number
  readonly outputBytes: number
  readonly shuffleReadBytes: number
  readonly shuffleWriteBytes: number
}

const finite = (v: number | undefined): number | null => (v !== undefined && Number.isFinite(v) && v >= 0 ? v : null)

/**
 * Records (or replaces) an attempt's usage. The pipeline is the run's; the row is gone with the run.
 */
export async function recordUsage(ctx: StoreContext, ref: AttemptRef, usage: RunUsage): Promise<void> {
  const values = {
    core_seconds: finite(usage.coreSeconds) ?? 0,
    task_seconds: finite(usage.taskSeconds) ?? 0,
    cpu_seconds: finite(usage.cpuSeconds),
    peak_memory_bytes: finite(usage.peakMemoryBytes),
    input_bytes: finite(usage.inputBytes),
    output_bytes: finite(usage.outputBytes),
    shuffle_read_bytes: finite(usage.shuffleReadBytes),
    shuffle_write_bytes: finite(usage.shuffleWriteBytes),
    executors: finite(usage.executors),
    cores: finite(usage.cores),
  }
  await sql`
    INSERT INTO run_usage (run_id, attempt, pipeline, recorded_at, core_seconds, task_seconds, cpu_seconds,
      peak_memory_bytes, input_bytes, output_bytes, shuffle_read_bytes, shuffle_write_bytes, executors, cores)
    SELECT id, ${ref.attempt}, pipeline, ${ctx.now()}, ${values.core_seconds}, ${values.task_seconds},
      ${values.cpu_seconds}, ${values.peak_memory_bytes}, ${values.input_bytes}, ${values.output_bytes},
      ${values.shuffle_read_bytes}, ${values.shuffle_write_bytes}, ${values.executors}, ${values.cores}
    FROM runs WHERE id = ${ref.runId}
    ON CONFLICT (run_id, attempt) DO UPDATE SET
      core_seconds = EXCLUDED.core_seconds, task_seconds = EXCLUDED.task_seconds, cpu_seconds = EXCLUDED.cpu_seconds,
      peak_memory_bytes = EXCLUDED.peak_memory_bytes, input_bytes = EXCLUDED.input_bytes,
      output_bytes = EXCLUDED.output_bytes, shuffle_read_bytes = EXCLUDED.shuffle_read_bytes,
      shuffle_write_bytes = EXCLUDED.shuffle_write_bytes, executors = EXCLUDED.executors, cores = EXCLUDED.cores
  `.execute(ctx.db)
}

/** A row of `run_usage` as the database answers it. */
type UsageRow = Selectable<RunUsageTable>

const optional = (v: number | null) => (v === null ? undefined : Number(v))

/** The usage each attempt of a run reported, first attempt first. */
export async function runUsage(ctx: StoreContext, runId: string, signal?: AbortSignal): Promise<AttemptUsage[]> {
  checkSignal(signal)
  const { rows } = await sql<UsageRow>`
    SELECT * FROM run_usage WHERE run_id = ${runId} ORDER BY attempt
  `.execute(ctx.db)
  return rows.map((r) => {
    const usage: AttemptUsage = {
      runId: r.run_id,
      attempt: Number(r.attempt),
      pipeline: r.pipeline,
      recordedAt: new Date(r.recorded_at),
      coreSeconds: Number(r.core_seconds),
      taskSeconds: Number(r.task_seconds),
      cpuSeconds: optional(r.cpu_seconds),
      peakMemoryBytes: optional(r.peak_memory_bytes),
      inputBytes: optional(r.input_bytes),
      outputBytes: optional(r.output_bytes),
      shuffleReadBytes: optional(r.shuffle_read_bytes),
      shuffleWriteBytes: optional(r.shuffle_write_bytes),
      executors: optional(r.executors),
      cores: optional(r.cores),
    }
    for (const key of Object.keys(usage) as (keyof AttemptUsage)[]) {
      if (usage[key] === undefined) delete (usage as Partial<Record<keyof AttemptUsage, unknown>>)[key]
    }
    return usage
  })
}

interface DayRow {
  day: string
  attempts: number | string
  core_seconds: number
  task_seconds: number
  cpu_seconds: number
  peak_memory_bytes: number
  input_bytes: number
  output_bytes: number
  shuffle_read_bytes: number
  shuffle_write_bytes: number
}

/** A pipeline's usage per UTC day from `from` (inclusive) to `to` (exclusive), oldest day first; days without any left out. */
export async function dailyUsage(
  ctx: StoreContext,
  pipeline: string,
  from: Date,
  to: Date,
  signal?: AbortSignal,
): Promise<DailyUsage[]> {
  checkSignal(signal)
  const { rows } = await sql<DayRow>`
    SELECT to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS attempts,
      sum(core_seconds) AS core_seconds, sum(task_seconds) AS task_seconds,
      coalesce(sum(cpu_seconds), 0) AS cpu_seconds, coalesce(max(peak_memory_bytes), 0) AS peak_memory_bytes,
      coalesce(sum(input_bytes), 0) AS input_bytes, coalesce(sum(output_bytes), 0) AS output_bytes,
      coalesce(sum(shuffle_read_bytes), 0) AS shuffle_read_bytes,
      coalesce(sum(shuffle_write_bytes), 0) AS shuffle_write_bytes
    FROM run_usage
    WHERE pipeline = ${pipeline} AND recorded_at >= ${from.toISOString()}::timestamptz
      AND recorded_at < ${to.toISOString()}::timestamptz
    GROUP BY 1 ORDER BY 1
  `.execute(ctx.db)
  return rows.map((r) => ({
    day: r.day,
    attempts: Number(r.attempts),
    coreSeconds: Number(r.core_seconds),
    taskSeconds: Number(r.task_seconds),
    cpuSeconds: Number(r.cpu_seconds),
    peakMemoryBytes: Number(r.peak_memory_bytes),
    inputBytes: Number(r.input_bytes),
    outputBytes: Number(r.output_bytes),
    shuffleReadBytes: Number(r.shuffle_read_bytes),
    shuffleWriteBytes: Number(r.shuffle_write_bytes),
  }))
}

/** Core-seconds a pipeline's attempts reported since `since`. */
export async function coreSecondsSince(ctx: StoreContext, pipeline: string, since: Date): Promise<number> {
  const { rows } = await sql<{ total: number | null }>`
    SELECT sum(core_seconds) AS total FROM run_usage
    WHERE pipeline = ${pipeline} AND recorded_at >= ${since.toISOString()}::timestamptz
  `.execute(ctx.db)
  return Number(rows[0]?.total ?? 0)
}

/** The start of the UTC day that holds `at`. */
export function utcDayStart(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()))
}
