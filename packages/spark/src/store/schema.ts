import type { ColumnType, Generated } from 'kysely'

/** The `runs` table: one row per requested run of a pipeline. */
export interface RunsTable {
  id: string
  pipeline: string
  revision: string | null
  params: ColumnType<Record<string, unknown>, string, string>
  status: string
  idempotency_key: string | null
  priority: number
  attempt: number
  max_attempts: number
  app_id: string | null
  error: ColumnType<Record<string, unknown> | null, string | null, string | null>
  created_at: ColumnType<Date, Date | string | undefined, never>
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
  started_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  finished_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

/** The `run_events` table: the ordered events (status changes, runner events, log lines) of each run. */
export interface RunEventsTable {
  id: Generated<string>
  run_id: string
  type: string
  payload: ColumnType<Record<string, unknown>, string, never>
  created_at: ColumnType<Date, Date | string | undefined, never>
}

/** Every table of the run store, for `Kysely<StoreSchema>`. */
export interface StoreSchema {
  runs: RunsTable
  run_events: RunEventsTable
}
