import { type Selectable, sql, type Transaction } from 'kysely'
import {
  type BackfillGrain,
  type BackfillPlan,
  type BackfillRequest,
  planBackfill,
  type ReprocessPolicy,
} from './backfill-plan.ts'
import { CANCEL_CHANNEL, notFound, notify, RUNS_CHANNEL, type StoreContext, throwIfInvalid } from './context.ts'
import { insertRuns, newRunRow } from './enqueue.ts'
import { isFinalRunStatus, RUN_STATUSES, type RunStatus, toDate } from './run.ts'
import { insertEvent, rerunLocked } from './run-queries.ts'
import type { BackfillsTable, RunsTable, StoreSchema } from './schema.ts'

/** A stored backfill request. */
export interface Backfill {
  readonly id: string
  readonly pipeline: string
  readonly revision: string | null
  readonly start: Date
  /** Exclusive. */
  readonly end: Date
  readonly grain: BackfillGrain
  readonly timezone: string
  readonly reprocess: ReprocessPolicy
  readonly concurrency: number
  readonly order: 'forward' | 'backward'
  readonly params: Readonly<Record<string, unknown>>
  readonly partitionCount: number
  readonly createdAt: Date
  readonly cancelledAt: Date | null
}

/** What a backfill does (or, in a dry run, would do) with one partition. */
export type PartitionAction = 'create' | 'skip' | 'rerun'

/** One partition of a backfill and the run that stands for it. */
export interface BackfillPartition {
  readonly key: string
  readonly start: Date
  readonly end: Date
  readonly action: PartitionAction
  /** The partition's run now: the one created, the one skipped over, or (dry run) the one found. */
  readonly runId: string | null
  readonly status: RunStatus | null
}

/** The result of {@link RunStore.createBackfill}. */
export interface BackfillCreation {
  /** The stored backfill; `null` for a dry run. */
  readonly backfill: Backfill | null
  readonly dryRun: boolean
  /** Every partition, in run order, with its action. */
  readonly partitions: readonly BackfillPartition[]
  /** Partitions by action. */
  readonly actions: Readonly<Record<PartitionAction, number>>
}

/** A backfill with the status of its partitions' runs. */
export interface BackfillSummary {
  readonly backfill: Backfill
  /** Partitions by the status of their current run (a retried run counts as its newest retry). */
  readonly counts: Readonly<Record<RunStatus, number>>
  readonly total: number
  /** `running` while any run is unfinished; then `failed` when any failed, else `completed`; or `cancelled`. */
  readonly status: 'running' | 'completed' | 'failed' | 'cancelled'
}

/** Options of {@link RunStore.backfillPartitions}. */
export interface BackfillPartitionQuery {
  /** Skip the first partitions (in run order). */
  readonly offset?: number | undefined
  /**
   * Partitions to return, at most 1000.
   * @default 200
   */
  readonly limit?: number | undefined
  readonly signal?: AbortSignal | undefined
}

/** The idempotency key of a pipeline's partition. */
export function partitionKeyOf(pipeline: string, grain: BackfillGrain, key: string): string {
  return `partition:${pipeline}:${grain}:${key}`
}

function toBackfill(row: Selectable<BackfillsTable>): Backfill {
  return {
    id: row.id,
    pipeline: row.pipeline,
    revision: row.revision,
    start: toDate(row.range_start),
    end: toDate(row.range_end),
    grain: row.grain as BackfillGrain,
    timezone: row.timezone,
    reprocess: row.reprocess as ReprocessPolicy,
    concurrency: row.concurrency,
    order: row.run_order as 'forward' | 'backward',
    params: row.params,
    partitionCount: row.partition_count,
    createdAt: toDate(row.created_at),
    cancelledAt: row.cancelled_at === null ? null : toDate(row.cancelled_at),
  }
}

function decide(policy: ReprocessPolicy, existing: Selectable<RunsTable> | undefined): PartitionAction {
  if (!existing) return 'create'
  const status = existing.status as RunStatus
  if (!isFinalRunStatus(status)) return 'skip'
  if (policy === 'all') return 'rerun'
  if (policy === 'failed' && (status === 'failed' || status === 'cancelled')) return 'rerun'
  return 'skip'
}

const CHUNK = 500

async function existingRuns(
  db: Transaction<StoreSchema> | StoreContext['db'],
  keys: readonly string[],
  lock: boolean,
): Promise<Map<string, Selectable<RunsTable>>> {
  const found = new Map<string, Selectable<RunsTable>>()
  for (let i = 0; i < keys.length; i += CHUNK) {
    let query = db
      .selectFrom('runs')
      .selectAll()
      .where('idempotency_key', 'in', keys.slice(i, i + CHUNK))
    if (lock) query = query.orderBy('id').forUpdate()
    for (const row of await query.execute()) if (row.idempotency_key) found.set(row.idempotency_key, row)
  }
  return found
}

