// What the driver's plan checks cost, measured beside the same work in the same run:
// (a) a 5-node preview on the warm PreviewSession, the plan with a policy (every check: reflection, commands, script
//     transformation, denied functions, paths with symbolic links resolved, JDBC URLs) against the same plan without
//     one (reflection, commands and script transformation only; no switch turns those off), requests alternating; and
//     the time the driver itself reports spending on the checks, against the preview's p50;
// (b) a full run (LocalSubmitter submit + wait, cold spark-submit) with and without a policy, runs alternating, and
//     the checks' own time the runner reports per step.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultExecutionPolicy, type PlanPolicy } from '@sparkle-studio/core'
import { findSparkRuntime, LocalSubmitter, PreviewSession, type RunnerEvent } from '@sparkle-studio/spark'
import { type BenchResult, type BenchRow, quantile, round, runIfMain } from './lib.ts'
import { ORDERS, previewPlan, runPipeline, writeOrders } from './pipelines.ts'

const WARM_REQUESTS = 20
const FULL_RUNS = 3

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)
const p50 = (xs: readonly number[]) => quantile(sorted(xs), 0.5)

export async function run(): Promise<BenchResult> {
  const runtime = await findSparkRuntime()
  const dir = await mkdtemp(join(tmpdir(), 'sparkle-bench-plan-checks-'))
  try {
    const csv = await writeOrders(dir)
    const out = join(dir, 'out')
    const { readRoots, writeRoots, deniedFunctions, jdbcUrlPatterns } = defaultExecutionPolicy({
      readRoots: [dir],
      writeRoots: [out],
    })
    const policy: PlanPolicy = { readRoots, writeRoots, deniedFunctions, jdbcUrlPatterns }

    // (a) previews: one warm session, the plan with and without its policy, alternating.
    const session = new PreviewSession({ runtime, threads: 2 })
    const wall = { on: [] as number[], off: [] as number[] }
    const driver = { on: [] as number[], off: [] as number[] }
    const checks = { on: [] as number[], off: [] as number[] }
    try {
      await session.start()
      const plans = { on: previewPlan(csv, policy), off: previewPlan(csv, undefined) }
      for (let i = 0; i < 3; i++) for (const p of [plans.on, plans.off]) await session.preview(p)
      for (let i = 0; i < WARM_REQUESTS; i++) {
        for (const mode of i % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
          const t = performance.now()
          const result = await session.preview(plans[mode])
          wall[mode].push(performance.now() - t)
          driver[mode].push(result.durationMs)
          checks[mode].push(result.checksMs ?? Number.NaN)
          const failed = result.nodes.find((n) => !n.ok)
          if (failed) throw new Error(`preview node ${failed.nodeId} failed: ${JSON.stringify(failed)}`)
        }
      }
    } finally {
      await session.close()
    }

    // (b) full runs, cold spark-submit, with and without the policy, alternating.
    const submitter = new LocalSubmitter({ runtime, threads: 2, baseDir: join(dir, 'jobs') })
    const full = { on: [] as number[], off: [] as number[] }
    const app = { on: [] as number[], off: [] as number[] }
    const runChecks = { on: [] as number[], off: [] as number[] }
    for (let i = 0; i < FULL_RUNS; i++) {
      for (const mode of i % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        const t = performance.now()
        const { id } = await submitter.submit({
          jobId: `bench-${mode}-${i}`,
          plan: runPipeline(csv, join(out, `${mode}-${i}`), mode === 'on' ? policy : undefined),
        })
        let checked = 0
        const status = await submitter.wait(id, {
          onEvent: (e: RunnerEvent) => {
            if (e.type === 'step_finished') checked += e.checksMs ?? 0
          },
        })
        if (status.state !== 'succeeded' || status.appDurationMs === undefined) {
          throw new Error(`full run ${mode} ${i} ended ${status.state}: ${status.error?.message}`)
        }
        full[mode].push(performance.now() - t)
        app[mode].push(status.appDurationMs)
        runChecks[mode].push(checked)
      }
    }

    const previewOn = p50(wall.on)
    const checksOn = p50(checks.on)
    const rows: BenchRow[] = [
      {
        metric: `5-node preview with the policy's checks (p50 of ${WARM_REQUESTS})`,
        value: round(previewOn),
        unit: 'ms',
        anchor: 'the same plan without a policy (reflection, commands, scripts checked only)',
        anchorValue: round(p50(wall.off)),
        ratio: round(previewOn / p50(wall.off)),
        ratioLabel: 'x the time without a policy',
      },
      {
        metric: `driver time spent on the checks per preview, with the policy (p50 of ${WARM_REQUESTS})`,
        value: round(checksOn),
        unit: 'ms',
        anchor: 'the preview p50 with the policy',
        anchorValue: round(previewOn),
        ratio: round(checksOn / previewOn),
        ratioLabel: 'of the preview p50',
        target: '< 0.1 of the preview p50',
      },
      {
        metric: `driver time spent on the checks per preview, without a policy (p50 of ${WARM_REQUESTS})`,
        value: round(p50(checks.off)),
        unit: 'ms',
        anchor: 'the preview p50 without a policy',
        anchorValue: round(p50(wall.off)),
        ratio: round(p50(checks.off) / p50(wall.off)),
        ratioLabel: 'of the preview p50',
      },
      {
        metric: `full run with the policy, submit to final state (median of ${FULL_RUNS})`,
        value: round(p50(full.on)),
        unit: 'ms',
        anchor: 'the same run without a policy',
        anchorValue: round(p50(full.off)),
        ratio: round(p50(full.on) / p50(full.off)),
        ratioLabel: 'x the time without a policy',
      },
      {
        metric: `checks' own time in a full run with the policy, all steps (median of ${FULL_RUNS})`,
        value: round(p50(runChecks.on)),
        unit: 'ms',
        anchor: "the run's application duration",
        anchorValue: round(p50(app.on)),
        ratio: round(p50(runChecks.on) / p50(app.on)),
        ratioLabel: 'of the application duration',
      },
    ]
    return {
      name: "Spark: the driver's plan checks, on vs off (local[2])",
      rows,
      notes: [
        `preview: csv read (1,000-row sample of ${ORDERS} rows, schema inferred) -> filter -> derived column -> aggregate -> sort, 100 rows per node; wall time seen by Node, after 3 warm-up requests of each kind; requests with and without the policy alternate. Driver-side p50 ${round(p50(driver.on))} ms with the policy, ${round(p50(driver.off))} ms without.`,
        "checks' time is what the driver reports (checksMs): describing the parsed and analyzed plans in the JVM (a Janino-compiled walker, one call per plan) and applying the rules, paths resolved with realpath; parsing and analysis themselves replace spark.sql's and are not counted.",
        `full runs: csv -> filter -> aggregate -> parquet sink, cold spark-submit each; checks' time per run (median) ${round(p50(runChecks.on))} ms with the policy, ${round(p50(runChecks.off))} ms without (the walker is compiled while Spark starts). Application durations (median) ${round(p50(app.on))} ms with, ${round(p50(app.off))} ms without.`,
      ],
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

await runIfMain(import.meta.url, run)
