// Shared set-up of the run store suites: the same tests run on PostgreSQL (a throwaway database) and on PGlite.
import { createTestDatabase, type TestDatabase } from '@sparkle-studio/test-utils'
import { sql } from 'kysely'
import { bindContext } from '../src/context.ts'
import { openDatabase, type StoreDatabase } from '../src/database.ts'
import { migrateToLatest } from '../src/migrations.ts'
import { RunQueue } from '../src/run-queue.ts'
import { RunStore, type RunStoreOptions } from '../src/run-store.ts'

/** The dialects every store suite runs on. */
export const dialects = ['postgres', 'pglite'] as const

/** A dialect of {@link dialects}. */
export type Dialect = (typeof dialects)[number]

/** An open, migrated store database for one suite. */
export interface TestStore {
  readonly database: StoreDatabase
  /** The PostgreSQL URL (postgres only). */
  readonly url: string | undefined
  /**
   * A RunStore and a RunQueue over the database with the same test-friendly options (no backoff), as one object:
   * the suites play host and worker at once. Pass it as `queue` to a Worker or Scheduler.
   */
  store(options?: Partial<RunStoreOptions>): HostAndQueue
  /** Empties every table. */
  reset(): Promise<void>
  close(): Promise<void>
}

/** The host side and the worker side of one store, for tests that play both. */
export type HostAndQueue = RunStore & RunQueue

/** Joins a RunStore and a RunQueue into one object whose methods go to the one that has them. */
function hostAndQueue(store: RunStore, queue: RunQueue): HostAndQueue {
  return new Proxy(store, {
    get(target, key) {
      const owner = key in target ? target : queue
      const value: unknown = Reflect.get(owner, key)
      return typeof value === 'function' ? value.bind(owner) : value
    },
  }) as HostAndQueue
}

/** A RunStore and a RunQueue built from the same options, as one object. */
export function storeAndQueue(options: RunStoreOptions): HostAndQueue {
  const joined = hostAndQueue(new RunStore(options), new RunQueue(options))
  // The scheduler reaches the store's internals through the object it is given: register the joined one too.
  bindContext(joined, options)
  return joined
}

/** Opens a fresh, migrated database of `dialect`. */
export async function openTestStore(dialect: Dialect): Promise<TestStore> {
  let testDb: TestDatabase | undefined
  let database: StoreDatabase
  if (dialect === 'postgres') {
    testDb = await createTestDatabase('sparkle_store')
    database = await openDatabase({ url: testDb.url })
  } else {
    database = await openDatabase({})
  }
  await migrateToLatest(database.db)
  return {
    database,
    url: testDb?.url,
    store: (options = {}) => storeAndQueue({ db: database.db, retry: { baseMs: 0, maxMs: 0 }, ...options }),
    async reset() {
      await sql`TRUNCATE runs, run_attempts, run_events, backfills, backfill_partitions, schedule_state, store_leases CASCADE`.execute(
        database.db,
      )
    },
    async close() {
      await database.destroy()
      await testDb?.drop()
    },
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `check` until it returns a value other than `undefined`, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}
