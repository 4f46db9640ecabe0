import type { Run, RunAttempt, RunError } from './run.ts'
import type { RunUsage } from './usage.ts'

/**
 * Why a worker aborted an execution: the run's cancel was requested (cancel the job), the worker is shutting down,
 * or it lost the lease to another worker (in both of these, stop waiting but leave the job running: the next worker
 * re-attaches to it).
 */
export type AbortCause = 'cancel' | 'shutdown' | 'lease-lost'

/** What an executor gets for one attempt of a run. */
export interface ExecutionContext {
  readonly run: Run
  readonly attempt: RunAttempt
  readonly workerId: string
  /** Aborted when the execution must stop; {@link ExecutionContext.abortCause} says why. */
  readonly signal: AbortSignal
  /** Why `signal` was aborted, once it was. */
  abortCause(): AbortCause | undefined
  /**
   * Records the job's durable submission id (and Spark application id). Await it before waiting on the job: a
   * worker that takes the run over re-attaches by this id instead of submitting again. Call it again with the
   * application id once it is known.
   *
   * @throws `CONFLICT` when the lease was lost (cancel the job you just submitted).
   */
  recordSubmission(submissionId: string, appId?: string): Promise<void>
  /** Records a run event (buffered, written in batches). */
  event(type: string, payload?: Readonly<Record<string, unknown>>): void
  /** Records a log line as a `log` event (buffered). */
  log(line: string): void
  /**
   * Records what the attempt used on the cluster (written in the background; a later call replaces it). Budgets
   * count it against the pipeline's day.
   */
  usage(usage: RunUsage): void
}

/**
 * How an execution ended. `lost`: the job vanished without a result (retried while attempts remain).
 * `detached`: the executor stopped waiting on a job that goes on (after a `shutdown` or `lease-lost` abort); the
 * worker hands the run back for re-attachment.
 */
export type ExecutionOutcome =
  | { readonly status: 'succeeded'; readonly appId?: string | undefined }
  | {
      readonly status: 'failed'
      readonly error: RunError
      /**
       * False for a failure that another attempt cannot fix.
       * @default true
       */
      readonly retryable?: boolean | undefined
      readonly appId?: string | undefined
    }
  | { readonly status: 'cancelled'; readonly appId?: string | undefined }
  | { readonly status: 'lost'; readonly error: RunError }
  | { readonly status: 'detached' }

/**
 * Runs the attempts a worker claims. `execute` starts a fresh attempt; `reattach` resumes an attempt that another
 * worker submitted (its lease expired or it was released) from its recorded submission id, without submitting
 * again. Without `reattach`, a taken-over attempt counts as lost and is retried.
 */
export interface RunExecutor {
  /** Runs a fresh attempt: submit, `await ctx.recordSubmission(id)`, then wait for the job's outcome. */
  execute(ctx: ExecutionContext): Promise<ExecutionOutcome>
  /** Resumes an attempt from its recorded submission id, without submitting again. */
  reattach?(ctx: ExecutionContext, submissionId: string): Promise<ExecutionOutcome>
}
