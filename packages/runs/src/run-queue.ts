import type { Kysely } from 'kysely'
import {
  type AttemptOutcome,
  type AttemptRef,
  appendEvents,
  type FinishItem,
  type FinishResult,
  finishAttempt,
  finishAttempts,
  type NewRunEvent,
  recordSubmission,
  releaseRuns,
} from './attempts.ts'
import { type Claim, type ClaimRequest, claimRuns, type HeartbeatResult, renewLeases } from './claim.ts'
import { bindContext, contextOf, type RunStoreOptions } from './context.ts'
import { acquireLease, releaseLease } from './leases.ts'
import type { StoreSchema } from './schema.ts'
import { coreSecondsSince, type RunUsage, recordUsage } from './usage.ts'

/**
 * The run store as a worker speaks to it: claim runs (SKIP LOCKED with leases), renew leases, record submissions
 * and outcomes, hand runs back, append events, and hold named leases. Hosts use {@link RunStore}; the
 * {@link Worker} and {@link Scheduler} take a `RunQueue`.
 *
 * @example
 * ```ts
 * import { migrateToLatest, openDatabase, RunQueue } from '@sparkle-studio/runs'
 *
 * const database = await openDatabase({ dataDir: '.data/db' })
 * await migrateToLatest(database.db)
 * const queue = new RunQueue({ db: database.db })
 * const claims = await queue.claim({ workerId: 'w1', limit: 1, leaseMs: 30_000 })
 * ```
 */
export class RunQueue {
  constructor(options: RunStoreOptions) {
    bindContext(this, options)
  }

  /** The Kysely instance the queue works on. */
  get db(): Kysely<StoreSchema> {
    return contextOf(this).db
  }

  /** Claims runs for a worker (see {@link ClaimRequest}). */
  claim(request: ClaimRequest): Promise<Claim[]> {
    return claimRuns(contextOf(this), request)
  }

  /** Records (or replaces) what an attempt used on the cluster. */
  recordUsage(ref: AttemptRef, usage: RunUsage): Promise<void> {
    return recordUsage(contextOf(this), ref, usage)
  }

  /** Core-seconds a pipeline's attempts reported since `since` (for budgets). */
  coreSecondsSince(pipeline: string, since: Date): Promise<number> {
    return coreSecondsSince(contextOf(this), pipeline, since)
  }

  /** The store's clock (the injected one, else the machine's). */
  now(): Date {
    return contextOf(this).clock?.() ?? new Date()
  }

  /** Renews a worker's leases; runs missing from the result were lost to another worker. */
  heartbeat(workerId: string, runIds: readonly string[], leaseMs: number): Promise<HeartbeatResult> {
    return renewLeases(contextOf(this), workerId, runIds, leaseMs)
  }

  /**
   * Records an attempt's submission id (and Spark application id) and marks the run `running`.
   *
   * @throws `CONFLICT` when the worker lost the lease.
   */
  recordSubmission(ref: AttemptRef, submissionId: string, appId?: string): Promise<void> {
    return recordSubmission(contextOf(this), ref, submissionId, appId)
  }

  /** Records how an attempt ended; retries with backoff while attempts remain. Fenced by the lease. */
  finishAttempt(ref: AttemptRef, outcome: AttemptOutcome): Promise<FinishResult> {
    return finishAttempt(contextOf(this), ref, outcome)
  }

  /** Records how several attempts ended, the final ones in one statement; results in input order. */
  finishAttempts(items: readonly FinishItem[]): Promise<FinishResult[]> {
    return finishAttempts(contextOf(this), items)
  }

  /**
   * Hands a stopping worker's runs back: a submitted run keeps running with its lease cleared (the next worker
   * re-attaches at once); an unsubmitted one returns to the queue and its attempt, `released`, does not count.
   */
  release(refs: readonly AttemptRef[]): Promise<void> {
    return releaseRuns(contextOf(this), refs)
  }

  /** Appends run events (log lines, runner events, progress) in one insert. */
  appendEvents(events: readonly NewRunEvent[]): Promise<void> {
    return appendEvents(contextOf(this), events)
  }

  /** Takes or renews a named lease (e.g. the scheduler's); true when `owner` holds it. */
  acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return acquireLease(contextOf(this), name, owner, ttlMs)
  }

  /** Gives a named lease up if `owner` holds it. */
  releaseLease(name: string, owner: string): Promise<void> {
    return releaseLease(contextOf(this), name, owner)
  }
}
