import { type RawBuilder, type Selectable, sql, type Transaction } from 'kysely'
import { ACTIVE, checkSignal, plusMs, type StoreContext, throwIfInvalid } from './context.ts'
import { type Run, type RunAttempt, toAttempt, toRun } from './run.ts'
import { insertEvent } from './run-queries.ts'
import type { RunAttemptsTable, RunsTable, StoreSchema } from './schema.ts'

/** What a worker asks for when it claims runs. */
export interface ClaimRequest {
  /** The claiming worker; it becomes the lease owner. */
  readonly workerId: string
  /** Most runs to claim. */
  readonly limit: number
  /** Lease length; the worker renews it by heartbeat. */
  readonly leaseMs: number
  /** Runs the worker already works on (never taken over by their own worker). */
  readonly excludeRunIds?: readonly string[] | undefined
  /** The worker's limit of runs per pipeline (enforced here, against `inFlightByPipeline`). */
  readonly maxPerPipeline?: number | undefined
  /** The worker's runs in flight, by pipeline. */
  readonly inFlightByPipeline?: Readonly<Record<string, number>> | undefined
  /**
   * Most runs of one pipeline in progress at once across all workers, for this claim. It can only lower the queue's
   * `maxRunsPerPipeline` (the stricter of the two applies).
   * @default the queue's `maxRunsPerPipeline`
   */
  readonly maxRunsPerPipeline?: number | undefined
  /** Gives up before the claim starts. */
  readonly signal?: AbortSignal | undefined
}

/** A claimed run: a fresh attempt, or an attempt taken over from a worker whose lease expired. */
export interface Claim {
  readonly run: Run
  readonly attempt: RunAttempt
  /** True when the attempt was started by another worker (or an earlier life of this one) and is taken over. */
  readonly takeover: boolean
  /** The worker that held the lease before a takeover. */
  readonly previousOwner: string | null
}

/** Renewed leases by run id, with whether a cancel was requested. */
export type HeartbeatResult = ReadonlyMap<string, { readonly attempt: number; readonly cancelRequested: boolean }>

/** First key of the advisory locks that serialize the claims of one pipeline's runs ("SPRK"). */
const PIPELINE_LOCK_SPACE = 0x5350524b

/**
 * Claims up to `limit` runs in one transaction: the best eligible runs (queued or retrying and due, or in progress
 * with an expired lease), by priority then age, locked with `FOR UPDATE SKIP LOCKED`, within the worker's
 * per-pipeline limit, the store's limit of runs per pipeline across workers, and each backfill's concurrency. A fresh
 * claim creates the next attempt; a takeover keeps it (a run taken over is already counted as in progress).
 */
