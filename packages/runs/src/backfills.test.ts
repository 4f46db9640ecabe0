import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { dialects, type HostAndQueue, openTestStore, type TestStore } from '../test/helpers.ts'
import type { BackfillRequest } from './backfill-plan.ts'

const november: BackfillRequest = { pipeline: 'orders', start: '2026-11-01', end: '2026-11-06', grain: 'day' }

describe.each(dialects)('backfills on %s', (dialect) => {
  let t: TestStore
  let store: HostAndQueue
  beforeAll(async () => {
    t = await openTestStore(dialect)
  })
  afterAll(async () => {
    await t?.close()
  })
  beforeEach(async () => {
    await t.reset()
    store = t.store()
  })

  /** Runs every claimable run of the store to the given status, partition by partition. */
  async function finishAll(status: (partition: string) => 'succeeded' | 'failed'): Promise<void> {
    for (;;) {
      const claims = await store.claim({ workerId: 'w', limit: 100, leaseMs: 60_000 })
      if (claims.length === 0) return
      for (const c of claims) {
        const ref = { runId: c.run.id, attempt: c.attempt.attempt, workerId: 'w' }
        const s = status(c.run.partitionKey ?? '')
        await store.finishAttempt(ref, s === 'succeeded' ? { status: s } : { status: s, error: { message: 'x' } })
      }
    }
  }

  it('creates one run per partition with a partition idempotency key, and a summary by status', async () => {
    const creation = await store.createBackfill({ ...november, revision: 'abc', priority: -1, maxAttempts: 2 })
    expect(creation.dryRun).toBe(false)
    expect(creation.actions).toEqual({ create: 5, skip: 0, rerun: 0 })
    const id = creation.backfill?.id ?? ''
    expect(creation.backfill).toMatchObject({ pipeline: 'orders', grain: 'day', partitionCount: 5, concurrency: 10 })
    const { runs } = await store.list({ backfillId: id, order: 'oldest' })
    expect(runs.map((r) => r.partitionKey)).toEqual([
      '2026-11-01',
      '2026-11-02',
      '2026-11-03',
      '2026-11-04',
      '2026-11-05',
    ])
    expect(runs[0]).toMatchObject({
      revision: 'abc',
      priority: -1,
      maxAttempts: 2,
      backfillId: id,
      idempotencyKey: 'partition:orders:day:2026-11-01',
      params: { ds: '2026-11-01' },
    })
    expect(await store.getBackfill(id)).toMatchObject({ total: 5, status: 'running', counts: { queued: 5 } })
    await finishAll((p) => (p === '2026-11-03' ? 'failed' : 'succeeded'))
    expect(await store.getBackfill(id)).toMatchObject({
      status: 'failed',
      counts: { succeeded: 4, failed: 1, queued: 0 },
    })
    const partitions = await store.backfillPartitions(id, { limit: 2, offset: 1 })
    expect(partitions.map((p) => [p.key, p.status])).toEqual([
      ['2026-11-02', 'succeeded'],
      ['2026-11-03', 'failed'],
    ])
  })

  it('is safe to submit again: reprocess none skips, failed re-runs failed ones, all re-runs finished ones', async () => {
    await store.createBackfill(november)
    await finishAll((p) => (p === '2026-11-02' ? 'failed' : 'succeeded'))
    const again = await store.createBackfill(november)
    expect(again.actions).toEqual({ create: 0, skip: 5, rerun: 0 })
    expect((await store.list({ limit: 100 })).runs).toHaveLength(5)

    const failedOnly = await store.createBackfill({ ...november, end: '2026-11-08', reprocess: 'failed' })
    expect(failedOnly.partitions.map((p) => `${p.key}:${p.action}`)).toEqual([
      '2026-11-01:skip',
      '2026-11-02:rerun',
      '2026-11-03:skip',
      '2026-11-04:skip',
      '2026-11-05:skip',
      '2026-11-06:create',
      '2026-11-07:create',
    ])
    const rerun = failedOnly.partitions[1]
    const retried = await store.get(rerun?.runId ?? '')
    expect(retried).toMatchObject({ status: 'queued', idempotencyKey: 'partition:orders:day:2026-11-02' })
    expect(retried.retryOf).not.toBeNull()
    expect(await store.getBackfill(failedOnly.backfill?.id ?? '')).toMatchObject({
      counts: { succeeded: 4, queued: 3, failed: 0 },
    })
    // One partition in progress: `all` re-runs every finished partition but never the one still running.
    expect(await store.claim({ workerId: 'w', limit: 10, leaseMs: 60_000 })).toHaveLength(3)
    const all = await store.createBackfill({ ...november, reprocess: 'all' })
    expect(all.partitions.map((p) => `${p.key}:${p.action}`)).toEqual([
      '2026-11-01:rerun',
      '2026-11-02:skip',
      '2026-11-03:rerun',
      '2026-11-04:rerun',
      '2026-11-05:rerun',
    ])
    expect(all.partitions[1]).toMatchObject({ runId: rerun?.runId, status: 'submitting' })
  })

  it('lists partitions and their actions in a dry run, and creates nothing', async () => {
    await store.createBackfill({ ...november, end: '2026-11-03' })
    const before = (await store.list({ limit: 100 })).runs.length
    const dry = await store.createBackfill({ ...november, dryRun: true, order: 'backward' })
    expect(dry).toMatchObject({ dryRun: true, backfill: null, actions: { create: 3, skip: 2, rerun: 0 } })
    expect(dry.partitions.map((p) => `${p.key}:${p.action}:${p.status ?? '-'}`)).toEqual([
      '2026-11-05:create:-',
      '2026-11-04:create:-',
      '2026-11-03:create:-',
      '2026-11-02:skip:queued',
      '2026-11-01:skip:queued',
    ])
    expect((await store.list({ limit: 100 })).runs).toHaveLength(before)
    expect(await store.listBackfills()).toHaveLength(1)
  })

  it('claims backward backfills newest partition first', async () => {
    await store.createBackfill({ ...november, order: 'backward' })
    const claims = await store.claim({ workerId: 'w', limit: 2, leaseMs: 60_000 })
    expect(claims.map((c) => c.run.partitionKey)).toEqual(['2026-11-05', '2026-11-04'])
  })

  it('creates nothing when the request is invalid or too large', async () => {
    await expect(store.createBackfill({ ...november, grain: 'decade' as 'day' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    })
    await expect(
      store.createBackfill({ ...november, start: '2000-01-01T00:00', end: '2011-06-01T00:00', grain: 'hour' }),
    ).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', details: { limit: 10_000 } })
    expect((await store.list()).runs).toEqual([])
    expect(await store.listBackfills()).toEqual([])
  })

  it("creates nothing, dry run or not, above the request's maxPartitions", async () => {
    for (const dryRun of [false, true]) {
      await expect(store.createBackfill({ ...november, maxPartitions: 4, dryRun })).rejects.toMatchObject({
        code: 'LIMIT_EXCEEDED',
        message: expect.stringContaining('the limit is 4 partitions per backfill'),
        details: { limit: 4, requested: 5 },
      })
    }
    expect((await store.list()).runs).toEqual([])
    expect(await store.listBackfills()).toEqual([])
    const creation = await store.createBackfill({ ...november, maxPartitions: 5 })
    expect(creation.actions.create).toBe(5)
  })

  it('rolls the whole backfill back when a write fails half-way', async () => {
    await sql
      .raw(`CREATE OR REPLACE FUNCTION sparkle_test_fail() RETURNS trigger AS $$
        BEGIN IF NEW.partition_key = '2026-11-04' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END
        $$ LANGUAGE plpgsql`)
      .execute(t.database.db)
    await sql
      .raw(
        'CREATE TRIGGER sparkle_test_fail BEFORE INSERT ON backfill_partitions FOR EACH ROW EXECUTE FUNCTION sparkle_test_fail()',
      )
      .execute(t.database.db)
    try {
      await expect(store.createBackfill(november)).rejects.toThrow(/injected failure/)
      expect((await store.list()).runs).toEqual([])
      expect(await store.listBackfills()).toEqual([])
    } finally {
      await sql.raw('DROP TRIGGER sparkle_test_fail ON backfill_partitions').execute(t.database.db)
    }
  })

  it('cancels a backfill: queued runs cancelled, running ones asked to stop, nothing more claimed', async () => {
    const { backfill } = await store.createBackfill(november)
    const [claim] = await store.claim({ workerId: 'w', limit: 1, leaseMs: 60_000 })
    const summary = await store.cancelBackfill(backfill?.id ?? '')
    expect(summary.status).toBe('cancelled')
    expect(summary.counts).toMatchObject({ cancelled: 4, submitting: 1 })
    expect((await store.get(claim?.run.id ?? '')).cancelRequestedAt).toBeInstanceOf(Date)
    expect(await store.claim({ workerId: 'w2', limit: 10, leaseMs: 60_000 })).toEqual([])
    await expect(store.cancelBackfill('missing')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(store.getBackfill('missing')).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('creates a 10,000-partition backfill in one go', async () => {
    const creation = await store.createBackfill({
      ...november,
      start: '2000-01-01',
      end: '2027-05-19',
      concurrency: 50,
    })
    expect(creation.actions.create).toBe(10_000)
    const summary = await store.getBackfill(creation.backfill?.id ?? '')
    expect(summary).toMatchObject({ total: 10_000, counts: { queued: 10_000 } })
    const claims = await store.claim({ workerId: 'w', limit: 100, leaseMs: 60_000 })
    expect(claims).toHaveLength(50)
  })
})
