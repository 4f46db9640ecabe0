import type { Kysely } from 'kysely'
import type { BackfillRequest } from './backfill-plan.ts'
import {
  type Backfill,
  type BackfillCreation,
  type BackfillPartition,
  type BackfillPartitionQuery,
  type BackfillSummary,
  backfillPartitions,
  cancelBackfill,
  createBackfill,
  getBackfill,
  listBackfills,
} from './backfills.ts'
import { bindContext, checkSignal, contextOf, notFound, type RunStoreOptions } from './context.ts'
import { type EnqueueRequest, type EnqueueResult, enqueueRuns } from './enqueue.ts'
import type { Run, RunAttempt, RunEvent } from './run.ts'
import {
  cancelRun,
  type EventQuery,
  findRun,
  listAttempts,
  listEvents,
  listRuns,
  type RunFilter,
  type RunPage,
  retryRun,
} from './run-queries.ts'
import { listScheduleStates, type ScheduleState } from './schedule-state.ts'
import type { StoreSchema } from './schema.ts'
import { type AttemptUsage, type DailyUsage, dailyUsage, runUsage } from './usage.ts'

export type { RunStoreOptions } from './context.ts'

/**
 * The run store as a host sees it: enqueue, read, list, cancel and retry runs, read their attempts and events, and
 * create, read and cancel backfills, on PGlite or PostgreSQL. What workers speak (claims, leases, outcomes) is a
 * separate type, {@link RunQueue}, over the same database.
 *
 * @example
 * ```ts
 * import { migrateToLatest, openDatabase, RunStore } from '@sparkle-studio/runs'
 *
 * const database = await openDatabase({ dataDir: '.data/db' })
 * await migrateToLatest(database.db)
 * const store = new RunStore({ db: database.db })
 * const { run } = await store.enqueue({ pipeline: 'orders', params: { ds: '2026-11-01' }, idempotencyKey: 'orders:2026-11-01' })
 * console.log(run.status) // 'queued'
 * ```
 */
export class RunStore {
  constructor(options: RunStoreOptions) {
    bindContext(this, options)
  }

  /** The Kysely instance the store works on. */
  get db(): Kysely<StoreSchema> {
    return contextOf(this).db
  }

