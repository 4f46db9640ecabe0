import { type ExecutionPlan, hasErrorCode, isStudioError } from '@sparkle-studio/core'
import { isPolicyErrorClass, type RunnerEvent } from './events.ts'
import type { JobStatus, Submitter } from './submitter.ts'

// The executor contract of `@sparkle-studio/runs` (its `RunExecutor`), declared here as the smallest shape this
// adapter uses, so that this package does not depend on the run store. A type test in the runs package checks that
// SparkRunExecutor satisfies RunExecutor.

/** The part of a run the executor reads. */
export interface ExecutedRun {
  readonly id: string
  readonly pipeline: string
  readonly revision: string | null
  readonly params: Readonly<Record<string, unknown>>
}

/** Why a worker aborted an execution (see `@sparkle-studio/runs`' `AbortCause`). */
export type ExecutionAbortCause = 'cancel' | 'shutdown' | 'lease-lost'

/** What the executor gets for one attempt of a run (the worker's `ExecutionContext`). */
export interface RunExecutionContext<R extends ExecutedRun = ExecutedRun> {
  readonly run: R
  readonly attempt: { readonly id: string }
  /** Aborted when the execution must stop; `abortCause()` says why. */
  readonly signal: AbortSignal
  /** Why `signal` was aborted, once it was. */
  abortCause(): ExecutionAbortCause | undefined
  /** Records the job's submission id (and Spark application id) durably; awaited before waiting on the job. */
  recordSubmission(submissionId: string, appId?: string): Promise<void>
  /** Records a run event. */
  event(type: string, payload?: Readonly<Record<string, unknown>>): void
  /** Records a log line. */
  log(line: string): void
  /** Records what the attempt used on the cluster (the worker's `usage`; optional for other hosts). */
  usage?(usage: ExecutionUsage): void
}

/**
 * What an attempt used on the cluster, from the runner's `usage` event (see `@sparkle-studio/runs`' `RunUsage`):
 * executor core-seconds held, task seconds, CPU seconds, peak executor memory and I/O bytes.
 */
export interface ExecutionUsage {
  readonly coreSeconds: number
  readonly taskSeconds: number
  readonly cpuSeconds?: number | undefined
  readonly peakMemoryBytes?: number | undefined
  readonly inputBytes?: number | undefined
  readonly outputBytes?: number | undefined
  readonly shuffleReadBytes?: number | undefined
  readonly shuffleWriteBytes?: number | undefined
  readonly executors?: number | undefined
  readonly cores?: number | undefined
}

/** Why a run failed, as the executor reports it. */
export interface RunFailure {
  readonly message: string
  readonly code?: string
  readonly nodeId?: string
  readonly errorClass?: string
}

/** How an execution ended (the worker's `ExecutionOutcome`). */
export type RunExecutionOutcome =
  | { readonly status: 'succeeded'; readonly appId?: string | undefined }
  | {
      readonly status: 'failed'
      readonly error: RunFailure
      readonly retryable?: boolean | undefined
      readonly appId?: string | undefined
    }
  | { readonly status: 'cancelled'; readonly appId?: string | undefined }
  | { readonly status: 'lost'; readonly error: RunFailure }
  | { readonly status: 'detached' }

type ExecutionOutcome = RunExecutionOutcome

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Options of {@link SparkRunExecutor}. */
export interface SparkRunExecutorOptions<R extends ExecutedRun = ExecutedRun> {
  /**
   * The Spark backend runs are submitted to, or a function that gives it on first use (so that a worker starts, and
   * fails each run with the reason, on a machine where Spark is missing).
   */
  readonly submitter: Submitter | (() => Promise<Submitter>)
  /**
   * Compiles the run's pipeline at `run.revision` with `run.params` into a plan (the host reads the document from
   * git and calls core's compiler). A `VALIDATION_FAILED` or `NOT_FOUND` error fails the run without retries.
   */
  readonly resolvePlan: (run: R, options: { readonly signal: AbortSignal }) => Promise<ExecutionPlan>
  /** Extra Spark configuration for every run (secret values already resolved; never logged). */
  readonly conf?: ((run: R) => Readonly<Record<string, string>>) | Readonly<Record<string, string>> | undefined
  /** Wall-clock limit of each job. */
  readonly timeoutMs?: number | undefined
  /**
   * Least time between two `progress` events of a run while it runs (one is written only when the counts changed;
   * the final counts are always written when the job ends).
   * @default 1_000
   */
  readonly progressIntervalMs?: number | undefined
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'lost'])

