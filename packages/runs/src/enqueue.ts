import { isValidPipelineName, StudioError, type ValidationIssue } from '@sparkle-studio/core'
import type { Insertable, Kysely, Selectable, Transaction } from 'kysely'
import { notify, RUNS_CHANNEL, type StoreContext, throwIfInvalid } from './context.ts'
import { type Run, toRun } from './run.ts'
import type { RunsTable, StoreSchema } from './schema.ts'

/** Limits on what one run may carry. */
export const RUN_LIMITS = Object.freeze({
  /** Serialized size of `params`, in bytes. */
  maxParamsBytes: 64 * 1024,
  /** Length of an idempotency key. */
  maxIdempotencyKeyLength: 512,
  /** Length of a revision. */
  maxRevisionLength: 256,
  /** `priority` lies in [-maxPriority, maxPriority]. */
  maxPriority: 1_000_000,
  /** Most attempts a run may be given. */
  maxAttempts: 100,
  /** Most runs one `enqueueMany` call may create. */
  maxBatch: 10_000,
})

/** A request to run a pipeline. */
export interface EnqueueRequest {
  /** The pipeline's name. */
  readonly pipeline: string
  /** The git revision to run; absent or `null` lets the host resolve the current one when the run is claimed. */
  readonly revision?: string | null | undefined
  /**
   * Run parameters, a JSON object (at most {@link RUN_LIMITS}.maxParamsBytes serialized).
   * @default {}
   */
  readonly params?: Readonly<Record<string, unknown>> | undefined
  /** Makes the request idempotent: while a run holds this key, enqueueing with it again returns that run. */
  readonly idempotencyKey?: string | undefined
  /**
   * Higher runs are claimed first.
   * @default 0
   */
  readonly priority?: number | undefined
  /**
   * Attempts before the run fails for good (retries back off exponentially).
   * @default 1
   */
  readonly maxAttempts?: number | undefined
  /** Do not claim the run before this moment. */
  readonly runAfter?: Date | undefined
  /** Who queued the run (the host's principal id), kept with the run. */
  readonly requestedBy?: string | undefined
}

/** The run an enqueue request resolved to. */
export interface EnqueueResult {
  readonly run: Run
  /** False when the idempotency key returned an existing run. */
  readonly created: boolean
}

/** What the store itself attaches to runs it creates (backfills, schedules, retries). */
export interface RunOrigin {
  readonly backfillId?: string | undefined
  readonly partitionKey?: string | undefined
  readonly scheduleSlot?: Date | undefined
  readonly retryOf?: string | undefined
}

/** Checks an enqueue request and reports every problem at once. */
export function validateEnqueueRequest(request: EnqueueRequest, path = ''): ValidationIssue[] {
  const issues: ValidationIssue[] = []
  if (!isValidPipelineName(request.pipeline)) {
    issues.push({
      path: `${path}/pipeline`,
      code: 'invalid_name',
      message: 'pipeline must be a lower-case slug (letters, digits, - and _), at most 64 characters',
    })
  }
  if (request.revision !== undefined && request.revision !== null) {
    if (typeof request.revision !== 'string' || request.revision.length === 0) {
      issues.push({ path: `${path}/revision`, code: 'invalid_type', message: 'revision must be a non-empty string' })
    } else if (request.revision.length > RUN_LIMITS.maxRevisionLength) {
      issues.push({
        path: `${path}/revision`,
        code: 'too_long',
        message: `revision is longer than ${RUN_LIMITS.maxRevisionLength} characters`,
      })
    }
  }
  const params = request.params ?? {}
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    issues.push({ path: `${path}/params`, code: 'invalid_type', message: 'params must be a JSON object' })
  } else {
    let text: string | undefined
    try {
      text = JSON.stringify(params)
    } catch {
      issues.push({ path: `${path}/params`, code: 'invalid_type', message: 'params must be JSON-serializable' })
    }
    if (text !== undefined && Buffer.byteLength(text) > RUN_LIMITS.maxParamsBytes) {
      issues.push({
        path: `${path}/params`,
        code: 'too_large',
        message: `params take ${Buffer.byteLength(text)} bytes as JSON; the limit is ${RUN_LIMITS.maxParamsBytes}`,
      })
    }
  }
  const key = request.idempotencyKey
  if (
    key !== undefined &&
    (typeof key !== 'string' || key.length === 0 || key.length > RUN_LIMITS.maxIdempotencyKeyLength)
  ) {
    issues.push({
      path: `${path}/idempotencyKey`,
      code: 'out_of_range',
      message: `idempotencyKey must be a string of 1 to ${RUN_LIMITS.maxIdempotencyKeyLength} characters`,
    })
  }
  const priority = request.priority ?? 0
  if (!Number.isInteger(priority) || Math.abs(priority) > RUN_LIMITS.maxPriority) {
    issues.push({
      path: `${path}/priority`,
      code: 'out_of_range',
      message: `priority must be an integer from -${RUN_LIMITS.maxPriority} to ${RUN_LIMITS.maxPriority}`,
    })
  }
  const maxAttempts = request.maxAttempts ?? 1
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > RUN_LIMITS.maxAttempts) {
    issues.push({
      path: `${path}/maxAttempts`,
      code: 'out_of_range',
      message: `maxAttempts must be an integer from 1 to ${RUN_LIMITS.maxAttempts}`,
    })
  }
  if (
    request.runAfter !== undefined &&
    !(request.runAfter instanceof Date && Number.isFinite(request.runAfter.getTime()))
  ) {
    issues.push({ path: `${path}/runAfter`, code: 'invalid_date', message: 'runAfter must be a valid Date' })
  }
  return issues
}

