// A real PostgreSQL restart while a worker processes runs: the worker reconnects (pool and LISTEN connection) and
// carries on; every run succeeds and is executed exactly once. The server is a private one (its own data folder and
// port), so that restarting it disturbs no other suite running at the same time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, type StoreDatabase } from '../src/database.ts'
import type { RunExecutor } from '../src/executor.ts'
import type { WorkerLogger } from '../src/logger.ts'
import { migrateToLatest } from '../src/migrations.ts'
import { Worker } from '../src/worker.ts'
import { eventually, sleep, storeAndQueue } from './helpers.ts'
import { type PrivatePostgres, startPrivatePostgres } from './private-postgres.ts'

describe('PostgreSQL restart during work', () => {
  let server: PrivatePostgres
  let database: StoreDatabase
  beforeAll(async () => {
    server = await startPrivatePostgres()
    database = await openDatabase({ url: server.url, poolSize: 4 })
    await migrateToLatest(database.db)
  })
  afterAll(async () => {
    await database?.destroy()
    await server?.remove()
  })

  it('the worker reconnects and carries on; every run succeeds, executed exactly once', async () => {
    const store = storeAndQueue({ db: database.db, retry: { baseMs: 100, maxMs: 1_000 } })
    const executions = new Map<string, number>()
    const executor: RunExecutor = {
      async execute(ctx) {
        executions.set(ctx.run.id, (executions.get(ctx.run.id) ?? 0) + 1)
        ctx.log('working')
        await sleep(10)
        return { status: 'succeeded' }
      },
    }
    const messages: string[] = []
    const logger: WorkerLogger = { log: (_level, message) => messages.push(message) }
    const worker = new Worker({
      queue: store,
      executor,
      notifications: database,
      concurrency: 4,
      leaseMs: 3_000,
      heartbeatMs: 500,
      pollMs: 100,
      logger,
    })
    const total = 400
    await store.enqueueMany(
      Array.from({ length: total }, (_, i) => ({ pipeline: 'p', idempotencyKey: `r${i}`, maxAttempts: 5 })),
    )
    await worker.start()
    try {
      await eventually(async () => (executions.size >= total / 4 ? true : undefined), 60_000, 'a quarter of the runs')
      await server.restart()
      // Work enqueued after the restart wakes the worker through the re-established LISTEN connection.
      await eventually(
        async () => (messages.includes('notification connection re-established') ? true : undefined),
        30_000,
        'the LISTEN connection to come back',
      )
      const late = await store.enqueue({ pipeline: 'late' })
      await eventually(
        async () => {
          const page = await store.list({ status: 'succeeded', limit: 500 }).catch(() => undefined)
          return page && page.runs.length === total + 1 ? true : undefined
        },
        120_000,
        'every run to succeed',
      )
      expect((await store.get(late.run.id)).status).toBe('succeeded')
    } finally {
      await server.ensureRunning()
      await worker.stop({ timeoutMs: 5_000 })
    }
    expect(executions.size).toBe(total + 1)
    expect([...executions.values()].every((n) => n === 1)).toBe(true)
    // The restart was felt: some database call failed and was retried.
    expect(messages.some((m) => /failed; retrying|heartbeat failed|connection lost/.test(m))).toBe(true)
  })
})