/**
 * Executes runs on Spark through a {@link Submitter}: resolves the plan, submits it, records the submission id
 * before waiting, streams the runner's events (without result rows) and progress into the run's events, carries out
 * cancels, and re-attaches to a job another worker submitted instead of submitting it again.
 *
 * @example
 * ```ts
 * import { SparkRunExecutor } from '@sparkle-studio/spark'
 * import type { Submitter } from '@sparkle-studio/spark'
 * import type { ExecutionPlan } from '@sparkle-studio/core'
 *
 * declare const submitter: Submitter
 * declare function compile(pipeline: string, revision: string | null, params: object): Promise<ExecutionPlan>
 * const executor = new SparkRunExecutor({
 *   submitter,
 *   resolvePlan: (run) => compile(run.pipeline, run.revision, run.params),
 * })
 * ```
 */
export class SparkRunExecutor<R extends ExecutedRun = ExecutedRun> {
  readonly #options: SparkRunExecutorOptions<R>

  constructor(options: SparkRunExecutorOptions<R>) {
    this.#options = options
  }

  #submitter(): Promise<Submitter> {
    const { submitter } = this.#options
    return typeof submitter === 'function' ? submitter() : Promise.resolve(submitter)
  }

  /** Resolves the plan, submits it, records the submission and follows the job to its end. */
  async execute(ctx: RunExecutionContext<R>): Promise<ExecutionOutcome> {
    let submitter: Submitter
    let plan: ExecutionPlan
    try {
      submitter = await this.#submitter()
    } catch (error) {
      return {
        status: 'failed',
        error: {
          message: `Spark is not available: ${errorMessage(error)}`,
          ...(isStudioError(error) ? { code: error.code } : {}),
        },
      }
    }
    try {
      plan = await this.#options.resolvePlan(ctx.run, { signal: ctx.signal })
    } catch (error) {
      if (ctx.signal.aborted) return notStarted(ctx)
      const permanent = hasErrorCode(error, 'VALIDATION_FAILED') || hasErrorCode(error, 'NOT_FOUND')
      return {
        status: 'failed',
        error: {
          message: `could not resolve the plan: ${errorMessage(error)}`,
          ...(isStudioError(error) ? { code: error.code } : {}),
        },
        retryable: !permanent,
      }
    }
    if (ctx.signal.aborted) return notStarted(ctx)
    const conf = typeof this.#options.conf === 'function' ? this.#options.conf(ctx.run) : this.#options.conf
    let submission: Awaited<ReturnType<Submitter['submit']>>
    try {
      submission = await submitter.submit({
        jobId: ctx.attempt.id,
        plan,
        conf,
        timeoutMs: this.#options.timeoutMs,
        signal: ctx.signal,
      })
    } catch (error) {
      // A plan the submitter refuses (Spark configuration the policy does not allow) fails the same way every time.
      if (!hasErrorCode(error, 'VALIDATION_FAILED')) throw error
      return {
        status: 'failed',
        error: { code: 'VALIDATION_FAILED', message: `the plan was refused: ${errorMessage(error)}` },
        retryable: false,
      }
    }
    try {
      await ctx.recordSubmission(submission.id)
    } catch (error) {
      // Nobody could re-attach to a job whose id was not recorded: stop it rather than leave a duplicate running.
      await submitter.cancel(submission.id).catch(() => {})
      throw error
    }
    return this.#follow(ctx, submission.id)
  }

  /** Resumes a job another worker submitted: records its result if it ended, or waits on it if it still runs. */
  async reattach(ctx: RunExecutionContext<R>, submissionId: string): Promise<ExecutionOutcome> {
    const submitter = await this.#submitter()
    let status: JobStatus
    try {
      // No signal: a quick read, and a cancel requested meanwhile is carried out below, on the job itself.
      status = await submitter.status(submissionId)
    } catch (error) {
      if (!hasErrorCode(error, 'NOT_FOUND')) throw error
      ctx.log(`submission ${submissionId} is unknown to the ${submitter.backend} backend`)
      return {
        status: 'lost',
        error: { code: 'LOST', message: `submission ${submissionId} is unknown: ${errorMessage(error)}` },
      }
    }
    ctx.log(`re-attached to submission ${submissionId} (${status.state})`)
    if (FINAL.has(status.state)) return finished(ctx, status, submissionId)
    return this.#follow(ctx, submissionId)
  }

  async #follow(ctx: RunExecutionContext<R>, submissionId: string): Promise<ExecutionOutcome> {
    const submitter = await this.#submitter()
    const onAbort = () => {
      if (ctx.abortCause() === 'cancel') void submitter.cancel(submissionId).catch(() => {})
    }
    ctx.signal.addEventListener('abort', onAbort, { once: true })
    if (ctx.signal.aborted) onAbort()
    let appId: string | undefined
    let lastProgress = 0
    let lastCounts = ''
    const progressEvery = this.#options.progressIntervalMs ?? 1_000
    let status: JobStatus | undefined
    try {
      status = await submitter.wait(submissionId, {
        signal: ctx.signal,
        onEvent: (event) => {
          if (event.type === 'started' && appId === undefined) {
            appId = event.appId
            ctx.recordSubmission(submissionId, event.appId).catch(() => {})
          }
          ctx.event('spark', eventPayload(event))
          const usage = usageOf(event)
          if (usage) ctx.usage?.(usage)
        },
        onStatus: (s) => {
          const now = Date.now()
          if (!s.progress || now - lastProgress < progressEvery) return
          const counts = `${s.progress.completedTasks}/${s.progress.totalTasks}`
          if (counts === lastCounts) return
          lastProgress = now
          lastCounts = counts
          ctx.event('progress', { ...s.progress })
        },
      })
    } catch (error) {
      if (!ctx.signal.aborted) throw error
    } finally {
      ctx.signal.removeEventListener('abort', onAbort)
    }
    if (status && FINAL.has(status.state)) return finished(ctx, status, submissionId)
    if (ctx.abortCause() === 'cancel') {
      await submitter.cancel(submissionId)
      return outcomeOf(await submitter.wait(submissionId), submissionId)
    }
    if (!ctx.signal.aborted) {
      const now = await submitter.status(submissionId)
      if (FINAL.has(now.state)) return outcomeOf(now, submissionId)
      ctx.log(`stopped waiting on submission ${submissionId} (${now.state}); handing the run back for re-attachment`)
    }
    return { status: 'detached' }
  }
}

