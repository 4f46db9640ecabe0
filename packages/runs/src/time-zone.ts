// Wall-clock arithmetic in IANA time zones with Intl only (no date library): the offset of a zone at an instant,
// and the instant of a local wall time (a time in a DST gap moves forward by the gap, a repeated time takes its
// first occurrence).

/** A local date and time in some time zone. */
export interface WallTime {
  readonly year: number
  /** 1-12. */
  readonly month: number
  /** 1-31. */
  readonly day: number
  readonly hour: number
  readonly minute: number
  readonly second: number
}

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(timeZone, f)
  }
  return f
}

/** True when `timeZone` is an IANA zone name the runtime knows (or `UTC`). */
export function isValidTimeZone(timeZone: string): boolean {
  if (typeof timeZone !== 'string' || timeZone.length === 0) return false
  try {
    formatter(timeZone)
    return true
  } catch {
    return false
  }
}

/** The local wall time of `instant` in `timeZone`. */
export function wallTimeOf(instant: Date, timeZone: string): WallTime {
  const parts: Record<string, number> = {}
  for (const p of formatter(timeZone).formatToParts(instant)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value)
  }
  return {
    year: parts['year'] ?? 0,
    month: parts['month'] ?? 0,
    day: parts['day'] ?? 0,
    hour: parts['hour'] ?? 0,
    minute: parts['minute'] ?? 0,
    second: parts['second'] ?? 0,
  }
}

function wallAsUtc(w: WallTime): number {
  const d = new Date(0)
  d.setUTCFullYear(w.year, w.month - 1, w.day)
  d.setUTCHours(w.hour, w.minute, w.second, 0)
  return d.getTime()
}

/** The zone's offset from UTC at `instant`, in milliseconds (positive east of Greenwich). */
export function offsetMs(instant: Date, timeZone: string): number {
  const whole = Math.floor(instant.getTime() / 1000) * 1000
  return wallAsUtc(wallTimeOf(new Date(whole), timeZone)) - whole
}

function sameWall(a: WallTime, b: WallTime): boolean {
  return (
    a.year === b.year &&
    a.month === b.month &&
    a.day === b.day &&
    a.hour === b.hour &&
    a.minute === b.minute &&
    a.second === b.second
  )
}

const DAY_MS = 86_400_000

/** The instant of a local wall time in `timeZone`. */
export function instantOf(wall: WallTime, timeZone: string): Date {
  const local = wallAsUtc(wall)
  const before = offsetMs(new Date(local - DAY_MS), timeZone)
  const after = offsetMs(new Date(local + DAY_MS), timeZone)
  const candidates = [...new Set([local - before, local - after])].sort((a, b) => a - b)
  const normalized = wallTimeOf(new Date(local), 'UTC')
  const exact = candidates.find((c) => sameWall(wallTimeOf(new Date(c), timeZone), normalized))
  return new Date(exact ?? Math.max(...candidates))
}

/** `YYYY-MM-DD` of a wall time. */
export function formatDate(w: WallTime): string {
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`
}

/** RFC 3339 with the zone's offset at `instant`, e.g. `2026-11-01T05:00:00+01:00`. */
export function formatZoned(instant: Date, timeZone: string): string {
  const w = wallTimeOf(instant, timeZone)
  const offset = Math.round(offsetMs(instant, timeZone) / 60_000)
  const sign = offset < 0 ? '-' : '+'
  const abs = Math.abs(offset)
  return `${formatDate(w)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0')
}

/** Days in a month (1-12) of a year. */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

/** Adds days to a wall date (time kept), across month and year ends. */
export function addDays(w: WallTime, days: number): WallTime {
  const d = new Date(wallAsUtc({ ...w, hour: 12, minute: 0, second: 0 }) + days * DAY_MS)
  return { ...w, year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() }
}

/** Day of the week of a wall date: 0 Sunday to 6 Saturday. */
export function weekday(w: WallTime): number {
  return new Date(wallAsUtc({ ...w, hour: 12, minute: 0, second: 0 })).getUTCDay()
}
