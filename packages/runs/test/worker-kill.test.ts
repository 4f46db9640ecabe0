// kill -9 of a worker in the middle of a real Spark run (LocalSubmitter, spark-submit local[2]): the next worker
// re-attaches to the job that still runs (one submission, the same attempt), records the result of a job that ended
// meanwhile without submitting again, and retries (a new attempt) only a job that is truly gone.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ExecutionPlan } from '@sparkle-studio/core'
import { findSparkRuntime, LocalSubmitter } from '@sparkle-studio/spark'
import { createTestDatabase, makeTempDir, type TempDir, type TestDatabase } from '@sparkle-studio/test-utils'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, type StoreDatabase } from '../src/database.ts'
import { migrateToLatest } from '../src/migrations.ts'
import { eventually, type HostAndQueue, storeAndQueue } from './helpers.ts'
import { startWorkerProcess, type WorkerProcess } from './processes.ts'

/** A query that keeps two cores busy for several seconds (SHA-512 of five million strings). */
const longPlan: ExecutionPlan = {
  pipeline: 'long',
  mode: 'run',
  steps: [
    {
      nodeId: 'digest',
      kind: 'query',
      sql: 'SELECT max(sha2(cast(id AS string), 512)) AS m FROM range(0, 5000000, 1, 4)',
      limit: 1,
    },
  ],
}

const shortPlan: ExecutionPlan = {
  pipeline: 'short',
  mode: 'run',
  steps: [{ nodeId: 'one', kind: 'query', sql: 'SELECT 1 AS one', limit: 1 }],
}

describe('kill -9 of a worker during a real Spark run', () => {
  let testDb: TestDatabase
  let database: StoreDatabase
  let store: HostAndQueue
  let jobs: TempDir
  let submitter: LocalSubmitter
  const processes: WorkerProcess[] = []
  beforeAll(async () => {
    const runtime = await findSparkRuntime()
    testDb = await createTestDatabase('sparkle_kill')
    database = await openDatabase({ url: testDb.url })
    await migrateToLatest(database.db)
    store = storeAndQueue({ db: database.db })
    jobs = await makeTempDir('sparkle-kill-jobs-')
    submitter = new LocalSubmitter({ runtime, baseDir: jobs.path })
  })
  afterEach(() => {
    for (const p of processes.splice(0))
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
  })
  afterAll(async () => {
    await database?.destroy()
    await testDb?.drop()
    await jobs?.remove()
  })

  function worker(workerId: string, concurrency = 1): WorkerProcess {
    const p = startWorkerProcess({
      url: testDb.url,
      mode: 'spark',
      workerId,
      concurrency,
      leaseMs: 3_000,
      heartbeatMs: 500,
      pollMs: 200,
      jobsDir: jobs.path,
      expectRuns: 1,
    })
    processes.push(p)
    return p
  }

  async function submissionOf(runId: string): Promise<{ workerId: string; submissionId: string }> {
    return eventually(
      async () => {
        const [attempt] = await store.attempts(runId)
        return attempt?.submissionId ? { workerId: attempt.workerId, submissionId: attempt.submissionId } : undefined
      },
      120_000,
      `a submission for run ${runId}`,
    )
  }

  async function jobFolders(): Promise<string[]> {
    return (await readdir(jobs.path, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name)
  }

  it('re-attaches to the job that still runs: one submission, one attempt, succeeded', async () => {
    const a = worker('alpha')
    const b = worker('beta')
    await Promise.all([a.ready, b.ready])
    const { run } = await store.enqueue({ pipeline: 'long', params: { plan: longPlan }, maxAttempts: 3 })
    const { workerId: owner, submissionId } = await submissionOf(run.id)
    const [victim, survivor] = owner === 'alpha' ? [a, b] : [b, a]
    const survivorId = owner === 'alpha' ? 'beta' : 'alpha'
    victim.child.kill('SIGKILL')
    expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' })
    expect((await submitter.status(submissionId)).state).not.toBe('lost')

    expect(await survivor.exited, survivor.output()).toEqual({ code: 0, signal: null })
    expect(await store.get(run.id)).toMatchObject({ status: 'succeeded', attempt: 1 })
    expect(await store.attempts(run.id)).toMatchObject([
      { attempt: 1, status: 'succeeded', workerId: owner, submissionId },
    ])
    expect(await jobFolders()).toHaveLength(1)
    const takeover = await store.events(run.id, { types: ['takeover'] })
    expect(takeover.map((e) => e.payload)).toEqual([{ workerId: survivorId, previousOwner: owner, submissionId }])
    const logs = (await store.events(run.id, { types: ['log'] })).map((e) => e.payload['line'])
    // The job was still starting or running when the survivor re-attached (and waited on it).
    expect(logs).toEqual([expect.stringMatching(/^re-attached to submission .+ \((submitting|running)\)$/)])
    expect(logs[0]).toContain(submissionId)
    const spark = (await store.events(run.id, { types: ['spark'] })).map((e) => e.payload['type'])
    expect(spark).toEqual(expect.arrayContaining(['started', 'succeeded']))
  })

  it('records a job that ended while no worker was alive, and retries one that is truly gone', async () => {
    const before = new Set(await jobFolders())
    const a = worker('gamma', 2)
    await a.ready
    const ended = await store.enqueue({ pipeline: 'short', params: { plan: shortPlan }, maxAttempts: 2 })
    const gone = await store.enqueue({ pipeline: 'short', params: { plan: shortPlan }, maxAttempts: 2 })
    const endedSub = await submissionOf(ended.run.id)
    const goneSub = await submissionOf(gone.run.id)
    a.child.kill('SIGKILL')
    await a.exited
    // The second job loses its whole process group too: nothing is left to re-attach to.
    const record = JSON.parse(await readFile(join(goneSub.submissionId, 'job.json'), 'utf8')) as { pid: number }
    process.kill(-record.pid, 'SIGKILL')
    await eventually(
      async () => ((await submitter.status(endedSub.submissionId)).state === 'succeeded' ? true : undefined),
      120_000,
      'the orphaned short job to finish',
    )
    expect((await submitter.status(goneSub.submissionId)).state).toBe('lost')

    const b = worker('delta', 2)
    expect(await b.exited, b.output()).toEqual({ code: 0, signal: null })
    expect(await store.get(ended.run.id)).toMatchObject({ status: 'succeeded', attempt: 1 })
    expect((await store.events(ended.run.id, { types: ['log'] })).map((e) => e.payload['line'])).toContain(
      `re-attached to submission ${endedSub.submissionId} (succeeded)`,
    )
    expect(await store.get(gone.run.id)).toMatchObject({ status: 'succeeded', attempt: 2 })
    const attempts = await store.attempts(gone.run.id)
    expect(attempts).toMatchObject([
      { attempt: 1, status: 'lost', submissionId: goneSub.submissionId, error: { code: 'LOST' } },
      { attempt: 2, status: 'succeeded', workerId: 'delta' },
    ])
    expect(attempts[1]?.submissionId).not.toBe(goneSub.submissionId)
    // Three submissions in all: one for the first run, two for the second (the retry after its job was gone).
    const created = (await jobFolders()).filter((f) => !before.has(f))
    expect(created).toHaveLength(3)
  })
})
