import type { ExecutionPlan } from '@sparkle-studio/core'
import type { RunnerEvent } from './events.ts'

/** The normalized state of a submitted Spark job. `lost` means the job is gone without a final result. */
export type JobState = 'submitting' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'lost'

/** What to run, and how. */
export interface SubmitRequest {
  /** Caller's id for the job (a run attempt id); used in folder and application names. */
  readonly jobId: string
  /** The plan to execute. */
  readonly plan: ExecutionPlan
  /** Extra Spark configuration (`--conf`). Secret values must already be resolved; they are never logged. */
  readonly conf?: Readonly<Record<string, string>> | undefined
  /** Wall-clock limit; the job is cancelled and ends as `failed` with `JOB_TIMEOUT` when it is exceeded. */
  readonly timeoutMs?: number | undefined
  /** Aborts the submission itself (not the job once submitted: use {@link Submitter.cancel}). */
  readonly signal?: AbortSignal | undefined
}

/**
 * A durable handle on a submitted job. `id` is everything a later process needs to find the job again
 * (re-attach after a worker restart): store it before waiting on the job.
 */
export interface Submission {
  /** Opaque, serializable id, unique per submission. */
  readonly id: string
  /** The backend that ran it (`local`, `standalone`, ...). */
  readonly backend: string
}

/** Task progress of the running application, from Spark's monitoring REST API. */
export interface JobProgress {
  /** Tasks completed across the application's jobs. */
  readonly completedTasks: number
  /** Tasks known so far across the application's jobs. */
  readonly totalTasks: number
  /** Ids of the stages running now. */
  readonly activeStages: readonly number[]
}

/** The failure of a job: the node whose step failed (when one did), Spark's error class and message. */
export interface JobError {
  readonly nodeId?: string
  readonly errorClass?: string
  readonly message: string
}

/** Everything known about a job at one moment. */
export interface JobStatus {
  readonly state: JobState
  /** Spark application id, once the driver started. */
  readonly appId?: string
  /** The real Spark UI URL (read from the runner's `started` event, so a moved port is right). */
  readonly uiUrl?: string
  readonly progress?: JobProgress
  readonly error?: JobError
  /** Epoch milliseconds. */
  readonly startedAt?: number
  /** Epoch milliseconds, for a final state. */
  readonly finishedAt?: number
  /** Where the job's log file is. */
  readonly logFile?: string
}

/** A chunk of a job's log. */
export interface LogChunk {
  readonly text: string
  /** Byte offset to pass as `offset` to read on. */
  readonly nextOffset: number
  /** True when the job is final and the log has been read to its end. */
  readonly complete: boolean
}

/** Options of {@link Submitter.wait}. */
export interface WaitOptions {
  /** Stops waiting (the job goes on). */
  readonly signal?: AbortSignal | undefined
  /** Called for each runner event as it is written, in order. */
  readonly onEvent?: ((event: RunnerEvent) => void) | undefined
  /** Called with fresh status, progress included, while the job runs. */
  readonly onStatus?: ((status: JobStatus) => void) | undefined
}

/**
 * A Spark backend. Implementations: `LocalSubmitter` (spark-submit, `local[N]`), `StandaloneSubmitter`
 * (`spark://host:7077`, client mode); later Spark Connect, Livy, Kubernetes.
 */
export interface Submitter {
  /** Backend name, as in {@link Submission.backend}. */
  readonly backend: string
  /** Starts the job and returns as soon as it is launched (not when it ends). */
  submit(request: SubmitRequest): Promise<Submission>
  /** The job's state now; works from any process on the same machine, also after the submitting one died. */
  status(id: string, options?: { readonly signal?: AbortSignal | undefined }): Promise<JobStatus>
  /** Waits until the job is final, reporting events and progress along the way. */
  wait(id: string, options?: WaitOptions): Promise<JobStatus>
  /** Cancels the job: SIGTERM, then SIGKILL after a grace period. Final state `cancelled`. Idempotent. */
  cancel(id: string): Promise<void>
  /** Reads the job's log from a byte offset. */
  logs(id: string, options?: { readonly offset?: number; readonly limit?: number }): Promise<LogChunk>
}