/** The `runs` row for a new queued run. */
export function newRunRow(
  ctx: StoreContext,
  request: EnqueueRequest,
  origin: RunOrigin = {},
  idempotencyKey: string | null = request.idempotencyKey ?? null,
): Insertable<RunsTable> {
  const row: Insertable<RunsTable> = {
    id: ctx.randomId(),
    pipeline: request.pipeline,
    revision: request.revision ?? null,
    params: JSON.stringify(request.params ?? {}),
    status: 'queued',
    idempotency_key: idempotencyKey,
    priority: request.priority ?? 0,
    attempt: 0,
    max_attempts: request.maxAttempts ?? 1,
    app_id: null,
    error: null,
    backfill_id: origin.backfillId ?? null,
    partition_key: origin.partitionKey ?? null,
    schedule_slot: origin.scheduleSlot ?? null,
    retry_of: origin.retryOf ?? null,
    requested_by: request.requestedBy ?? null,
  }
  const clock = ctx.clock?.()
  if (clock) {
    row.created_at = clock
    row.updated_at = clock
  }
  if (request.runAfter) row.available_at = request.runAfter
  else if (clock) row.available_at = clock
  return row
}

const INSERT_CHUNK = 500

/**
 * Inserts runs, skipping those whose idempotency key is taken, and returns for each row the run that holds its key
 * (the new one, or the existing one). Runs inside `db`, which may be a transaction.
 */
export async function insertRuns(
  db: Kysely<StoreSchema> | Transaction<StoreSchema>,
  rows: readonly Insertable<RunsTable>[],
): Promise<EnqueueResult[]> {
  const results: EnqueueResult[] = []
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    const chunk = rows.slice(i, i + INSERT_CHUNK)
    const inserted = await db
      .insertInto('runs')
      .values(chunk)
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .returningAll()
      .execute()
    const byId = new Map(inserted.map((r) => [r.id, r]))
    const missingKeys = chunk
      .filter((r) => !byId.has(r.id) && r.idempotency_key)
      .map((r) => r.idempotency_key as string)
    const existing = new Map<string, Selectable<RunsTable>>()
    if (missingKeys.length > 0) {
      const found = await db.selectFrom('runs').selectAll().where('idempotency_key', 'in', missingKeys).execute()
      for (const r of found) if (r.idempotency_key) existing.set(r.idempotency_key, r)
    }
    for (const row of chunk) {
      const mine = byId.get(row.id)
      if (mine) {
        results.push({ run: toRun(mine), created: true })
        continue
      }
      const other = row.idempotency_key ? existing.get(row.idempotency_key) : undefined
      if (!other) {
        // The key's holder went away between the insert and the read (it was retried and moved): a rare race.
        throw new StudioError(
          'CONFLICT',
          `idempotency key ${row.idempotency_key} changed hands while enqueueing; retry`,
        )
      }
      results.push({ run: toRun(other), created: false })
    }
  }
  return results
}

/** Enqueues runs (one insert per 500), then wakes the workers. */
export async function enqueueRuns(
  ctx: StoreContext,
  requests: readonly EnqueueRequest[],
  origin: RunOrigin = {},
): Promise<EnqueueResult[]> {
  if (requests.length > RUN_LIMITS.maxBatch) {
    throw new StudioError(
      'LIMIT_EXCEEDED',
      `${requests.length} runs in one request; the limit is ${RUN_LIMITS.maxBatch}. Fix: split the request`,
      { limit: RUN_LIMITS.maxBatch, requested: requests.length },
    )
  }
  const issues = requests.flatMap((r, i) => validateEnqueueRequest(r, requests.length === 1 ? '' : `/${i}`))
  throwIfInvalid('run request', issues)
  const rows = requests.map((r) => newRunRow(ctx, r, origin))
  const results =
    rows.length > INSERT_CHUNK
      ? await ctx.db.transaction().execute((trx) => insertRuns(trx, rows))
      : await insertRuns(ctx.db, rows)
  if (results.some((r) => r.created)) await notify(ctx.db, RUNS_CHANNEL)
  return results
}
