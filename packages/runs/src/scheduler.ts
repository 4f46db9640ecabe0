import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { isValidPipelineName, type ValidationIssue } from '@sparkle-studio/core'
import { checkSignal, contextOf, throwIfInvalid } from './context.ts'
import { type CronSchedule, parseCron } from './cron.ts'
import { errorMessage, jsonLogger, type WorkerLogger } from './logger.ts'
import type { RunQueue } from './run-queue.ts'
import { checkScheduleInterval } from './schedule-interval.ts'
import { type CatchUpPolicy, evaluateSchedule, type ScheduleEvaluation, type ScheduleSpec } from './schedules.ts'

/** The name of the lease only one scheduler per database holds. */
export const SCHEDULER_LEASE = 'scheduler'

/** Options of {@link Scheduler}. */
export interface SchedulerOptions {
  /** The queue scheduled runs are enqueued on (one scheduler lease per database). */
  readonly queue: RunQueue
  /** The schedules to run, read at every tick (e.g. from the pipelines' documents). */
  readonly listSchedules: (options: { readonly signal?: AbortSignal | undefined }) => Promise<readonly ScheduleSpec[]>
  /**
   * This scheduler's id, the lease owner.
   * @default `<hostname>-<pid>-<random>`
   */
  readonly owner?: string | undefined
  /**
   * Lease length; another scheduler takes over this long after this one stops ticking.
   * @default 60_000
   */
  readonly leaseMs?: number | undefined
  /**
   * Most missed slots one schedule with catch-up `all` enqueues at once; older ones are skipped (and logged).
   * @default 100
   */
  readonly maxCatchUp?: number | undefined
  /**
   * With catch-up `none`, a slot this late still runs (it is the current slot, not a missed one).
   * @default 60_000
   */
  readonly graceMs?: number | undefined
  /** The clock (inject it in tests). */
  readonly now?: (() => Date) | undefined
  /**
   * The shortest time between two runs of a schedule, in minutes (the execution policy's
   * `minScheduleIntervalMinutes`). A schedule whose fire times can be closer (see {@link checkScheduleInterval}) is
   * skipped and reported in the tick's `errors`; nothing is enqueued for it until it is fixed.
   * @default 1
   */
  readonly minIntervalMinutes?: number | undefined
  /**
   * Structured log sink.
   * @default {@link jsonLogger}()
   */
  readonly logger?: WorkerLogger | undefined
}

/** What one scheduler tick did. */
export interface SchedulerTick {
  /** False when another scheduler holds the lease: this one did nothing. */
  readonly leader: boolean
  readonly evaluations: readonly ScheduleEvaluation[]
  /**
   * Schedules that could not be evaluated (an invalid cron, one that fires more often than the minimum interval, a
   * database error), with the reason.
   */
  readonly errors: readonly { readonly pipeline: string; readonly error: string }[]
}

const CATCH_UP: readonly CatchUpPolicy[] = ['none', 'latest', 'all']

/**
 * Checks a schedule: a valid pipeline name, a cron expression that fires, a known time zone and catch-up policy.
 *
 * @throws {@link @sparkle-studio/core!index.ValidationError | ValidationError} listing the problems (a cron that never
 * fires, such as `0 0 30 2 *`, is one).
 */
export function validateSchedule(spec: ScheduleSpec, now: Date = new Date()): CronSchedule {
  const issues: ValidationIssue[] = []
  if (!isValidPipelineName(spec.pipeline)) {
    issues.push({ path: '/pipeline', code: 'invalid_name', message: 'pipeline must be a lower-case slug' })
  }
  if (spec.catchUp !== undefined && !CATCH_UP.includes(spec.catchUp)) {
    issues.push({
      path: '/catchUp',
      code: 'invalid_enum',
      message: `unknown catch-up policy "${String(spec.catchUp)}"; use none, latest or all`,
    })
  }
  throwIfInvalid('schedule', issues)
  return parseCron(spec.cron, spec.timezone ?? 'UTC', now)
}

/**
 * Enqueues one run per due slot of each pipeline's cron schedule (idempotency key per pipeline and slot), with a
 * catch-up policy after downtime and time zones honoured. Only the holder of the `scheduler` lease acts, so any
 * number of workers may run a scheduler against one database. Call {@link Scheduler.tick} periodically (the
 * {@link Worker} does).
 *
 * @example
 * ```ts
 * import { RunQueue, Scheduler } from '@sparkle-studio/runs'
 *
 * declare const queue: RunQueue
 * const scheduler = new Scheduler({
 *   queue,
 *   listSchedules: async () => [{ pipeline: 'orders', cron: '0 2 * * *', timezone: 'Europe/Paris', catchUp: 'latest' }],
 * })
 * const { evaluations } = await scheduler.tick()
 * ```
 */
