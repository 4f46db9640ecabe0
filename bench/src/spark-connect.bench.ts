// Spark Connect, measured beside its anchors in the same run, against one Connect server (local[2]) started here:
// (a) preview-like query latency (p50/p95) and (b) result throughput (rows/s) of our SparkConnectClient beside the same
//     queries through PySpark's own Spark Connect client (spark_connect_anchor.py, pyspark[connect] in its own venv),
//     one client after the other, never both at once, in two rounds of alternating order;
// (c) a full run's wall time over Connect (SparkConnectSubmitter submit + wait of a SELECT 1 plan, so nearly all of
//     it is overhead) beside a cold spark-submit run of the same plan (runPlan, local[1]).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ExecutionPlan } from '@sparkle-studio/core'
import { findSparkRuntime, runPlan } from '@sparkle-studio/spark'
import { SparkConnectClient, SparkConnectSubmitter, startSparkConnectServer } from '@sparkle-studio/spark/connect'
import { type BenchResult, type BenchRow, quantile, round, runIfMain, timeRow } from './lib.ts'

const LATENCY_ITERATIONS = 30 // per client, split over the two rounds
const LATENCY_WARMUP = 5 // per client and round
const THROUGHPUT_ITERATIONS = 4 // per client, split over the two rounds
const THROUGHPUT_WARMUP = 1 // per client and round
const CONNECT_RUNS = 10
const CONNECT_RUN_WARMUP = 2
const COLD_RUNS = 3

const LATENCY_QUERIES = [
  {
    name: 'preview (filter, 3 columns, LIMIT 100)',
    sql: 'SELECT id, id * 2 AS twice, CAST(id AS STRING) AS s FROM range(0, 100000) WHERE id % 97 = 0 LIMIT 100',
  },
  {
    name: 'small aggregate (GROUP BY, 10 rows)',
    sql: 'SELECT id % 10 AS k, count(*) AS n, sum(id) AS total FROM range(0, 100000) GROUP BY id % 10 ORDER BY k',
  },
] as const
const THROUGHPUT_ROWS = 2_000_000
const THROUGHPUT_QUERY = {
  name: `${THROUGHPUT_ROWS.toLocaleString('en-US')} rows x 4 columns (bigint, bigint, string, decimal)`,
  sql: `SELECT id, id * 2 AS twice, CAST(id AS STRING) AS s, id / 3.0 AS frac FROM range(0, ${THROUGHPUT_ROWS})`,
} as const

const median = (xs: readonly number[]) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  )
const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)
/** Progress on stderr (the tables go to stdout). */
const progress = (message: string) => console.error(`  spark-connect: ${message}`)

/** What spark_connect_anchor.py prints (milliseconds, in run order). */
interface AnchorOutput {
  readonly pyspark: string
  readonly sessionMs: number
  readonly latency: readonly {
    readonly name: string
    readonly rows: number
    readonly sqlCollectMs: number[]
    readonly dfCollectMs: number[]
  }[]
  readonly throughput: readonly {
    readonly name: string
    readonly rows: number
    readonly arrowRows: number
    readonly collectMs: number[]
    readonly toArrowMs: number[]
  }[]
}

/** The Python with pyspark[connect]: `./sparkle bench` installs it into .tools/connect-bench-venv. */
function anchorPython(): string {
  const python =
    process.env['SPARKLE_CONNECT_BENCH_PYTHON'] ||
    join(import.meta.dirname, '..', '..', '.tools', 'connect-bench-venv', 'bin', 'python')
  if (!existsSync(python)) {
    throw new Error(
      `no Python with PySpark's Connect client at ${python}: run ./sparkle bench spark-connect (it installs pyspark[connect] into .tools/connect-bench-venv), or set SPARKLE_CONNECT_BENCH_PYTHON`,
    )
  }
  return python
}

