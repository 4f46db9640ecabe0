import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatZoned, instantOf, isValidTimeZone, offsetMs, wallTimeOf } from './time-zone.ts'

const zones = ['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/Santiago']

describe('time zones', () => {
  it('knows IANA zones and rejects others', () => {
    expect(isValidTimeZone('Europe/Paris')).toBe(true)
    expect(isValidTimeZone('Mars/Olympus')).toBe(false)
    expect(isValidTimeZone('')).toBe(false)
  })

  it('maps wall times to instants and back, through DST changes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2040, 0, 1) }),
        (zone, ms) => {
          const instant = new Date(Math.floor(ms / 60_000) * 60_000)
          const wall = wallTimeOf(instant, zone)
          const back = instantOf(wall, zone)
          // A repeated wall time maps to its first occurrence: the same instant or one DST shift earlier.
          return (
            back.getTime() === instant.getTime() || (back < instant && instant.getTime() - back.getTime() <= 3_600_000)
          )
        },
      ),
    )
  })

  it('moves a wall time in a DST gap forward by the gap', () => {
    const wall = { year: 2026, month: 3, day: 29, hour: 2, minute: 30, second: 0 }
    expect(instantOf(wall, 'Europe/Paris').toISOString()).toBe('2026-03-29T01:30:00.000Z')
  })

  it('formats RFC 3339 with the zone offset', () => {
    const instant = new Date('2026-11-01T04:00:00Z')
    expect(formatZoned(instant, 'Asia/Kolkata')).toBe('2026-11-01T09:30:00+05:30')
    expect(formatZoned(instant, 'America/New_York')).toBe('2026-11-01T00:00:00-04:00')
    expect(formatZoned(new Date('2026-11-01T07:00:00Z'), 'America/New_York')).toBe('2026-11-01T02:00:00-05:00')
    expect(offsetMs(instant, 'UTC')).toBe(0)
  })
})
