import { StudioError, type ValidationIssue } from '@sparkle-studio/core'
import { type Selectable, sql, type Transaction } from 'kysely'
import { CANCEL_CHANNEL, notFound, notify, RUNS_CHANNEL, type StoreContext, throwIfInvalid } from './context.ts'
import { insertRuns, newRunRow } from './enqueue.ts'
import {
  isFinalRunStatus,
  RUN_STATUSES,
  type Run,
  type RunAttempt,
  type RunEvent,
  type RunStatus,
  toAttempt,
  toEvent,
  toRun,
} from './run.ts'
import type { RunsTable, StoreSchema } from './schema.ts'

/** Filters and paging of {@link RunStore.list}. */
export interface RunFilter {
  /** Only runs of this pipeline (or these pipelines). */
  readonly pipeline?: string | readonly string[] | undefined
  /** Only runs in this status (or these statuses). */
  readonly status?: RunStatus | readonly RunStatus[] | undefined
  /** Only runs created by this backfill (and retries of them). */
  readonly backfillId?: string | undefined
  /** Only runs created at or after this moment. */
  readonly createdAfter?: Date | undefined
  /** Only runs created before this moment. */
  readonly createdBefore?: Date | undefined
  /**
   * Runs per page, at most 500.
   * @default 50
   */
  readonly limit?: number | undefined
  /** `nextCursor` of the previous page. */
  readonly cursor?: string | undefined
  /**
   * `newest` first, or `oldest` first.
   * @default 'newest'
   */
  readonly order?: 'newest' | 'oldest' | undefined
  readonly signal?: AbortSignal | undefined
}

/** One page of runs. */
export interface RunPage {
  readonly runs: readonly Run[]
  /** Pass as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string
}

/** Options of {@link RunStore.events}. */
export interface EventQuery {
  /** Only events after this event id (the last one you read). */
  readonly after?: string | undefined
  /**
   * Events to return, at most 1000.
   * @default 200
   */
  readonly limit?: number | undefined
  /** Only events of these types. */
  readonly types?: readonly string[] | undefined
  readonly signal?: AbortSignal | undefined
}

const MAX_PAGE = 500
const MAX_EVENTS = 1000

function asArray<T>(value: T | readonly T[] | undefined): readonly T[] | undefined {
  if (value === undefined) return undefined
  return Array.isArray(value) ? (value as readonly T[]) : [value as T]
}

function encodeCursor(seq: string, order: 'newest' | 'oldest'): string {
  return Buffer.from(JSON.stringify({ s: seq, o: order })).toString('base64url')
}

function decodeCursor(cursor: string, order: 'newest' | 'oldest'): string {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { s?: unknown; o?: unknown }
    if (typeof value.s === 'string' && /^\d{1,19}$/.test(value.s) && value.o === order) return value.s
  } catch {
    // Fall through to the validation error.
  }
  throwIfInvalid('run filter', [
    { path: '/cursor', code: 'invalid_cursor', message: 'cursor is not a nextCursor of this listing and order' },
  ])
  return ''
}

/** Reads one run. */
export async function findRun(ctx: StoreContext, id: string, signal?: AbortSignal): Promise<Run | undefined> {
  const row = await ctx.db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst({ signal })
  return row ? toRun(row) : undefined
}

