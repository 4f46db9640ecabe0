import type { RunError, RunStatus } from '@sparkle-studio/core/routes'
import type { Selectable } from 'kysely'
import type { RunAttemptsTable, RunEventsTable, RunsTable } from './schema.ts'

// The run statuses and the run error are the API's: one definition, in core's zod-free routes module.
export type { FinalRunStatus, RunError, RunStatus } from '@sparkle-studio/core/routes'
export { isFinalRunStatus, RUN_STATUSES } from '@sparkle-studio/core/routes'

/** The statuses a run never leaves. */
export const FINAL_RUN_STATUSES: readonly RunStatus[] = Object.freeze(['succeeded', 'failed', 'cancelled'])

/**
 * How one attempt ended. `lost` means the job vanished without a result (its worker died before recording a
 * submission, or the backend no longer knows it); `released` means a stopping worker handed it back before it was
 * submitted, so it does not count against `maxAttempts`.
 */
export type AttemptStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'lost' | 'released'

/** A run of a pipeline, as stored. */
export interface Run {
  readonly id: string
  readonly pipeline: string
  /** The git revision to run; `null` means whatever the host resolves as current when the run is claimed. */
  readonly revision: string | null
  /** Run parameters (for a backfill partition: the partition key and its start and end). */
  readonly params: Readonly<Record<string, unknown>>
  readonly status: RunStatus
  /** The key that makes enqueueing idempotent; it moves to the newest run when a run is retried. */
  readonly idempotencyKey: string | null
  /** Higher runs first. */
  readonly priority: number
  /** The current (or last) attempt's number; 0 before the first claim. */
  readonly attempt: number
  /** Attempts allowed before the run fails for good (`released` attempts do not count). */
  readonly maxAttempts: number
  /** The Spark application id of the current attempt, once known. */
  readonly appId: string | null
  /** Why the run failed (or why its last attempt failed, while `retrying`). */
  readonly error: RunError | null
  /** The backfill that created the run. */
  readonly backfillId: string | null
  /** The partition key, for a backfill run. */
  readonly partitionKey: string | null
  /** The schedule slot, for a scheduled run. */
  readonly scheduleSlot: Date | null
  /** The run this one retries. */
  readonly retryOf: string | null
  /** When a queued or retrying run becomes claimable. */
  readonly availableAt: Date
  /** The worker holding the run, while it is `submitting` or `running`. */
  readonly leaseOwner: string | null
  readonly leaseExpiresAt: Date | null
  /** Set when a cancel was requested for a run in progress; the worker carries it out. */
  readonly cancelRequestedAt: Date | null
  readonly createdAt: Date
  readonly updatedAt: Date
  /** When the first attempt was claimed. */
  readonly startedAt: Date | null
  readonly finishedAt: Date | null
  /** Who queued the run (the host's principal id), when the host said. */
  readonly requestedBy: string | null
  /** Who cancelled the run, when the host said. */
  readonly cancelledBy: string | null
}

/** One execution attempt of a run. */
export interface RunAttempt {
  /** `<runId>.<attempt>`; also the job id given to the submitter. */
  readonly id: string
  readonly runId: string
  /** 1 for the first attempt. */
  readonly attempt: number
  readonly status: AttemptStatus
  /** The worker that started the attempt. */
  readonly workerId: string
  /** The submitter's durable id, recorded before the worker waits on the job. */
  readonly submissionId: string | null
  readonly appId: string | null
  readonly startedAt: Date
  readonly finishedAt: Date | null
  readonly error: RunError | null
}

/** One event of a run: a status change, a runner event, progress, or a log line. */
export interface RunEvent {
  /** Increasing id; pass it as `after` to read on. */
  readonly id: string
  readonly runId: string
  /** The attempt the event belongs to, when it belongs to one. */
  readonly attempt: number | null
  /** e.g. `status`, `submitted`, `reattached`, `spark`, `progress`, `log`, `cancel_requested`. */
  readonly type: string
  readonly payload: Readonly<Record<string, unknown>>
  readonly createdAt: Date
}

/** A `Date` from a driver value (PGlite and node-postgres both give `Date`, JSON paths give strings). */
export function toDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value)
}

function toDateOrNull(value: Date | string | null): Date | null {
  return value === null ? null : toDate(value)
}

/** Maps a `runs` row to a {@link Run}. */
export function toRun(row: Selectable<RunsTable>): Run {
  return {
    id: row.id,
    pipeline: row.pipeline,
    revision: row.revision,
    params: row.params,
    status: row.status as RunStatus,
    idempotencyKey: row.idempotency_key,
    priority: row.priority,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    appId: row.app_id,
    error: row.error as RunError | null,
    backfillId: row.backfill_id,
    partitionKey: row.partition_key,
    scheduleSlot: toDateOrNull(row.schedule_slot),
    retryOf: row.retry_of,
    availableAt: toDate(row.available_at),
    leaseOwner: row.lease_owner,
    leaseExpiresAt: toDateOrNull(row.lease_expires_at),
    cancelRequestedAt: toDateOrNull(row.cancel_requested_at),
    requestedBy: row.requested_by ?? null,
    cancelledBy: row.cancelled_by ?? null,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    startedAt: toDateOrNull(row.started_at),
    finishedAt: toDateOrNull(row.finished_at),
  }
}

/** Maps a `run_attempts` row to a {@link RunAttempt}. */
export function toAttempt(row: Selectable<RunAttemptsTable>): RunAttempt {
  return {
    id: row.id,
    runId: row.run_id,
    attempt: row.attempt,
    status: row.status as AttemptStatus,
    workerId: row.worker_id,
    submissionId: row.submission_id,
    appId: row.app_id,
    startedAt: toDate(row.started_at),
    finishedAt: toDateOrNull(row.finished_at),
    error: row.error as RunError | null,
  }
}

/** Maps a `run_events` row to a {@link RunEvent}. */
export function toEvent(row: Selectable<RunEventsTable>): RunEvent {
  return {
    id: String(row.id),
    runId: row.run_id,
    attempt: row.attempt,
    type: row.type,
    payload: row.payload,
    createdAt: toDate(row.created_at),
  }
}

/** The attempt id for a run's attempt number. */
export function attemptId(runId: string, attempt: number): string {
  return `${runId}.${attempt}`
}
