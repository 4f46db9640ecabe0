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

/**
 * Task progress of an application: from Spark's monitoring REST API while it runs, the runner's final counts once it
 * ended.
 */
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
  /** The node whose step failed, or that was running when the job was stopped or its driver died. */
  readonly nodeId?: string
  /**
   * Spark's error condition (e.g. `UNRESOLVED_COLUMN.WITH_SUGGESTION`, `PATH_NOT_FOUND`), or one of this package's:
   * `JOB_TIMEOUT`, `DRIVER_KILLED`, `DRIVER_EXITED`, `SPARK_SUBMIT_FAILED`, `QUALITY_CHECK_FAILED`, `JOB_LOST`, or a
   * `POLICY_*` class for a step the driver refused (see `POLICY_ERROR_CLASSES`).
   */
  readonly errorClass?: string
  /** Spark's message (without the JVM stack), or what happened to the driver. */
  readonly message: string
  /** For a step the driver refused (`POLICY_*` error classes): the rule it broke, e.g. `reflection`. */
  readonly rule?: string
  /** For a step the driver refused: how to change the pipeline so that it runs. */
  readonly fix?: string
}

/** How the job's spark-submit process ended, as its supervisor recorded it. */
export interface JobExit {
  /** Exit code, or `null` when it was killed by a signal. */
  readonly code: number | null
  /** The signal that killed it (e.g. `SIGKILL`), or `null`. */
  readonly signal: string | null
}

/** Everything known about a job at one moment. */
export interface JobStatus {
  /** The normalized state. */
  readonly state: JobState
  /** Spark application id, once the driver started. */
  readonly appId?: string
  /** The real Spark UI URL (read from the runner's `started` event, so a moved port is right). */
  readonly uiUrl?: string
  /**
   * Task progress: while the job runs (from its driver's REST API, when it answers), and for a job that ended, its
   * final counts (reported by the runner before the application stopped).
   */
  readonly progress?: JobProgress
  /** Why the job failed (also set for `lost`). */
  readonly error?: JobError
  /** Epoch milliseconds: when the Spark application started. */
  readonly startedAt?: number
  /** Epoch milliseconds, for a final state. */
  readonly finishedAt?: number
  /** Where the job's log file is. */
  readonly logFile?: string
  /** Pid of the driver JVM, once the application started. */
  readonly driverPid?: number
  /** How spark-submit ended, once it has. */
  readonly exit?: JobExit
  /** For a succeeded job: the Spark application's own duration (SparkContext start to stop) in milliseconds. */
  readonly appDurationMs?: number
}

/** A chunk of a job's log. */
export interface LogChunk {
  /** The log text read (whole UTF-8 characters). */
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
 * A Spark backend. Implementations: {@link LocalSubmitter} (spark-submit, `local[N]`), {@link StandaloneSubmitter}
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
