import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { dialects, type HostAndQueue, openTestStore, type TestStore } from '../test/helpers.ts'
import type { AttemptRef } from './attempts.ts'
import { openDatabase, type StoreDatabase } from './database.ts'
import { RunQueue } from './run-queue.ts'
import { RunStore } from './run-store.ts'

const lease = 60_000

/** The references of claimed attempts, to finish them. */
function refsOf(claims: readonly { run: { id: string }; attempt: { attempt: number } }[], workerId: string) {
  return claims.map((c): AttemptRef => ({ runId: c.run.id, attempt: c.attempt.attempt, workerId }))
}

describe.each(dialects)('the limit of runs per pipeline across workers on %s', (dialect) => {
  let t: TestStore
  let host: HostAndQueue
  beforeAll(async () => {
    t = await openTestStore(dialect)
  })
  afterAll(async () => {
    await t?.close()
  })
  beforeEach(async () => {
    await t.reset()
    host = t.store()
  })

  it('never hands out a run of a pipeline that has maxRunsPerPipeline runs in progress, whichever worker asks', async () => {
    const w1 = t.store({ maxRunsPerPipeline: 2 })
    const w2 = t.store({ maxRunsPerPipeline: 2 })
    const a = await host.enqueueMany([
      { pipeline: 'a' },
      { pipeline: 'a', priority: 5 },
      { pipeline: 'a' },
      { pipeline: 'a' },
    ])
    const b = await host.enqueue({ pipeline: 'b' })
    const first = await w1.claim({ workerId: 'w1', limit: 10, leaseMs: lease })
    // By priority then age within the limit; the other pipeline is not held back.
    expect(first.map((c) => c.run.id)).toEqual([a[1]?.run.id, a[0]?.run.id, b.run.id])
    expect(await w2.claim({ workerId: 'w2', limit: 10, leaseMs: lease })).toEqual([])
    // A submitted run still counts: only a finished one frees its place.
    const [ref] = refsOf(first, 'w1')
    if (!ref) throw new Error('no claim')
    await w1.recordSubmission(ref, 'sub-1')
    expect(await w2.claim({ workerId: 'w2', limit: 10, leaseMs: lease })).toEqual([])
    await w1.finishAttempt(ref, { status: 'succeeded' })
    const second = await w2.claim({ workerId: 'w2', limit: 10, leaseMs: lease })
    expect(second.map((c) => c.run.id)).toEqual([a[2]?.run.id])
  })

  it('lets a claim lower the limit but not raise it, and keeps the default unlimited', async () => {
    await host.enqueueMany(Array.from({ length: 6 }, () => ({ pipeline: 'p' })))
    const limited = t.store({ maxRunsPerPipeline: 3 })
    expect(await limited.claim({ workerId: 'w', limit: 10, leaseMs: lease, maxRunsPerPipeline: 1 })).toHaveLength(1)
    expect(await limited.claim({ workerId: 'w', limit: 10, leaseMs: lease, maxRunsPerPipeline: 50 })).toHaveLength(2)
    expect(await host.claim({ workerId: 'w', limit: 10, leaseMs: lease })).toHaveLength(3)
  })

  it('takes over an expired lease whatever the limit, since the run is already counted', async () => {
    const limited = t.store({ maxRunsPerPipeline: 1 })
    const { run } = await host.enqueue({ pipeline: 'p' })
    await host.enqueue({ pipeline: 'p' })
    await limited.claim({ workerId: 'old', limit: 1, leaseMs: 1 })
    await new Promise((r) => setTimeout(r, 20))
    const claims = await limited.claim({ workerId: 'new', limit: 5, leaseMs: lease })
    expect(claims).toMatchObject([{ takeover: true, run: { id: run.id, leaseOwner: 'new' } }])
  })

  it('applies the pipeline limit and the backfill concurrency together', async () => {
    const limited = t.store({ maxRunsPerPipeline: 2 })
    const range = { pipeline: 'orders', start: '2026-11-01', end: '2026-11-08', grain: 'day' } as const
    await host.createBackfill({ ...range, concurrency: 5 })
    const claims = await limited.claim({ workerId: 'w', limit: 10, leaseMs: lease })
    expect(claims.map((c) => c.run.partitionKey)).toEqual(['2026-11-01', '2026-11-02'])
    await host.createBackfill({ ...range, pipeline: 'events', concurrency: 1 })
    expect((await limited.claim({ workerId: 'w', limit: 10, leaseMs: lease })).map((c) => c.run.pipeline)).toEqual([
      'events',
    ])
  })

  it('refuses a limit that is not a positive integer', async () => {
    expect(() => t.store({ maxRunsPerPipeline: 0 })).toThrow(/maxRunsPerPipeline must be a positive integer/)
    expect(() => new RunQueue({ db: t.database.db, maxRunsPerPipeline: 1.5 })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    )
    await expect(host.claim({ workerId: 'w', limit: 1, leaseMs: lease, maxRunsPerPipeline: -1 })).rejects.toMatchObject(
      { code: 'VALIDATION_FAILED' },
    )
  })
})

