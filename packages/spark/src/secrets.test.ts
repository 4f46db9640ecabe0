import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ExecutionPlan } from '@sparkle-studio/core'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LocalSubmitter } from './local-submitter.ts'
import { findSparkRuntime } from './runtime.ts'

describe('secret references in read and write options (real Spark)', () => {
  let dir: TempDir
  let plan: ExecutionPlan
  beforeAll(async () => {
    dir = await makeTempDir('sparkle-secrets-')
    const csv = join(dir.path, 'rows.csv')
    await writeFile(csv, 'id;name\n1;ada\n2;grace\n')
    plan = {
      pipeline: 'secrets',
      mode: 'run',
      steps: [
        // The delimiter stands in for a password: it only works when the runner resolves the reference.
        {
          nodeId: 'rows',
          kind: 'read',
          view: 'rows',
          source: { format: 'csv', path: csv, options: { header: 'true', sep: { $secret: 'CSV_SEP' } } },
        },
        { nodeId: 'out', kind: 'query', sql: 'SELECT * FROM rows ORDER BY id', limit: 10 },
      ],
    }
  })
  afterAll(async () => {
    await dir.remove()
  })

  it('resolves {"$secret": NAME} from SPARKLE_SECRET_NAME at run time, and says which variable is missing', async () => {
    const runtime = await findSparkRuntime()
    const withSecret = new LocalSubmitter({
      runtime,
      baseDir: join(dir.path, 'a'),
      threads: 1,
      env: { SPARKLE_SECRET_CSV_SEP: ';' },
    })
    const job = await withSecret.submit({ jobId: 'with', plan })
    const ok = await withSecret.wait(job.id)
    expect(ok.state).toBe('succeeded')
    const rows = (await readFile(join(job.id, 'events.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; rows?: unknown[] })
      .find((e) => e.type === 'rows')
    // Split on the resolved delimiter (no schema inference: values stay strings).
    expect(rows?.rows).toEqual([
      { id: '1', name: 'ada' },
      { id: '2', name: 'grace' },
    ])
    // On disk the plan keeps the reference, not the value.
    const stored = JSON.parse(await readFile(join(job.id, 'plan.json'), 'utf8')) as ExecutionPlan
    expect(stored.steps[0]).toMatchObject({ source: { options: { sep: { $secret: 'CSV_SEP' } } } })

    const without = new LocalSubmitter({ runtime, baseDir: join(dir.path, 'b'), threads: 1 })
    const failed = await without.wait((await without.submit({ jobId: 'without', plan })).id)
    expect(failed.state).toBe('failed')
    expect(failed.error).toMatchObject({ nodeId: 'rows', errorClass: 'UNRESOLVED_SECRET' })
    expect(failed.error?.message).toContain('SPARKLE_SECRET_CSV_SEP')
  })
})