/** Runs the PySpark anchor once against `remote` and returns its timings. */
function runAnchor(python: string, remote: string, spec: unknown): Promise<AnchorOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [join(import.meta.dirname, 'spark_connect_anchor.py'), remote], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONWARNINGS: 'ignore', SPARK_REMOTE: remote },
    })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
    child.once('error', reject)
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`the PySpark anchor exited ${code}: ${err.slice(-2000)}`))
      try {
        resolve(JSON.parse(out) as AnchorOutput)
      } catch (error) {
        reject(new Error(`the PySpark anchor printed no JSON (${(error as Error).message}): ${err.slice(-2000)}`))
      }
    })
    child.stdin.end(JSON.stringify(spec))
  })
}

/** Our client's timings of the same queries, the same way: wall time from the request to all rows as JS values. */
async function runOurs(
  client: SparkConnectClient,
  latencyIterations: number,
  throughputIterations: number,
): Promise<{ latency: { rows: number; ms: number[] }[]; throughput: { rows: number; ms: number[] } }> {
  const latency: { rows: number; ms: number[] }[] = []
  for (const q of LATENCY_QUERIES) {
    for (let i = 0; i < LATENCY_WARMUP; i++) await client.executeSql(q.sql)
    const ms: number[] = []
    let rows = 0
    for (let i = 0; i < latencyIterations; i++) {
      const t = performance.now()
      const result = await client.executeSql(q.sql)
      ms.push(performance.now() - t)
      rows = result.rows.length
    }
    latency.push({ rows, ms })
  }
  for (let i = 0; i < THROUGHPUT_WARMUP; i++) await client.executeSql(THROUGHPUT_QUERY.sql)
  const ms: number[] = []
  let rows = 0
  for (let i = 0; i < throughputIterations; i++) {
    const t = performance.now()
    const result = await client.executeSql(THROUGHPUT_QUERY.sql)
    ms.push(performance.now() - t)
    rows = result.rows.length
  }
  return { latency, throughput: { rows, ms } }
}

function throughputRow(
  metric: string,
  rows: number,
  ms: number,
  anchor: string,
  anchorMs: number,
  target?: string,
): BenchRow {
  const value = Math.round(rows / (ms / 1000))
  const anchorValue = Math.round(rows / (anchorMs / 1000))
  return {
    metric,
    value,
    unit: 'rows/s',
    anchor,
    anchorValue,
    ratio: round(value / anchorValue),
    ratioLabel: "x the anchor's rows/s",
    ...(target ? { target } : {}),
  }
}

