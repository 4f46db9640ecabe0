import { describe, expect, it } from 'vitest'
import { jsonLogger } from './logger.ts'

describe('jsonLogger', () => {
  it('writes one JSON object per line at or above its level, with credentials redacted', () => {
    const lines: string[] = []
    const logger = jsonLogger({
      level: 'info',
      write: (l) => lines.push(l),
      now: () => new Date('2026-11-01T00:00:00Z'),
    })
    logger.log('debug', 'hidden')
    logger.log('warn', 'claim failed for postgres://admin:s3cret@db:5432/x', {
      workerId: 'w1',
      error: 'connect ECONNREFUSED postgres://u:pw@h/db',
      skipped: undefined,
      n: 3,
    })
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0] ?? '')).toEqual({
      ts: '2026-11-01T00:00:00.000Z',
      level: 'warn',
      msg: 'claim failed for postgres://***@db:5432/x',
      workerId: 'w1',
      error: 'connect ECONNREFUSED postgres://***@h/db',
      n: 3,
    })
  })
})
