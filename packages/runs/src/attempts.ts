import { StudioError } from '@sparkle-studio/core'
import { sql, type Transaction } from 'kysely'
import { retryDelayMs } from './backoff.ts'
import { ACTIVE, notify, plusMs, RUNS_CHANNEL, type StoreContext } from './context.ts'
import type { AttemptStatus, RunError, RunStatus } from './run.ts'
import { insertEvent } from './run-queries.ts'
import type { StoreSchema } from './schema.ts'

/** How an attempt ended, as the worker reports it. */
export type AttemptOutcome =
  | { readonly status: 'succeeded'; readonly appId?: string | undefined }
  | {
      readonly status: 'failed'
      readonly error: RunError
      /**
       * False for a failure that another attempt cannot fix.
       * @default true
       */
      readonly retryable?: boolean | undefined
      readonly appId?: string | undefined
    }
  | { readonly status: 'cancelled'; readonly error?: RunError | undefined; readonly appId?: string | undefined }
  | { readonly status: 'lost'; readonly error: RunError }

/** What became of the run after an attempt was finished. */
export type FinishResult =
  | { readonly recorded: true; readonly status: RunStatus; readonly retryAt?: Date }
  /** The worker no longer held the lease (another worker took the run over): nothing was written. */
  | { readonly recorded: false; readonly reason: 'lease-lost' }

/** One event to append. */
export interface NewRunEvent {
  readonly runId: string
  readonly attempt: number | null
  readonly type: string
  readonly payload: Readonly<Record<string, unknown>>
}

function leaseLost(runId: string): StudioError {
  return new StudioError(
    'CONFLICT',
    `the lease on run ${runId} was lost (it expired and another worker took the run over)`,
    { runId, reason: 'lease-lost' },
  )
}

/** Identifies the attempt a worker writes about; every write is fenced by it. */
export interface AttemptRef {
  readonly runId: string
  readonly attempt: number
  readonly workerId: string
}

/**
 * Records the submission id (and the Spark application id, once known) of an attempt, and moves the run to
 * `running`. Must complete before the worker waits on the job, so that a worker taking over can re-attach.
 *
 * @throws `CONFLICT` when the worker lost the lease.
 */
export async function recordSubmission(
  ctx: StoreContext,
  ref: AttemptRef,
  submissionId: string,
  appId?: string,
): Promise<void> {
  const now = ctx.now()
  const { rows } = await sql<{ n: number }>`
    WITH r AS (
      UPDATE runs SET status = 'running', app_id = COALESCE(${appId ?? null}::text, app_id), updated_at = ${now}
      WHERE id = ${ref.runId} AND attempt = ${ref.attempt} AND lease_owner = ${ref.workerId} AND status IN ${ACTIVE}
      RETURNING id, attempt
    ), a AS (
      UPDATE run_attempts SET submission_id = ${submissionId}, app_id = COALESCE(${appId ?? null}::text, app_id)
      WHERE run_id IN (SELECT id FROM r) AND attempt = ${ref.attempt}
      RETURNING id
    ), e AS (
      INSERT INTO run_events (run_id, attempt, type, payload, created_at)
      SELECT id, attempt, 'submitted', jsonb_strip_nulls(jsonb_build_object('submissionId', ${submissionId}::text,
        'appId', ${appId ?? null}::text)), ${now}
      FROM r
    )
    SELECT count(*)::int AS n FROM r
  `.execute(ctx.db)
  if (Number(rows[0]?.n ?? 0) === 0) throw leaseLost(ref.runId)
}

/** One attempt to finish, for {@link RunQueue.finishAttempts}. */
export interface FinishItem {
  readonly ref: AttemptRef
  readonly outcome: AttemptOutcome
}

/**
 * Finishes an attempt: succeeded and cancelled runs are final; a failed or lost attempt is retried after a backoff
 * while attempts remain (and no cancel was requested), otherwise the run fails. Fenced by the lease: a worker that
 * lost it writes nothing. Idempotent: finishing an attempt again with the same status reports the recorded result.
 */
export async function finishAttempt(
  ctx: StoreContext,
  ref: AttemptRef,
  outcome: AttemptOutcome,
): Promise<FinishResult> {
  const [result] = await finishAttempts(ctx, [{ ref, outcome }])
  if (!result) throw new StudioError('INTERNAL', 'finishing the attempt returned nothing')
  return result
}

/**
 * Finishes several attempts (see {@link finishAttempt}); the succeeded and cancelled ones in one statement, so a busy
 * worker commits once for a whole group of runs. Results are in input order.
 */
