import { ValidationError } from '@sparkle-studio/core'
import { Cron } from 'croner'
import { isValidTimeZone } from './time-zone.ts'

/** A parsed, validated cron schedule in a time zone. */
export interface CronSchedule {
  readonly cron: string
  readonly timezone: string
  /** The first slot strictly after `after`, or `null` when there is none. */
  next(after: Date): Date | null
  /** Up to `n` slots at or before `reference`, most recent first. */
  previous(n: number, reference: Date): Date[]
}

/**
 * Parses a standard 5-field cron expression (minute hour day-of-month month day-of-week, or a nickname such as
 * `@daily`) in an IANA time zone, and checks that it fires at least once in the coming years.
 *
 * @throws {@link @sparkle-studio/core!index.ValidationError | ValidationError} for a malformed expression, seconds or
 * years fields, an unknown time zone, or a schedule that never fires (e.g. `0 0 30 2 *`, February 30).
 * @example
 * ```ts
 * import { parseCron } from '@sparkle-studio/runs'
 *
 * const daily = parseCron('30 2 * * *', 'Europe/Paris')
 * console.log(daily.next(new Date('2026-11-01T00:00:00Z'))) // 2026-11-01T01:30:00.000Z
 * ```
 */
export function parseCron(cron: string, timezone = 'UTC', from: Date = new Date()): CronSchedule {
  if (!isValidTimeZone(timezone)) {
    throw new ValidationError(`unknown time zone "${timezone}". Fix: use an IANA name such as Europe/Paris`, [
      { path: '/timezone', code: 'invalid_time_zone', message: `unknown time zone "${timezone}"` },
    ])
  }
  const text = typeof cron === 'string' ? cron.trim() : ''
  let job: Cron
  try {
    job = cronJob(text, timezone)
  } catch (cause) {
    const reason = (cause as Error).message.replace(/^CronPattern: /, '')
    throw new ValidationError(
      `invalid cron "${text}": ${reason}. Fix: use 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly`,
      [{ path: '/cron', code: 'invalid_cron', message: reason }],
    )
  }
  if (job.nextRun(from) === null) {
    throw new ValidationError(
      `cron "${text}" never fires (no matching date in the coming years). Fix: check the day of month against the month`,
      [{ path: '/cron', code: 'never_fires', message: 'the schedule has no future slot' }],
    )
  }
  return {
    cron: text,
    timezone,
    next: (after) => job.nextRun(after),
    previous: (n, reference) =>
      job
        .previousRuns(n + 1, new Date(reference.getTime() + 1000))
        .filter((d) => d <= reference)
        .slice(0, n),
  }
}

/** The croner job of a 5-field expression, read as everywhere in this package (day of month OR day of week). */
export function cronJob(text: string, timezone: string): Cron {
  return new Cron(text, { timezone, mode: '5-part', paused: true, domAndDow: false })
}

/**
 * The next `count` fire times of a cron schedule strictly after `from`: the slots the scheduler enqueues, read
 * by the same rule (croner, in the schedule's time zone). A local time a daylight-saving change skips fires at the
 * same wall time shifted by the gap (`0 2 * * *` in Europe/Berlin on 2026-03-29 fires at 03:00+02:00); a local time
 * that happens twice fires once, at its first occurrence (`30 1 * * *` in America/New_York on 2026-11-01 fires at
 * 01:30-04:00 only); an hourly schedule fires every hour of real time, so the repeated hour fires twice.
 *
 * @throws {@link @sparkle-studio/core!index.ValidationError | ValidationError} as {@link parseCron} does.
 * @example
 * ```ts
 * import { nextFireTimes } from '@sparkle-studio/runs'
 *
 * const times = nextFireTimes('0 2 * * *', 'Europe/Berlin', new Date('2026-03-28T12:00:00Z'), 2)
 * console.log(times.map((t) => t.toISOString())) // ['2026-03-29T01:00:00.000Z', '2026-03-30T00:00:00.000Z']
 * ```
 */
export function nextFireTimes(cron: string, timezone = 'UTC', from: Date = new Date(), count = 5): Date[] {
  const schedule = parseCron(cron, timezone, from)
  const times: Date[] = []
  let after = from
  while (times.length < count) {
    const next = schedule.next(after)
    if (next === null) break
    times.push(next)
    after = next
  }
  return times
}