/**
 * Creates a backfill in one transaction: the backfill, one run per partition (idempotency key per pipeline, grain
 * and partition) and the partition list. Partitions that already have a run follow the reprocess policy, so
 * submitting the same backfill again is safe. A dry run reads and writes nothing else.
 */
export async function createBackfill(ctx: StoreContext, request: BackfillRequest): Promise<BackfillCreation> {
  const plan = planBackfill(request)
  const keys = plan.partitions.map((p) => partitionKeyOf(plan.pipeline, plan.grain, p.key))
  if (request.dryRun) {
    const existing = await existingRuns(ctx.db, keys, false)
    const partitions = plan.partitions.map((p, i): BackfillPartition => {
      const run = existing.get(keys[i] ?? '')
      return {
        key: p.key,
        start: p.start,
        end: p.end,
        action: decide(plan.reprocess, run),
        runId: run?.id ?? null,
        status: (run?.status as RunStatus | undefined) ?? null,
      }
    })
    return { backfill: null, dryRun: true, partitions, actions: countActions(partitions) }
  }
  const creation = await ctx.db.transaction().execute((trx) => writeBackfill(ctx, trx, plan, keys, request.requestedBy))
  if (creation.actions.create + creation.actions.rerun > 0) await notify(ctx.db, RUNS_CHANNEL)
  return creation
}

async function writeBackfill(
  ctx: StoreContext,
  trx: Transaction<StoreSchema>,
  plan: BackfillPlan,
  keys: readonly string[],
  requestedBy: string | undefined,
): Promise<BackfillCreation> {
  const id = ctx.randomId()
  const clock = ctx.clock?.()
  const row = await trx
    .insertInto('backfills')
    .values({
      id,
      pipeline: plan.pipeline,
      revision: plan.revision,
      range_start: plan.start,
      range_end: plan.end,
      grain: plan.grain,
      timezone: plan.timezone,
      reprocess: plan.reprocess,
      concurrency: plan.concurrency,
      run_order: plan.order,
      params: JSON.stringify(plan.params),
      partition_count: plan.partitions.length,
      ...(clock ? { created_at: clock } : {}),
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  const existing = await existingRuns(trx, keys, true)
  const actions = plan.partitions.map((_, i) => decide(plan.reprocess, existing.get(keys[i] ?? '')))
  const toCreate = plan.partitions.flatMap((p, i) =>
    actions[i] === 'create'
      ? [
          newRunRow(
            ctx,
            {
              pipeline: plan.pipeline,
              revision: plan.revision,
              params: p.params,
              priority: plan.priority,
              maxAttempts: plan.maxAttempts,
              requestedBy,
            },
            { backfillId: id, partitionKey: p.key },
            keys[i],
          ),
        ]
      : [],
  )
  const created = await insertRuns(trx, toCreate)
  const runByKey = new Map(created.map((c) => [c.run.idempotencyKey ?? '', c.run]))
  const partitions: BackfillPartition[] = []
  for (const [i, p] of plan.partitions.entries()) {
    const key = keys[i] ?? ''
    const action = actions[i] ?? 'skip'
    const old = existing.get(key)
    let runId: string
    let status: RunStatus
    if (action === 'rerun' && old) {
      const run = await rerunLocked(ctx, trx, old, id, requestedBy)
      runId = run.id
      status = run.status
    } else if (action === 'skip' && old) {
      runId = old.id
      status = old.status as RunStatus
    } else {
      const run = runByKey.get(key)
      if (!run) throw notFound('run for partition', p.key)
      runId = run.id
      status = run.status
    }
    partitions.push({ key: p.key, start: p.start, end: p.end, action, runId, status })
  }
  for (let i = 0; i < partitions.length; i += CHUNK) {
    await trx
      .insertInto('backfill_partitions')
      .values(
        partitions.slice(i, i + CHUNK).map((p, j) => ({
          backfill_id: id,
          partition_key: p.key,
          idempotency_key: keys[i + j] ?? '',
          partition_start: p.start,
          partition_end: p.end,
          action: p.action,
          run_id: p.runId ?? '',
          seq: i + j,
        })),
      )
      .execute()
  }
  return { backfill: toBackfill(row), dryRun: false, partitions, actions: countActions(partitions) }
}

function countActions(partitions: readonly BackfillPartition[]): Record<PartitionAction, number> {
  const counts: Record<PartitionAction, number> = { create: 0, skip: 0, rerun: 0 }
  for (const p of partitions) counts[p.action]++
  return counts
}

/** A backfill with counts of its partitions by the status of their current run. */
export async function getBackfill(ctx: StoreContext, id: string, signal?: AbortSignal): Promise<BackfillSummary> {
  const row = await ctx.db.selectFrom('backfills').selectAll().where('id', '=', id).executeTakeFirst({ signal })
  if (!row) throw notFound('backfill', id)
  const rows = await sql<{ status: string; n: string }>`
    SELECT r.status, count(*) AS n
    FROM backfill_partitions bp JOIN runs r ON r.idempotency_key = bp.idempotency_key
    WHERE bp.backfill_id = ${id}
    GROUP BY r.status
  `.execute(ctx.db)
  const counts = Object.fromEntries(RUN_STATUSES.map((s) => [s, 0])) as Record<RunStatus, number>
  for (const r of rows.rows) if (r.status in counts) counts[r.status as RunStatus] = Number(r.n)
  const unfinished = counts.queued + counts.retrying + counts.submitting + counts.running
  const status = row.cancelled_at
    ? 'cancelled'
    : unfinished > 0
      ? 'running'
      : counts.failed > 0 || counts.cancelled > 0
        ? 'failed'
        : 'completed'
  return { backfill: toBackfill(row), counts, total: row.partition_count, status }
}

/** The backfills of a pipeline (or all), newest first. */
export async function listBackfills(
  ctx: StoreContext,
  options: { readonly pipeline?: string | undefined; readonly limit?: number | undefined } = {},
): Promise<Backfill[]> {
  const limit = options.limit ?? 50
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    throwIfInvalid('backfill query', [
      { path: '/limit', code: 'out_of_range', message: 'limit must be an integer from 1 to 500' },
    ])
  }
  let query = ctx.db.selectFrom('backfills').selectAll()
  if (options.pipeline !== undefined) query = query.where('pipeline', '=', options.pipeline)
  const rows = await query.orderBy('created_at', 'desc').orderBy('id').limit(limit).execute()
  return rows.map(toBackfill)
}

/** The partitions of a backfill in run order, each with its current run. */
export async function backfillPartitions(
  ctx: StoreContext,
  id: string,
  options: BackfillPartitionQuery = {},
): Promise<BackfillPartition[]> {
  const limit = options.limit ?? 200
  const offset = options.offset ?? 0
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000 || !Number.isInteger(offset) || offset < 0) {
    throwIfInvalid('partition query', [
      { path: '/limit', code: 'out_of_range', message: 'limit must be 1 to 1000 and offset >= 0' },
    ])
  }
  const rows = await ctx.db
    .selectFrom('backfill_partitions as bp')
    .leftJoin('runs as r', 'r.idempotency_key', 'bp.idempotency_key')
    .select([
      'bp.partition_key',
      'bp.partition_start',
      'bp.partition_end',
      'bp.action',
      'bp.run_id',
      'r.id as current_run',
      'r.status',
    ])
    .where('bp.backfill_id', '=', id)
    .orderBy('bp.seq')
    .offset(offset)
    .limit(limit)
    .execute({ signal: options.signal })
  return rows.map((r) => ({
    key: r.partition_key,
    start: toDate(r.partition_start),
    end: toDate(r.partition_end),
    action: r.action as PartitionAction,
    runId: r.current_run ?? r.run_id,
    status: (r.status as RunStatus | null) ?? null,
  }))
}

