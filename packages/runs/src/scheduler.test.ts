import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { dialects, type HostAndQueue, openTestStore, type TestStore } from '../test/helpers.ts'
import { parseCron } from './cron.ts'
import type { WorkerLogger } from './logger.ts'
import { Scheduler, validateSchedule } from './scheduler.ts'
import type { ScheduleSpec } from './schedules.ts'

const quiet: WorkerLogger = { log: () => {} }

describe('parseCron and validateSchedule', () => {
  it('reads the expression in its time zone', () => {
    const daily = parseCron('30 2 * * *', 'Europe/Paris', new Date('2026-01-01T00:00:00Z'))
    expect(daily.next(new Date('2026-11-01T00:00:00Z'))?.toISOString()).toBe('2026-11-01T01:30:00.000Z')
    expect(daily.next(new Date('2026-07-01T00:00:00Z'))?.toISOString()).toBe('2026-07-01T00:30:00.000Z')
    expect(daily.previous(2, new Date('2026-11-02T01:30:00Z')).map((d) => d.toISOString())).toEqual([
      '2026-11-02T01:30:00.000Z',
      '2026-11-01T01:30:00.000Z',
    ])
    expect(parseCron('@hourly').next(new Date('2026-11-01T00:10:00Z'))?.toISOString()).toBe('2026-11-01T01:00:00.000Z')
  })

  it('rejects a cron that never fires, malformed ones, seconds and unknown zones with typed errors', () => {
    const cases: [ScheduleSpec, string][] = [
      [{ pipeline: 'p', cron: '0 0 30 2 *' }, 'never_fires'],
      [{ pipeline: 'p', cron: '0 0 31 4 *' }, 'never_fires'],
      [{ pipeline: 'p', cron: '61 * * * *' }, 'invalid_cron'],
      [{ pipeline: 'p', cron: '0 0 * * * *' }, 'invalid_cron'],
      [{ pipeline: 'p', cron: 'every day' }, 'invalid_cron'],
      [{ pipeline: 'p', cron: '0 2 * * *', timezone: 'Atlantis/Capital' }, 'invalid_time_zone'],
      [{ pipeline: 'p', cron: '0 2 * * *', catchUp: 'some' as 'all' }, 'invalid_enum'],
      [{ pipeline: 'Not Valid', cron: '0 2 * * *' }, 'invalid_name'],
    ]
    for (const [spec, code] of cases) {
      let error: unknown
      try {
        validateSchedule(spec)
      } catch (e) {
        error = e
      }
      expect(error, spec.cron).toMatchObject({ code: 'VALIDATION_FAILED', issues: [{ code }] })
    }
  })
})

