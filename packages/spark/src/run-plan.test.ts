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
  })

  it('fails with the failing node, Spark error class and message for a bad column', async () => {
    const runtime = await findSparkRuntime()
    const result = await runPlan(
      {
        pipeline: 'broken',
        mode: 'run',
        steps: [
          { nodeId: 'src', kind: 'view', view: 'src', sql: 'SELECT 1 AS a' },
          { nodeId: 'bad', kind: 'query', sql: 'SELECT no_such_column FROM src', limit: 1 },
        ],
      },
      { runtime, master: 'local[1]' },
    )
    expect(result.status).toBe('failed')
    expect(result.error?.nodeId).toBe('bad')
    expect(result.error?.errorClass).toMatch(/UNRESOLVED_COLUMN/)
    expect(result.error?.message).toContain('no_such_column')
  })
})
