import { describe, expect, it } from 'vitest'
import { BACKFILL_LIMITS, type BackfillRequest, planBackfill } from './backfill-plan.ts'

const base: BackfillRequest = { pipeline: 'orders', start: '2026-11-01', end: '2026-11-04', grain: 'day' }

function errorOf(fn: () => unknown): { code?: string; message?: string; issues?: { path: string; code: string }[] } {
  try {
    fn()
  } catch (error) {
    return error as { code?: string; message?: string; issues?: { path: string; code: string }[] }
  }
  throw new Error('expected an error')
}

describe('planBackfill', () => {
  it('lists day partitions in [start, end) with ds, start and end params', () => {
    const plan = planBackfill({ ...base, params: { region: 'eu' } })
    expect(plan.partitions.map((p) => p.key)).toEqual(['2026-11-01', '2026-11-02', '2026-11-03'])
    expect(plan.partitions[0]?.params).toEqual({
      region: 'eu',
      ds: '2026-11-01',
      start: '2026-11-01T00:00:00+00:00',
      end: '2026-11-02T00:00:00+00:00',
    })
    expect(plan).toMatchObject({ reprocess: 'none', concurrency: 10, order: 'forward', timezone: 'UTC' })
  })

  it('follows the time zone, also across a DST change (a 25-hour day)', () => {
    const plan = planBackfill({ ...base, start: '2026-10-24', end: '2026-10-27', timezone: 'Europe/Paris' })
    expect(plan.partitions.map((p) => p.key)).toEqual(['2026-10-24', '2026-10-25', '2026-10-26'])
    expect(plan.partitions.map((p) => (p.end.getTime() - p.start.getTime()) / 3_600_000)).toEqual([24, 25, 24])
    expect(plan.partitions[1]?.start.toISOString()).toBe('2026-10-24T22:00:00.000Z')
    expect(plan.partitions[1]?.params).toMatchObject({
      start: '2026-10-25T00:00:00+02:00',
      end: '2026-10-26T00:00:00+01:00',
    })
  })

  it('gives hour partitions distinct keys through a repeated hour', () => {
    const plan = planBackfill({
      pipeline: 'clicks',
      start: '2026-10-25T01:00',
      end: '2026-10-25T04:00',
      grain: 'hour',
      timezone: 'Europe/Paris',
    })
    expect(plan.partitions.map((p) => p.key)).toEqual([
      '2026-10-25T01:00:00+02:00',
      '2026-10-25T02:00:00+02:00',
      '2026-10-25T02:00:00+01:00',
      '2026-10-25T03:00:00+01:00',
    ])
    expect(plan.partitions[0]?.params['ts']).toBe('2026-10-25T01:00:00+02:00')
  })

  it('starts weeks on Monday and months on the first, at the first boundary at or after start', () => {
    const weeks = planBackfill({ ...base, start: '2026-11-01', end: '2026-11-20', grain: 'week' })
    expect(weeks.partitions.map((p) => p.key)).toEqual(['2026-11-02', '2026-11-09', '2026-11-16'])
    const months = planBackfill({ ...base, start: '2026-10-15', end: '2027-02-01', grain: 'month' })
    expect(months.partitions.map((p) => p.key)).toEqual(['2026-11-01', '2026-12-01', '2027-01-01'])
    expect(months.partitions[1]?.params['end']).toBe('2027-01-01T00:00:00+00:00')
  })

  it('orders backward on request and takes custom parameter names', () => {
    const plan = planBackfill({ ...base, order: 'backward', paramNames: { key: 'day', start: 'from', end: 'to' } })
    expect(plan.partitions.map((p) => p.key)).toEqual(['2026-11-03', '2026-11-02', '2026-11-01'])
    expect(Object.keys(plan.partitions[0]?.params ?? {})).toEqual(['day', 'from', 'to'])
  })

  it('accepts Dates and RFC 3339 timestamps', () => {
    const plan = planBackfill({ ...base, start: new Date('2026-11-01T00:00:00Z'), end: '2026-11-02T00:00:00+00:00' })
    expect(plan.partitions.map((p) => p.key)).toEqual(['2026-11-01'])
  })

  it('rejects impossible ranges and invalid dates with typed errors', () => {
    expect(errorOf(() => planBackfill({ ...base, start: '2026-11-05', end: '2026-11-01' }))).toMatchObject({
      code: 'VALIDATION_FAILED',
      issues: [{ path: '/end', code: 'end_before_start' }],
    })
    expect(errorOf(() => planBackfill({ ...base, end: '2026-11-01' }))).toMatchObject({
      issues: [{ path: '/end', code: 'empty_range' }],
    })
    expect(errorOf(() => planBackfill({ ...base, start: '2026-02-30' }))).toMatchObject({
      code: 'VALIDATION_FAILED',
      issues: [{ path: '/start', code: 'invalid_date' }],
    })
    expect(errorOf(() => planBackfill({ ...base, start: 'yesterday' })).issues?.[0]).toMatchObject({
      path: '/start',
      code: 'invalid_date',
    })
    expect(errorOf(() => planBackfill({ ...base, start: '2026-11-01T10:00', end: '2026-11-01T20:00' }))).toMatchObject({
      issues: [{ path: '/start', code: 'empty_range' }],
    })
  })

  it('rejects unknown grains, policies, time zones and orders, listing every issue', () => {
    const error = errorOf(() =>
      planBackfill({
        ...base,
        grain: 'fortnight' as 'day',
        reprocess: 'some' as 'all',
        timezone: 'Mars/Olympus',
        order: 'sideways' as 'forward',
        concurrency: 0,
      }),
    )
    expect(error.code).toBe('VALIDATION_FAILED')
    expect(error.issues?.map((i) => i.path)).toEqual(['/grain', '/timezone', '/reprocess', '/concurrency', '/order'])
    expect(error.message).toContain('fortnight')
  })

  it('rejects params that collide with the partition parameters', () => {
    expect(errorOf(() => planBackfill({ ...base, params: { ds: 'x' } }))).toMatchObject({
      issues: [{ path: '/params/ds', code: 'reserved' }],
    })
  })

  it('refuses more than the partition limit with the limit stated, also for a 100,000-partition request', () => {
    const error = errorOf(() =>
      planBackfill({ ...base, start: '2015-01-01T00:00', end: '2026-06-01T16:00', grain: 'hour' }),
    ) as { code?: string; message?: string; details?: { limit: number; requested: number } }
    expect(error.code).toBe('LIMIT_EXCEEDED')
    expect(error.message).toContain(String(BACKFILL_LIMITS.maxPartitions))
    expect(error.details?.limit).toBe(10_000)
    expect(error.details?.requested).toBeGreaterThanOrEqual(100_000)
    expect(planBackfill({ ...base, start: '2000-01-01', end: '2027-05-19' }).partitions).toHaveLength(10_000)
    expect(errorOf(() => planBackfill({ ...base, start: '2000-01-01', end: '2027-05-20' })).code).toBe('LIMIT_EXCEEDED')
  })

  it("refuses more partitions than the host's maxPartitions, naming the limit and the fix", () => {
    const month = { ...base, start: '2026-11-01', end: '2026-12-01' }
    expect(planBackfill({ ...month, maxPartitions: 30 }).partitions).toHaveLength(30)
    for (const maxPartitions of [29, 5, 1]) {
      const error = errorOf(() => planBackfill({ ...month, maxPartitions })) as {
        code?: string
        message?: string
        details?: { limit: number; requested: number; grain: string }
      }
      expect(error.code).toBe('LIMIT_EXCEEDED')
      expect(error.details).toEqual({ limit: maxPartitions, requested: 30, grain: 'day' })
      expect(error.message).toContain(`the limit is ${maxPartitions} partitions per backfill`)
      expect(error.message).toContain(`Fix: split the range into backfills of at most ${maxPartitions} partitions`)
    }
    // A long range stops at the estimate, before listing its partitions.
    const hours = errorOf(() =>
      planBackfill({ ...base, start: '2015-01-01T00:00', end: '2026-06-01T16:00', grain: 'hour', maxPartitions: 100 }),
    )
    expect(hours).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { limit: 100 } })
  })

  it('refuses a maxPartitions outside 1 to BACKFILL_LIMITS.maxPartitions', () => {
    for (const maxPartitions of [0, -1, 2.5, BACKFILL_LIMITS.maxPartitions + 1, Number.NaN]) {
      expect(errorOf(() => planBackfill({ ...base, maxPartitions }))).toMatchObject({
        code: 'VALIDATION_FAILED',
        issues: [{ path: '/maxPartitions', code: 'out_of_range' }],
      })
    }
  })
})