describe.each(dialects)('scheduler on %s', (dialect) => {
  let t: TestStore
  let store: HostAndQueue
  let clock: Date
  beforeAll(async () => {
    t = await openTestStore(dialect)
  })
  afterAll(async () => {
    await t?.close()
  })
  beforeEach(async () => {
    await t.reset()
    clock = new Date('2026-11-01T09:59:30Z')
    store = t.store({ now: () => clock })
  })

  function scheduler(specs: readonly ScheduleSpec[], options: { owner?: string; maxCatchUp?: number } = {}): Scheduler {
    return new Scheduler({
      queue: store,
      listSchedules: async () => specs,
      now: () => clock,
      logger: quiet,
      owner: options.owner ?? 'main',
      ...(options.maxCatchUp ? { maxCatchUp: options.maxCatchUp } : {}),
    })
  }

  it('enqueues one run per slot with a slot idempotency key, starting from its first tick', async () => {
    const s = scheduler([{ pipeline: 'hourly', cron: '0 * * * *', params: { env: 'prod' } }])
    expect((await s.tick()).evaluations[0]?.runs).toEqual([])
    clock = new Date('2026-11-01T10:00:05Z')
    const tick = await s.tick()
    expect(tick.leader).toBe(true)
    expect(tick.evaluations[0]?.runs).toHaveLength(1)
    expect(tick.evaluations[0]?.runs[0]).toMatchObject({
      pipeline: 'hourly',
      status: 'queued',
      idempotencyKey: 'schedule:hourly:2026-11-01T10:00:00.000Z',
      scheduleSlot: new Date('2026-11-01T10:00:00Z'),
      params: { env: 'prod', slot: '2026-11-01T10:00:00+00:00', ds: '2026-11-01' },
    })
    clock = new Date('2026-11-01T10:30:00Z')
    expect((await s.tick()).evaluations[0]?.runs).toEqual([])
    expect((await store.list()).runs).toHaveLength(1)
  })

  it('honours the schedule time zone', async () => {
    clock = new Date('2026-11-01T00:00:00Z')
    const s = scheduler([{ pipeline: 'paris', cron: '0 2 * * *', timezone: 'Europe/Paris' }])
    await s.tick()
    clock = new Date('2026-11-01T01:00:10Z')
    const [run] = (await s.tick()).evaluations[0]?.runs ?? []
    expect(run?.params).toMatchObject({ slot: '2026-11-01T02:00:00+01:00', ds: '2026-11-01' })
  })

  it('catches up after downtime as each policy says, within the cap', async () => {
    const specs: ScheduleSpec[] = [
      { pipeline: 'none', cron: '0 * * * *', catchUp: 'none' },
      { pipeline: 'latest', cron: '0 * * * *', catchUp: 'latest' },
      { pipeline: 'all', cron: '0 * * * *', catchUp: 'all' },
    ]
    const s = scheduler(specs)
    await s.tick()
    // Down from 09:59:30 to 15:20: the six hourly slots 10:00 to 15:00 fell due meanwhile.
    clock = new Date('2026-11-01T15:20:00Z')
    const tick = await s.tick()
    const byPipeline = new Map(tick.evaluations.map((e) => [e.pipeline, e]))
    expect(byPipeline.get('none')).toMatchObject({ runs: [], skippedSlots: 6 })
    expect(byPipeline.get('latest')?.runs.map((r) => r.scheduleSlot?.toISOString())).toEqual([
      '2026-11-01T15:00:00.000Z',
    ])
    expect(byPipeline.get('all')?.runs.map((r) => r.scheduleSlot?.getUTCHours())).toEqual([10, 11, 12, 13, 14, 15])
    const capped = scheduler([{ pipeline: 'capped', cron: '0 * * * *', catchUp: 'all' }], { maxCatchUp: 3 })
    await capped.tick()
    clock = new Date('2026-11-02T15:20:00Z')
    const result = (await capped.tick()).evaluations[0]
    expect(result?.capped).toBe(true)
    expect(result?.runs.map((r) => r.scheduleSlot?.getUTCHours())).toEqual([13, 14, 15])
  })

  it('acts only while it holds the scheduler lease, and another takes over when it expires', async () => {
    const specs = [{ pipeline: 'p', cron: '* * * * *' }]
    const a = scheduler(specs, { owner: 'a' })
    const b = scheduler(specs, { owner: 'b' })
    expect((await a.tick()).leader).toBe(true)
    expect((await b.tick()).leader).toBe(false)
    clock = new Date('2026-11-01T10:00:20Z')
    expect((await b.tick()).leader).toBe(false)
    // a stopped ticking: its 60 s lease ran out at 10:00:30.
    clock = new Date('2026-11-01T10:00:40Z')
    const tick = await b.tick()
    expect(tick.leader).toBe(true)
    expect(tick.evaluations[0]?.runs.map((r) => r.scheduleSlot?.toISOString())).toEqual(['2026-11-01T10:00:00.000Z'])
    expect((await a.tick()).leader).toBe(false)
    await b.release()
    expect((await a.tick()).leader).toBe(true)
  })

  it('reports a schedule it cannot evaluate and goes on with the others', async () => {
    const s = scheduler([
      { pipeline: 'broken', cron: '0 0 30 2 *' },
      { pipeline: 'fine', cron: '0 * * * *' },
    ])
    const tick = await s.tick()
    expect(tick.errors).toEqual([{ pipeline: 'broken', error: expect.stringContaining('never fires') }])
    expect(tick.evaluations.map((e) => e.pipeline)).toEqual(['fine'])
  })
})
