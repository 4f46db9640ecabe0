// @sparkle-studio/runs: the durable run store (RunStore, what hosts call) and queue (RunQueue, what workers speak),
// the worker, backfills and schedules. The Spark executor the worker runs comes from @sparkle-studio/spark.
// Held back on purpose: the query modules behind RunStore and RunQueue (use their methods) and the row mappers.

export type { AttemptOutcome, AttemptRef, FinishItem, FinishResult, NewRunEvent } from './attempts.ts'
export type {
  BackfillGrain,
  BackfillPlan,
  BackfillRequest,
  PartitionParamNames,
  PartitionSlot,
  ReprocessPolicy,
} from './backfill-plan.ts'
export { BACKFILL_GRAINS, BACKFILL_LIMITS, planBackfill } from './backfill-plan.ts'
export type {
  Backfill,
  BackfillCreation,
  BackfillPartition,
  BackfillPartitionQuery,
  BackfillSummary,
  PartitionAction,
} from './backfills.ts'
export { partitionKeyOf } from './backfills.ts'
export type { ResolvedRetryPolicy, RetryPolicy } from './backoff.ts'
export { DEFAULT_RETRY_POLICY, retryDelayMs } from './backoff.ts'
export type { Claim, ClaimRequest, HeartbeatResult } from './claim.ts'
export type { StoreEnvOptions } from './config.ts'
export { storeConfigFromEnv } from './config.ts'
export { CANCEL_CHANNEL, RUNS_CHANNEL } from './context.ts'
export type { CronSchedule } from './cron.ts'
export { nextFireTimes, parseCron } from './cron.ts'
export type { DatabaseConfig, StoreDatabase } from './database.ts'
export { openDatabase, redactUrl } from './database.ts'
export type { EnqueueRequest, EnqueueResult } from './enqueue.ts'
export { RUN_LIMITS } from './enqueue.ts'
export type { AbortCause, ExecutionContext, ExecutionOutcome, RunExecutor } from './executor.ts'
export type { JsonLoggerOptions, LogLevel, WorkerLogger } from './logger.ts'
export { jsonLogger } from './logger.ts'
export { migrateToLatest } from './migrations.ts'
export type { NotificationHandlers, Unlisten } from './notify.ts'
export type { AttemptStatus, FinalRunStatus, Run, RunAttempt, RunError, RunEvent, RunStatus } from './run.ts'
export { FINAL_RUN_STATUSES, isFinalRunStatus, RUN_STATUSES } from './run.ts'
export type { EventQuery, RunFilter, RunPage } from './run-queries.ts'
export { RunQueue } from './run-queue.ts'
export type { RunStoreOptions } from './run-store.ts'
export { RunStore } from './run-store.ts'
export { checkScheduleInterval } from './schedule-interval.ts'
export type { ScheduleState } from './schedule-state.ts'
export type { SchedulerOptions, SchedulerTick } from './scheduler.ts'
export { SCHEDULER_LEASE, Scheduler, validateSchedule } from './scheduler.ts'
export type { CatchUpPolicy, ScheduleEvaluation, ScheduleSpec } from './schedules.ts'
export { slotKeyOf } from './schedules.ts'
export type {
  BackfillPartitionsTable,
  BackfillsTable,
  RunAttemptsTable,
  RunEventsTable,
  RunsTable,
  RunUsageTable,
  ScheduleStateTable,
  StoreLeasesTable,
  StoreSchema,
} from './schema.ts'
export type { ShutdownOptions } from './shutdown.ts'
export { handleShutdownSignals } from './shutdown.ts'
export { formatZoned, isValidTimeZone } from './time-zone.ts'
export type { AttemptUsage, DailyUsage, RunUsage } from './usage.ts'
export { utcDayStart } from './usage.ts'
export type { UsageBudgets, WorkerHealth, WorkerOptions } from './worker.ts'
export { Worker } from './worker.ts'