export async function finishAttempts(ctx: StoreContext, items: readonly FinishItem[]): Promise<FinishResult[]> {
  const results: (FinishResult | undefined)[] = items.map(() => undefined)
  const final: { index: number; item: FinishItem }[] = []
  let retrying = false
  for (const [index, item] of items.entries()) {
    const { outcome } = item
    if (outcome.status === 'succeeded' || outcome.status === 'cancelled') {
      final.push({ index, item })
      continue
    }
    const result = await ctx.db.transaction().execute((trx) => finishFailed(ctx, trx, item.ref, outcome))
    if (result.recorded && result.status === 'retrying') retrying = true
    results[index] = result
  }
  if (final.length > 0) {
    const written = await finishFinal(
      ctx,
      final.map((f) => f.item),
    )
    for (const [i, f] of final.entries()) results[f.index] = written[i]
  }
  if (retrying) await notify(ctx.db, RUNS_CHANNEL)
  return results.map((r) => r ?? { recorded: false, reason: 'lease-lost' })
}

async function finishFinal(ctx: StoreContext, items: readonly FinishItem[]): Promise<FinishResult[]> {
  const now = ctx.now()
  const ids = items.map((i) => i.ref.runId)
  const attempts = items.map((i) => i.ref.attempt)
  const owners = items.map((i) => i.ref.workerId)
  const statuses = items.map((i) => i.outcome.status)
  const errors = items.map((i) =>
    i.outcome.status === 'cancelled' && i.outcome.error ? JSON.stringify(i.outcome.error) : null,
  )
  const appIds = items.map((i) => ('appId' in i.outcome ? (i.outcome.appId ?? null) : null))
  const { rows } = await sql<{ id: string }>`
    WITH input AS (
      SELECT * FROM unnest(${ids}::text[], ${attempts}::int[], ${owners}::text[], ${statuses}::text[],
        ${errors}::text[], ${appIds}::text[]) AS i(id, attempt, owner, status, error, app_id)
    ), r AS (
      UPDATE runs SET status = i.status, finished_at = ${now}, updated_at = ${now}, lease_owner = NULL,
        lease_expires_at = NULL, error = i.error::jsonb, app_id = COALESCE(i.app_id, runs.app_id)
      FROM input i
      WHERE runs.id = i.id AND runs.attempt = i.attempt AND runs.lease_owner = i.owner AND runs.status IN ${ACTIVE}
      RETURNING runs.id, runs.attempt, i.status, i.error, i.app_id
    ), a AS (
      UPDATE run_attempts SET status = r.status, finished_at = ${now}, error = r.error::jsonb,
        app_id = COALESCE(r.app_id, run_attempts.app_id)
      FROM r
      WHERE run_attempts.run_id = r.id AND run_attempts.attempt = r.attempt
      RETURNING run_attempts.id
    ), e AS (
      INSERT INTO run_events (run_id, attempt, type, payload, created_at)
      SELECT r.id, r.attempt, 'status', jsonb_build_object('status', r.status, 'attempt', r.attempt), ${now}
      FROM r
    )
    SELECT id FROM r
  `.execute(ctx.db)
  const done = new Set(rows.map((r) => r.id))
  const results: FinishResult[] = []
  for (const item of items) {
    results.push(
      done.has(item.ref.runId)
        ? { recorded: true, status: item.outcome.status as RunStatus }
        : await alreadyRecorded(ctx, item.ref, item.outcome.status),
    )
  }
  return results
}

/** After a fenced write matched nothing: either this worker's earlier write did land, or the lease is gone. */
async function alreadyRecorded(ctx: StoreContext, ref: AttemptRef, status: AttemptStatus): Promise<FinishResult> {
  const row = await ctx.db
    .selectFrom('run_attempts')
    .innerJoin('runs', 'runs.id', 'run_attempts.run_id')
    .select(['run_attempts.status as attemptStatus', 'runs.status as runStatus', 'runs.attempt as runAttempt'])
    .where('run_attempts.run_id', '=', ref.runId)
    .where('run_attempts.attempt', '=', ref.attempt)
    .executeTakeFirst()
  if (row && row.attemptStatus === status && row.runAttempt === ref.attempt) {
    return { recorded: true, status: row.runStatus as RunStatus }
  }
  return { recorded: false, reason: 'lease-lost' }
}

