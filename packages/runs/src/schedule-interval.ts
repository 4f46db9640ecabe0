// The shortest time between two runs of a cron schedule, from its fields and, around daylight-saving changes, from
// croner itself. Within a day every firing day has the same fire times (the minute and hour fields do not depend on
// the day), so the closest wall-clock pairs are: two minutes of one hour, the last minute of an hour and the first of
// the next firing hour, and the last time of a day and the first of the next firing day. A daylight-saving change
// moves or repeats wall times (croner fires in both copies of a repeated hour and moves a skipped time to the end of
// the gap), so the hours around each change of the coming year are walked fire by fire.
import { ValidationError, type ValidationIssue } from '@sparkle-studio/core'
import { CronPattern } from 'croner'
import { cronJob, parseCron } from './cron.ts'
import { formatDate, formatZoned, instantOf, offsetMs, wallTimeOf } from './time-zone.ts'

const MINUTE_MS = 60_000
const DAY_MS = 86_400_000
/** Where the check starts (local midnight in the schedule's zone): a fixed date, so that a verdict never changes. */
const START = { year: 2027, month: 6, day: 1, hour: 0, minute: 0, second: 0 }
/** Days searched for two close firing days; takes in a leap day (2028-02-29). */
const DAY_HORIZON = 800
/** Days searched for offset changes (a year of daylight-saving rules). */
const OFFSET_HORIZON = 366
/** Time walked fire by fire on each side of an offset change. */
const CHANGE_WINDOW_MS = 3 * 3_600_000

/** Two consecutive fire times and the minutes between them. */
interface ClosePair {
  readonly minutes: number
  /** The two times as the message shows them. */
  readonly first: string
  readonly second: string
  /** True when the pair exists only at a daylight-saving change. */
  readonly offsetChange: boolean
}

/**
 * The issues of a cron schedule under a minimum interval between runs: an issue at `/cron` when two consecutive fire
 * times can be closer than `minIntervalMinutes` (a daylight-saving change of `timezone` included), or the issues of
 * an invalid expression or time zone. The verdict does not depend on when it is asked. A host checks a schedule with
 * it when a document is saved; the {@link Scheduler} skips schedules it refuses.
 *
 * @throws RangeError when `minIntervalMinutes` is not a positive number.
 * @example
 * ```ts
 * import { checkScheduleInterval } from '@sparkle-studio/runs'
 *
 * checkScheduleInterval('* * * * *', 'UTC', 5) // [{ path: '/cron', code: 'too_frequent', message: '... Fix: ...' }]
 * checkScheduleInterval('*\/5 * * * *', 'Europe/Paris', 5) // []
 * ```
 */
export function checkScheduleInterval(cron: string, timezone: string, minIntervalMinutes: number): ValidationIssue[] {
  if (typeof minIntervalMinutes !== 'number' || !Number.isFinite(minIntervalMinutes) || minIntervalMinutes <= 0) {
    throw new RangeError(`minIntervalMinutes must be a positive number, not ${String(minIntervalMinutes)}`)
  }
  let text: string
  try {
    text = parseCron(cron, timezone).cron
  } catch (error) {
    if (error instanceof ValidationError) return [...error.issues]
    throw error
  }
  // Fire times are whole minutes: two of them are always at least a minute apart.
  if (minIntervalMinutes <= 1) return []
  const pair = closePair(text, timezone, minIntervalMinutes)
  if (!pair) return []
  const min = minIntervalMinutes
  const where = pair.offsetChange ? `, at a daylight-saving change in ${timezone}` : ''
  const unit = (n: number) => `${n} minute${n === 1 ? '' : 's'}`
  const orUtc = pair.offsetChange ? ', or read it in a time zone without daylight-saving changes such as UTC' : ''
  return [
    {
      path: '/cron',
      code: 'too_frequent',
      message: `cron "${text}" starts runs ${unit(pair.minutes)} apart (${pair.first} and ${pair.second}${where}); the minimum interval between the runs of a schedule is ${unit(min)}. Fix: space its fire times at least ${unit(min)} apart${suggestion(min)}${orUtc}`,
    },
  ]
}

function suggestion(min: number): string {
  if (min <= 60 && 60 % min === 0) return min === 60 ? `, e.g. "0 * * * *"` : `, e.g. "*/${min} * * * *"`
  if (min % 60 === 0 && 1440 % min === 0) return min === 1440 ? `, e.g. "0 0 * * *"` : `, e.g. "0 */${min / 60} * * *"`
  return ''
}

/** A pair of consecutive fire times closer than `min` minutes, or `undefined` when there is none. */
function closePair(text: string, timezone: string, min: number): ClosePair | undefined {
  return wallClockPair(text, timezone, min) ?? offsetChangePair(text, timezone, min)
}

