import type { StoreContext } from './context.ts'
import type { RunStatus } from './run.ts'

/** How far the scheduler evaluated one pipeline's schedule, and the last slot it enqueued a run for. */
export interface ScheduleState {
  readonly pipeline: string
  /** The cron expression last evaluated. */
  readonly cron: string
  /** The time zone it was read in. */
  readonly timezone: string
  /** Slots up to this instant have been considered. */
  readonly evaluatedUntil: Date
  /** The most recent slot a run was enqueued for; `null` before the first. */
  readonly lastSlot: Date | null
  /** That run's id. */
  readonly lastRunId: string | null
  /** That run's status now; `null` when there is no such run (any more). */
  readonly lastRunStatus: RunStatus | null
}

/** The scheduler's state of every schedule it has seen (or of `pipelines` only), with the last run's status. */
export async function listScheduleStates(
  ctx: StoreContext,
  pipelines?: readonly string[] | undefined,
): Promise<ScheduleState[]> {
  if (pipelines !== undefined && pipelines.length === 0) return []
  let query = ctx.db
    .selectFrom('schedule_state as s')
    .leftJoin('runs as r', 'r.id', 's.last_run_id')
    .select([
      's.pipeline',
      's.cron',
      's.timezone',
      's.evaluated_until',
      's.last_slot',
      's.last_run_id',
      'r.status as last_run_status',
    ])
    .orderBy('s.pipeline')
  if (pipelines !== undefined) query = query.where('s.pipeline', 'in', [...pipelines])
  const rows = await query.execute()
  return rows.map((row) => ({
    pipeline: row.pipeline,
    cron: row.cron,
    timezone: row.timezone,
    evaluatedUntil: new Date(row.evaluated_until),
    lastSlot: row.last_slot === null ? null : new Date(row.last_slot),
    lastRunId: row.last_run_id,
    lastRunStatus: (row.last_run_status ?? null) as RunStatus | null,
  }))
}