export async function claimRuns(ctx: StoreContext, request: ClaimRequest): Promise<Claim[]> {
  checkSignal(request.signal)
  if (request.limit < 1) return []
  const perPipeline = request.maxPerPipeline ?? Number.POSITIVE_INFINITY
  const acrossWorkers = storeLimit(ctx, request)
  const inFlight = request.inFlightByPipeline ?? {}
  const saturatedPipelines = Object.entries(inFlight)
    .filter(([, n]) => n >= perPipeline)
    .map(([p]) => p)
  // Pipelines at the store's limit are left out here and checked again, under lock, below.
  const busyPipelines = Number.isFinite(acrossWorkers)
    ? sql`AND (r.status IN ${ACTIVE} OR r.pipeline NOT IN (
          SELECT a.pipeline FROM runs a WHERE a.status IN ${ACTIVE} GROUP BY a.pipeline HAVING count(*) >= ${acrossWorkers}))`
    : sql``
  const claims = await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now()
    // Backfills at their concurrency limit are left out here and checked again, under lock, below.
    const candidates = await sql<Selectable<RunsTable>>`
      WITH saturated AS (
        SELECT b.id FROM backfills b
        WHERE b.cancelled_at IS NULL
          AND EXISTS (SELECT 1 FROM runs q WHERE q.backfill_id = b.id AND q.status IN ('queued', 'retrying'))
          AND (SELECT count(*) FROM runs a WHERE a.backfill_id = b.id AND a.status IN ${ACTIVE}) >= b.concurrency
      )
      SELECT r.* FROM runs r
      WHERE r.status IN ('queued', 'retrying', 'submitting', 'running')
        AND ((r.status IN ('queued', 'retrying') AND r.available_at <= ${now})
          OR (r.status IN ${ACTIVE} AND (r.lease_expires_at IS NULL OR r.lease_expires_at <= ${now})))
        AND NOT (r.id = ANY(${[...(request.excludeRunIds ?? [])]}::text[]))
        AND NOT (r.pipeline = ANY(${saturatedPipelines}::text[]))
        AND (r.backfill_id IS NULL OR r.status IN ${ACTIVE} OR r.backfill_id NOT IN (SELECT id FROM saturated))
        ${busyPipelines}
      ORDER BY r.priority DESC, r.seq
      LIMIT ${request.limit}
      FOR UPDATE OF r SKIP LOCKED
    `.execute(trx)
    const counts = new Map(Object.entries(inFlight))
    const withinPipeline = candidates.rows.filter((r) => {
      const n = counts.get(r.pipeline) ?? 0
      if (n >= perPipeline) return false
      counts.set(r.pipeline, n + 1)
      return true
    })
    const takeovers = withinPipeline.filter((r) => r.status === 'submitting' || r.status === 'running')
    const queued = withinPipeline.filter((r) => r.status === 'queued' || r.status === 'retrying')
    // Locks in a fixed order in every claim (pipelines, then backfills), so that concurrent claims cannot deadlock.
    const pipelineRoom = await roomByPipeline(trx, queued, acrossWorkers)
    const backfillRoom = await roomByBackfill(trx, queued)
    const fresh = queued.filter((r) => {
      const inPipeline = pipelineRoom?.get(r.pipeline) ?? Number.POSITIVE_INFINITY
      const inBackfill = r.backfill_id === null ? Number.POSITIVE_INFINITY : (backfillRoom.get(r.backfill_id) ?? 0)
      if (inPipeline <= 0 || inBackfill <= 0) return false
      pipelineRoom?.set(r.pipeline, inPipeline - 1)
      if (r.backfill_id !== null) backfillRoom.set(r.backfill_id, inBackfill - 1)
      return true
    })
    const result: Claim[] = []
    if (fresh.length > 0) result.push(...(await startAttempts(trx, now, request, fresh)))
    if (takeovers.length > 0) result.push(...(await takeOver(trx, ctx, now, request, takeovers)))
    return result
  })
  return claims
}

/** The stricter of the queue's and the request's limit of runs per pipeline across workers. */
function storeLimit(ctx: StoreContext, request: ClaimRequest): number {
  const requested = request.maxRunsPerPipeline
  if (requested === undefined) return ctx.maxRunsPerPipeline
  if (!Number.isInteger(requested) || requested < 1) {
    throwIfInvalid('claim request', [
      { path: '/maxRunsPerPipeline', code: 'out_of_range', message: 'maxRunsPerPipeline must be a positive integer' },
    ])
  }
  return Math.min(ctx.maxRunsPerPipeline, requested)
}

/**
 * How many more runs each pipeline of `runs` may start under the store's limit, counted while holding a transaction
 * advisory lock per pipeline: a concurrent claim of the same pipeline waits for this transaction to commit, and its
 * count (a new statement, so a new snapshot under READ COMMITTED) then sees the runs claimed here. `undefined` when
 * there is no limit.
 */
async function roomByPipeline(
  trx: Transaction<StoreSchema>,
  runs: Selectable<RunsTable>[],
  limit: number,
): Promise<Map<string, number> | undefined> {
  if (!Number.isFinite(limit) || runs.length === 0) return undefined
  const pipelines = [...new Set(runs.map((r) => r.pipeline))]
  // Ordered by lock key (not by name) so that two names with one hash are still taken in the same order.
  await sql`
    SELECT pg_advisory_xact_lock(${PIPELINE_LOCK_SPACE}::int4, k.key) FROM (
      SELECT DISTINCT hashtext(p.name) AS key FROM unnest(${pipelines}::text[]) AS p(name) ORDER BY key
    ) AS k
  `.execute(trx)
  const active = await trx
    .selectFrom('runs')
    .select(['pipeline', (eb) => eb.fn.countAll<string>().as('n')])
    .where('pipeline', 'in', pipelines)
    .where('status', 'in', ['submitting', 'running'])
    .groupBy('pipeline')
    .execute()
  const room = new Map(pipelines.map((p) => [p, limit]))
  for (const a of active) room.set(a.pipeline, limit - Number(a.n))
  return room
}