function notStarted(ctx: RunExecutionContext): ExecutionOutcome {
  return ctx.abortCause() === 'cancel' ? { status: 'cancelled' } : { status: 'detached' }
}

/** The outcome of a job that ended, after recording its final task counts (the run's last `progress` event). */
function finished(ctx: RunExecutionContext, status: JobStatus, submissionId: string): ExecutionOutcome {
  if (status.progress) ctx.event('progress', { ...status.progress })
  return outcomeOf(status, submissionId)
}

function outcomeOf(status: JobStatus, submissionId: string): ExecutionOutcome {
  const appId = status.appId ? { appId: status.appId } : {}
  switch (status.state) {
    case 'succeeded':
      return { status: 'succeeded', ...appId }
    case 'cancelled':
      return { status: 'cancelled', ...appId }
    case 'failed':
      return {
        status: 'failed',
        error: {
          message: status.error?.message ?? 'the Spark job failed',
          code: 'SPARK_JOB_FAILED',
          ...(status.error?.nodeId ? { nodeId: status.error.nodeId } : {}),
          ...(status.error?.errorClass ? { errorClass: status.error.errorClass } : {}),
        },
        // A step the driver refused breaks a rule: running it again gives the same answer.
        ...(isPolicyErrorClass(status.error?.errorClass) ? { retryable: false } : {}),
        ...appId,
      }
    default:
      return {
        status: 'lost',
        error: { code: 'LOST', message: `submission ${submissionId} is gone without a result (${status.state})` },
      }
  }
}

/** A runner event as stored in the run's events: result rows are left out (size, and they may be sensitive). */
function eventPayload(event: RunnerEvent): Record<string, unknown> {
  if (event.type === 'rows') {
    return { type: 'rows', ts: event.ts, nodeId: event.nodeId, rowCount: event.rows.length, truncated: event.truncated }
  }
  return { ...event }
}

/** What a runner's `usage` event says the attempt used, in the run store's terms (nothing for other events). */
function usageOf(event: RunnerEvent): ExecutionUsage | undefined {
  const e = event as unknown as Record<string, unknown>
  if (e['type'] !== 'usage') return undefined
  const num = (key: string) => (typeof e[key] === 'number' && Number.isFinite(e[key]) ? e[key] : undefined)
  const coreSeconds = num('coreSeconds')
  const taskSeconds = num('taskSeconds')
  if (coreSeconds === undefined || taskSeconds === undefined) return undefined
  return {
    coreSeconds,
    taskSeconds,
    cpuSeconds: num('cpuSeconds'),
    peakMemoryBytes: num('peakMemoryBytes'),
    inputBytes: num('inputBytes'),
    outputBytes: num('outputBytes'),
    shuffleReadBytes: num('shuffleReadBytes'),
    shuffleWriteBytes: num('shuffleWriteBytes'),
    executors: num('executors'),
    cores: num('cores'),
  }
}