async function finishFailed(
  ctx: StoreContext,
  trx: Transaction<StoreSchema>,
  ref: AttemptRef,
  outcome: Extract<AttemptOutcome, { status: 'failed' | 'lost' }>,
): Promise<FinishResult> {
  const run = await trx.selectFrom('runs').selectAll().where('id', '=', ref.runId).forUpdate().executeTakeFirst()
  if (
    !run ||
    run.attempt !== ref.attempt ||
    run.lease_owner !== ref.workerId ||
    (run.status !== 'submitting' && run.status !== 'running')
  ) {
    return alreadyRecorded(ctx, ref, outcome.status)
  }
  const counted = await trx
    .selectFrom('run_attempts')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('run_id', '=', ref.runId)
    .where('status', '<>', 'released')
    .executeTakeFirstOrThrow()
  const retryable = outcome.status === 'lost' || outcome.retryable !== false
  const retry = retryable && Number(counted.n) < run.max_attempts && run.cancel_requested_at === null
  const now = ctx.now()
  const error = JSON.stringify(outcome.error)
  const appId = outcome.status === 'failed' ? (outcome.appId ?? null) : null
  await trx
    .updateTable('run_attempts')
    .set({ status: outcome.status, finished_at: now, error, ...(appId ? { app_id: appId } : {}) })
    .where('run_id', '=', ref.runId)
    .where('attempt', '=', ref.attempt)
    .execute()
  let retryAt: Date | undefined
  if (retry) {
    const delay = retryDelayMs(Number(counted.n), ctx.retry, ctx.random)
    const row = await trx
      .updateTable('runs')
      .set({
        status: 'retrying',
        available_at: plusMs(now, delay),
        lease_owner: null,
        lease_expires_at: null,
        updated_at: now,
        error,
      })
      .where('id', '=', ref.runId)
      .returning('available_at')
      .executeTakeFirstOrThrow()
    retryAt = new Date(row.available_at)
    await insertEvent(
      trx,
      ref.runId,
      ref.attempt,
      'status',
      { status: 'retrying', attempt: ref.attempt, attemptStatus: outcome.status, delayMs: delay, error: outcome.error },
      ctx,
    )
    return { recorded: true, status: 'retrying', retryAt }
  }
  await trx
    .updateTable('runs')
    .set({ status: 'failed', finished_at: now, lease_owner: null, lease_expires_at: null, updated_at: now, error })
    .where('id', '=', ref.runId)
    .execute()
  await insertEvent(
    trx,
    ref.runId,
    ref.attempt,
    'status',
    { status: 'failed', attempt: ref.attempt, attemptStatus: outcome.status, error: outcome.error },
    ctx,
  )
  return { recorded: true, status: 'failed' }
}

/**
 * Hands runs back when a worker stops: a run whose attempt has a submission keeps running with its lease cleared,
 * so the next worker re-attaches at once; a run not yet submitted goes back to the queue and its attempt is marked
 * `released` (it does not count against `maxAttempts`).
 */
export async function releaseRuns(ctx: StoreContext, refs: readonly AttemptRef[]): Promise<void> {
  if (refs.length === 0) return
  await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now()
    for (const ref of refs) {
      const run = await trx
        .selectFrom('runs')
        .select(['id', 'attempt', 'lease_owner', 'status'])
        .where('id', '=', ref.runId)
        .forUpdate()
        .executeTakeFirst()
      if (!run || run.attempt !== ref.attempt || run.lease_owner !== ref.workerId) continue
      if (run.status !== 'submitting' && run.status !== 'running') continue
      const attempt = await trx
        .selectFrom('run_attempts')
        .select('submission_id')
        .where('run_id', '=', ref.runId)
        .where('attempt', '=', ref.attempt)
        .executeTakeFirst()
      if (attempt?.submission_id) {
        await trx
          .updateTable('runs')
          .set({ lease_owner: null, lease_expires_at: null, updated_at: now })
          .where('id', '=', ref.runId)
          .execute()
        await insertEvent(trx, ref.runId, ref.attempt, 'released', { submissionId: attempt.submission_id }, ctx)
      } else {
        await trx
          .updateTable('run_attempts')
          .set({ status: 'released', finished_at: now })
          .where('run_id', '=', ref.runId)
          .where('attempt', '=', ref.attempt)
          .execute()
        await trx
          .updateTable('runs')
          .set({ status: 'queued', available_at: now, lease_owner: null, lease_expires_at: null, updated_at: now })
          .where('id', '=', ref.runId)
          .execute()
        await insertEvent(trx, ref.runId, ref.attempt, 'status', { status: 'queued', released: true }, ctx)
      }
    }
  })
  await notify(ctx.db, RUNS_CHANNEL)
}

/** Appends events (log lines, runner events, progress) in one insert. */
export async function appendEvents(ctx: StoreContext, events: readonly NewRunEvent[]): Promise<void> {
  if (events.length === 0) return
  const clock = ctx.clock?.()
  await ctx.db
    .insertInto('run_events')
    .values(
      events.map((e) => ({
        run_id: e.runId,
        attempt: e.attempt,
        type: e.type,
        payload: JSON.stringify(e.payload),
        ...(clock ? { created_at: clock } : {}),
      })),
    )
    .execute()
}
