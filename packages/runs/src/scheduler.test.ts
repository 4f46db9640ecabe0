import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { dialects, type HostAndQueue, openTestStore, type TestStore } from '../test/helpers.ts'
import { parseCron } from './cron.ts'
import type { WorkerLogger } from './logger.ts'
import { checkScheduleInterval } from './schedule-interval.ts'
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

describe('checkScheduleInterval', () => {
  /** The message of the one issue, or `undefined` when the schedule is accepted. */
  function refusal(cron: string, timezone: string, min: number): string | undefined {
    const issues = checkScheduleInterval(cron, timezone, min)
    if (issues.length === 0) return undefined
    expect(issues).toMatchObject([{ path: '/cron', code: 'too_frequent' }])
    return issues[0]?.message
  }

  it('refuses a cron that fires more often than the minimum, with the rule and the fix', () => {
    const message = refusal('* * * * *', 'UTC', 5)
    expect(message).toContain('cron "* * * * *" starts runs 1 minute apart (00:00 and 00:01)')
    expect(message).toContain('the minimum interval between the runs of a schedule is 5 minutes')
    expect(message).toContain('Fix: space its fire times at least 5 minutes apart, e.g. "*/5 * * * *"')
    expect(refusal('*/10 * * * *', 'UTC', 15)).toContain('e.g. "*/15 * * * *"')
    expect(refusal('0 */2 * * *', 'UTC', 180)).toContain('e.g. "0 */3 * * *"')
  })

  it('accepts a cron whose fire times are never closer than the minimum, in zones with and without DST', () => {
    for (const timezone of ['UTC', 'Europe/Paris', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata']) {
      expect(refusal('*/5 * * * *', timezone, 5), timezone).toBeUndefined()
      expect(refusal('0 * * * *', timezone, 60), timezone).toBeUndefined()
      expect(refusal('15 9-17 * * 1-5', timezone, 60), timezone).toBeUndefined()
      expect(refusal('@weekly', timezone, 24 * 60), timezone).toBeUndefined()
    }
    // Any cron is at least a minute apart.
    expect(checkScheduleInterval('* * * * *', 'UTC', 1)).toEqual([])
  })

  it('finds the closest pair across an hour, a day and a month end', () => {
    expect(refusal('0,50 * * * *', 'UTC', 15)).toContain('10 minutes apart (00:50 and 01:00)')
    expect(refusal('0 0,23 * * *', 'UTC', 120)).toContain('60 minutes apart (2027-06-01 23:00 and 2027-06-02 00:00)')
    // Only where the 31st is followed by the 1st.
    expect(refusal('0 0,23 1,31 * *', 'UTC', 120)).toContain('(2027-07-31 23:00 and 2027-08-01 00:00)')
    expect(refusal('0 0,23 1 * *', 'UTC', 120)).toBeUndefined()
    expect(refusal('0 0 28,29 2 *', 'UTC', 2 * 24 * 60)).toContain('(2028-02-28 00:00 and 2028-02-29 00:00)')
  })

  it('counts the pairs a daylight-saving change brings closer', () => {
    // 01:00-01:59 happens twice in New York in November, and croner fires in both.
    expect(refusal('0,50 1 * * *', 'UTC', 15)).toBeUndefined()
    const fallBack = refusal('0,50 1 * * *', 'America/New_York', 15)
    expect(fallBack).toContain('10 minutes apart (2027-11-07T01:50:00-04:00 and 2027-11-07T01:00:00-05:00')
    expect(fallBack).toContain('at a daylight-saving change in America/New_York')
    expect(fallBack).toContain('or read it in a time zone without daylight-saving changes such as UTC')
    // 02:00-02:59 does not exist in Paris in March: 01:50 is followed by 03:00.
    expect(refusal('0,50 1,3 * * *', 'Europe/Paris', 15)).toContain(
      '(2028-03-26T01:50:00+01:00 and 2028-03-26T03:00:00+02:00',
    )
    // A daily run is 23 hours after the previous one on the day the clocks go forward.
    expect(refusal('0 0 * * *', 'UTC', 24 * 60)).toBeUndefined()
    expect(refusal('0 0 * * *', 'Europe/Paris', 24 * 60)).toContain('1380 minutes apart')
  })

  it('gives the issues of an invalid cron or time zone, and refuses a minimum that is not positive', () => {
    expect(checkScheduleInterval('61 * * * *', 'UTC', 5)).toMatchObject([{ path: '/cron', code: 'invalid_cron' }])
    expect(checkScheduleInterval('0 * * * *', 'Atlantis/Capital', 5)).toMatchObject([
      { path: '/timezone', code: 'invalid_time_zone' },
    ])
    for (const min of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => checkScheduleInterval('0 * * * *', 'UTC', min)).toThrow(RangeError)
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

  function scheduler(
    specs: readonly ScheduleSpec[],
    options: { owner?: string; maxCatchUp?: number; minIntervalMinutes?: number } = {},
  ): Scheduler {
    return new Scheduler({
      queue: store,
      listSchedules: async () => specs,
      now: () => clock,
      logger: quiet,
      owner: options.owner ?? 'main',
      ...(options.maxCatchUp ? { maxCatchUp: options.maxCatchUp } : {}),
      ...(options.minIntervalMinutes ? { minIntervalMinutes: options.minIntervalMinutes } : {}),
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

  it('skips and reports the schedules that fire more often than minIntervalMinutes', async () => {
    const s = scheduler(
      [
        { pipeline: 'fast', cron: '* * * * *' },
        { pipeline: 'steady', cron: '*/5 * * * *' },
      ],
      { minIntervalMinutes: 5 },
    )
    await s.tick()
    clock = new Date('2026-11-01T10:00:05Z')
    const tick = await s.tick()
    expect(tick.errors).toEqual([
      {
        pipeline: 'fast',
        error: expect.stringContaining('the minimum interval between the runs of a schedule is 5 minutes'),
      },
    ])
    expect(tick.evaluations.map((e) => [e.pipeline, e.runs.length])).toEqual([['steady', 1]])
    expect((await store.list({ pipeline: 'fast' })).runs).toEqual([])
    // With the default minimum of a minute, the same schedule runs.
    const lenient = scheduler([{ pipeline: 'fast', cron: '* * * * *' }], { owner: 'main' })
    await lenient.tick()
    clock = new Date('2026-11-01T10:01:05Z')
    expect((await lenient.tick()).evaluations[0]?.runs).toHaveLength(1)
  })

  it('refuses a minIntervalMinutes that is not a positive integer', () => {
    for (const minIntervalMinutes of [0.5, -1]) {
      expect(() => new Scheduler({ queue: store, listSchedules: async () => [], minIntervalMinutes })).toThrow(
        expect.objectContaining({ code: 'VALIDATION_FAILED' }),
      )
    }
  })
})
