import { randomBytes } from 'node:crypto'
import { rename, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { isStudioError, StudioError } from '@sparkle-studio/core'
import PQueue from 'p-queue'
import type { AttemptOutcome, AttemptRef, FinishItem, FinishResult, NewRunEvent } from './attempts.ts'
import type { Claim } from './claim.ts'
import { CANCEL_CHANNEL, RUNS_CHANNEL } from './context.ts'
import type { StoreDatabase } from './database.ts'
import { isTransientDbError, retryDelay } from './db-errors.ts'
import type { AbortCause, ExecutionContext, ExecutionOutcome, RunExecutor } from './executor.ts'
import { errorMessage, jsonLogger, type WorkerLogger } from './logger.ts'
import type { Unlisten } from './notify.ts'
import type { RunError } from './run.ts'
import type { RunQueue } from './run-queue.ts'
import type { Scheduler } from './scheduler.ts'
import { utcDayStart } from './usage.ts'

/**
 * Core-seconds per UTC day that a pipeline's runs may use (executor cores × time held, as Spark counts it). The
 * worker checks a run's pipeline when it claims the run: once the day's attempts have used the budget, the run fails
 * with `BUDGET_EXCEEDED` instead of starting, and runs the next day start again.
 */
export interface UsageBudgets {
  /** The budget of pipelines not named in `pipelines`; none when absent. */
  readonly default?: number | undefined
  /** Budgets by pipeline name. */
  readonly pipelines?: Readonly<Record<string, number>> | undefined
}

/** Options of {@link Worker}. */
export interface WorkerOptions {
  /** The queue to claim runs from (the worker side of the run store). */
  readonly queue: RunQueue
  /** Runs each claimed attempt. */
  readonly executor: RunExecutor
  /**
   * Wakes the worker by LISTEN/NOTIFY (PostgreSQL, or PGlite in the same process) when runs are enqueued or
   * cancelled; without it the worker only polls.
   */
  readonly notifications?: Pick<StoreDatabase, 'listen'> | undefined
  /**
   * Unique id of this worker, the lease owner of its runs.
   * @default `<hostname>-<pid>-<random>`
   */
  readonly workerId?: string | undefined
  /**
   * Runs executed at once by this worker.
   * @default 4
   */
  readonly concurrency?: number | undefined
  /**
   * Runs of one pipeline executed at once by this worker (enforced by the worker; backfill concurrency is
   * enforced across workers by the store). For a limit across all workers, give the queue `maxRunsPerPipeline`.
   * @default concurrency
   */
  readonly perPipelineConcurrency?: number | undefined
  /**
   * Lease length: a worker that stops heartbeating loses its runs to another worker after this long.
   * @default 30_000
   */
  readonly leaseMs?: number | undefined
  /**
   * Heartbeat period; must be well under `leaseMs`.
   * @default leaseMs / 3
   */
  readonly heartbeatMs?: number | undefined
  /**
   * Polling period when no notification arrives (the fallback for lost notifications, retries coming due and
   * expired leases).
   * @default 2_000
   */
  readonly pollMs?: number | undefined
  /**
   * Structured log sink.
   * @default {@link jsonLogger}()
   */
  readonly logger?: WorkerLogger | undefined
  /** A file rewritten (atomically) with {@link WorkerHealth} as JSON, at most every `healthIntervalMs`. */
  readonly healthFile?: string | undefined
  /**
   * Least time between two writes of the health file.
   * @default 1_000
   */
  readonly healthIntervalMs?: number | undefined
  /** Enqueues scheduled runs while this worker holds the scheduler lease. */
  readonly scheduler?: Scheduler | undefined
  /** Per-pipeline daily budgets of core-seconds, enforced when a run is claimed. */
  readonly budgets?: UsageBudgets | undefined
  /**
   * Period of scheduler ticks.
   * @default 10_000
   */
  readonly scheduleIntervalMs?: number | undefined
  /** Stops the worker gracefully (as {@link Worker.stop} with `shutdownTimeoutMs`) when aborted. */
  readonly signal?: AbortSignal | undefined
  /**
   * How long a stop waits for runs in flight before it hands them back.
   * @default 30_000
   */
  readonly shutdownTimeoutMs?: number | undefined
}

/** A snapshot of a worker's state, as written to the health file. */
export interface WorkerHealth {
  readonly workerId: string
  /** ISO time of the snapshot. */
  readonly ts: string
  readonly state: 'idle' | 'running' | 'stopping' | 'stopped'
  /** Runs being executed. */
  readonly inFlight: number
  /** Runs executed to an outcome since start. */
  readonly completed: number
  /** The last database or loop error, while the worker has not recovered from it. */
  readonly lastError?: string
}

interface InFlight {
  readonly claim: Claim
  readonly ref: AttemptRef
  readonly controller: AbortController
  cause: AbortCause | undefined
  settled: boolean
  /** Usage records being written for this attempt. */
  readonly usageWrites: Promise<void>[]
}

const MAX_BUFFERED_EVENTS = 10_000
const EVENT_FLUSH_MS = 250

/**
 * The reference worker: claims runs from the store (SKIP LOCKED, leases renewed by heartbeat), executes them with
 * a global and a per-pipeline concurrency limit, re-attaches to jobs whose worker died, carries out cancels, rides
 * out database restarts, and stops gracefully. It never installs signal handlers; see {@link handleShutdownSignals}.
 *
 * @example
 * ```ts
 * import { migrateToLatest, openDatabase, RunQueue, storeConfigFromEnv, Worker } from '@sparkle-studio/runs'
 *
 * const database = await openDatabase(storeConfigFromEnv(process.env))
 * await migrateToLatest(database.db)
 * const worker = new Worker({
 *   queue: new RunQueue({ db: database.db }),
 *   notifications: database,
 *   executor: {
 *     async execute(ctx) {
 *       ctx.log(`running ${ctx.run.pipeline}`)
 *       return { status: 'succeeded' }
 *     },
 *   },
 *   concurrency: 4,
 * })
 * await worker.start()
 * ```
 */
export class Worker {
  readonly #runs: RunQueue
  readonly #executor: RunExecutor
  readonly #notifications: Pick<StoreDatabase, 'listen'> | undefined
  readonly #logger: WorkerLogger
  readonly #concurrency: number
  readonly #perPipeline: number
  readonly #leaseMs: number
  readonly #heartbeatMs: number
  readonly #pollMs: number
  readonly #healthFile: string | undefined
  readonly #healthIntervalMs: number
  readonly #scheduler: Scheduler | undefined
  readonly #budgets: UsageBudgets | undefined
  readonly #scheduleIntervalMs: number
  readonly #shutdownTimeoutMs: number
  readonly #signal: AbortSignal | undefined
  readonly #queue: PQueue
  readonly #inFlight = new Map<string, InFlight>()
  readonly #unlisten: Unlisten[] = []
  #events: NewRunEvent[] = []
  #state: WorkerHealth['state'] = 'idle'
  #completed = 0
  #lastError: string | undefined
  #pending = false
  #wakeUp: (() => void) | undefined
  #loop: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  #timers: NodeJS.Timeout[] = []
  #schedulerTimer: NodeJS.Timeout | undefined
  #lastHealthWrite = 0
  #healthWriting = false
  #flushing: Promise<void> | undefined
  #finishQueue: { item: FinishItem; resolve: (r: FinishResult) => void; reject: (e: unknown) => void }[] = []
  #finishing = false

  /** This worker's id (the lease owner of its runs). */
  readonly workerId: string

  constructor(options: WorkerOptions) {
    this.#runs = options.queue
    this.#executor = options.executor
    this.#notifications = options.notifications
    this.#logger = options.logger ?? jsonLogger()
    this.workerId = options.workerId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
    this.#concurrency = positiveInt(options.concurrency ?? 4, 'concurrency')
    this.#perPipeline = positiveInt(options.perPipelineConcurrency ?? this.#concurrency, 'perPipelineConcurrency')
    this.#leaseMs = positiveInt(options.leaseMs ?? 30_000, 'leaseMs')
    this.#heartbeatMs = positiveInt(options.heartbeatMs ?? Math.max(1, Math.floor(this.#leaseMs / 3)), 'heartbeatMs')
    if (this.#heartbeatMs >= this.#leaseMs) {
      throw new StudioError(
        'VALIDATION_FAILED',
        `heartbeatMs (${this.#heartbeatMs}) must be below leaseMs (${this.#leaseMs})`,
      )
    }
    this.#pollMs = positiveInt(options.pollMs ?? 2_000, 'pollMs')
    this.#healthFile = options.healthFile
    this.#healthIntervalMs = options.healthIntervalMs ?? 1_000
    this.#scheduler = options.scheduler
    this.#budgets = checkBudgets(options.budgets)
    this.#scheduleIntervalMs = positiveInt(options.scheduleIntervalMs ?? 10_000, 'scheduleIntervalMs')
    this.#shutdownTimeoutMs = options.shutdownTimeoutMs ?? 30_000
    this.#signal = options.signal
    this.#queue = new PQueue({ concurrency: this.#concurrency })
  }

  /** The worker's state now. */
  health(): WorkerHealth {
    return {
      workerId: this.workerId,
      ts: new Date().toISOString(),
      state: this.#state,
      inFlight: this.#inFlight.size,
      completed: this.#completed,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    }
  }

  /** Starts listening, heartbeating, scheduling and claiming. Resolves once the worker runs. */
  async start(): Promise<void> {
    if (this.#loop) return
    this.#state = 'running'
    if (this.#signal?.aborted) {
      this.#state = 'stopped'
      return
    }
    this.#signal?.addEventListener('abort', () => void this.stop({ timeoutMs: this.#shutdownTimeoutMs }), {
      once: true,
    })
    if (this.#notifications) {
      const onReconnect = () => {
        this.#logger.log('info', 'notification connection re-established', { workerId: this.workerId })
        this.#wake()
      }
      const onError = (error: Error) =>
        this.#logger.log('warn', 'notification connection lost; reconnecting', {
          workerId: this.workerId,
          error: error.message,
        })
      try {
        this.#unlisten.push(
          await this.#notifications.listen(RUNS_CHANNEL, { onNotify: () => this.#wake(), onReconnect, onError }),
          await this.#notifications.listen(CANCEL_CHANNEL, { onNotify: (id) => this.#cancelLocal(id) }),
        )
      } catch (error) {
        this.#logger.log('warn', 'cannot listen for notifications; polling only', {
          workerId: this.workerId,
          error: errorMessage(error),
        })
      }
    }
    this.#every(this.#heartbeatMs, () => this.#heartbeat())
    this.#every(EVENT_FLUSH_MS, () => this.#flushEvents())
    if (this.#scheduler) {
      const scheduler = this.#scheduler
      const tick = async () => {
        try {
          await scheduler.tick()
        } catch (error) {
          this.#logger.log('warn', 'scheduler tick failed', { workerId: this.workerId, error: errorMessage(error) })
        }
      }
      this.#schedulerTimer = setInterval(() => void tick(), this.#scheduleIntervalMs)
      this.#schedulerTimer.unref()
      void tick()
    }
    this.#logger.log('info', 'worker started', {
      workerId: this.workerId,
      concurrency: this.#concurrency,
      perPipelineConcurrency: this.#perPipeline,
      leaseMs: this.#leaseMs,
    })
    this.#loop = this.#claimLoop()
  }

  /**
   * Stops gracefully: stops claiming, lets runs in flight finish for up to `timeoutMs`, then aborts the rest
   * (`shutdown`) and hands them back to the queue (a submitted job is left running for the next worker to
   * re-attach to). Idempotent.
   */
  stop(options: { readonly timeoutMs?: number | undefined } = {}): Promise<void> {
    this.#stopping ??= this.#shutdown(options.timeoutMs ?? this.#shutdownTimeoutMs)
    return this.#stopping
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    this.#state = 'stopping'
    this.#logger.log('info', 'worker stopping', { workerId: this.workerId, inFlight: this.#inFlight.size })
    this.#wake()
    clearInterval(this.#schedulerTimer)
    await this.#loop
    for (const unlisten of this.#unlisten.splice(0)) await unlisten().catch(() => {})
    await this.#scheduler?.release().catch(() => {})
    const idle = this.#queue.onIdle()
    if (!(await within(idle, timeoutMs))) {
      const left = [...this.#inFlight.values()]
      this.#logger.log('warn', 'shutdown timeout: handing runs in flight back', {
        workerId: this.workerId,
        runs: left.map((f) => f.ref.runId),
      })
      for (const f of left) this.#abort(f, 'shutdown')
      // Executors that honour the abort hand their runs back themselves; the rest are released here.
      await within(idle, Math.min(5_000, Math.max(100, timeoutMs)))
      const stuck = [...this.#inFlight.values()].filter((f) => !f.settled)
      if (stuck.length > 0) {
        await this.#retryDb('release', () => this.#runs.release(stuck.map((f) => f.ref)), 3).catch((error: unknown) =>
          // Their leases run out instead, and the next worker takes them over.
          this.#logger.log('error', 'could not hand runs back', {
            workerId: this.workerId,
            error: errorMessage(error),
          }),
        )
      }
    }
    for (const t of this.#timers.splice(0)) clearInterval(t)
    await this.#flushEvents()
    this.#state = 'stopped'
    await this.#writeHealth(true)
    this.#logger.log('info', 'worker stopped', { workerId: this.workerId, completed: this.#completed })
  }

  #every(ms: number, fn: () => unknown): void {
    const timer = setInterval(() => void fn(), ms)
    timer.unref()
    this.#timers.push(timer)
  }

  #wake(): void {
    this.#pending = true
    this.#wakeUp?.()
  }

  async #sleep(ms: number): Promise<void> {
    if (this.#pending || this.#stopping) {
      this.#pending = false
      return
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.#wakeUp = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    this.#wakeUp = undefined
    this.#pending = false
  }

  async #claimLoop(): Promise<void> {
    let failures = 0
    while (!this.#stopping) {
      this.#pending = false
      void this.#writeHealth(false)
      const free = this.#concurrency - this.#inFlight.size
      let claimedAll = false
      if (free > 0) {
        try {
          const inFlightByPipeline: Record<string, number> = {}
          for (const f of this.#inFlight.values()) {
            inFlightByPipeline[f.claim.run.pipeline] = (inFlightByPipeline[f.claim.run.pipeline] ?? 0) + 1
          }
          const claims = await this.#runs.claim({
            workerId: this.workerId,
            limit: free,
            leaseMs: this.#leaseMs,
            excludeRunIds: [...this.#inFlight.keys()],
            maxPerPipeline: this.#perPipeline,
            inFlightByPipeline,
          })
          if (failures > 0) this.#logger.log('info', 'database reachable again', { workerId: this.workerId })
          failures = 0
          this.#lastError = undefined
          for (const claim of claims) this.#start(claim)
          claimedAll = claims.length > 0 && claims.length === free
          if (claims.length > 0 && !claimedAll) this.#pending = true
        } catch (error) {
          failures++
          this.#lastError = errorMessage(error)
          this.#logger.log('warn', 'claim failed; retrying', {
            workerId: this.workerId,
            error: this.#lastError,
            failures,
          })
          await this.#sleep(retryDelay(failures))
          continue
        }
      }
      if (claimedAll) continue
      await this.#sleep(this.#pollMs)
    }
  }

  #start(claim: Claim): void {
    const ref = { runId: claim.run.id, attempt: claim.attempt.attempt, workerId: this.workerId }
    const flight: InFlight = {
      claim,
      ref,
      controller: new AbortController(),
      cause: undefined,
      settled: false,
      usageWrites: [],
    }
    this.#inFlight.set(claim.run.id, flight)
    this.#logger.log('info', claim.takeover ? 'run taken over' : 'run claimed', {
      workerId: this.workerId,
      runId: claim.run.id,
      pipeline: claim.run.pipeline,
      attempt: claim.attempt.attempt,
      ...(claim.takeover ? { previousOwner: claim.previousOwner, submissionId: claim.attempt.submissionId } : {}),
    })
    void this.#queue
      .add(() => this.#execute(flight))
      .catch((error: unknown) =>
        this.#logger.log('error', 'run task failed', {
          workerId: this.workerId,
          runId: claim.run.id,
          error: errorMessage(error),
        }),
      )
      .finally(() => {
        flight.settled = true
        this.#inFlight.delete(claim.run.id)
        this.#wake()
      })
  }

  #abort(flight: InFlight, cause: AbortCause): void {
    if (flight.cause) return
    flight.cause = cause
    flight.controller.abort(new StudioError('JOB_CANCELLED', `execution aborted: ${cause}`, { cause }))
  }

  #cancelLocal(runId: string): void {
    const flight = this.#inFlight.get(runId)
    if (flight) this.#abort(flight, 'cancel')
  }

  #context(flight: InFlight): ExecutionContext {
    const { claim, ref } = flight
    return {
      run: claim.run,
      attempt: claim.attempt,
      workerId: this.workerId,
      signal: flight.controller.signal,
      abortCause: () => flight.cause,
      recordSubmission: (submissionId, appId) =>
        this.#retryDb('record submission', () => this.#runs.recordSubmission(ref, submissionId, appId), 8),
      event: (type, payload = {}) => this.#pushEvent({ runId: ref.runId, attempt: ref.attempt, type, payload }),
      log: (line) => this.#pushEvent({ runId: ref.runId, attempt: ref.attempt, type: 'log', payload: { line } }),
      usage: (usage) => {
        flight.usageWrites.push(
          this.#retryDb('record usage', () => this.#runs.recordUsage(ref, usage), 5).catch((error: unknown) =>
            this.#logger.log('warn', 'usage not recorded', { ...ref, error: errorMessage(error) }),
          ),
        )
      },
    }
  }

  async #execute(flight: InFlight): Promise<void> {
    const { claim, ref } = flight
    const ctx = this.#context(flight)
    let outcome: ExecutionOutcome
    try {
      outcome = await this.#outcomeOf(flight, ctx)
    } catch (error) {
      outcome =
        flight.cause === 'cancel'
          ? { status: 'cancelled' }
          : flight.cause
            ? { status: 'detached' }
            : { status: 'failed', error: toRunError(error) }
    }
    await Promise.all([this.#flushEvents(), ...flight.usageWrites])
    if (flight.cause === 'lease-lost') {
      this.#logger.log('warn', 'lease lost; another worker owns the run now', { ...ref })
      return
    }
    if (outcome.status === 'detached') {
      await this.#retryDb('release', () => this.#runs.release([ref]))
      this.#logger.log('info', 'run handed back', { ...ref })
      return
    }
    const result = await this.#finish({ ref, outcome: toAttemptOutcome(outcome) })
    this.#completed++
    if (!result.recorded) {
      this.#logger.log('warn', 'lease lost before the outcome was recorded', { ...ref })
      return
    }
    this.#logger.log(outcome.status === 'succeeded' ? 'info' : 'warn', 'run attempt finished', {
      workerId: this.workerId,
      runId: ref.runId,
      pipeline: claim.run.pipeline,
      attempt: ref.attempt,
      outcome: outcome.status,
      runStatus: result.status,
      ...('error' in outcome ? { error: outcome.error.message } : {}),
      ...(result.retryAt ? { retryAt: result.retryAt.toISOString() } : {}),
    })
  }

  async #outcomeOf(flight: InFlight, ctx: ExecutionContext): Promise<ExecutionOutcome> {
    const { claim } = flight
    if (claim.run.cancelRequestedAt) this.#abort(flight, 'cancel')
    if (!claim.takeover) {
      if (flight.cause === 'cancel') return { status: 'cancelled' }
      const over = await this.#overBudget(claim)
      if (over) {
        ctx.event('budget', { ...over })
        return {
          status: 'failed',
          error: {
            code: 'BUDGET_EXCEEDED',
            message: `pipeline ${claim.run.pipeline} used ${round(over.usedCoreSeconds)} of its ${over.budgetCoreSeconds} core-seconds on ${over.day} (UTC); its runs start again the next day`,
          },
          retryable: false,
        }
      }
      return this.#executor.execute(ctx)
    }
    const submissionId = claim.attempt.submissionId
    if (!submissionId) {
      if (flight.cause === 'cancel') return { status: 'cancelled' }
      return {
        status: 'lost',
        error: {
          code: 'LOST',
          message: `worker ${claim.previousOwner ?? '?'} stopped before it recorded a submission; the attempt is presumed not started`,
        },
      }
    }
    if (!this.#executor.reattach) {
      return {
        status: 'lost',
        error: { code: 'LOST', message: `the executor cannot re-attach to submission ${submissionId}` },
      }
    }
    ctx.event('reattached', { submissionId, previousOwner: claim.previousOwner })
    return this.#executor.reattach(ctx, submissionId)
  }

  /**
   * Queues an outcome; outcomes that arrive while a write is in flight go out together in the next one, so a busy
   * worker commits once per group of runs instead of once per run.
   */
  #finish(item: FinishItem): Promise<FinishResult> {
    return new Promise((resolve, reject) => {
      this.#finishQueue.push({ item, resolve, reject })
      if (!this.#finishing) void this.#drainFinishes()
    })
  }

  async #drainFinishes(): Promise<void> {
    this.#finishing = true
    try {
      // Let the outcomes of this turn of the event loop join the first write.
      await new Promise((resolve) => setImmediate(resolve))
      while (this.#finishQueue.length > 0) {
        const batch = this.#finishQueue.splice(0, 200)
        try {
          const results = await this.#retryDb('finish attempts', () =>
            this.#runs.finishAttempts(batch.map((b) => b.item)),
          )
          for (const [i, b] of batch.entries()) {
            const result = results[i]
            if (result) b.resolve(result)
            else b.reject(new StudioError('INTERNAL', 'no result for a finished attempt'))
          }
        } catch (error) {
          for (const b of batch) b.reject(error)
        }
      }
    } finally {
      this.#finishing = false
    }
  }

  async #heartbeat(): Promise<void> {
    const flights = [...this.#inFlight.values()].filter((f) => !f.settled)
    if (flights.length === 0) return
    try {
      const renewed = await this.#runs.heartbeat(
        this.workerId,
        flights.map((f) => f.ref.runId),
        this.#leaseMs,
      )
      for (const f of flights) {
        const lease = renewed.get(f.ref.runId)
        if (!lease || lease.attempt !== f.ref.attempt) {
          if (this.#inFlight.has(f.ref.runId) && !f.settled) this.#abort(f, 'lease-lost')
        } else if (lease.cancelRequested) {
          this.#abort(f, 'cancel')
        }
      }
    } catch (error) {
      this.#logger.log('warn', 'heartbeat failed', { workerId: this.workerId, error: errorMessage(error) })
    }
  }

  #pushEvent(event: NewRunEvent): void {
    if (this.#events.length >= MAX_BUFFERED_EVENTS) this.#events.shift()
    this.#events.push(event)
  }

  #flushEvents(): Promise<void> {
    if (this.#flushing) return this.#flushing.then(() => this.#flushEvents())
    if (this.#events.length === 0) return Promise.resolve()
    const batch = this.#events
    this.#events = []
    this.#flushing = this.#runs
      .appendEvents(batch)
      .catch((error: unknown) => {
        // Keep them for the next flush (the database may be restarting), oldest first.
        this.#events = [...batch, ...this.#events].slice(-MAX_BUFFERED_EVENTS)
        this.#logger.log('warn', 'writing run events failed; will retry', {
          workerId: this.workerId,
          error: errorMessage(error),
        })
      })
      .finally(() => {
        this.#flushing = undefined
      })
    return this.#flushing
  }

  /** Retries a database write through connection errors (a restart), with backoff, `tries` times or forever. */
  /** The pipeline's budget and the day's use when the day's budget is used up; nothing when it may run. */
  async #overBudget(
    claim: Claim,
  ): Promise<{ day: string; budgetCoreSeconds: number; usedCoreSeconds: number } | undefined> {
    const pipeline = claim.run.pipeline
    const budget = this.#budgets?.pipelines?.[pipeline] ?? this.#budgets?.default
    if (budget === undefined) return undefined
    const dayStart = utcDayStart(this.#runs.now())
    const used = await this.#retryDb('read usage', () => this.#runs.coreSecondsSince(pipeline, dayStart), 8)
    if (used < budget) return undefined
    return { day: dayStart.toISOString().slice(0, 10), budgetCoreSeconds: budget, usedCoreSeconds: used }
  }

  async #retryDb<T>(what: string, fn: () => Promise<T>, tries = Number.POSITIVE_INFINITY): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn()
      } catch (error) {
        const limit = isTransientDbError(error) ? tries : Math.min(tries, 3)
        if (isStudioError(error) || attempt >= limit || this.#state === 'stopped') throw error
        this.#lastError = errorMessage(error)
        this.#logger.log('warn', `${what} failed; retrying`, {
          workerId: this.workerId,
          error: this.#lastError,
          attempt,
        })
        await new Promise((r) => setTimeout(r, retryDelay(attempt)))
      }
    }
  }

  async #writeHealth(force: boolean): Promise<void> {
    if (!this.#healthFile || this.#healthWriting) return
    const now = Date.now()
    if (!force && now - this.#lastHealthWrite < this.#healthIntervalMs) return
    this.#healthWriting = true
    this.#lastHealthWrite = now
    try {
      const tmp = `${this.#healthFile}.${process.pid}.tmp`
      await writeFile(tmp, `${JSON.stringify(this.health())}\n`)
      await rename(tmp, this.#healthFile)
    } catch (error) {
      this.#logger.log('warn', 'cannot write the health file', { workerId: this.workerId, error: errorMessage(error) })
    } finally {
      this.#healthWriting = false
    }
  }
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new StudioError('VALIDATION_FAILED', `${name} must be a positive integer, not ${value}`)
  }
  return value
}

