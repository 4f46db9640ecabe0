import type { ColumnType, Generated } from 'kysely'

/** The `runs` table: one row per requested run of a pipeline. */
export interface RunsTable {
  id: string
  /** Insertion order; breaks ties between runs created in one transaction and drives keyset pagination. */
  seq: Generated<string>
  pipeline: string
  revision: string | null
  params: ColumnType<Record<string, unknown>, string, string>
  status: string
  idempotency_key: string | null
  priority: number
  /** Number of the current (or last) attempt; 0 before the first claim. */
  attempt: number
  max_attempts: number
  app_id: string | null
  error: ColumnType<Record<string, unknown> | null, string | null, string | null>
  backfill_id: ColumnType<string | null, string | null | undefined, string | null>
  partition_key: ColumnType<string | null, string | null | undefined, string | null>
  schedule_slot: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  retry_of: ColumnType<string | null, string | null | undefined, string | null>
  /** A queued or retrying run is claimable from this moment on. */
  available_at: ColumnType<Date, Date | string | undefined, Date | string>
  lease_owner: ColumnType<string | null, string | null | undefined, string | null>
  lease_expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  cancel_requested_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  /** Who queued the run (a principal id of the host), when known. */
  requested_by: ColumnType<string | null, string | null | undefined, string | null>
  /** Who cancelled the run, when known. */
  cancelled_by: ColumnType<string | null, string | null | undefined, string | null>
  created_at: ColumnType<Date, Date | string | undefined, never>
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
  started_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  finished_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

/** The `run_attempts` table: one row per execution attempt of a run. */
export interface RunAttemptsTable {
  id: string
  run_id: string
  attempt: number
  status: string
  worker_id: string
  submission_id: ColumnType<string | null, string | null | undefined, string | null>
  app_id: ColumnType<string | null, string | null | undefined, string | null>
  started_at: ColumnType<Date, Date | string | undefined, Date | string>
  finished_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  error: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>
}

/** The `run_events` table: the ordered events (status changes, runner events, log lines) of each run. */
export interface RunEventsTable {
  id: Generated<string>
  run_id: string
  attempt: ColumnType<number | null, number | null | undefined, number | null>
  type: string
  payload: ColumnType<Record<string, unknown>, string, never>
  created_at: ColumnType<Date, Date | string | undefined, never>
}

/** The `backfills` table: one row per backfill request. */
export interface BackfillsTable {
  id: string
  pipeline: string
  revision: string | null
  range_start: ColumnType<Date, Date | string, never>
  range_end: ColumnType<Date, Date | string, never>
  grain: string
  timezone: string
  reprocess: string
  concurrency: number
  run_order: string
  params: ColumnType<Record<string, unknown>, string, string>
  partition_count: number
  cancelled_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  created_at: ColumnType<Date, Date | string | undefined, never>
}

/** The `backfill_partitions` table: the partitions of each backfill and what the backfill did with each. */
export interface BackfillPartitionsTable {
  backfill_id: string
  partition_key: string
  idempotency_key: string
  partition_start: ColumnType<Date, Date | string, never>
  partition_end: ColumnType<Date, Date | string, never>
  action: string
  run_id: string
  seq: number
}

/** The `schedule_state` table: how far each pipeline's schedule has been evaluated. */
export interface ScheduleStateTable {
  pipeline: string
  cron: string
  timezone: string
  evaluated_until: ColumnType<Date, Date | string, Date | string>
  last_slot: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  last_run_id: ColumnType<string | null, string | null | undefined, string | null>
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

/** The `store_leases` table: named leases (the scheduler's) held by one owner at a time. */
export interface StoreLeasesTable {
  name: string
  owner: string
  expires_at: ColumnType<Date, Date | string, Date | string>
}

/** The `run_usage` table: what each attempt used on the cluster, as Spark counted it. */
export interface RunUsageTable {
  run_id: string
  attempt: number
  pipeline: string
  recorded_at: ColumnType<Date, Date | string | undefined, Date | string>
  core_seconds: number
  task_seconds: number
  cpu_seconds: number | null
  peak_memory_bytes: number | null
  input_bytes: number | null
  output_bytes: number | null
  shuffle_read_bytes: number | null
  shuffle_write_bytes: number | null
  executors: number | null
  cores: number | null
}

/** Every table of the run store, for `Kysely<StoreSchema>`. */
export interface StoreSchema {
  runs: RunsTable
  run_attempts: RunAttemptsTable
  run_events: RunEventsTable
  backfills: BackfillsTable
  backfill_partitions: BackfillPartitionsTable
  schedule_state: ScheduleStateTable
  store_leases: StoreLeasesTable
  run_usage: RunUsageTable
}