export class Scheduler {
  readonly #queue: RunQueue
  readonly #listSchedules: SchedulerOptions['listSchedules']
  readonly #leaseMs: number
  readonly #maxCatchUp: number
  readonly #graceMs: number
  readonly #minIntervalMinutes: number
  /** Verdicts of {@link checkScheduleInterval} by time zone and cron (they do not change; computing one takes a while). */
  readonly #intervalIssues = new Map<string, readonly ValidationIssue[]>()
  readonly #now: () => Date
  readonly #logger: WorkerLogger
  /** This scheduler's id, the lease owner. */
  readonly owner: string

  constructor(options: SchedulerOptions) {
    this.#queue = options.queue
    this.#listSchedules = options.listSchedules
    this.owner = options.owner ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
    this.#leaseMs = options.leaseMs ?? 60_000
    this.#maxCatchUp = options.maxCatchUp ?? 100
    this.#graceMs = options.graceMs ?? 60_000
    this.#minIntervalMinutes = options.minIntervalMinutes ?? 1
    this.#now = options.now ?? (() => new Date())
    this.#logger = options.logger ?? jsonLogger()
    const issues: ValidationIssue[] = []
    if (!Number.isInteger(this.#maxCatchUp) || this.#maxCatchUp < 1 || this.#maxCatchUp > 10_000) {
      issues.push({
        path: '/maxCatchUp',
        code: 'out_of_range',
        message: 'maxCatchUp must be an integer from 1 to 10000',
      })
    }
    if (!Number.isInteger(this.#minIntervalMinutes) || this.#minIntervalMinutes < 1) {
      issues.push({
        path: '/minIntervalMinutes',
        code: 'out_of_range',
        message: 'minIntervalMinutes must be a positive integer',
      })
    }
    if (!Number.isInteger(this.#leaseMs) || this.#leaseMs < 1) {
      issues.push({ path: '/leaseMs', code: 'out_of_range', message: 'leaseMs must be a positive integer' })
    }
    throwIfInvalid('scheduler options', issues)
  }

  /** Takes (or renews) the scheduler lease and, when held, enqueues the due slots of every schedule. */
  async tick(options: { readonly signal?: AbortSignal | undefined } = {}): Promise<SchedulerTick> {
    checkSignal(options.signal)
    const leader = await this.#queue.acquireLease(SCHEDULER_LEASE, this.owner, this.#leaseMs)
    if (!leader) return { leader: false, evaluations: [], errors: [] }
    const specs = await this.#listSchedules({ signal: options.signal })
    const evaluations: ScheduleEvaluation[] = []
    const errors: { pipeline: string; error: string }[] = []
    const ctx = contextOf(this.#queue)
    for (const spec of specs) {
      checkSignal(options.signal)
      const now = this.#now()
      try {
        const schedule = validateSchedule(spec, now)
        throwIfInvalid('schedule', this.#checkInterval(schedule))
        const evaluation = await evaluateSchedule(ctx, spec, schedule, now, {
          maxCatchUp: this.#maxCatchUp,
          graceMs: this.#graceMs,
        })
        evaluations.push(evaluation)
        if (evaluation.capped || evaluation.skippedSlots > 0) {
          this.#logger.log('warn', 'schedule slots skipped after downtime', {
            pipeline: spec.pipeline,
            catchUp: spec.catchUp ?? 'latest',
            skippedSlots: evaluation.skippedSlots,
            capped: evaluation.capped,
            maxCatchUp: this.#maxCatchUp,
          })
        }
        for (const run of evaluation.runs) {
          this.#logger.log('info', 'scheduled run enqueued', {
            pipeline: spec.pipeline,
            runId: run.id,
            slot: run.scheduleSlot?.toISOString(),
          })
        }
      } catch (error) {
        errors.push({ pipeline: spec.pipeline, error: errorMessage(error) })
        this.#logger.log('error', 'schedule not evaluated', { pipeline: spec.pipeline, error: errorMessage(error) })
      }
    }
    return { leader: true, evaluations, errors }
  }

  #checkInterval(schedule: CronSchedule): readonly ValidationIssue[] {
    const key = `${schedule.timezone}\u0000${schedule.cron}`
    let issues = this.#intervalIssues.get(key)
    if (!issues) {
      issues = checkScheduleInterval(schedule.cron, schedule.timezone, this.#minIntervalMinutes)
      if (this.#intervalIssues.size >= 1_000) this.#intervalIssues.clear()
      this.#intervalIssues.set(key, issues)
    }
    return issues
  }

  /** Gives the scheduler lease up, so that another scheduler takes over at its next tick. */
  async release(): Promise<void> {
    await this.#queue.releaseLease(SCHEDULER_LEASE, this.owner)
  }
}