async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  const done = await Promise.race([promise.then(() => true as const), timeout])
  clearTimeout(timer)
  return done
}

function toRunError(error: unknown): RunError {
  if (isStudioError(error)) return { message: error.message, code: error.code }
  return { message: errorMessage(error) }
}

function toAttemptOutcome(outcome: Exclude<ExecutionOutcome, { status: 'detached' }>): AttemptOutcome {
  switch (outcome.status) {
    case 'succeeded':
      return outcome.appId ? { status: 'succeeded', appId: outcome.appId } : { status: 'succeeded' }
    case 'cancelled':
      return outcome.appId ? { status: 'cancelled', appId: outcome.appId } : { status: 'cancelled' }
    case 'failed':
      return {
        status: 'failed',
        error: outcome.error,
        ...(outcome.retryable === undefined ? {} : { retryable: outcome.retryable }),
        ...(outcome.appId ? { appId: outcome.appId } : {}),
      }
    case 'lost':
      return { status: 'lost', error: outcome.error }
  }
}

const round = (n: number) => Math.round(n * 10) / 10

/** The budgets as given, after checking each is a number of core-seconds (zero stops every run). */
function checkBudgets(budgets: UsageBudgets | undefined): UsageBudgets | undefined {
  if (!budgets) return undefined
  const entries = [
    ...(budgets.default !== undefined ? [['default', budgets.default] as const] : []),
    ...Object.entries(budgets.pipelines ?? {}),
  ]
  for (const [name, value] of entries) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new StudioError('VALIDATION_FAILED', `budget ${name} must be a number of core-seconds >= 0, not ${value}`)
    }
  }
  return budgets
}