function indices(flags: readonly number[]): number[] {
  return flags.flatMap((set, i) => (set ? [i] : []))
}

function hhmm(hour: number, minute: number): string {
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`
}

/** The closest pair by wall-clock time (every day the schedule fires, or between two firing days). */
function wallClockPair(text: string, timezone: string, min: number): ClosePair | undefined {
  const pattern = new CronPattern(text, timezone, { mode: '5-part' })
  const minutes = indices(pattern.minute)
  const hours = indices(pattern.hour)
  const firstMinute = minutes[0]
  const lastMinute = minutes.at(-1)
  const firstHour = hours[0]
  const lastHour = hours.at(-1)
  if (firstMinute === undefined || lastMinute === undefined || firstHour === undefined || lastHour === undefined) {
    return undefined
  }
  const pair = (minutes: number, first: string, second: string): ClosePair => ({
    minutes,
    first,
    second,
    offsetChange: false,
  })
  for (let i = 1; i < minutes.length; i++) {
    const [a, b] = [minutes[i - 1] ?? 0, minutes[i] ?? 0]
    if (b - a < min) return pair(b - a, hhmm(firstHour, a), hhmm(firstHour, b))
  }
  for (let i = 1; i < hours.length; i++) {
    const [a, b] = [hours[i - 1] ?? 0, hours[i] ?? 0]
    const gap = (b - a) * 60 - lastMinute + firstMinute
    if (gap < min) return pair(gap, hhmm(a, lastMinute), hhmm(b, firstMinute))
  }
  const span = lastHour * 60 + lastMinute - (firstHour * 60 + firstMinute)
  // Even on two consecutive days the last and first times are far enough apart: no need to look at the days.
  if (DAY_MS / MINUTE_MS - span >= min) return undefined
  // Which days fire depends on the day fields (and on croner's reading of L, W, #): ask croner, in UTC so that every
  // day has 24 hours, one firing day at a time.
  const job = cronJob(text, 'UTC')
  const start = Date.UTC(START.year, START.month - 1, START.day)
  let day = job.nextRun(new Date(start - 1))
  while (day && day.getTime() < start + DAY_HORIZON * DAY_MS) {
    const dayStart = Math.floor(day.getTime() / DAY_MS) * DAY_MS
    const next = job.nextRun(new Date(dayStart + DAY_MS - 1))
    if (!next) return undefined
    const days = Math.round((Math.floor(next.getTime() / DAY_MS) * DAY_MS - dayStart) / DAY_MS)
    const gap = days * (DAY_MS / MINUTE_MS) - span
    if (gap < min) {
      const on = (d: Date) => formatDate(wallTimeOf(d, 'UTC'))
      return pair(gap, `${on(day)} ${hhmm(lastHour, lastMinute)}`, `${on(next)} ${hhmm(firstHour, firstMinute)}`)
    }
    day = next
  }
  return undefined
}

/** The closest pair around the zone's offset changes of a year, walked with croner fire by fire. */
function offsetChangePair(text: string, timezone: string, min: number): ClosePair | undefined {
  const changes = offsetChanges(timezone)
  if (changes.length === 0) return undefined
  const job = cronJob(text, timezone)
  for (const change of changes) {
    // From the last fire before the window, so that a pair spanning the change from further back is measured too.
    const from = new Date(change - CHANGE_WINDOW_MS)
    let fire = job.previousRuns(1, from)[0] ?? job.nextRun(from)
    while (fire && fire.getTime() <= change + CHANGE_WINDOW_MS) {
      const next = job.nextRun(fire)
      if (!next) break
      const gap = (next.getTime() - fire.getTime()) / MINUTE_MS
      if (gap < min) {
        return {
          minutes: gap,
          first: formatZoned(fire, timezone),
          second: formatZoned(next, timezone),
          offsetChange: true,
        }
      }
      fire = next
    }
  }
  return undefined
}

/** The instants (to the minute) at which the zone's offset from UTC changes in the year from the start. */
function offsetChanges(timezone: string): number[] {
  const start = instantOf(START, timezone).getTime()
  const changes: number[] = []
  let before = offsetMs(new Date(start), timezone)
  for (let d = 1; d <= OFFSET_HORIZON; d++) {
    const at = start + d * DAY_MS
    const after = offsetMs(new Date(at), timezone)
    if (after === before) continue
    let [lo, hi] = [at - DAY_MS, at]
    while (hi - lo > MINUTE_MS) {
      const mid = lo + Math.floor((hi - lo) / 2 / MINUTE_MS) * MINUTE_MS
      if (offsetMs(new Date(mid), timezone) === before) lo = mid
      else hi = mid
    }
    changes.push(hi)
    before = after
  }
  return changes
}
