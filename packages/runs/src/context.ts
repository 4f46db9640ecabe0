import { randomUUID } from 'node:crypto'
import { StudioError, ValidationError, type ValidationIssue } from '@sparkle-studio/core'
import { type Kysely, type RawBuilder, sql } from 'kysely'
import { type ResolvedRetryPolicy, type RetryPolicy, resolveRetryPolicy } from './backoff.ts'
import type { StoreSchema } from './schema.ts'

/** The notification channel that wakes workers when runs become claimable. */
export const RUNS_CHANNEL = 'sparkle_runs'
/** The notification channel that tells workers a cancel was requested (payload: the run id). */
export const CANCEL_CHANNEL = 'sparkle_run_cancel'

/** The statuses of a run in progress, as an SQL list. */
export const ACTIVE = sql.raw(`('submitting', 'running')`)

/** What the store's query modules share: the database, the clock, ids, randomness and the retry policy. */
export interface StoreContext {
  readonly db: Kysely<StoreSchema>
  /** The current time as an SQL expression: the database's `now()`, or the injected clock. */
  readonly now: () => RawBuilder<Date>
  /** The injected clock in JavaScript, when there is one. */
  readonly clock: (() => Date) | undefined
  readonly randomId: () => string
  readonly random: () => number
  readonly retry: ResolvedRetryPolicy
  /** Most runs of one pipeline in progress at once across all workers (`Infinity`: no limit). */
  readonly maxRunsPerPipeline: number
}

/** An SQL expression for `at` as `timestamptz`. */
export function timestamp(at: Date): RawBuilder<Date> {
  return sql<Date>`${at.toISOString()}::timestamptz`
}

/** An SQL expression for `base + ms` milliseconds. */
export function plusMs(base: RawBuilder<Date>, ms: number): RawBuilder<Date> {
  return sql<Date>`(${base} + (${Math.round(ms)}::bigint * interval '1 millisecond'))`
}

/** Sends a notification (best effort: the workers' polling covers a lost one). */
export async function notify(db: Kysely<StoreSchema>, channel: string, payload = ''): Promise<void> {
  await sql`SELECT pg_notify(${channel}, ${payload})`.execute(db).catch(() => {})
}

/** Throws a {@link ValidationError} listing `issues` when there are any. */
export function throwIfInvalid(what: string, issues: readonly ValidationIssue[]): void {
  if (issues.length === 0) return
  const first = issues[0]
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''
  throw new ValidationError(`invalid ${what}: ${first?.path || '/'} ${first?.message}${more}`, issues)
}

/** A `NOT_FOUND` error for a missing run, backfill or the like. */
export function notFound(kind: string, id: string): StudioError {
  return new StudioError('NOT_FOUND', `${kind} ${id} does not exist`, { [kind]: id })
}

/** Throws the signal's reason when it is aborted. */
export function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new StudioError('JOB_CANCELLED', 'aborted')
}

/** Options of {@link RunStore} and {@link RunQueue} (give both the same options). */
export interface RunStoreOptions {
  /** The store's database (from `openDatabase`), migrated with `migrateToLatest`. */
  readonly db: Kysely<StoreSchema>
  /**
   * Backoff between the attempts of a run.
   * @default `DEFAULT_RETRY_POLICY`
   */
  readonly retry?: RetryPolicy | undefined
  /**
   * The clock. Leases, due times and timestamps use the database server's clock when absent, so that workers on
   * several machines agree; inject one in tests.
   */
  readonly now?: (() => Date) | undefined
  /**
   * Ids of runs and backfills.
   * @default crypto.randomUUID
   */
  readonly randomId?: (() => string) | undefined
  /**
   * Source of randomness for backoff jitter, in [0, 1).
   * @default Math.random
   */
  readonly random?: (() => number) | undefined
  /**
   * Most runs of one pipeline in progress (`submitting` or `running`) at once, across every worker that claims from
   * the database: a claim never hands out a run of a pipeline that already has this many in progress. An operator's
   * limit, enforced in the claim's transaction; give every RunQueue of a deployment the same value. Absent: no limit
   * (each worker's `perPipelineConcurrency` and each backfill's concurrency still apply).
   * @default undefined (unlimited)
   */
  readonly maxRunsPerPipeline?: number | undefined
}

const contexts = new WeakMap<object, StoreContext>()

/** Builds the context of a RunStore or RunQueue from its options and keeps it for {@link contextOf}. */
export function bindContext(owner: object, options: RunStoreOptions): void {
  const clock = options.now
  const max = options.maxRunsPerPipeline
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    throwIfInvalid('run store options', [
      {
        path: '/maxRunsPerPipeline',
        code: 'out_of_range',
        message: `maxRunsPerPipeline must be a positive integer, not ${String(max)}; leave it out for no limit`,
      },
    ])
  }
  contexts.set(owner, {
    db: options.db,
    now: clock ? () => timestamp(clock()) : () => sql<Date>`now()`,
    clock,
    randomId: options.randomId ?? randomUUID,
    random: options.random ?? Math.random,
    retry: resolveRetryPolicy(options.retry ?? {}),
    maxRunsPerPipeline: max ?? Number.POSITIVE_INFINITY,
  })
}

/** The context of a RunStore or RunQueue, for this package's modules. */
export function contextOf(owner: object): StoreContext {
  const ctx = contexts.get(owner)
  if (!ctx) throw new TypeError('not a RunStore or RunQueue')
  return ctx
}
