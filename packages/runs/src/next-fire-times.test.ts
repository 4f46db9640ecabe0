// nextFireTimes across daylight-saving changes, by instants computed by hand, and held to what the scheduler enqueues:
// the times a schedule lists are the slots it runs.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { dialects, openTestStore, type TestStore } from '../test/helpers.ts'
import { nextFireTimes } from './cron.ts'
import { Scheduler } from './scheduler.ts'
import { formatZoned } from './time-zone.ts'

interface DstCase {
  readonly title: string
  readonly cron: string
  readonly timezone: string
  readonly from: string
  /** The fire times: the UTC instant and the same instant with the zone's offset (what the API lists). */
  readonly expected: readonly (readonly [utc: string, zoned: string])[]
}

const cases: readonly DstCase[] = [
  {
    // 2026-03-29 02:00 CET becomes 03:00 CEST: 02:00 does not exist that day, the slot moves forward by the gap.
    title: '0 2 * * * in Europe/Berlin across the spring change fires at 03:00 CEST on the day 02:00 is skipped',
    cron: '0 2 * * *',
    timezone: 'Europe/Berlin',
    from: '2026-03-27T12:00:00Z',
    expected: [
      ['2026-03-28T01:00:00.000Z', '2026-03-28T02:00:00+01:00'],
      ['2026-03-29T01:00:00.000Z', '2026-03-29T03:00:00+02:00'],
      ['2026-03-30T00:00:00.000Z', '2026-03-30T02:00:00+02:00'],
      ['2026-03-31T00:00:00.000Z', '2026-03-31T02:00:00+02:00'],
    ],
  },
  {
    // 2026-11-01 02:00 EDT becomes 01:00 EST: 01:30 happens twice (05:30Z and 06:30Z); it fires once, at the first.
    title: '30 1 * * * in America/New_York across the autumn change fires once on the day 01:30 happens twice',
    cron: '30 1 * * *',
    timezone: 'America/New_York',
    from: '2026-10-30T12:00:00Z',
    expected: [
      ['2026-10-31T05:30:00.000Z', '2026-10-31T01:30:00-04:00'],
      ['2026-11-01T05:30:00.000Z', '2026-11-01T01:30:00-04:00'],
      ['2026-11-02T06:30:00.000Z', '2026-11-02T01:30:00-05:00'],
      ['2026-11-03T06:30:00.000Z', '2026-11-03T01:30:00-05:00'],
    ],
  },
  {
    // Hourly is every hour of real time: the local hour 02:00 that does not exist is simply not there.
    title: 'hourly in Europe/Berlin across the spring change stays an hour apart (no 02:00 local)',
    cron: '0 * * * *',
    timezone: 'Europe/Berlin',
    from: '2026-03-28T23:30:00Z',
    expected: [
      ['2026-03-29T00:00:00.000Z', '2026-03-29T01:00:00+01:00'],
      ['2026-03-29T01:00:00.000Z', '2026-03-29T03:00:00+02:00'],
      ['2026-03-29T02:00:00.000Z', '2026-03-29T04:00:00+02:00'],
      ['2026-03-29T03:00:00.000Z', '2026-03-29T05:00:00+02:00'],
    ],
  },
  {
    // ... and the local hour 01:00 that happens twice fires twice, an hour apart, with two offsets.
    title: 'hourly in America/New_York across the autumn change fires at both 01:00s',
    cron: '0 * * * *',
    timezone: 'America/New_York',
    from: '2026-11-01T03:30:00Z',
    expected: [
      ['2026-11-01T04:00:00.000Z', '2026-11-01T00:00:00-04:00'],
      ['2026-11-01T05:00:00.000Z', '2026-11-01T01:00:00-04:00'],
      ['2026-11-01T06:00:00.000Z', '2026-11-01T01:00:00-05:00'],
      ['2026-11-01T07:00:00.000Z', '2026-11-01T02:00:00-05:00'],
      ['2026-11-01T08:00:00.000Z', '2026-11-01T03:00:00-05:00'],
    ],
  },
]

describe('nextFireTimes', () => {
  it.each(cases)('$title', ({ cron, timezone, from, expected }) => {
    const times = nextFireTimes(cron, timezone, new Date(from), expected.length)
    expect(times.map((t) => t.toISOString())).toEqual(expected.map(([utc]) => utc))
    expect(times.map((t) => formatZoned(t, timezone))).toEqual(expected.map(([, zoned]) => zoned))
  })

  it('lists strictly after from, as many as asked, none for a count of 0, and refuses what parseCron refuses', () => {
    const from = new Date('2026-06-01T03:00:00Z')
    expect(nextFireTimes('0 3 * * *', 'UTC', from, 2).map((t) => t.toISOString())).toEqual([
      '2026-06-02T03:00:00.000Z',
      '2026-06-03T03:00:00.000Z',
    ])
    expect(nextFireTimes('0 3 * * *', 'UTC', from, 0)).toEqual([])
    expect(nextFireTimes('@daily', undefined, from)).toHaveLength(5)
    expect(() => nextFireTimes('0 3 * * *', 'Atlantis/Capital', from)).toThrow(/unknown time zone/)
    expect(() => nextFireTimes('0 0 30 2 *', 'UTC', from)).toThrow(/never fires/)
  })
})

describe.each(dialects)('the listed fire times are the slots the scheduler enqueues, on %s', (dialect) => {
  let t: TestStore
  beforeAll(async () => {
    t = await openTestStore(dialect)
  })
  afterAll(async () => {
    await t?.close()
  })
  beforeEach(async () => {
    await t.reset()
  })

  it.each(cases)('$title', async ({ cron, timezone, from, expected }) => {
    let clock = new Date(from)
    const store = t.store({ now: () => clock })
    const listed = nextFireTimes(cron, timezone, clock, expected.length)
    const scheduler = new Scheduler({
      queue: store,
      listSchedules: async () => [{ pipeline: 'dst', cron, timezone, catchUp: 'all' }],
      now: () => clock,
      logger: { log: () => {} },
      owner: 'test',
    })
    // The first tick starts the schedule at `from`; the second, a minute after the last listed time, runs every slot.
    await scheduler.tick()
    clock = new Date((listed.at(-1)?.getTime() ?? 0) + 60_000)
    const tick = await scheduler.tick()
    expect(tick.errors).toEqual([])
    const runs = tick.evaluations[0]?.runs ?? []
    expect(runs.map((r) => r.scheduleSlot?.toISOString())).toEqual(listed.map((d) => d.toISOString()))
    expect(runs.map((r) => r.params['slot'])).toEqual(expected.map(([, zoned]) => zoned))
  })
})
