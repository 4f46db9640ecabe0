import { describe, expect, it } from 'vitest'
import { runPlan } from './run-plan.ts'
import { findSparkRuntime } from './runtime.ts'

describe('runPlan (real spark-submit, local[*])', () => {
  it('runs a Spark SQL plan and returns its rows, schema and application id', async () => {
    const runtime = await findSparkRuntime()
    const result = await runPlan(
      {
        pipeline: 'smoke',
        mode: 'run',
        steps: [
          {
            nodeId: 'numbers',
            kind: 'view',
            view: 'numbers',
            sql: 'SELECT id, id % 3 AS bucket FROM range(0, 30)',
          },
          {
            nodeId: 'buckets',
            kind: 'query',
            sql: 'SELECT bucket, count(*) AS n, sum(id) AS total FROM numbers GROUP BY bucket ORDER BY bucket',
            limit: 10,
          },
        ],
      },
      { runtime, master: 'local[2]' },
    )
    expect(result.error).toBeUndefined()
    expect(result.status).toBe('succeeded')
    expect(result.appId).toMatch(/^local-\d+$/)
    expect(result.rows['buckets']?.rows).toEqual([
      { bucket: 0, n: 10, total: 135 },
      { bucket: 1, n: 10, total: 145 },
      { bucket: 2, n: 10, total: 155 },
    ])
    expect(result.rows['buckets']?.schema.map((c) => `${c.name}:${c.type}`)).toEqual([
      'bucket:bigint',
      'n:bigint',
      'total:bigint',
    ])
    expect(result.events.map((e) => e.type)).toContain('started')
    expect(result.logFile).toMatch(/spark\.log$/)
  })
})
