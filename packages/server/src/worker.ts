// The run worker over a studio: claims queued runs, compiles each pipeline at its revision under the studio's policy,
// runs it on Spark within the policy's time limit, and enqueues scheduled runs. Without Spark it claims nothing.
import { hostname } from 'node:os'
import { join } from 'node:path'
import { isStudioError } from '@sparkle-studio/core'
import {
  type Claim,
  type ClaimRequest,
  type Run,
  RunQueue,
  type RunStoreOptions,
  Scheduler,
  type ScheduleSpec,
  Worker,
  type WorkerLogger,
} from '@sparkle-studio/runs'
import { SparkRunExecutor } from '@sparkle-studio/spark'
import type { Logger } from './logger.ts'
import type { StudioParts } from './parts.ts'
import { runTimeLimitMs } from './policy.ts'

/** Options of {@link createStudioWorker}. */
export interface StudioWorkerOptions {
  /**
   * Runs at once across all pipelines.
   * @default 2
   */
  readonly concurrency?: number | undefined
  /**
   * Runs at once of one pipeline (a backfill's partitions share its pipeline).
   * @default 2
   */
  readonly perPipelineConcurrency?: number | undefined
  /**
   * Runs of one pipeline in progress at once across every worker of the database, enforced when a run is claimed
   * (give every worker of a deployment the same value).
   * @default perPipelineConcurrency (2): so the limit holds however many workers run
   */
  readonly maxRunsPerPipeline?: number | undefined
  /**
   * A file the worker rewrites on every loop tick with its health (JSON).
   * @default `<dataDir>/worker-<pid>.health.json`
   */
  readonly healthFile?: string | undefined
  /**
   * Also enqueue runs for pipelines' cron schedules (one scheduler is active per database).
   * @default true
   */
  readonly schedules?: boolean | undefined
}

/** The worker-side logger over a studio logger. */
function workerLogger(log: Logger): WorkerLogger {
  return { log: (level, message, fields) => log[level](message, fields ? { ...fields } : undefined) }
}

/**
 * The queue as a worker without Spark sees it: empty. Runs stay queued (for this worker once Spark is found, or for
 * another worker) instead of being claimed and failed. Spark is looked for before each claim; the studio keeps a
 * missing answer for a few seconds (`spark.recheckMs`), so a claim loop polling every 2 s searches at that pace.
 */
class SparkReadyQueue extends RunQueue {
  readonly #ready: () => Promise<boolean>

  constructor(options: RunStoreOptions, ready: () => Promise<boolean>) {
    super(options)
    this.#ready = ready
  }

  override async claim(request: ClaimRequest): Promise<Claim[]> {
    return (await this.#ready()) ? super.claim(request) : []
  }
}

/**
 * Whether runs can be submitted (the studio's submitter, which needs Spark), logging once when they cannot (with the
 * fix) and once when they can again.
 */
function sparkReadiness(studio: Pick<StudioParts, 'submitter' | 'log'>): () => Promise<boolean> {
  const log = studio.log.child({ component: 'worker' })
  let state: 'unknown' | 'up' | 'down' = 'unknown'
  return async () => {
    try {
      const submitter = await studio.submitter()
      if (state === 'down') log.info('Spark found: claiming runs', { backend: submitter.backend })
      state = 'up'
      return true
    } catch (error) {
      if (state !== 'down') {
        const details = isStudioError(error) ? (error.details as { fix?: unknown } | undefined) : undefined
        log.warn('Spark is not available: this worker claims no runs until it is (queued runs wait)', {
          error: error instanceof Error ? error.message : String(error),
          ...(typeof details?.fix === 'string' ? { fix: details.fix } : {}),
        })
      }
      state = 'down'
      return false
    }
  }
}

/** The schedules of the pipelines on the branch: one spec per pipeline whose document has an enabled `schedule`. */
export async function listStudioSchedules(
  { pipelines }: Pick<StudioParts, 'pipelines'>,
  signal?: AbortSignal,
): Promise<ScheduleSpec[]> {
  const list = await pipelines.list({ lastCommit: false, ...(signal ? { signal } : {}) })
  const specs: ScheduleSpec[] = []
  for (const p of list.pipelines) {
    const stored = await pipelines.get(p.name, { ...(signal ? { signal } : {}) })
    const schedule = stored.document.schedule
    if (!schedule || schedule.enabled === false) continue
    specs.push({
      pipeline: p.name,
      revision: stored.revision,
      cron: schedule.cron,
      timezone: schedule.timezone ?? 'UTC',
      catchUp: schedule.catchUp ?? 'latest',
    })
  }
  return specs
}

/**
 * A worker over a studio's queue, running on the studio's Spark submitter. Call `start()` to run it and `stop()` to
 * drain it. With the embedded database, run it in the studio's process; with PostgreSQL, in as many processes as
 * you like. It starts without Spark: it then logs one warning with the fix, claims no runs (they stay queued) and
 * looks for Spark again every few seconds (the studio's `spark.recheckMs`), working as soon as it is found.
 *
 * @example
 * ```ts
 * import { createStudio, createStudioWorker } from '@sparkle-studio/server'
 *
 * const studio = await createStudio({ dataDir: '.data' })
 * const worker = await createStudioWorker(studio, { concurrency: 2 })
 * await worker.start()
 * ```
 */
export async function createStudioWorker(
  studio: StudioParts & { readonly dataDir: string },
  options: StudioWorkerOptions = {},
): Promise<Worker> {
  const logger = workerLogger(studio.log.child({ component: 'worker' }))
  const executor = new SparkRunExecutor({
    // Runs are claimed only once Spark is found (SparkReadyQueue), so the submitter is there when a run starts.
    submitter: () => studio.submitter(),
    resolvePlan: (run: Run, { signal }) => studio.resolvePlan(run, { signal }),
    // Every run gets a time limit: the policy's default run time, never above its maximum.
    timeoutMs: runTimeLimitMs(studio.policy),
  })
  // Runs of one pipeline at once, across every worker on the database: enforced in the claim, not per process.
  const queue = new SparkReadyQueue(
    { db: studio.database.db, maxRunsPerPipeline: options.maxRunsPerPipeline ?? options.perPipelineConcurrency ?? 2 },
    sparkReadiness(studio),
  )
  const workerId = `${hostname()}-${process.pid}`
  const scheduler =
    options.schedules === false
      ? undefined
      : new Scheduler({
          queue,
          owner: workerId,
          logger,
          // A schedule the policy refuses (saved before the policy changed) is skipped and reported, not run.
          minIntervalMinutes: studio.policy.minScheduleIntervalMinutes,
          listSchedules: ({ signal }) => listStudioSchedules(studio, signal),
        })
  return new Worker({
    queue,
    executor,
    notifications: studio.database,
    workerId,
    concurrency: options.concurrency ?? 2,
    perPipelineConcurrency: options.perPipelineConcurrency ?? 2,
    logger,
    healthFile: options.healthFile ?? join(studio.dataDir, `worker-${process.pid}.health.json`),
    ...(scheduler ? { scheduler } : {}),
    ...(studio.budgets ? { budgets: studio.budgets } : {}),
  })
}
