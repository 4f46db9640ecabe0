import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { dialects, type HostAndQueue, openTestStore, type TestStore } from '../test/helpers.ts'

describe.each(dialects)('run store on %s', (dialect) => {
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

  it('enqueues a run and returns the same run for the same idempotency key', async () => {
    const first = await store.enqueue({
      pipeline: 'orders',
      revision: 'abc123',
      params: { ds: '2026-11-01' },
      idempotencyKey: 'orders:2026-11-01',
      priority: 5,
      maxAttempts: 3,
    })
    expect(first.created).toBe(true)
    expect(first.run).toMatchObject({
      pipeline: 'orders',
      revision: 'abc123',
      params: { ds: '2026-11-01' },
      status: 'queued',
      priority: 5,
      maxAttempts: 3,
      attempt: 0,
      idempotencyKey: 'orders:2026-11-01',
    })
    const again = await store.enqueue({
      pipeline: 'orders',
      params: { other: true },
      idempotencyKey: 'orders:2026-11-01',
    })
    expect(again.created).toBe(false)
    expect(again.run.id).toBe(first.run.id)
    expect(again.run.params).toEqual({ ds: '2026-11-01' })
    expect((await store.get(first.run.id)).status).toBe('queued')
  })

  it('dedupes keys inside one enqueueMany and keeps the request order', async () => {
    const results = await store.enqueueMany([
      { pipeline: 'a', idempotencyKey: 'k1' },
      { pipeline: 'a', idempotencyKey: 'k2' },
      { pipeline: 'a', idempotencyKey: 'k1' },
      { pipeline: 'b' },
    ])
    expect(results.map((r) => r.created)).toEqual([true, true, false, true])
    expect(results[2]?.run.id).toBe(results[0]?.run.id)
    expect(results[3]?.run.pipeline).toBe('b')
  })

  it('rejects invalid requests with every issue and creates nothing', async () => {
    const error = await store
      .enqueueMany([
        { pipeline: 'ok' },
        { pipeline: 'Bad Name', priority: 1.5, maxAttempts: 0, params: [] as unknown as Record<string, unknown> },
      ])
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED' })
    const paths = (error as { issues: { path: string }[] }).issues.map((i) => i.path)
    expect(paths).toEqual(['/1/pipeline', '/1/params', '/1/priority', '/1/maxAttempts'])
    expect((await store.list()).runs).toEqual([])
    await expect(store.enqueue({ pipeline: 'p', params: { big: 'x'.repeat(70_000) } })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('65536'),
    })
  })

  it('gives NOT_FOUND for a missing run', async () => {
    await expect(store.get('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(store.cancel('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(store.retry('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('lists with filters and keyset pagination in both orders', async () => {
    const requests = Array.from({ length: 25 }, (_, i) => ({ pipeline: i % 2 === 0 ? 'even' : 'odd', params: { i } }))
    await store.enqueueMany(requests)
    const seen: number[] = []
    let cursor: string | undefined
    do {
      const page = await store.list({ pipeline: 'even', limit: 4, ...(cursor ? { cursor } : {}) })
      seen.push(...page.runs.map((r) => r.params['i'] as number))
      cursor = page.nextCursor
    } while (cursor)
    expect(seen).toEqual([24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0])
    const oldest = await store.list({ order: 'oldest', limit: 3 })
    expect(oldest.runs.map((r) => r.params['i'])).toEqual([0, 1, 2])
    const next = await store.list({ order: 'oldest', limit: 3, cursor: oldest.nextCursor })
    expect(next.runs.map((r) => r.params['i'])).toEqual([3, 4, 5])
    await expect(store.list({ order: 'newest', cursor: oldest.nextCursor })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    })
    expect((await store.list({ status: ['running', 'failed'] })).runs).toEqual([])
    expect((await store.list({ pipeline: ['odd', 'even'], limit: 500 })).runs).toHaveLength(25)
    const future = new Date(Date.now() + 3_600_000)
    expect((await store.list({ createdAfter: future })).runs).toEqual([])
    expect((await store.list({ createdBefore: future, limit: 100 })).runs).toHaveLength(25)
    await expect(store.list({ limit: 501 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
  })

  it('claims by priority then age, one attempt each, and records success', async () => {
    const low = await store.enqueue({ pipeline: 'p', priority: 0 })
    const high = await store.enqueue({ pipeline: 'p', priority: 10 })
    const later = await store.enqueue({ pipeline: 'p', priority: 0 })
    const claims = await store.claim({ workerId: 'w1', limit: 2, leaseMs: 60_000 })
    expect(claims.map((c) => c.run.id)).toEqual([high.run.id, low.run.id])
    expect(claims[0]).toMatchObject({
      takeover: false,
      run: { status: 'submitting', attempt: 1, leaseOwner: 'w1' },
      attempt: { attempt: 1, status: 'running', workerId: 'w1', id: `${high.run.id}.1` },
    })
    expect(await store.claim({ workerId: 'w2', limit: 5, leaseMs: 60_000 })).toMatchObject([
      { run: { id: later.run.id } },
    ])
    const ref = { runId: high.run.id, attempt: 1, workerId: 'w1' }
    await store.recordSubmission(ref, 'sub-1', 'app-1')
    expect(await store.get(high.run.id)).toMatchObject({ status: 'running', appId: 'app-1' })
    expect(await store.finishAttempt(ref, { status: 'succeeded' })).toEqual({ recorded: true, status: 'succeeded' })
    // Finishing again (a retry after a lost reply) reports what was recorded.
    expect(await store.finishAttempt(ref, { status: 'succeeded' })).toEqual({ recorded: true, status: 'succeeded' })
    expect(await store.get(high.run.id)).toMatchObject({ status: 'succeeded', leaseOwner: null })
    expect(await store.attempts(high.run.id)).toMatchObject([
      { attempt: 1, status: 'succeeded', submissionId: 'sub-1', appId: 'app-1' },
    ])
    const events = await store.events(high.run.id)
    expect(events.map((e) => e.type)).toEqual(['status', 'submitted', 'status'])
    expect(events.map((e) => e.payload['status'] ?? e.payload['submissionId'])).toEqual([
      'submitting',
      'sub-1',
      'succeeded',
    ])
    expect(await store.events(high.run.id, { after: events[0]?.id, types: ['status'] })).toHaveLength(1)
  })

  it('retries a failed attempt with backoff until maxAttempts, then fails', async () => {
    const retrying = t.store({ retry: { baseMs: 1000, factor: 3, maxMs: 60_000, jitter: 0.5 }, random: () => 0.5 })
    const { run } = await retrying.enqueue({ pipeline: 'p', maxAttempts: 2 })
    const [c1] = await retrying.claim({ workerId: 'w', limit: 1, leaseMs: 60_000 })
    const error = { message: 'boom', code: 'SPARK_JOB_FAILED' }
    const r1 = await retrying.finishAttempt(
      { runId: run.id, attempt: c1?.attempt.attempt ?? 0, workerId: 'w' },
      {
        status: 'failed',
        error,
      },
    )
    expect(r1).toMatchObject({ recorded: true, status: 'retrying' })
    const after = await retrying.get(run.id)
    expect(after).toMatchObject({ status: 'retrying', error })
    // 1000 ms reduced by 0.5 jitter * 0.5 random = 750 ms after the failure.
    const [failedAt] = (await retrying.events(run.id, { types: ['status'] })).slice(-1)
    expect(failedAt?.payload['delayMs']).toBe(750)
    expect(await retrying.claim({ workerId: 'w', limit: 1, leaseMs: 60_000 })).toEqual([])
    await t.database.db
      .updateTable('runs')
      .set({ available_at: new Date(Date.now() - 1000) })
      .execute()
    const [c2] = await retrying.claim({ workerId: 'w', limit: 1, leaseMs: 60_000 })
    expect(c2?.attempt.attempt).toBe(2)
    const r2 = await retrying.finishAttempt({ runId: run.id, attempt: 2, workerId: 'w' }, { status: 'failed', error })
    expect(r2).toEqual({ recorded: true, status: 'failed' })
    expect((await retrying.attempts(run.id)).map((a) => a.status)).toEqual(['failed', 'failed'])
  })

  it('does not retry a failure marked not retryable', async () => {
    const { run } = await store.enqueue({ pipeline: 'p', maxAttempts: 5 })
    await store.claim({ workerId: 'w', limit: 1, leaseMs: 60_000 })
    const result = await store.finishAttempt(
      { runId: run.id, attempt: 1, workerId: 'w' },
      { status: 'failed', error: { message: 'bad sql' }, retryable: false },
    )
    expect(result).toEqual({ recorded: true, status: 'failed' })
  })

  it('takes over an expired lease without a new attempt, and fences the old owner', async () => {
    const { run } = await store.enqueue({ pipeline: 'p', maxAttempts: 3 })
    const [mine] = await store.claim({ workerId: 'old', limit: 1, leaseMs: 1 })
    await store.recordSubmission({ runId: run.id, attempt: 1, workerId: 'old' }, 'sub-9')
    await new Promise((r) => setTimeout(r, 20))
    const [taken] = await store.claim({ workerId: 'new', limit: 1, leaseMs: 60_000 })
    expect(taken).toMatchObject({
      takeover: true,
      previousOwner: 'old',
      run: { id: run.id, attempt: 1, status: 'running', leaseOwner: 'new' },
      attempt: { attempt: 1, submissionId: 'sub-9', workerId: 'old' },
    })
    expect(mine?.run.id).toBe(run.id)
    expect((await store.heartbeat('old', [run.id], 60_000)).size).toBe(0)
    expect(await store.finishAttempt({ runId: run.id, attempt: 1, workerId: 'old' }, { status: 'succeeded' })).toEqual({
      recorded: false,
      reason: 'lease-lost',
    })
    await expect(store.recordSubmission({ runId: run.id, attempt: 1, workerId: 'old' }, 'x')).rejects.toMatchObject({
      code: 'CONFLICT',
    })
    expect((await store.heartbeat('new', [run.id], 60_000)).get(run.id)).toEqual({ attempt: 1, cancelRequested: false })
    expect(await store.claim({ workerId: 'other', limit: 1, leaseMs: 60_000 })).toEqual([])
    expect(await store.finishAttempt({ runId: run.id, attempt: 1, workerId: 'new' }, { status: 'succeeded' })).toEqual({
      recorded: true,
      status: 'succeeded',
    })
    expect(await store.attempts(run.id)).toHaveLength(1)
    expect((await store.events(run.id, { types: ['takeover'] }))[0]?.payload).toMatchObject({
      workerId: 'new',
      previousOwner: 'old',
      submissionId: 'sub-9',
    })
  })

  it('never takes over the runs a worker says it is working on', async () => {
    const { run } = await store.enqueue({ pipeline: 'p' })
    await store.claim({ workerId: 'w', limit: 1, leaseMs: 1 })
    await new Promise((r) => setTimeout(r, 20))
    expect(await store.claim({ workerId: 'w', limit: 1, leaseMs: 60_000, excludeRunIds: [run.id] })).toEqual([])
  })

  it('cancels a queued run at once and requests cancel of a running one', async () => {
    const queued = await store.enqueue({ pipeline: 'p' })
    const cancelled = await store.cancel(queued.run.id, { reason: 'not needed' })
    expect(cancelled).toMatchObject({ status: 'cancelled' })
    expect(cancelled.finishedAt).toBeInstanceOf(Date)
    expect(await store.claim({ workerId: 'w', limit: 1, leaseMs: 60_000 })).toEqual([])
    const running = await store.enqueue({ pipeline: 'p' })
    await store.claim({ workerId: 'w', limit: 1, leaseMs: 60_000 })
    const requested = await store.cancel(running.run.id)
    expect(requested.status).toBe('submitting')
    expect(requested.cancelRequestedAt).toBeInstanceOf(Date)
    expect((await store.heartbeat('w', [running.run.id], 60_000)).get(running.run.id)?.cancelRequested).toBe(true)
    // A failure after a cancel request is not retried.
    await store.finishAttempt({ runId: running.run.id, attempt: 1, workerId: 'w' }, { status: 'cancelled' })
    expect((await store.get(running.run.id)).status).toBe('cancelled')
    expect((await store.cancel(running.run.id)).status).toBe('cancelled')
  })

  it('retries a finished run as a new linked run that takes over the idempotency key', async () => {
    const { run } = await store.enqueue({ pipeline: 'p', idempotencyKey: 'k', params: { a: 1 }, maxAttempts: 2 })
    await expect(store.retry(run.id)).rejects.toMatchObject({ code: 'CONFLICT' })
    await store.cancel(run.id)
    const retry = await store.retry(run.id)
    expect(retry).toMatchObject({
      status: 'queued',
      retryOf: run.id,
      idempotencyKey: 'k',
      params: { a: 1 },
      maxAttempts: 2,
    })
    expect((await store.get(run.id)).idempotencyKey).toBeNull()
    expect((await store.enqueue({ pipeline: 'p', idempotencyKey: 'k' })).run.id).toBe(retry.id)
    await expect(store.retry(run.id)).rejects.toMatchObject({ code: 'CONFLICT', details: { retriedBy: retry.id } })
  })

  it('releases unsubmitted runs to the queue without counting the attempt, and submitted ones for re-attach', async () => {
    const a = await store.enqueue({ pipeline: 'p', maxAttempts: 1 })
    const b = await store.enqueue({ pipeline: 'p', maxAttempts: 1 })
    await store.claim({ workerId: 'w', limit: 2, leaseMs: 60_000 })
    await store.recordSubmission({ runId: b.run.id, attempt: 1, workerId: 'w' }, 'sub-b')
    await store.release([
      { runId: a.run.id, attempt: 1, workerId: 'w' },
      { runId: b.run.id, attempt: 1, workerId: 'w' },
    ])
    expect(await store.get(a.run.id)).toMatchObject({ status: 'queued', leaseOwner: null })
    expect(await store.get(b.run.id)).toMatchObject({ status: 'running', leaseOwner: null })
    const claims = await store.claim({ workerId: 'w2', limit: 2, leaseMs: 60_000 })
    const byId = new Map(claims.map((c) => [c.run.id, c]))
    expect(byId.get(a.run.id)).toMatchObject({ takeover: false, attempt: { attempt: 2 } })
    expect(byId.get(b.run.id)).toMatchObject({ takeover: true, attempt: { attempt: 1, submissionId: 'sub-b' } })
    // The released attempt does not count: a failure of attempt 2 still fails for good with maxAttempts 1 ...
    const r = await store.finishAttempt(
      { runId: a.run.id, attempt: 2, workerId: 'w2' },
      { status: 'lost', error: { message: 'x' } },
    )
    expect(r).toEqual({ recorded: true, status: 'failed' })
    expect((await store.attempts(a.run.id)).map((x) => x.status)).toEqual(['released', 'lost'])
  })

  it('honours the per-pipeline limit the worker passes', async () => {
    await store.enqueueMany([{ pipeline: 'a' }, { pipeline: 'a' }, { pipeline: 'a' }, { pipeline: 'b' }])
    const claims = await store.claim({
      workerId: 'w',
      limit: 4,
      leaseMs: 60_000,
      maxPerPipeline: 2,
      inFlightByPipeline: { a: 1 },
    })
    expect(claims.map((c) => c.run.pipeline).sort()).toEqual(['a', 'b'])
  })

  it('appends events and reads them in order', async () => {
    const { run } = await store.enqueue({ pipeline: 'p' })
    await store.appendEvents([
      { runId: run.id, attempt: null, type: 'log', payload: { line: 'one' } },
      { runId: run.id, attempt: null, type: 'log', payload: { line: 'two' } },
    ])
    const events = await store.events(run.id, { types: ['log'] })
    expect(events.map((e) => e.payload['line'])).toEqual(['one', 'two'])
    expect(await store.events(run.id, { after: events[1]?.id })).toEqual([])
    await expect(store.events(run.id, { after: 'x' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
  })

  it('holds a named lease for one owner until it expires or is released', async () => {
    expect(await store.acquireLease('scheduler', 'a', 60_000)).toBe(true)
    expect(await store.acquireLease('scheduler', 'b', 60_000)).toBe(false)
    expect(await store.acquireLease('scheduler', 'a', 60_000)).toBe(true)
    await store.releaseLease('scheduler', 'a')
    expect(await store.acquireLease('scheduler', 'b', 1)).toBe(true)
    await new Promise((r) => setTimeout(r, 20))
    expect(await store.acquireLease('scheduler', 'a', 60_000)).toBe(true)
  })

  it('keeps who queued, cancelled and retried a run', async () => {
    const { run } = await store.enqueue({ pipeline: 'orders', requestedBy: 'key:ada' })
    expect(run.requestedBy).toBe('key:ada')
    const cancelled = await store.cancel(run.id, { by: 'jwt:grace' })
    expect(cancelled).toMatchObject({ status: 'cancelled', cancelledBy: 'jwt:grace' })
    const retried = await store.retry(run.id, { by: 'host:linus' })
    expect(retried).toMatchObject({ requestedBy: 'host:linus', retryOf: run.id, cancelledBy: null })
    const { backfill } = await store.createBackfill({
      pipeline: 'orders',
      start: '2026-11-01',
      end: '2026-11-03',
      grain: 'day',
      requestedBy: 'key:ada',
    })
    const { runs } = await store.list({ backfillId: backfill?.id ?? '' })
    expect(runs.map((r) => r.requestedBy)).toEqual(['key:ada', 'key:ada'])
  })
})
