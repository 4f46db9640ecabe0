// The worker with the spark package's SparkRunExecutor on real Spark (LocalSubmitter, local[2]) with the embedded database: a cancel of a running
// run stops its Spark job, and a failing plan fails its run with Spark's error and the failing node.
import type { ExecutionPlan } from '@sparkle-studio/core'
import { findSparkRuntime, LocalSubmitter, SparkRunExecutor } from '@sparkle-studio/spark'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, type StoreDatabase } from '../src/database.ts'
import type { RunExecutor } from '../src/executor.ts'
import { migrateToLatest } from '../src/migrations.ts'
import type { Run } from '../src/run.ts'
import { Worker } from '../src/worker.ts'
import { eventually, type HostAndQueue, storeAndQueue } from './helpers.ts'

const plans: Record<string, ExecutionPlan> = {
  long: {
    pipeline: 'long',
    mode: 'run',
    steps: [
      {
        nodeId: 'digest',
        kind: 'query',
        sql: 'SELECT max(sha2(cast(id AS string), 512)) AS m FROM range(0, 50000000, 1, 4)',
        limit: 1,
      },
    ],
  },
  broken: {
    pipeline: 'broken',
    mode: 'run',
    steps: [{ nodeId: 'reader', kind: 'query', sql: 'SELECT * FROM sparkle_no_such_table', limit: 1 }],
  },
}

describe('SparkRunExecutor on Spark with the embedded database', () => {
  let database: StoreDatabase
  let jobs: TempDir
  let submitter: LocalSubmitter
  let worker: Worker
  let store: HostAndQueue
  beforeAll(async () => {
    const runtime = await findSparkRuntime()
    jobs = await makeTempDir('sparkle-executor-jobs-')
    submitter = new LocalSubmitter({ runtime, baseDir: jobs.path })
    database = await openDatabase({})
    await migrateToLatest(database.db)
    store = storeAndQueue({ db: database.db })
    // The spark package declares the executor contract structurally; this assignment checks it satisfies RunExecutor.
    const executor: RunExecutor = new SparkRunExecutor({
      submitter,
      resolvePlan: async (run: Run) => {
        const plan = plans[run.pipeline]
        if (!plan) throw new Error(`no plan for ${run.pipeline}`)
        return plan
      },
    })
    worker = new Worker({
      queue: store,
      notifications: database,
      executor,
      concurrency: 2,
      pollMs: 200,
      logger: { log: () => {} },
    })
    await worker.start()
  })
  afterAll(async () => {
    await worker?.stop({ timeoutMs: 5_000 })
    await database?.destroy()
    await jobs?.remove()
  })

  it('cancels the Spark job of a running run, and fails a run whose plan fails with the node and the error', async () => {
    const long = await store.enqueue({ pipeline: 'long', maxAttempts: 3 })
    const broken = await store.enqueue({ pipeline: 'broken', maxAttempts: 1 })
    const submissionId = await eventually(
      async () => (await store.attempts(long.run.id))[0]?.submissionId ?? undefined,
      120_000,
      'the long run to be submitted',
    )
    await store.cancel(long.run.id, { reason: 'test' })
    await eventually(
      async () => ((await store.get(long.run.id)).status === 'cancelled' ? true : undefined),
      120_000,
      'the long run to be cancelled',
    )
    expect((await submitter.status(submissionId)).state).toBe('cancelled')
    expect(await store.attempts(long.run.id)).toMatchObject([{ attempt: 1, status: 'cancelled', submissionId }])

    const failed = await eventually(
      async () => {
        const run = await store.get(broken.run.id)
        return run.status === 'failed' ? run : undefined
      },
      120_000,
      'the broken run to fail',
    )
    expect(failed.error).toMatchObject({ code: 'SPARK_JOB_FAILED', nodeId: 'reader' })
    expect(failed.error?.message).toMatch(/sparkle_no_such_table/)
    const spark = await store.events(broken.run.id, { types: ['spark'] })
    expect(spark.map((e) => e.payload['type'])).toEqual(expect.arrayContaining(['started', 'failed']))
  })
})