/** How many more runs each backfill of `runs` may start, with the backfills locked so that claims cannot race. */
async function roomByBackfill(
  trx: Transaction<StoreSchema>,
  runs: Selectable<RunsTable>[],
): Promise<Map<string, number>> {
  const ids = [...new Set(runs.map((r) => r.backfill_id).filter((id): id is string => id !== null))].sort()
  if (ids.length === 0) return new Map()
  const limits = await trx
    .selectFrom('backfills')
    .select(['id', 'concurrency', 'cancelled_at'])
    .where('id', 'in', ids)
    .orderBy('id')
    .forUpdate()
    .execute()
  const active = await trx
    .selectFrom('runs')
    .select(['backfill_id', (eb) => eb.fn.countAll<string>().as('n')])
    .where('backfill_id', 'in', ids)
    .where('status', 'in', ['submitting', 'running'])
    .groupBy('backfill_id')
    .execute()
  const room = new Map(limits.map((b) => [b.id, b.cancelled_at ? 0 : b.concurrency]))
  for (const a of active) if (a.backfill_id) room.set(a.backfill_id, (room.get(a.backfill_id) ?? 0) - Number(a.n))
  return room
}

interface ClaimedRow {
  run: Selectable<RunsTable>
  attempt: Selectable<RunAttemptsTable>
}

async function startAttempts(
  trx: Transaction<StoreSchema>,
  now: RawBuilder<Date>,
  request: ClaimRequest,
  runs: Selectable<RunsTable>[],
): Promise<Claim[]> {
  const ids = runs.map((r) => r.id)
  const expires = plusMs(now, request.leaseMs)
  const { rows } = await sql<ClaimedRow>`
    WITH upd AS (
      UPDATE runs SET status = 'submitting', attempt = attempt + 1, lease_owner = ${request.workerId},
        lease_expires_at = ${expires}, started_at = COALESCE(started_at, ${now}), updated_at = ${now},
        app_id = NULL, error = NULL
      WHERE id = ANY(${ids}::text[])
      RETURNING *
    ), att AS (
      INSERT INTO run_attempts (id, run_id, attempt, status, worker_id, started_at)
      SELECT upd.id || '.' || upd.attempt, upd.id, upd.attempt, 'running', ${request.workerId}, ${now} FROM upd
      RETURNING *
    ), ev AS (
      INSERT INTO run_events (run_id, attempt, type, payload, created_at)
      SELECT upd.id, upd.attempt, 'status',
        jsonb_build_object('status', 'submitting', 'attempt', upd.attempt, 'workerId', ${request.workerId}::text), ${now}
      FROM upd
    )
    SELECT to_jsonb(upd.*) AS run, to_jsonb(att.*) AS attempt FROM upd JOIN att ON att.run_id = upd.id
  `.execute(trx)
  const order = new Map(ids.map((id, i) => [id, i]))
  return rows
    .map((r) => ({ run: toRun(r.run), attempt: toAttempt(r.attempt), takeover: false, previousOwner: null }))
    .sort((a, b) => (order.get(a.run.id) ?? 0) - (order.get(b.run.id) ?? 0))
}

async function takeOver(
  trx: Transaction<StoreSchema>,
  ctx: StoreContext,
  now: RawBuilder<Date>,
  request: ClaimRequest,
  runs: Selectable<RunsTable>[],
): Promise<Claim[]> {
  const claims: Claim[] = []
  for (const old of runs) {
    const run = await trx
      .updateTable('runs')
      .set({ lease_owner: request.workerId, lease_expires_at: plusMs(now, request.leaseMs), updated_at: now })
      .where('id', '=', old.id)
      .returningAll()
      .executeTakeFirstOrThrow()
    const attempt = await trx
      .selectFrom('run_attempts')
      .selectAll()
      .where('run_id', '=', old.id)
      .where('attempt', '=', old.attempt)
      .executeTakeFirst()
    if (!attempt) continue
    await insertEvent(
      trx,
      old.id,
      old.attempt,
      'takeover',
      { workerId: request.workerId, previousOwner: old.lease_owner, submissionId: attempt.submission_id },
      ctx,
    )
    claims.push({ run: toRun(run), attempt: toAttempt(attempt), takeover: true, previousOwner: old.lease_owner })
  }
  return claims
}

/** Renews the leases the worker holds; runs missing from the result were lost to another worker. */
export async function renewLeases(
  ctx: StoreContext,
  workerId: string,
  runIds: readonly string[],
  leaseMs: number,
): Promise<HeartbeatResult> {
  if (runIds.length === 0) return new Map()
  const now = ctx.now()
  const rows = await ctx.db
    .updateTable('runs')
    .set({ lease_expires_at: plusMs(now, leaseMs) })
    .where('id', 'in', runIds)
    .where('lease_owner', '=', workerId)
    .where('status', 'in', ['submitting', 'running'])
    .returning(['id', 'attempt', 'cancel_requested_at'])
    .execute()
  return new Map(rows.map((r) => [r.id, { attempt: r.attempt, cancelRequested: r.cancel_requested_at !== null }]))
}
