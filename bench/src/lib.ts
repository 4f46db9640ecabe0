// Shared helpers for the benchmarks: timing, percentiles, the report row shape used by run-all, throwaway databases.
import { arch, cpus, platform, totalmem } from 'node:os'
import pg from 'pg'

/** One measured figure, beside the anchor it is compared with in the same run. */
export interface BenchRow {
  /** What was measured, e.g. "get (p50)". */
  readonly metric: string
  /** The project's figure. */
  readonly value: number
  /** Unit of `value` and `anchorValue`, e.g. "ms", "ops/s". */
  readonly unit: string
  /** The anchor it is compared with, e.g. "simple-git add+commit". */
  readonly anchor?: string
  readonly anchorValue?: number
  /** How the ratio reads, e.g. "x faster" (anchor/value for times, value/anchor for throughput). */
  readonly ratio?: number
  readonly ratioLabel?: string
  /** The issue's target, for reference, e.g. "<= 50 ms". */
  readonly target?: string
}

/** The result of one benchmark file. */
export interface BenchResult {
  readonly name: string
  readonly rows: readonly BenchRow[]
  readonly notes?: readonly string[]
}

/** Milliseconds of `fn` over `iterations` runs (after `warmup` runs), sorted ascending. */
export async function sample(
  fn: () => unknown,
  iterations: number,
  warmup = Math.min(5, iterations),
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn()
  const times: number[] = []
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now()
    await fn()
    times.push(performance.now() - t0)
  }
  return times.sort((a, b) => a - b)
}

/** The q-quantile (0..1) of ascending-sorted numbers. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i] ?? Number.NaN
}

/** Time ratio row: how many times faster `value` is than `anchorValue` (both durations). */
export function timeRow(metric: string, value: number, anchor: string, anchorValue: number, target?: string): BenchRow {
  return {
    metric,
    value: round(value),
    unit: 'ms',
    anchor,
    anchorValue: round(anchorValue),
    // Always >= 1, with the direction in words, so a table reads without mental division.
    ratio: round(anchorValue >= value ? anchorValue / value : value / anchorValue),
    ratioLabel: anchorValue >= value ? 'x faster than anchor' : 'x slower than anchor',
    ...(target ? { target } : {}),
  }
}

/** Rounds to 3 significant decimals for reports. */
export function round(n: number): number {
  return Math.round(n * 1000) / 1000
}

/** A one-line description of the machine, for reports. */
export function machine(): string {
  const c = cpus()
  return `${platform()}-${arch()}, ${c.length} x ${c[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`
}

/** Renders a result as a markdown table. */
export function toMarkdown(result: BenchResult): string {
  const lines = [
    `### ${result.name}`,
    '',
    '| metric | value | anchor | anchor value | ratio | target |',
    '| --- | --- | --- | --- | --- | --- |',
  ]
  for (const r of result.rows) {
    lines.push(
      `| ${r.metric} | ${r.value} ${r.unit} | ${r.anchor ?? ''} | ${r.anchorValue === undefined ? '' : `${r.anchorValue} ${r.unit}`} | ${r.ratio === undefined ? '' : `${r.ratio} ${r.ratioLabel ?? ''}`} | ${r.target ?? ''} |`,
    )
  }
  for (const n of result.notes ?? []) lines.push('', `- ${n}`)
  return lines.join('\n')
}

/** Runs `bench` and prints its table when the file is executed directly (`node bench/src/x.ts`). */
export async function runIfMain(url: string, bench: () => Promise<BenchResult>): Promise<void> {
  if (process.argv[1] && new URL(url).pathname === process.argv[1]) {
    console.log(`machine: ${machine()}\n`)
    console.log(toMarkdown(await bench()))
  }
}

function serverUrl(): string {
  return process.env['TEST_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres'
}

/** Runs `fn` on a throwaway PostgreSQL database named after `prefix`, dropped afterwards (TEST_DATABASE_URL's server). */
export async function withDatabase<T>(prefix: string, fn: (url: string) => Promise<T>): Promise<T> {
  const name = `${prefix}_${Date.now().toString(36)}`
  const admin = new pg.Client({ connectionString: serverUrl() })
  await admin.connect()
  await admin.query(`CREATE DATABASE "${name}"`)
  const url = new URL(serverUrl())
  url.pathname = `/${name}`
  try {
    return await fn(url.toString())
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
    await admin.end()
  }
}