export async function run(): Promise<BenchResult> {
  const python = anchorPython()
  const runtime = await findSparkRuntime()
  const dir = await mkdtemp(join(tmpdir(), 'sparkle-bench-connect-'))
  const plan: ExecutionPlan = {
    pipeline: 'bench',
    mode: 'run',
    steps: [{ nodeId: 'q', kind: 'query', sql: 'SELECT 1 AS one', limit: 1 }],
  }
  try {
    const t0 = performance.now()
    const server = await startSparkConnectServer({ runtime, master: 'local[2]', logFile: join(dir, 'connect.log') })
    const serverStartMs = performance.now() - t0
    const ours = {
      latency: LATENCY_QUERIES.map(() => ({ rows: 0, ms: [] as number[] })),
      throughput: { rows: 0, ms: [] as number[] },
    }
    const py = {
      version: '',
      sessionMs: [] as number[],
      latency: LATENCY_QUERIES.map(() => ({ rows: 0, sqlMs: [] as number[], dfMs: [] as number[] })),
      throughput: { rows: 0, arrowRows: 0, collectMs: [] as number[], toArrowMs: [] as number[] },
    }
    const connectRuns: number[] = []
    let connectRunsBeforeFirst = 0
    try {
      progress(`server at ${server.url} (${round(serverStartMs)} ms); full runs over Connect`)
      // (c) first, on a fresh server: full runs over Connect, a new session per job, submit to final status.
      const submitter = new SparkConnectSubmitter({ remote: server.url })
      for (let i = 0; i < CONNECT_RUN_WARMUP + CONNECT_RUNS; i++) {
        const t = performance.now()
        const { id } = await submitter.submit({ jobId: `bench-connect-${i}`, plan })
        // onEvent is passed on purpose: SparkConnectSubmitter.wait without one spins forever once an event arrived
        // (`options.onEvent?.(job.events[seen++])` skips the `seen++` with the call), so it is never left out here.
        const status = await submitter.wait(id, { onEvent: () => {}, signal: AbortSignal.timeout(120_000) })
        const wall = performance.now() - t
        if (status.state !== 'succeeded')
          throw new Error(`Connect run ${i} ended ${status.state}: ${status.error?.message}`)
        if (i === 0) connectRunsBeforeFirst = wall
        if (i >= CONNECT_RUN_WARMUP) connectRuns.push(wall)
      }
      const client = new SparkConnectClient({ host: '127.0.0.1', port: server.port })
      try {
        // Two rounds, ours first then PySpark's, then the other way round, so neither always meets a warmer server.
        for (const order of [
          ['ours', 'py'],
          ['py', 'ours'],
        ] as const) {
          const latencyIterations = LATENCY_ITERATIONS / 2
          const throughputIterations = THROUGHPUT_ITERATIONS / 2
          for (const who of order) {
            progress(`round ${order[0] === 'ours' ? 1 : 2}: ${who === 'ours' ? 'our client' : 'PySpark'}`)
            if (who === 'ours') {
              const r = await runOurs(client, latencyIterations, throughputIterations)
              r.latency.forEach((l, i) => {
                const into = ours.latency[i] as (typeof ours.latency)[number]
                into.rows = l.rows
                into.ms.push(...l.ms)
              })
              ours.throughput.rows = r.throughput.rows
              ours.throughput.ms.push(...r.throughput.ms)
            } else {
              const r = await runAnchor(python, server.url, {
                latency: LATENCY_QUERIES.map((q) => ({ ...q, iterations: latencyIterations, warmup: LATENCY_WARMUP })),
                throughput: [{ ...THROUGHPUT_QUERY, iterations: throughputIterations, warmup: THROUGHPUT_WARMUP }],
              })
              py.version = r.pyspark
              py.sessionMs.push(r.sessionMs)
              r.latency.forEach((l, i) => {
                const into = py.latency[i] as (typeof py.latency)[number]
                into.rows = l.rows
                into.sqlMs.push(...l.sqlCollectMs)
                into.dfMs.push(...l.dfCollectMs)
              })
              const t = r.throughput[0]
              if (t) {
                py.throughput.rows = t.rows
                py.throughput.arrowRows = t.arrowRows
                py.throughput.collectMs.push(...t.collectMs)
                py.throughput.toArrowMs.push(...t.toArrowMs)
              }
            }
          }
        }
      } finally {
        await client.close()
      }
      for (const [i, l] of ours.latency.entries()) {
        const p = py.latency[i]
        if (l.rows !== p?.rows) throw new Error(`latency query ${i}: ours returned ${l.rows} rows, PySpark ${p?.rows}`)
      }
      if (ours.throughput.rows !== THROUGHPUT_ROWS || py.throughput.rows !== THROUGHPUT_ROWS) {
        throw new Error(`throughput query: ours returned ${ours.throughput.rows} rows, PySpark ${py.throughput.rows}`)
      }
    } finally {
      await server.stop()
    }

    progress('cold spark-submit runs')
    // Cold spark-submit runs of the same plan, after the server stopped (the two never share the two cores).
    const coldRuns: number[] = []
    for (let i = 0; i < COLD_RUNS; i++) {
      const t = performance.now()
      const result = await runPlan(plan, { runtime, master: 'local[1]', workDir: join(dir, 'cold') })
      coldRuns.push(performance.now() - t)
      if (result.status !== 'succeeded')
        throw new Error(`cold run ${i} ended ${result.status}: ${result.error?.message}`)
    }

    const rows: BenchRow[] = []
    LATENCY_QUERIES.forEach((q, i) => {
      const o = sorted(ours.latency[i]?.ms ?? [])
      const p = py.latency[i] as (typeof py.latency)[number]
      const pSql = sorted(p.sqlMs)
      const pDf = sorted(p.dfMs)
      rows.push(
        timeRow(
          `${q.name}, our client (p50 of ${o.length})`,
          quantile(o, 0.5),
          `PySpark spark.sql(q).collect() (p50 of ${pSql.length})`,
          quantile(pSql, 0.5),
          i === 0 ? "p50 within 1.2x PySpark's" : undefined,
        ),
        timeRow(
          `${q.name}, our client (p95 of ${o.length})`,
          quantile(o, 0.95),
          `PySpark spark.sql(q).collect() (p95 of ${pSql.length})`,
          quantile(pSql, 0.95),
        ),
        timeRow(
          `${q.name}, our client (p50 of ${o.length})`,
          quantile(o, 0.5),
          `PySpark df.collect() of a DataFrame made once (p50 of ${pDf.length})`,
          quantile(pDf, 0.5),
          i === 0 ? "p50 within 1.2x PySpark's" : undefined,
        ),
      )
    })
    const oursThroughputMs = median(ours.throughput.ms)
    rows.push(
      throughputRow(
        `${THROUGHPUT_QUERY.name}, our client executeSql, rows as JS objects (median of ${ours.throughput.ms.length})`,
        THROUGHPUT_ROWS,
        oursThroughputMs,
        `PySpark spark.sql(q).collect(), Row objects (median of ${py.throughput.collectMs.length})`,
        median(py.throughput.collectMs),
        ">= 1.0x PySpark's",
      ),
      throughputRow(
        `${THROUGHPUT_QUERY.name}, our client executeSql, rows as JS objects (median of ${ours.throughput.ms.length})`,
        THROUGHPUT_ROWS,
        oursThroughputMs,
        `PySpark spark.sql(q).toArrow(), an Arrow table, no Python values (median of ${py.throughput.toArrowMs.length})`,
        median(py.throughput.toArrowMs),
      ),
    )
    const connectMedian = median(connectRuns)
    rows.push(
      timeRow(
        `full run (SELECT 1) over Connect, SparkConnectSubmitter submit to final status: its overhead (median of ${CONNECT_RUNS})`,
        connectMedian,
        `cold spark-submit run of the same plan, runPlan local[1] (median of ${COLD_RUNS})`,
        median(coldRuns),
        '<= 300 ms overhead',
      ),
    )
    const list = (xs: readonly number[]) => xs.map((x) => round(x)).join(', ')
    return {
      name: "Spark Connect: our client beside PySpark's Connect client, and a run's overhead over Connect (local[2])",
      rows,
      notes: [
        `One Spark Connect server (spark-submit --class SparkConnectServer, local[2], started in ${round(serverStartMs)} ms) serves both clients in the same run, one after the other: two rounds (ours then PySpark, PySpark then ours), each with ${LATENCY_WARMUP} latency and ${THROUGHPUT_WARMUP} throughput warm-up requests per client; the samples of both rounds are pooled. Both clients time themselves in-process: wall time from the request to all rows materialized (ours: SparkConnectClient.executeSql, rows as JS objects; PySpark ${py.version}: collect(), Row objects, in spark_connect_anchor.py, pyspark[connect] in .tools/connect-bench-venv).`,
        `PySpark's spark.sql(q).collect() makes two ExecutePlan calls (the SQL command, then the rows); df.collect() of a DataFrame made once makes one, as executeSql does. PySpark session creation took ${list(py.sessionMs)} ms per round (not counted).`,
        `Latency samples, ours: ${LATENCY_QUERIES.map((q, i) => `${q.name}: ${list(sorted(ours.latency[i]?.ms ?? []))}`).join('; ')} ms.`,
        `Throughput runs (ms): ours ${list(ours.throughput.ms)}; PySpark collect() ${list(py.throughput.collectMs)}; PySpark toArrow() ${list(py.throughput.toArrowMs)}.`,
        `Full run over Connect: a plan of one query step (SELECT 1 AS one, limit 1) in a new Connect session per job (SparkConnectSubmitter), wall time seen by Node from submit to the final status after ${CONNECT_RUN_WARMUP} warm-up runs (the first run took ${round(connectRunsBeforeFirst)} ms); runs ${list(connectRuns)} ms. The work is SELECT 1, so the wall time is the overhead. Cold spark-submit: runPlan of the same plan (launcher JVM, driver JVM, Python runner, SparkContext), runs ${list(coldRuns)} ms.`,
      ],
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

await runIfMain(import.meta.url, run)
