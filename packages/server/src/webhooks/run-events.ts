// Run and backfill events for webhooks, read from the run store's events: a run ends in whichever process its worker
// runs in, and every final status is written as a `status` row of `run_events` (ids increasing), so reading that
// table after a cursor sees every end, from any process, across restarts.
import type { FinalRunStatus } from '@sparkle-studio/core/routes'
import type { RunStore } from '@sparkle-studio/runs'
import { type Kysely, sql } from 'kysely'
import type { ApiSchema } from '../auth/tables.ts'
import type { OutboxEvent } from './records.ts'
import { advanceRunEventCursor, readRunEventCursor } from './run-event-cursor.ts'

const CURSOR = 'run_events'
const FINAL = sql`('succeeded', 'failed', 'cancelled')`

interface FinalEventRow {
  id: string
  run_id: string
  attempt: number | null
  payload: { status: FinalRunStatus; error?: { code?: string; message?: string } } | string
  created_at: Date | string
  pipeline: string
  revision: string | null
  backfill_id: string | null
  partition_key: string | null
  run_error: { code?: string; message?: string } | string | null
}

const parsed = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value)

/** What {@link scanRunEvents} needs: the database, the run store (backfill summaries) and the settle time. */
export interface RunEventScan {
  readonly db: Kysely<ApiSchema>
  readonly runs: Pick<RunStore, 'getBackfill'>
  /** Queues one event for its subscribers (idempotent by `eventId`). */
  readonly enqueue: (event: OutboxEvent) => Promise<number>
  /**
   * Run events younger than this are read again on the next scan: an event id is taken when its transaction inserts
   * it, so a lower id may commit after a higher one was read; the cursor moves only past events older than this.
   */
  readonly settleMs: number
  /** Most final events read per scan. */
  readonly batch: number
}

/**
 * Turns the runs that ended (and the backfills they completed) since the cursor into deliveries, then moves the
 * cursor past what is settled. Events are queued with ids derived from the run event (`msg_run_<event id>`), so a
 * second scan of the same rows (another process, the settle window) queues nothing twice. Answers how many
 * deliveries were queued.
 */
export async function scanRunEvents(scan: RunEventScan): Promise<number> {
  const { db } = scan
  const cursor = await readRunEventCursor(db, CURSOR)
  const { rows } = await sql<FinalEventRow>`
    SELECT e.id, e.run_id, e.attempt, e.payload, e.created_at, r.pipeline, r.revision, r.backfill_id,
      r.partition_key, r.error AS run_error
    FROM run_events e JOIN runs r ON r.id = e.run_id
    WHERE e.id > ${cursor} AND e.type = 'status' AND e.payload->>'status' IN ${FINAL}
    ORDER BY e.id
    LIMIT ${scan.batch}
  `.execute(db)
  let queued = 0
  const backfills = new Map<string, Date>()
  for (const row of rows) {
    const payload = parsed(row.payload)
    const error = payload.error ?? (row.run_error ? parsed(row.run_error) : undefined)
    const occurredAt = new Date(row.created_at)
    const type = `run.${payload.status}` as const
    queued += await scan.enqueue({
      type,
      eventId: `msg_run_${row.id}`,
      occurredAt,
      payload: JSON.stringify({
        type,
        timestamp: occurredAt.toISOString(),
        data: {
          runId: row.run_id,
          pipeline: row.pipeline,
          ...(row.revision ? { revision: row.revision } : {}),
          status: payload.status,
          ...(row.attempt ? { attempt: row.attempt } : {}),
          ...(error && payload.status !== 'succeeded'
            ? { error: { ...(error.code ? { code: error.code } : {}), message: error.message ?? '' } }
            : {}),
          ...(row.backfill_id ? { backfillId: row.backfill_id } : {}),
          ...(row.partition_key ? { partitionKey: row.partition_key } : {}),
        },
      }),
    })
    if (row.backfill_id) backfills.set(row.backfill_id, occurredAt)
  }
  for (const [id, occurredAt] of backfills) queued += await backfillCompleted(scan, id, occurredAt)
  // Past the events old enough that no lower id can still commit; with a full batch, not past its last row.
  await advanceRunEventCursor(
    db,
    CURSOR,
    cursor,
    scan.settleMs,
    rows.length === scan.batch ? rows.at(-1)?.id : undefined,
  )
  return queued
}

/**
 * Queues `backfill.completed` once every run of the backfill has ended. Its event id names the newest final event
 * of the backfill's runs, so scans in any order agree on it, and a backfill that completes again (a partition
 * retried) is a new event.
 */
async function backfillCompleted(scan: RunEventScan, id: string, occurredAt: Date): Promise<number> {
  const summary = await scan.runs.getBackfill(id)
  const { counts } = summary
  if (counts.queued + counts.retrying + counts.submitting + counts.running > 0) return 0
  const { rows } = await sql<{ id: string | null }>`
    SELECT max(e.id) AS id FROM run_events e JOIN runs r ON r.id = e.run_id
    WHERE r.backfill_id = ${id} AND e.type = 'status' AND e.payload->>'status' IN ${FINAL}
  `.execute(scan.db)
  const last = rows[0]?.id
  if (!last) return 0
  const status = summary.status === 'running' ? 'completed' : summary.status
  return scan.enqueue({
    type: 'backfill.completed',
    eventId: `msg_bf_${id}_${last}`,
    occurredAt,
    payload: JSON.stringify({
      type: 'backfill.completed',
      timestamp: occurredAt.toISOString(),
      data: {
        backfillId: id,
        pipeline: summary.backfill.pipeline,
        status,
        total: summary.total,
        counts: { succeeded: counts.succeeded, failed: counts.failed, cancelled: counts.cancelled },
      },
    }),
  })
}