/** Lists runs with filters and keyset pagination (by insertion order). */
export async function listRuns(ctx: StoreContext, filter: RunFilter = {}): Promise<RunPage> {
  const order = filter.order ?? 'newest'
  const limit = filter.limit ?? 50
  const issues: ValidationIssue[] = []
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    issues.push({ path: '/limit', code: 'out_of_range', message: `limit must be an integer from 1 to ${MAX_PAGE}` })
  }
  const statuses = asArray(filter.status)
  for (const s of statuses ?? []) {
    if (!RUN_STATUSES.includes(s)) {
      issues.push({ path: '/status', code: 'invalid_enum', message: `unknown status ${String(s)}` })
    }
  }
  if (order !== 'newest' && order !== 'oldest') {
    issues.push({ path: '/order', code: 'invalid_enum', message: 'order must be newest or oldest' })
  }
  throwIfInvalid('run filter', issues)
  let query = ctx.db.selectFrom('runs').selectAll()
  const pipelines = asArray(filter.pipeline)
  if (pipelines)
    query = pipelines.length === 0 ? query.where(sql<boolean>`false`) : query.where('pipeline', 'in', pipelines)
  if (statuses) query = statuses.length === 0 ? query.where(sql<boolean>`false`) : query.where('status', 'in', statuses)
  if (filter.backfillId !== undefined) query = query.where('backfill_id', '=', filter.backfillId)
  if (filter.createdAfter) query = query.where('created_at', '>=', filter.createdAfter)
  if (filter.createdBefore) query = query.where('created_at', '<', filter.createdBefore)
  if (filter.cursor !== undefined) {
    const seq = decodeCursor(filter.cursor, order)
    query = query.where(sql<boolean>`seq ${sql.raw(order === 'newest' ? '<' : '>')} ${seq}::bigint`)
  }
  const rows = await query
    .orderBy('seq', order === 'newest' ? 'desc' : 'asc')
    .limit(limit + 1)
    .execute({ signal: filter.signal })
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  const runs = page.map(toRun)
  return rows.length > limit && last ? { runs, nextCursor: encodeCursor(String(last.seq), order) } : { runs }
}

/** The attempts of a run, first to last. */
export async function listAttempts(ctx: StoreContext, runId: string, signal?: AbortSignal): Promise<RunAttempt[]> {
  const rows = await ctx.db
    .selectFrom('run_attempts')
    .selectAll()
    .where('run_id', '=', runId)
    .orderBy('attempt')
    .execute({ signal })
  return rows.map(toAttempt)
}

/** The events of a run, oldest first, after an event id. */
export async function listEvents(ctx: StoreContext, runId: string, options: EventQuery = {}): Promise<RunEvent[]> {
  const limit = options.limit ?? 200
  const issues: ValidationIssue[] = []
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENTS) {
    issues.push({ path: '/limit', code: 'out_of_range', message: `limit must be an integer from 1 to ${MAX_EVENTS}` })
  }
  if (options.after !== undefined && !/^\d{1,19}$/.test(options.after)) {
    issues.push({ path: '/after', code: 'invalid_cursor', message: 'after must be an event id' })
  }
  throwIfInvalid('event query', issues)
  let query = ctx.db.selectFrom('run_events').selectAll().where('run_id', '=', runId)
  if (options.after !== undefined) query = query.where(sql<boolean>`id > ${options.after}::bigint`)
  if (options.types) {
    query = options.types.length === 0 ? query.where(sql<boolean>`false`) : query.where('type', 'in', options.types)
  }
  const rows = await query.orderBy('id').limit(limit).execute({ signal: options.signal })
  return rows.map(toEvent)
}

async function lockRun(trx: Transaction<StoreSchema>, id: string): Promise<Selectable<RunsTable>> {
  const row = await trx.selectFrom('runs').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
  if (!row) throw notFound('run', id)
  return row
}

/**
 * Cancels a run: a queued or retrying run is cancelled at once; for a run in progress a cancel is requested, which
 * its worker carries out (it cancels the Spark job). A finished run is returned unchanged.
 */
