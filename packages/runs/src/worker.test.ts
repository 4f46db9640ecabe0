import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeTempDir } from '@sparkle-studio/test-utils'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { dialects, eventually, type HostAndQueue, openTestStore, sleep, type TestStore } from '../test/helpers.ts'
import type { ExecutionContext, ExecutionOutcome, RunExecutor } from './executor.ts'
import type { WorkerLogger } from './logger.ts'
import { Scheduler } from './scheduler.ts'
import { Worker, type WorkerOptions } from './worker.ts'

/** Records log entries in memory. */
function memoryLogger(): WorkerLogger & {
  entries: { level: string; message: string; fields: Record<string, unknown> }[]
} {
  const entries: { level: string; message: string; fields: Record<string, unknown> }[] = []
  return { entries, log: (level, message, fields = {}) => entries.push({ level, message, fields: { ...fields } }) }
}

/** Resolves when the signal aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => resolve(), { once: true })
  })
}

describe.each(dialects)('worker on %s', (dialect) => {
  let t: TestStore
  let store: HostAndQueue
  const workers: Worker[] = []
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
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ timeoutMs: 1_000 })))
  })

  function worker(executor: RunExecutor, options: Partial<WorkerOptions> = {}): Worker {
    const w = new Worker({
      queue: store,
      executor,
      notifications: t.database,
      logger: memoryLogger(),
      pollMs: 50,
      leaseMs: 5_000,
      ...options,
    })
    workers.push(w)
    return w
  }

  it('executes every queued run once within the global and per-pipeline limits', async () => {
    const running = new Map<string, number>()
    let global = 0
    let maxGlobal = 0
    const maxPerPipeline = new Map<string, number>()
    const executed: string[] = []
    const executor: RunExecutor = {
      async execute(ctx) {
        const p = ctx.run.pipeline
        global++
        maxGlobal = Math.max(maxGlobal, global)
        running.set(p, (running.get(p) ?? 0) + 1)
        maxPerPipeline.set(p, Math.max(maxPerPipeline.get(p) ?? 0, running.get(p) ?? 0))
        ctx.log(`hello from ${ctx.run.id}`)
        await sleep(10)
        running.set(p, (running.get(p) ?? 1) - 1)
        global--
        executed.push(ctx.run.id)
        return { status: 'succeeded' }
      },
    }
    const requests = Array.from({ length: 40 }, (_, i) => ({ pipeline: i % 4 === 0 ? 'rare' : 'common' }))
    const runs = await store.enqueueMany(requests)
    const w = worker(executor, { concurrency: 4, perPipelineConcurrency: 2 })
    await w.start()
    await eventually(async () =>
      (await store.list({ status: 'succeeded', limit: 100 })).runs.length === 40 ? true : undefined,
    )
    expect(executed.sort()).toEqual(runs.map((r) => r.run.id).sort())
    expect(maxGlobal).toBeLessThanOrEqual(4)
    expect(maxGlobal).toBeGreaterThan(1)
    expect(maxPerPipeline.get('common')).toBeLessThanOrEqual(2)
    const first = runs[0]?.run.id ?? ''
    await eventually(async () => ((await store.events(first, { types: ['log'] })).length > 0 ? true : undefined))
    expect((await store.events(first, { types: ['log'] }))[0]?.payload).toEqual({ line: `hello from ${first}` })
    expect(w.health()).toMatchObject({ state: 'running', inFlight: 0, completed: 40 })
  })

  it('is woken by a notification when a run is enqueued (polling set to ten minutes)', async () => {
    const w = worker({ execute: async () => ({ status: 'succeeded' }) }, { pollMs: 600_000 })
    await w.start()
    await sleep(100)
    const { run } = await store.enqueue({ pipeline: 'p' })
    await eventually(async () => ((await store.get(run.id)).status === 'succeeded' ? true : undefined))
  })

  it('retries a failed attempt and succeeds on the next one', async () => {
    const attempts: number[] = []
    const w = worker({
      async execute(ctx) {
        attempts.push(ctx.attempt.attempt)
        if (ctx.attempt.attempt === 1) throw new Error('transient failure')
        return { status: 'succeeded' }
      },
    })
    const { run } = await store.enqueue({ pipeline: 'p', maxAttempts: 3 })
    await w.start()
    await eventually(async () => ((await store.get(run.id)).status === 'succeeded' ? true : undefined))
    expect(attempts).toEqual([1, 2])
    expect(await store.attempts(run.id)).toMatchObject([
      { attempt: 1, status: 'failed', error: { message: 'transient failure' } },
      { attempt: 2, status: 'succeeded' },
    ])
  })

  it('carries out a cancel of a running run through the abort signal', async () => {
    let cause: string | undefined
    const w = worker({
      async execute(ctx) {
        await ctx.recordSubmission('job-1')
        await aborted(ctx.signal)
        cause = ctx.abortCause()
        return { status: 'cancelled' }
      },
    })
    const { run } = await store.enqueue({ pipeline: 'p', maxAttempts: 3 })
    await w.start()
    await eventually(async () => ((await store.get(run.id)).status === 'running' ? true : undefined))
    await store.cancel(run.id, { reason: 'user' })
    await eventually(async () => ((await store.get(run.id)).status === 'cancelled' ? true : undefined))
    expect(cause).toBe('cancel')
    expect(await store.attempts(run.id)).toMatchObject([{ status: 'cancelled', submissionId: 'job-1' }])
  })

  it('stops gracefully: in-flight runs finish within the timeout', async () => {
    const w = worker({
      async execute() {
        await sleep(300)
        return { status: 'succeeded' }
      },
    })
    const { run } = await store.enqueue({ pipeline: 'p' })
    await w.start()
    await eventually(async () => ((await store.get(run.id)).status === 'submitting' ? true : undefined))
    await w.stop({ timeoutMs: 10_000 })
    expect((await store.get(run.id)).status).toBe('succeeded')
    expect(w.health().state).toBe('stopped')
    // Stopped: nothing more is claimed.
    const { run: later } = await store.enqueue({ pipeline: 'p' })
    await sleep(200)
    expect((await store.get(later.id)).status).toBe('queued')
  })

  it('hands runs back after the shutdown timeout, and another worker re-attaches to the submitted one', async () => {
    const reattached: string[] = []
    const causes: (string | undefined)[] = []
    const slow: RunExecutor = {
      async execute(ctx) {
        if (ctx.run.params['submit']) await ctx.recordSubmission(`job-${ctx.run.id}`)
        await aborted(ctx.signal)
        causes.push(ctx.abortCause())
        return { status: 'detached' }
      },
    }
    const a = await store.enqueue({ pipeline: 'p', params: { submit: true }, maxAttempts: 1 })
    const b = await store.enqueue({ pipeline: 'p', params: { submit: false }, maxAttempts: 1 })
    const first = worker(slow, { workerId: 'first' })
    await first.start()
    await eventually(async () =>
      (await store.list({ status: ['running', 'submitting'] })).runs.length === 2 ? true : undefined,
    )
    await eventually(async () => ((await store.get(a.run.id)).status === 'running' ? true : undefined))
    await first.stop({ timeoutMs: 100 })
    expect(causes).toEqual(['shutdown', 'shutdown'])
    expect(await store.get(a.run.id)).toMatchObject({ status: 'running', leaseOwner: null })
    expect(await store.get(b.run.id)).toMatchObject({ status: 'queued', leaseOwner: null })
    const second = worker(
      {
        execute: async () => ({ status: 'succeeded' }),
        async reattach(ctx, submissionId) {
          reattached.push(`${submissionId}@${ctx.attempt.attempt}`)
          return { status: 'succeeded' }
        },
      },
      { workerId: 'second' },
    )
    await second.start()
    await eventually(async () => ((await store.list({ status: 'succeeded' })).runs.length === 2 ? true : undefined))
    expect(reattached).toEqual([`job-${a.run.id}@1`])
    expect((await store.attempts(a.run.id)).map((x) => x.status)).toEqual(['succeeded'])
    expect((await store.attempts(b.run.id)).map((x) => x.status)).toEqual(['released', 'succeeded'])
    expect((await store.events(a.run.id, { types: ['reattached'] }))[0]?.payload).toMatchObject({
      submissionId: `job-${a.run.id}`,
      previousOwner: null,
    })
  })

  it('stops working on a run whose lease another worker took, and writes nothing for it', async () => {
    let cause: string | undefined
    const w = worker(
      {
        async execute(ctx) {
          await aborted(ctx.signal)
          cause = ctx.abortCause()
          return { status: 'succeeded' }
        },
      },
      { leaseMs: 600, heartbeatMs: 100 },
    )
    const { run } = await store.enqueue({ pipeline: 'p' })
    await w.start()
    await eventually(async () => ((await store.get(run.id)).status === 'submitting' ? true : undefined))
    await t.database.db.updateTable('runs').set({ lease_owner: 'thief' }).where('id', '=', run.id).execute()
    await eventually(async () => (cause ? true : undefined))
    expect(cause).toBe('lease-lost')
    await sleep(100)
    expect(await store.get(run.id)).toMatchObject({ status: 'submitting', leaseOwner: 'thief' })
    expect(await store.attempts(run.id)).toMatchObject([{ status: 'running' }])
  })

  it('marks a taken-over attempt without a submission lost and retries it', async () => {
    const { run } = await store.enqueue({ pipeline: 'p', maxAttempts: 2 })
    await store.claim({ workerId: 'dead', limit: 1, leaseMs: 1 })
    await sleep(20)
    const seen: number[] = []
    const w = worker({
      async execute(ctx) {
        seen.push(ctx.attempt.attempt)
        return { status: 'succeeded' }
      },
    })
    await w.start()
    await eventually(async () => ((await store.get(run.id)).status === 'succeeded' ? true : undefined))
    expect(seen).toEqual([2])
    expect(await store.attempts(run.id)).toMatchObject([
      { attempt: 1, status: 'lost', workerId: 'dead', error: { code: 'LOST' } },
      { attempt: 2, status: 'succeeded' },
    ])
  })

  it('keeps a backfill within its concurrency across two workers', async () => {
    const { backfill } = await store.createBackfill({
      pipeline: 'bf',
      start: '2026-11-01',
      end: '2026-11-13',
      grain: 'day',
      concurrency: 2,
    })
    let active = 0
    let maxActive = 0
    const executor: RunExecutor = {
      async execute() {
        active++
        maxActive = Math.max(maxActive, active)
        await sleep(30)
        active--
        return { status: 'succeeded' }
      },
    }
    await worker(executor, { concurrency: 5, workerId: 'w1' }).start()
    await worker(executor, { concurrency: 5, workerId: 'w2' }).start()
    const id = backfill?.id ?? ''
    await eventually(async () => ((await store.getBackfill(id)).status === 'completed' ? true : undefined))
    expect(maxActive).toBe(2)
    expect((await store.getBackfill(id)).counts.succeeded).toBe(12)
  })

  it('writes a health file and structured logs without run params', async () => {
    const dir = await makeTempDir()
    try {
      const logger = memoryLogger()
      const healthFile = join(dir.path, 'health.json')
      const w = worker(
        {
          execute: async (): Promise<ExecutionOutcome> => ({
            status: 'failed',
            error: { message: 'nope' },
            retryable: false,
          }),
        },
        { healthFile, logger, healthIntervalMs: 10, workerId: 'health-worker' },
      )
      const { run } = await store.enqueue({ pipeline: 'p', params: { token: 'do-not-log' } })
      await w.start()
      await eventually(async () => ((await store.get(run.id)).status === 'failed' ? true : undefined))
      await eventually(async () => {
        const health = JSON.parse(await readFile(healthFile, 'utf8').catch(() => '{}')) as Record<string, unknown>
        return health['completed'] === 1 ? health : undefined
      })
      const health = JSON.parse(await readFile(healthFile, 'utf8')) as Record<string, unknown>
      expect(health).toMatchObject({ workerId: 'health-worker', state: 'running', inFlight: 0 })
      expect(Date.parse(String(health['ts']))).not.toBeNaN()
      const finished = logger.entries.find((e) => e.message === 'run attempt finished')
      expect(finished).toMatchObject({
        level: 'warn',
        fields: { workerId: 'health-worker', runId: run.id, outcome: 'failed', runStatus: 'failed', error: 'nope' },
      })
      expect(JSON.stringify(logger.entries)).not.toContain('do-not-log')
      await w.stop()
      expect(JSON.parse(await readFile(healthFile, 'utf8'))).toMatchObject({ state: 'stopped' })
    } finally {
      await dir.remove()
    }
  })

  it('passes the claimed run and attempt to the executor context', async () => {
    let seen: ExecutionContext | undefined
    const w = worker({
      async execute(ctx) {
        seen = ctx
        ctx.event('custom', { n: 1 })
        return { status: 'succeeded', appId: 'app-42' }
      },
    })
    const { run } = await store.enqueue({ pipeline: 'p', revision: 'r1', params: { x: 1 } })
    await w.start()
    await eventually(async () => ((await store.get(run.id)).status === 'succeeded' ? true : undefined))
    expect(seen?.run).toMatchObject({ id: run.id, revision: 'r1', params: { x: 1 }, status: 'submitting' })
    expect(seen?.attempt).toMatchObject({ id: `${run.id}.1`, attempt: 1 })
    expect(seen?.workerId).toBe(w.workerId)
    expect((await store.get(run.id)).appId).toBe('app-42')
    await eventually(async () => ((await store.events(run.id, { types: ['custom'] })).length === 1 ? true : undefined))
  })

  it("records each attempt's usage and refuses to start a run whose pipeline used its day's budget", async () => {
    let now = new Date('2026-11-02T10:00:00Z')
    store = t.store({ now: () => now })
    const executed: string[] = []
    const w = worker(
      {
        async execute(ctx) {
          executed.push(ctx.run.id)
          ctx.usage({ coreSeconds: 6, taskSeconds: 4.5, cpuSeconds: 3, outputBytes: 1_234, cores: 2, executors: 1 })
          return { status: 'succeeded' }
        },
      },
      { budgets: { default: 100, pipelines: { capped: 10 } } },
    )
    await w.start()
    const finished = async (id: string) => {
      const run = await store.get(id)
      return run.status === 'succeeded' || run.status === 'failed' ? run : undefined
    }
    // 6 core-seconds, then 12: both start (each is under 10 when it is claimed); the third is refused.
    const first = (await store.enqueue({ pipeline: 'capped' })).run
    await eventually(() => finished(first.id))
    const second = (await store.enqueue({ pipeline: 'capped' })).run
    await eventually(() => finished(second.id))
    const third = (await store.enqueue({ pipeline: 'capped', maxAttempts: 3 })).run
    const refused = await eventually(() => finished(third.id))
    expect(refused.status).toBe('failed')
    expect(refused.attempt).toBe(1)
    expect(refused.error).toEqual({
      code: 'BUDGET_EXCEEDED',
      message: 'pipeline capped used 12 of its 10 core-seconds on 2026-11-02 (UTC); its runs start again the next day',
    })
    expect(executed).toEqual([first.id, second.id])
    await eventually(async () =>
      (await store.events(third.id, { types: ['budget'] })).length === 1 ? true : undefined,
    )
    expect((await store.events(third.id, { types: ['budget'] }))[0]?.payload).toEqual({
      day: '2026-11-02',
      budgetCoreSeconds: 10,
      usedCoreSeconds: 12,
    })
    // Another pipeline has its own budget (the default).
    const other = (await store.enqueue({ pipeline: 'other' })).run
    expect((await eventually(() => finished(other.id))).status).toBe('succeeded')
    // The next UTC day, the pipeline runs again.
    now = new Date('2026-11-03T00:00:01Z')
    const nextDay = (await store.enqueue({ pipeline: 'capped' })).run
    expect((await eventually(() => finished(nextDay.id))).status).toBe('succeeded')

    expect(await store.usage(first.id)).toEqual([
      {
        runId: first.id,
        attempt: 1,
        pipeline: 'capped',
        recordedAt: new Date('2026-11-02T10:00:00Z'),
        coreSeconds: 6,
        taskSeconds: 4.5,
        cpuSeconds: 3,
        outputBytes: 1_234,
        cores: 2,
        executors: 1,
      },
    ])
    expect(await store.usage(third.id)).toEqual([])
    const days = await store.dailyUsage('capped', {
      from: new Date('2026-11-01T00:00:00Z'),
      to: new Date('2026-11-04T00:00:00Z'),
    })
    expect(days).toEqual([
      expect.objectContaining({ day: '2026-11-02', attempts: 2, coreSeconds: 12, taskSeconds: 9, outputBytes: 2_468 }),
      expect.objectContaining({ day: '2026-11-03', attempts: 1, coreSeconds: 6 }),
    ])
  })

  it('refuses budgets that are not numbers of core-seconds', () => {
    expect(() => worker({ execute: async () => ({ status: 'succeeded' }) }, { budgets: { default: -1 } })).toThrow(
      /budget default must be a number of core-seconds >= 0/,
    )
    expect(() =>
      worker({ execute: async () => ({ status: 'succeeded' }) }, { budgets: { pipelines: { p: Number.NaN } } }),
    ).toThrow(/budget p must be/)
  })

  it('runs the scheduler while it holds the lease and executes the scheduled runs', async () => {
    let clock = new Date('2026-11-01T09:59:50Z')
    const scheduler = new Scheduler({
      queue: store,
      listSchedules: async () => [{ pipeline: 'nightly', cron: '0 10 * * *' }],
      now: () => clock,
      logger: memoryLogger(),
    })
    const executed: unknown[] = []
    const w = worker(
      {
        async execute(ctx) {
          executed.push(ctx.run.params['slot'])
          return { status: 'succeeded' }
        },
      },
      { scheduler, scheduleIntervalMs: 20 },
    )
    await w.start()
    await eventually(async () =>
      (await t.database.db.selectFrom('schedule_state').select('pipeline').executeTakeFirst()) ? true : undefined,
    )
    clock = new Date('2026-11-01T10:00:05Z')
    await eventually(async () => (executed.length === 1 ? true : undefined))
    await sleep(100)
    expect(executed).toEqual(['2026-11-01T10:00:00+00:00'])
    expect((await store.list({ pipeline: 'nightly' })).runs).toMatchObject([{ status: 'succeeded' }])
    await w.stop()
    expect(await store.acquireLease('scheduler', 'someone-else', 1_000)).toBe(true)
  })
})
