// The run worker, composed from the same services as the server: claims queued runs, compiles each pipeline at its
// revision, runs it on Spark, and enqueues scheduled runs. Used in-process by the server (embedded database) and by
// examples/worker (PostgreSQL, any number of processes).
import { hostname } from 'node:os'
import { join } from 'node:path'
import { Scheduler, type ScheduleSpec, SparkRunExecutor, Worker, type WorkerLogger } from '@sparkle-studio/spark/store'
import type { Logger } from './logger.ts'
import type { Services } from './services.ts'

/** Options of {@link createWorker}. */
export interface CreateWorkerOptions {
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
  /** A file the worker rewrites on every loop tick with its health (JSON). */
  readonly healthFile?: string | undefined
  /**
   * Also enqueue runs for pipelines' cron schedules (one scheduler is active per database).
   * @default true
   */
  readonly schedules?: boolean | undefined
}

function workerLogger(log: Logger): WorkerLogger {
  return { log: (level, message, fields) => log[level](message, fields ? { ...fields } : undefined) }
}

/** The schedules of the pipelines on the branch: one spec per pipeline whose document has an enabled `schedule`. */
export async function listSchedules(services: Services, signal?: AbortSignal): Promise<ScheduleSpec[]> {
  const list = await services.pipelines.list({ lastCommit: false, ...(signal ? { signal } : {}) })
  const specs: ScheduleSpec[] = []
  for (const p of list.pipelines) {
    const stored = await services.pipelines.get(p.name, { ...(signal ? { signal } : {}) })
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

/** Builds a worker over the services. Call `start()` to run it and `stop()` to drain it. */
export async function createWorker(services: Services, options: CreateWorkerOptions = {}): Promise<Worker> {
  const logger = workerLogger(services.log.child({ component: 'worker' }))
  const executor = new SparkRunExecutor({
    submitter: await services.submitter(),
    resolvePlan: (run, { signal }) => services.resolvePlan(run, { signal }),
  })
  const workerId = `${hostname()}-${process.pid}`
  const scheduler =
    options.schedules === false
      ? undefined
      : new Scheduler({
          store: services.runs,
          owner: workerId,
          logger,
          listSchedules: ({ signal }) => listSchedules(services, signal),
        })
  return new Worker({
    store: services.runs,
    executor,
    notifications: services.database,
    workerId,
    concurrency: options.concurrency ?? 2,
    perPipelineConcurrency: options.perPipelineConcurrency ?? 2,
    logger,
    healthFile: options.healthFile ?? join(services.config.dataDir, `worker-${process.pid}.health.json`),
    ...(scheduler ? { scheduler } : {}),
  })
}
