// The run store's figures, read at scrape time: the store is shared by the server and its workers (several processes
// on PostgreSQL), so what it holds is counted where it is, one query per figure, never kept in one process's memory.
import type { StoreSchema } from '@sparkle-studio/runs'
import { type Kysely, sql } from 'kysely'

/** Runs by pipeline and status (one row per pair that has runs). */
export interface RunCount {
  readonly pipeline: string
  readonly status: string
  readonly count: number
}

/** The durations of one pipeline's finished runs in one final status, as a cumulative histogram. */
export interface RunDurations {
  readonly pipeline: string
  readonly status: string
  /** Runs at most each upper bound long, in the order of the bounds the query was given. */
  readonly buckets: readonly number[]
  readonly count: number
  /** Every duration added up, in seconds. */
  readonly sum: number
}

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value))

/** Every run the store holds, counted by pipeline and status. */
export async function countRuns(db: Kysely<StoreSchema>): Promise<RunCount[]> {
  const rows = await db
    .selectFrom('runs')
    .select((eb) => ['pipeline', 'status', eb.fn.countAll<string>().as('n')])
    .groupBy(['pipeline', 'status'])
    .execute()
  return rows.map((r) => ({ pipeline: r.pipeline, status: r.status, count: num(r.n) }))
}

/**
 * The earliest moment a run still waiting for a worker (`queued`, or `retrying` and due) became claimable, or `null`
 * when none waits. Runs queued for later (a backoff, `runAfter`) are not waiting yet.
 */
export async function oldestClaimable(db: Kysely<StoreSchema>, now: Date): Promise<Date | null> {
  const row = await db
    .selectFrom('runs')
    .select((eb) => eb.fn.min('available_at').as('oldest'))
    .where('status', 'in', ['queued', 'retrying'])
    .where('available_at', '<=', now)
    .executeTakeFirst()
  const oldest: unknown = row?.oldest
  if (oldest === null || oldest === undefined) return null
  return oldest instanceof Date ? oldest : new Date(String(oldest))
}

/** When each pipeline's latest successful run finished. */
export async function lastSuccesses(
  db: Kysely<StoreSchema>,
): Promise<{ readonly pipeline: string; readonly finishedAt: Date }[]> {
  const rows = await db
    .selectFrom('runs')
    .select((eb) => ['pipeline', eb.fn.max('finished_at').as('last')])
    .where('status', '=', 'succeeded')
    .where('finished_at', 'is not', null)
    .groupBy('pipeline')
    .execute()
  return rows.flatMap((r) => {
    const last: unknown = r.last
    if (last === null || last === undefined) return []
    return [{ pipeline: r.pipeline, finishedAt: last instanceof Date ? last : new Date(String(last)) }]
  })
}

/**
 * The durations (first claim to end, so retries and their backoff included) of every finished run the store holds
 * that ever started, by pipeline and final status, counted into `bounds` (seconds, ascending) by the database.
 */
export async function runDurations(db: Kysely<StoreSchema>, bounds: readonly number[]): Promise<RunDurations[]> {
  const bucketColumns = sql.join(
    bounds.map((b, i) => sql`count(*) FILTER (WHERE d <= ${b})${sql.raw(` AS b${i}`)}`),
    sql`, `,
  )
  const result = await sql<Record<string, unknown>>`
    SELECT pipeline, status, count(*) AS n, coalesce(sum(d), 0) AS total, ${bucketColumns}
    FROM (
      SELECT pipeline, status, GREATEST(0, EXTRACT(EPOCH FROM (finished_at - started_at)))::float8 AS d
      FROM runs
      WHERE status IN ('succeeded', 'failed', 'cancelled') AND started_at IS NOT NULL AND finished_at IS NOT NULL
    ) finished
    GROUP BY pipeline, status`.execute(db)
  return result.rows.map((r) => ({
    pipeline: String(r['pipeline']),
    status: String(r['status']),
    buckets: bounds.map((_, i) => num(r[`b${i}`])),
    count: num(r['n']),
    sum: num(r['total']),
  }))
}
