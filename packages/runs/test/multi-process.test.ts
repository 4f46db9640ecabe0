// Two worker processes on one PostgreSQL database, and a graceful stop of a worker process on SIGTERM.
import { createTestDatabase, type TestDatabase } from '@sparkle-studio/test-utils'
import { sql } from 'kysely'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, type StoreDatabase } from '../src/database.ts'
import { migrateToLatest } from '../src/migrations.ts'
import { eventually, type HostAndQueue, storeAndQueue } from './helpers.ts'
import { startWorkerProcess, type WorkerProcess } from './processes.ts'

describe('worker processes on one PostgreSQL database', () => {
  let testDb: TestDatabase
  let database: StoreDatabase
  let store: HostAndQueue
  const processes: WorkerProcess[] = []
  beforeAll(async () => {
    testDb = await createTestDatabase('sparkle_workers')
    database = await openDatabase({ url: testDb.url })
    await migrateToLatest(database.db)
    await sql`CREATE TABLE test_executions (run_id text NOT NULL, attempt integer NOT NULL, worker_id text NOT NULL,
      PRIMARY KEY (run_id, attempt))`.execute(database.db)
    store = storeAndQueue({ db: database.db })
  })
  afterEach(async () => {
    for (const p of processes.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL')
    await sql`TRUNCATE runs, test_executions CASCADE`.execute(database.db)
  })
  afterAll(async () => {
    await database?.destroy()
    await testDb?.drop()
  })

  it('two workers execute 1,000 runs, every attempt exactly once, all succeeded', async () => {
    const workers = ['one', 'two'].map((id) =>
      startWorkerProcess({ url: testDb.url, mode: 'record', workerId: id, concurrency: 8, expectRuns: 1000 }),
    )
    processes.push(...workers)
    await Promise.all(workers.map((w) => w.ready))
    const requests = Array.from({ length: 1000 }, (_, i) => ({
      pipeline: `p${i % 5}`,
      idempotencyKey: `run-${i}`,
      maxAttempts: 3,
    }))
    for (let i = 0; i < requests.length; i += 100) await store.enqueueMany(requests.slice(i, i + 100))
    const exits = await Promise.all(workers.map((w) => w.exited))
    expect(exits, workers.map((w) => w.output()).join('\n')).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ])
    const runs = await sql<{
      status: string
      n: string
    }>`SELECT status, count(*) AS n FROM runs GROUP BY status`.execute(database.db)
    expect(runs.rows).toEqual([{ status: 'succeeded', n: '1000' }])
    const attempts = await sql<{ n: string; runs: string; maxattempt: number }>`
      SELECT count(*) AS n, count(DISTINCT run_id) AS runs, max(attempt) AS maxattempt FROM run_attempts`.execute(
      database.db,
    )
    expect(attempts.rows[0]).toEqual({ n: '1000', runs: '1000', maxattempt: 1 })
    const executions = await sql<{ worker_id: string; n: string }>`
      SELECT worker_id, count(*) AS n FROM test_executions GROUP BY worker_id ORDER BY worker_id`.execute(database.db)
    const total = executions.rows.reduce((sum, r) => sum + Number(r.n), 0)
    expect(total).toBe(1000)
    // Both took part: the work was shared through SKIP LOCKED, not done by whichever started first.
    expect(executions.rows.map((r) => r.worker_id)).toEqual(['one', 'two'])
    const failures = workers.flatMap((w) => w.logs.filter((l) => l['level'] === 'error'))
    expect(failures).toEqual([])
  })

  it('stops on SIGTERM: claims nothing more, lets runs in flight finish, exits 0', async () => {
    const worker = startWorkerProcess({
      url: testDb.url,
      mode: 'record',
      workerId: 'graceful',
      concurrency: 2,
      delayMs: 1_500,
      expectRuns: 1_000_000,
    })
    processes.push(worker)
    await worker.ready
    const runs = await store.enqueueMany(Array.from({ length: 4 }, () => ({ pipeline: 'slow' })))
    await eventually(async () => ((await store.list({ status: 'submitting' })).runs.length === 2 ? true : undefined))
    worker.child.kill('SIGTERM')
    expect(await worker.exited).toEqual({ code: 0, signal: null })
    const statuses = await Promise.all(runs.map(async (r) => (await store.get(r.run.id)).status))
    expect(statuses.sort()).toEqual(['queued', 'queued', 'succeeded', 'succeeded'])
    expect(worker.logs.map((l) => l['msg'])).toEqual(expect.arrayContaining(['worker stopping', 'worker stopped']))
  })
})