export async function cancelRun(ctx: StoreContext, id: string, reason?: string, by?: string): Promise<Run> {
  const { run, requested } = await ctx.db.transaction().execute(async (trx) => {
    const row = await lockRun(trx, id)
    const status = row.status as RunStatus
    const now = ctx.now()
    if (status === 'queued' || status === 'retrying') {
      const updated = await trx
        .updateTable('runs')
        .set({
          status: 'cancelled',
          finished_at: now,
          updated_at: now,
          cancel_requested_at: now,
          cancelled_by: by ?? null,
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow()
      await insertEvent(
        trx,
        id,
        row.attempt || null,
        'status',
        { status: 'cancelled', ...(reason ? { reason } : {}) },
        ctx,
      )
      return { run: toRun(updated), requested: false }
    }
    if ((status === 'submitting' || status === 'running') && row.cancel_requested_at === null) {
      const updated = await trx
        .updateTable('runs')
        .set({ cancel_requested_at: now, updated_at: now, cancelled_by: by ?? null })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow()
      await insertEvent(trx, id, row.attempt, 'cancel_requested', reason ? { reason } : {}, ctx)
      return { run: toRun(updated), requested: true }
    }
    return { run: toRun(row), requested: false }
  })
  if (requested) await notify(ctx.db, CANCEL_CHANNEL, id)
  return run
}

/** Inserts one run event inside a transaction. */
export async function insertEvent(
  trx: Transaction<StoreSchema>,
  runId: string,
  attempt: number | null,
  type: string,
  payload: Record<string, unknown>,
  ctx: StoreContext,
): Promise<void> {
  const clock = ctx.clock?.()
  await trx
    .insertInto('run_events')
    .values({ run_id: runId, attempt, type, payload: JSON.stringify(payload), ...(clock ? { created_at: clock } : {}) })
    .execute()
}

/**
 * Creates a new run that repeats a finished one (`retryOf` links it) and moves the idempotency key to it, inside a
 * transaction that already holds the old run's row lock.
 */
export async function rerunLocked(
  ctx: StoreContext,
  trx: Transaction<StoreSchema>,
  old: Selectable<RunsTable>,
  backfillId: string | null = old.backfill_id,
  requestedBy?: string,
): Promise<Run> {
  if (old.idempotency_key !== null) {
    await trx.updateTable('runs').set({ idempotency_key: null }).where('id', '=', old.id).execute()
  }
  const row = newRunRow(
    ctx,
    {
      pipeline: old.pipeline,
      revision: old.revision,
      params: old.params,
      priority: old.priority,
      maxAttempts: old.max_attempts,
      requestedBy,
    },
    {
      backfillId: backfillId ?? undefined,
      partitionKey: old.partition_key ?? undefined,
      scheduleSlot: old.schedule_slot ? new Date(old.schedule_slot) : undefined,
      retryOf: old.id,
    },
    old.idempotency_key,
  )
  const [result] = await insertRuns(trx, [row])
  if (!result) throw new StudioError('INTERNAL', 'the retry run was not created')
  await insertEvent(trx, old.id, old.attempt || null, 'retried', { runId: result.run.id }, ctx)
  await insertEvent(trx, result.run.id, null, 'status', { status: 'queued', retryOf: old.id }, ctx)
  return result.run
}

/**
 * Retries a finished run as a new run linked to it (`retryOf`), which takes over its idempotency key. A run can be
 * retried once; retry the newest run of the chain.
 *
 * @throws `CONFLICT` when the run is not finished or was already retried.
 */
export async function retryRun(ctx: StoreContext, id: string, by?: string): Promise<Run> {
  const run = await ctx.db.transaction().execute(async (trx) => {
    const old = await lockRun(trx, id)
    if (!isFinalRunStatus(old.status as RunStatus)) {
      throw new StudioError(
        'CONFLICT',
        `run ${id} is ${old.status}; only a finished run can be retried. Fix: wait for it, or cancel it first`,
        { runId: id, status: old.status },
      )
    }
    const retried = await trx.selectFrom('runs').select('id').where('retry_of', '=', id).executeTakeFirst()
    if (retried) {
      throw new StudioError('CONFLICT', `run ${id} was already retried by run ${retried.id}; retry that one instead`, {
        runId: id,
        retriedBy: retried.id,
      })
    }
    return rerunLocked(ctx, trx, old, old.backfill_id, by)
  })
  await notify(ctx.db, RUNS_CHANNEL)
  return run
}
