// Spark latency, measured beside its anchors in the same run:
// (a) a 5-node preview on the warm PreviewSession vs a cold spark-submit of the same preview plan;
// (b) the overhead of a full run (LocalSubmitter submit + wait) beyond the Spark application's own duration, cold and
//     on a warm driver started ahead of the submission.
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findSparkRuntime, LocalSubmitter, PreviewSession, type RunnerEvent, runPlan } from '@sparkle-studio/spark'
import { type BenchResult, type BenchRow, quantile, round, runIfMain, timeRow } from './lib.ts'
import { ORDERS, previewPlan, runPipeline, writeOrders } from './pipelines.ts'

const WARM_REQUESTS = 20
const COLD_RUNS = 3
const FULL_RUNS = 3

const median = (xs: readonly number[]) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  )

/** Full runs of the pipeline: wall time minus the application's own duration, and submission to SparkContext start. */
async function fullRuns(
  submitter: LocalSubmitter,
  csv: string,
  dir: string,
  warmDir?: string,
): Promise<{ overhead: number[]; appDuration: number[]; beforeApp: number[] }> {
  const overhead: number[] = []
  const appDuration: number[] = []
  const beforeApp: number[] = []
  for (let i = 0; i < FULL_RUNS; i++) {
    if (warmDir) await warmDriverReady(warmDir)
    const submittedAt = Date.now()
    const t = performance.now()
    const { id } = await submitter.submit({
      jobId: `bench-${i}`,
      plan: runPipeline(csv, join(dir, `out-${submitter.baseDir.length}-${i}`)),
    })
    let started: RunnerEvent | undefined
    const status = await submitter.wait(id, {
      onEvent: (e) => {
        if (e.type === 'started') started = e
      },
    })
    const wall = performance.now() - t
    if (status.state !== 'succeeded' || status.appDurationMs === undefined) {
      throw new Error(`full run ${i} ended ${status.state}: ${status.error?.message}`)
    }
    overhead.push(wall - status.appDurationMs)
    appDuration.push(status.appDurationMs)
    if (started?.type === 'started' && started.appStartTime !== undefined) {
      beforeApp.push(started.appStartTime - submittedAt)
    }
  }
  return { overhead, appDuration, beforeApp }
}

/** Waits until a warm driver in `baseDir` is waiting for a job (its runner wrote `ready`). */
async function warmDriverReady(baseDir: string): Promise<void> {
  const deadline = Date.now() + 120_000
  for (;;) {
    const names = await readdir(baseDir).catch(() => [] as string[])
    for (const n of names) {
      if (n.startsWith('warm-') && existsSync(join(baseDir, n, 'ready')) && !existsSync(join(baseDir, n, 'job.json'))) {
        return
      }
    }
    if (Date.now() > deadline) throw new Error('no warm driver became ready within 120 s')
    await new Promise((r) => setTimeout(r, 100))
  }
}