  /**
   * Enqueues a run. With an `idempotencyKey` that a run already holds, returns that run (`created: false`).
   *
   * @throws {@link @sparkle-studio/core!index.ValidationError | ValidationError} for an invalid request (every problem listed).
   */
  async enqueue(
    request: EnqueueRequest,
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<EnqueueResult> {
    checkSignal(options.signal)
    const [result] = await enqueueRuns(contextOf(this), [request])
    if (!result) throw new TypeError('enqueue returned nothing')
    return result
  }

  /** Enqueues several runs in one transaction (at most {@link RUN_LIMITS}.maxBatch); results in request order. */
  async enqueueMany(
    requests: readonly EnqueueRequest[],
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<EnqueueResult[]> {
    checkSignal(options.signal)
    return enqueueRuns(contextOf(this), requests)
  }

  /**
   * Reads a run.
   *
   * @throws `NOT_FOUND` when there is no such run.
   */
  async get(id: string, options: { readonly signal?: AbortSignal | undefined } = {}): Promise<Run> {
    const run = await findRun(contextOf(this), id, options.signal)
    if (!run) throw notFound('run', id)
    return run
  }

  /** Lists runs, newest first by default, with filters and keyset pagination. */
  list(filter: RunFilter = {}): Promise<RunPage> {
    return listRuns(contextOf(this), filter)
  }

  /** The attempts of a run, first to last. */
  attempts(runId: string, options: { readonly signal?: AbortSignal | undefined } = {}): Promise<RunAttempt[]> {
    return listAttempts(contextOf(this), runId, options.signal)
  }

  /** The events of a run, oldest first; pass the last id as `after` to read on. */
  events(runId: string, options: EventQuery = {}): Promise<RunEvent[]> {
    return listEvents(contextOf(this), runId, options)
  }

  /** The usage each attempt of a run reported (Spark's counts), first attempt first. */
  usage(runId: string, options: { readonly signal?: AbortSignal | undefined } = {}): Promise<AttemptUsage[]> {
    return runUsage(contextOf(this), runId, options.signal)
  }

  /**
   * A pipeline's usage per UTC day over `[from, to)`, oldest first; days without usage are left out.
   */
  dailyUsage(
    pipeline: string,
    range: { readonly from: Date; readonly to: Date },
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<DailyUsage[]> {
    return dailyUsage(contextOf(this), pipeline, range.from, range.to, options.signal)
  }

  /**
   * Cancels a run: a queued or retrying run at once; a run in progress gets a cancel request that its worker carries
   * out (it cancels the Spark job). A finished run is returned unchanged.
   *
   * @throws `NOT_FOUND` when there is no such run.
   */
  async cancel(
    id: string,
    options: {
      readonly reason?: string | undefined
      /** Who cancels (the host's principal id), kept with the run. */
      readonly by?: string | undefined
      readonly signal?: AbortSignal | undefined
    } = {},
  ): Promise<Run> {
    checkSignal(options.signal)
    return cancelRun(contextOf(this), id, options.reason, options.by)
  }

  /**
   * Retries a finished run (failed, cancelled or succeeded) as a new queued run linked to it by `retryOf`; the new
   * run takes over the idempotency key, backfill and partition.
   *
   * @throws `CONFLICT` when the run is still in progress or was already retried; `NOT_FOUND` when it does not exist.
   */
  async retry(
    id: string,
    options: {
      /** Who retries (the host's principal id): the new run's `requestedBy`. */
      readonly by?: string | undefined
      readonly signal?: AbortSignal | undefined
    } = {},
  ): Promise<Run> {
    checkSignal(options.signal)
    return retryRun(contextOf(this), id, options.by)
  }

  /**
   * Creates a backfill (or, with `dryRun`, lists what it would do): one run per partition, all in one transaction.
   *
   * @throws {@link @sparkle-studio/core!index.ValidationError | ValidationError} for an invalid request; `LIMIT_EXCEEDED`
   * above the request's `maxPartitions` (default {@link BACKFILL_LIMITS}.maxPartitions) partitions, also for a dry
   * run. Nothing is created when it throws.
   */
  async createBackfill(
    request: BackfillRequest,
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<BackfillCreation> {
    checkSignal(options.signal)
    return createBackfill(contextOf(this), request)
  }

  /**
   * A backfill with its partitions counted by the status of their current run.
   *
   * @throws `NOT_FOUND` when there is no such backfill.
   */
  getBackfill(id: string, options: { readonly signal?: AbortSignal | undefined } = {}): Promise<BackfillSummary> {
    return getBackfill(contextOf(this), id, options.signal)
  }

  /** Backfills, newest first, optionally of one pipeline. */
  listBackfills(
    options: { readonly pipeline?: string | undefined; readonly limit?: number | undefined } = {},
  ): Promise<Backfill[]> {
    return listBackfills(contextOf(this), options)
  }

  /** The partitions of a backfill in run order, each with its current run and status. */
  backfillPartitions(id: string, options: BackfillPartitionQuery = {}): Promise<BackfillPartition[]> {
    return backfillPartitions(contextOf(this), id, options)
  }

  /**
   * Cancels a backfill: queued runs are cancelled, running ones get a cancel request, nothing more is claimed.
   *
   * @throws `NOT_FOUND` when there is no such backfill.
   */
  cancelBackfill(id: string): Promise<BackfillSummary> {
    return cancelBackfill(contextOf(this), id)
  }

  /**
   * How far the scheduler evaluated each schedule it has seen (every one, or those of `pipelines`), by pipeline name,
   * with the last slot it enqueued a run for and that run's status.
   */
  async scheduleStates(
    options: { readonly pipelines?: readonly string[] | undefined; readonly signal?: AbortSignal | undefined } = {},
  ): Promise<ScheduleState[]> {
    checkSignal(options.signal)
    return listScheduleStates(contextOf(this), options.pipelines)
  }
}