describe('the limit of runs per pipeline under concurrent claims on postgres', () => {
  let t: TestStore
  let other: StoreDatabase
  beforeAll(async () => {
    t = await openTestStore('postgres')
    // A second pool, as a second worker process would have.
    other = await openDatabase({ url: t.url ?? '' })
  })
  afterAll(async () => {
    await other?.destroy()
    await t?.close()
  })

  it('never has more than the limit in progress while two workers claim in parallel', async () => {
    const limit = 3
    const runs = 50
    const host = new RunStore({ db: t.database.db })
    await host.enqueueMany(Array.from({ length: runs }, (_, i) => ({ pipeline: 'p', priority: i % 3 })))
    await host.enqueueMany(Array.from({ length: 10 }, () => ({ pipeline: 'q' })))
    const queues = [
      new RunQueue({ db: t.database.db, maxRunsPerPipeline: limit }),
      new RunQueue({ db: other.db, maxRunsPerPipeline: limit }),
    ]
    const samples: number[] = []
    let finished = 0
    async function inProgress(pipeline: string): Promise<number> {
      const { rows } = await sql<{ n: string }>`
        SELECT count(*) AS n FROM runs WHERE pipeline = ${pipeline} AND status IN ('submitting', 'running')
      `.execute(t.database.db)
      return Number(rows[0]?.n ?? 0)
    }
    // Two loops per worker, so that each worker also races itself; each holds its runs a little, then finishes one.
    async function claimLoop(queue: RunQueue, workerId: string): Promise<void> {
      const held: AttemptRef[] = []
      for (let round = 0; round < 1_000 && finished < runs + 10; round++) {
        const claims = await queue.claim({ workerId, limit: 2, leaseMs: lease })
        samples.push(await inProgress('p'))
        held.push(...refsOf(claims, workerId))
        const done = round % 2 === 1 ? held.shift() : undefined
        if (done) {
          await queue.finishAttempt(done, { status: 'succeeded' })
          finished++
        }
        if (claims.length === 0 && held.length === 0) await new Promise((r) => setTimeout(r, 1))
      }
      for (const ref of held) {
        await queue.finishAttempt(ref, { status: 'succeeded' })
        finished++
      }
    }
    await Promise.all(queues.flatMap((queue, i) => [claimLoop(queue, `w${i}`), claimLoop(queue, `w${i}`)]))
    expect(finished).toBe(runs + 10)
    expect(samples.length).toBeGreaterThan(runs)
    expect(Math.max(...samples)).toBe(limit)
    expect(samples.filter((n) => n > limit)).toEqual([])
    const { runs: left } = await host.list({ status: ['queued', 'submitting', 'running'] })
    expect(left).toEqual([])
  })
})