export async function run(): Promise<BenchResult> {
  const runtime = await findSparkRuntime()
  const dir = await mkdtemp(join(tmpdir(), 'sparkle-bench-spark-'))
  try {
    const csv = await writeOrders(dir)
    const plan = previewPlan(csv)

    // (a) warm preview session vs cold spark-submit of the same plan.
    const session = new PreviewSession({ runtime, threads: 2 })
    let startMs: number
    const warm: number[] = []
    let driverMs: number[] = []
    try {
      const t0 = performance.now()
      await session.start()
      startMs = performance.now() - t0
      for (let i = 0; i < 3; i++) await session.preview(plan)
      for (let i = 0; i < WARM_REQUESTS; i++) {
        const t = performance.now()
        const result = await session.preview(plan)
        warm.push(performance.now() - t)
        driverMs.push(result.durationMs)
        const failed = result.nodes.find((n) => !n.ok)
        if (failed) throw new Error(`preview node ${failed.nodeId} failed: ${JSON.stringify(failed)}`)
      }
    } finally {
      await session.close()
    }
    warm.sort((a, b) => a - b)
    driverMs = driverMs.sort((a, b) => a - b)
    const coldPreview: number[] = []
    for (let i = 0; i < COLD_RUNS; i++) {
      const t = performance.now()
      const result = await runPlan(plan, { runtime, master: 'local[2]', workDir: join(dir, 'cold') })
      coldPreview.push(performance.now() - t)
      if (result.status !== 'succeeded') throw new Error(`cold preview failed: ${result.error?.message}`)
    }
    const coldMedian = median(coldPreview)

    // (b) full-run overhead beyond the Spark application's own duration (SparkContext start to stop), for a cold
    // submission (a new spark-submit) and for one on a warm driver (`warmDrivers: 1`, started ahead). Runs alternate.
    const cold = await fullRuns(new LocalSubmitter({ runtime, threads: 2, baseDir: join(dir, 'cold-jobs') }), csv, dir)
    const warmSubmitter = new LocalSubmitter({ runtime, threads: 2, baseDir: join(dir, 'warm-jobs'), warmDrivers: 1 })
    let warmRuns: Awaited<ReturnType<typeof fullRuns>>
    try {
      await warmSubmitter.start()
      warmRuns = await fullRuns(warmSubmitter, csv, dir, join(dir, 'warm-jobs'))
    } finally {
      await warmSubmitter.close()
    }

    const rows: BenchRow[] = [
      timeRow(
        `5-node preview, warm session (p50 of ${WARM_REQUESTS})`,
        quantile(warm, 0.5),
        `cold spark-submit of the same plan (median of ${COLD_RUNS})`,
        coldMedian,
        '<= 500 ms',
      ),
      timeRow(
        `5-node preview, warm session (p95 of ${WARM_REQUESTS})`,
        quantile(warm, 0.95),
        `cold spark-submit of the same plan (median of ${COLD_RUNS})`,
        coldMedian,
      ),
      {
        metric: `full-run overhead beyond the application's own duration, cold spark-submit (median of ${FULL_RUNS})`,
        value: round(median(cold.overhead)),
        unit: 'ms',
        anchor: "the Spark application's own duration (SparkContext start to stop)",
        anchorValue: round(median(cold.appDuration)),
        ratio: round(median(cold.overhead) / median(cold.appDuration)),
        ratioLabel: 'of the application duration',
        target: '<= 1000 ms',
      },
      {
        metric: `full-run overhead beyond the application's own duration, warm driver (median of ${FULL_RUNS})`,
        value: round(median(warmRuns.overhead)),
        unit: 'ms',
        anchor: 'the same overhead, cold spark-submit',
        anchorValue: round(median(cold.overhead)),
        ratio: round(median(cold.overhead) / median(warmRuns.overhead)),
        ratioLabel: 'x less than cold',
        target: '<= 1000 ms',
      },
    ]
    return {
      name: 'Spark: warm preview vs cold spark-submit, and full-run overhead (local[2])',
      rows,
      notes: [
        `preview: csv read (1,000-row sample of ${ORDERS} rows, schema inferred) -> filter -> derived column -> aggregate -> sort, 100 rows per node; wall time seen by Node, after 3 warm-up requests. Driver-side time p50 ${round(quantile(driverMs, 0.5))} ms. Starting the session (JVM, Spark, warm-up) took ${round(startMs)} ms, paid once per session.`,
        `cold: runPlan (spark-submit of the plan runner) of the same preview plan, wall time to the final event; runs ${coldPreview.map((c) => round(c)).join(', ')} ms.`,
        `full run: csv -> filter -> aggregate -> parquet via LocalSubmitter.submit + wait, wall time seen by Node minus the application's own duration (the runner's succeeded event, written after the SparkSession stopped). Cold overhead runs ${cold.overhead.map((o) => round(o)).join(', ')} ms, of which submission to SparkContext start (supervisor, spark-submit's launcher JVM, the driver JVM, the Python runner) median ${round(median(cold.beforeApp))} ms. Warm-driver overhead runs ${warmRuns.overhead.map((o) => round(o)).join(', ')} ms (each run waits for the replacement warm driver to be ready first). The wait loop polls every 100 ms.`,
      ],
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

await runIfMain(import.meta.url, run)
