// A run's figures as Spark reports them, checked against what is on disk: the step fields of `step_finished` (rows
// written, rows and bytes read, bytes written, task time, jobs) and the application's `usage` event, from the
// spark-submit runner (the driver's status store).
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { ExecutionPlan } from '@sparkle-studio/core'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunnerEvent } from '../src/events.ts'
import { LocalSubmitter } from '../src/local-submitter.ts'
import { findSparkRuntime, type SparkRuntime } from '../src/runtime.ts'
import { makeOrders, readOrdersStep, writeOrdersCsv } from '../src/testing/fixtures.ts'

const ORDERS = makeOrders(400)
const THREADS = 2

/**
 * csv -> filter -> aggregate -> parquet, then the parquet read back and counted. The filter is not one Spark pushes
 * into the CSV reader (a pushed filter drops rows while they are read, so fewer rows would count as read).
 */
function metricsPlan(csv: string, out: string): ExecutionPlan {
  return {
    pipeline: 'run-metrics',
    mode: 'run',
    steps: [
      readOrdersStep(csv),
      {
        nodeId: 'paid',
        kind: 'view',
        view: '`sparkle_paid`',
        sql: "SELECT * FROM `sparkle_orders` WHERE upper(status) = 'PAID'",
      },
      {
        nodeId: 'by_customer',
        kind: 'view',
        view: '`sparkle_by_customer`',
        sql: 'SELECT customer, count(*) AS orders, sum(amount_cents) AS revenue_cents FROM `sparkle_paid` GROUP BY customer',
      },
      {
        nodeId: 'sink',
        kind: 'write',
        sql: 'SELECT * FROM `sparkle_by_customer`',
        target: { format: 'parquet', mode: 'overwrite', path: out },
      },
      { nodeId: 'readback', kind: 'read', view: '`sparkle_readback`', source: { format: 'parquet', path: out } },
      { nodeId: 'count', kind: 'query', sql: 'SELECT count(*) AS n FROM `sparkle_readback`', limit: 1 },
    ],
  }
}

/** The summed size of the data files Spark wrote under `dir` (no `_SUCCESS`, no `.crc` checksums). */
async function partFilesBytes(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.startsWith('part-')) continue
    total += (await stat(join(entry.parentPath, entry.name))).size
  }
  return total
}

function stepFinished(events: readonly RunnerEvent[], nodeId: string) {
  const found = events.find((e) => e.type === 'step_finished' && e.nodeId === nodeId)
  if (found?.type !== 'step_finished') throw new Error(`no step_finished event for ${nodeId}`)
  return found
}

let runtime: SparkRuntime
let dir: TempDir
let csv: string

beforeAll(async () => {
  runtime = await findSparkRuntime()
  dir = await makeTempDir('sparkle-run-metrics-')
  csv = await writeOrdersCsv(dir.path, ORDERS)
})

afterAll(async () => {
  await dir?.remove()
})

describe('the spark-submit runner (LocalSubmitter, local[2])', () => {
  it("reports the sink's rows and bytes, the rows its jobs read, and the application's usage", async () => {
    const out = join(dir.path, 'by-customer.parquet')
    const submitter = new LocalSubmitter({ runtime, baseDir: join(dir.path, 'jobs'), threads: THREADS })
    const { id } = await submitter.submit({ jobId: 'metrics', plan: metricsPlan(csv, out) })
    const events: RunnerEvent[] = []
    const status = await submitter.wait(id, { onEvent: (e) => events.push(e) })
    expect(status.error).toBeUndefined()
    expect(status.state).toBe('succeeded')

    const counted = events.find((e) => e.type === 'rows' && e.nodeId === 'count')
    const readBack = counted?.type === 'rows' ? Number(counted.rows[0]?.['n']) : Number.NaN
    const sink = stepFinished(events, 'sink')
    const bytesOnDisk = await partFilesBytes(out)
    expect(readBack).toBeGreaterThan(0)
    expect(sink.rows).toBe(readBack)
    expect(sink.bytesWritten).toBe(bytesOnDisk)
    // The sink's own jobs read the whole CSV (its data rows, not the header) and nothing else.
    expect(sink.rowsIn).toBe(ORDERS.length)
    expect(sink.bytesRead).toBeGreaterThan(0)
    expect(sink.jobs).toBeGreaterThanOrEqual(1)
    expect(sink.taskMs).toBeGreaterThan(0)
    // Views are lazy: they run no job and say nothing of one.
    const view = stepFinished(events, 'paid')
    expect([view.jobs, view.rowsIn, view.bytesRead, view.bytesWritten, view.taskMs]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ])
    // The read-back query's jobs read the parquet files: every row the sink wrote.
    expect(stepFinished(events, 'count').rowsIn).toBe(readBack)

    const usage = events.at(-2)
    const started = events.find((e) => e.type === 'started')
    if (usage?.type !== 'usage' || started?.type !== 'started') throw new Error('no usage event before the final one')
    expect(events.at(-1)?.type).toBe('succeeded')
    const wallSeconds = (usage.ts - (started.appStartTime ?? started.ts)) / 1000
    const { taskSeconds = 0, coreSeconds = 0 } = usage
    console.log(
      `rows ${sink.rows}, rowsIn ${sink.rowsIn}, bytesWritten ${sink.bytesWritten} (on disk ${bytesOnDisk}), ` +
        `taskSeconds ${taskSeconds}, coreSeconds ${coreSeconds}, wall ${wallSeconds} s x ${usage.cores} cores`,
    )
    expect(usage.executors).toBe(1)
    expect(usage.cores).toBe(THREADS)
    expect(taskSeconds).toBeGreaterThan(0)
    expect(taskSeconds).toBeLessThanOrEqual(coreSeconds)
    // The driver (the one executor) was added after the application started and counted until the event: at most the
    // application's wall time on every core, plus rounding.
    expect(coreSeconds).toBeLessThanOrEqual(wallSeconds * THREADS + 0.01)
    expect(usage.cpuSeconds).toBeGreaterThan(0)
    expect(usage.peakMemoryBytes).toBeGreaterThan(0)
    expect(usage.outputBytes).toBe(bytesOnDisk)
    expect(usage.inputBytes).toBeGreaterThanOrEqual(sink.bytesRead ?? 0)
    expect(usage.shuffleWriteBytes).toBeGreaterThan(0)
  })
})