/**
 * Cancels a backfill: its queued and retrying runs are cancelled, a cancel is requested for those in progress, and
 * no more of its runs are claimed.
 */
export async function cancelBackfill(ctx: StoreContext, id: string): Promise<BackfillSummary> {
  const requested = await ctx.db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('backfills').select('id').where('id', '=', id).forUpdate().executeTakeFirst()
    if (!row) throw notFound('backfill', id)
    const now = ctx.now()
    await trx.updateTable('backfills').set({ cancelled_at: now }).where('id', '=', id).execute()
    const cancelled = await trx
      .updateTable('runs')
      .set({ status: 'cancelled', finished_at: now, updated_at: now, cancel_requested_at: now })
      .where('backfill_id', '=', id)
      .where('status', 'in', ['queued', 'retrying'])
      .returning(['id', 'attempt'])
      .execute()
    for (const r of cancelled) {
      await insertEvent(trx, r.id, r.attempt || null, 'status', { status: 'cancelled', backfillId: id }, ctx)
    }
    const running = await trx
      .updateTable('runs')
      .set({ cancel_requested_at: now, updated_at: now })
      .where('backfill_id', '=', id)
      .where('status', 'in', ['submitting', 'running'])
      .where('cancel_requested_at', 'is', null)
      .returning(['id', 'attempt'])
      .execute()
    for (const r of running) await insertEvent(trx, r.id, r.attempt, 'cancel_requested', { backfillId: id }, ctx)
    return running.map((r) => r.id)
  })
  for (const runId of requested) await notify(ctx.db, CANCEL_CHANNEL, runId)
  return getBackfill(ctx, id)
}
