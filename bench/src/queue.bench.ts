// The run queue against graphile-worker 0.18.0 and pg-boss 12.17 on the same throwaway PostgreSQL database, in the
// same run: (a) claim + complete throughput with a no-op executor, (b) enqueue-to-claim latency with idle workers.
import { migrateToLatest, openDatabase, type RunExecutor, RunQueue, RunStore, Worker } from '@sparkle-studio/runs'
import { Logger, makeWorkerUtils, run as runGraphile, type WorkerUtils } from 'graphile-worker'
import pg from 'pg'
import { PgBoss } from 'pg-boss'
import { type BenchResult, type BenchRow, quantile, round, runIfMain, withDatabase } from './lib.ts'

const THROUGHPUT_JOBS = 2_000
/** Jobs of the unmeasured warm-up run of each queue (at each concurrency). */
const WARMUP_JOBS = 300
const LATENCY_JOBS = 100
/** Measured runs of each figure; the median is reported. */
const ROUNDS = 3
/** Connections of each queue's worker in the throughput runs (ours and pg-boss's pools, graphile-worker's maxPoolSize). */
const POOL_SIZE = 12
/** graphile-worker's schema in the throwaway database, dropped at the end. */
const GRAPHILE_SCHEMA = 'graphile_bench'
/** graphile-worker's default poll interval, the same as our worker's default `pollMs`. */
const GRAPHILE_POLL_MS = 2_000
const GRAPHILE = 'graphile-worker 0.18.0'
const PGBOSS = 'pg-boss 12.17'
/** pg-boss's minimum polling interval (it has no LISTEN/NOTIFY wake-up across processes). */
const PGBOSS_POLL_SECONDS = 0.5
/** pg-boss workers fetch batches; with `localConcurrency` workers that is up to workers x batch jobs in flight. */
const SETUPS = [
  { concurrency: 10, bossWorkers: 10, bossBatch: 10 },
  { concurrency: 100, bossWorkers: 10, bossBatch: 100 },
] as const

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`benchmark timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

const quiet = { log: () => {} }

/** Our queue: enqueue first, then time a worker draining it. */
async function oursThroughput(url: string, concurrency: number, jobs: number): Promise<number> {
  const database = await openDatabase({ url, poolSize: POOL_SIZE })
  try {
    await migrateToLatest(database.db)
    const store = new RunStore({ db: database.db })
    const requests = Array.from({ length: jobs }, (_, i) => ({ pipeline: `p${i % 4}` }))
    await store.enqueueMany(requests)
    let done = 0
    const executor: RunExecutor = {
      execute: async () => {
        done++
        return { status: 'succeeded' }
      },
    }
    const worker = new Worker({
      queue: new RunQueue({ db: database.db }),
      executor,
      notifications: database,
      concurrency,
      logger: quiet,
    })
    const t0 = performance.now()
    await worker.start()
    await until(async () => {
      if (done < jobs) return false
      const left = await store.list({ status: ['queued', 'submitting', 'running'], limit: 1 })
      return left.runs.length === 0
    }, 'our queue to drain')
    const seconds = (performance.now() - t0) / 1000
    await worker.stop()
    return jobs / seconds
  } finally {
    await database.destroy()
  }
}

async function startBoss(url: string): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: url, max: POOL_SIZE, supervise: false, schedule: false })
  boss.on('error', () => {})
  await boss.start()
  return boss
}

async function bossCompleted(client: pg.Client, queue: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND state = 'completed'`,
    [queue],
  )
  return Number(rows[0]?.n ?? 0)
}

async function bossThroughput(
  url: string,
  queue: string,
  workers: number,
  batch: number,
  jobs: number,
): Promise<number> {
  const boss = await startBoss(url)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await boss.createQueue(queue)
    for (let i = 0; i < jobs; i += 500) {
      await boss.insert(
        queue,
        Array.from({ length: Math.min(500, jobs - i) }, (_, j) => ({ data: { i: i + j } })),
      )
    }
    const t0 = performance.now()
    await boss.work(
      queue,
      { localConcurrency: workers, batchSize: batch, pollingIntervalSeconds: PGBOSS_POLL_SECONDS },
      async () => {},
    )
    await until(async () => (await bossCompleted(client, queue)) === jobs, 'pg-boss to drain')
    const seconds = (performance.now() - t0) / 1000
    await boss.offWork(queue)
    return jobs / seconds
  } finally {
    await client.end()
    await boss.stop({ graceful: false, close: true })
  }
}

/** graphile-worker's logger, silenced like the others. */
const graphileLogger = new Logger(() => () => {})

function graphileUtils(url: string, maxPoolSize: number): Promise<WorkerUtils> {
  return makeWorkerUtils({ connectionString: url, schema: GRAPHILE_SCHEMA, maxPoolSize, logger: graphileLogger })
}

/** graphile-worker: `addJobs` first, then time `run()` (its documented defaults besides pool size) draining them. */
async function graphileThroughput(url: string, task: string, concurrency: number, jobs: number): Promise<number> {
  const utils = await graphileUtils(url, 2)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await utils.migrate()
    for (let i = 0; i < jobs; i += 500) {
      await utils.addJobs(
        Array.from({ length: Math.min(500, jobs - i) }, (_, j) => ({ identifier: task, payload: { i: i + j } })),
      )
    }
    let done = 0
    const t0 = performance.now()
    const runner = await runGraphile({
      connectionString: url,
      schema: GRAPHILE_SCHEMA,
      concurrency,
      maxPoolSize: POOL_SIZE,
      pollInterval: GRAPHILE_POLL_MS,
      noHandleSignals: true,
      logger: graphileLogger,
      taskList: {
        [task]: async () => {
          done++
        },
      },
    })
    // Completed jobs are deleted, so the queue is drained when its table is empty.
    await until(async () => {
      if (done < jobs) return false
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${GRAPHILE_SCHEMA}._private_jobs`)
      return Number(rows[0]?.n ?? 0) === 0
    }, 'graphile-worker to drain')
    const seconds = (performance.now() - t0) / 1000
    await runner.stop()
    return jobs / seconds
  } finally {
    await client.end()
    await utils.release()
  }
}

/** Latency from the enqueue call to the executor starting the run, one run at a time, enqueued by a separate client. */
async function oursLatency(url: string): Promise<number[]> {
  const workerDb = await openDatabase({ url, poolSize: 4 })
  const producerDb = await openDatabase({ url, poolSize: 2 })
  try {
    await migrateToLatest(workerDb.db)
    const producer = new RunStore({ db: producerDb.db })
    let started: (() => void) | undefined
    const executor: RunExecutor = {
      execute: async () => {
        started?.()
        return { status: 'succeeded' }
      },
    }
    const worker = new Worker({
      queue: new RunQueue({ db: workerDb.db }),
      executor,
      notifications: workerDb,
      concurrency: 10,
      logger: quiet,
    })
    await worker.start()
    const times: number[] = []
    for (let i = 0; i < LATENCY_JOBS + 5; i++) {
      const claimed = new Promise<void>((resolve) => {
        started = resolve
      })
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 10))
      const t0 = performance.now()
      await producer.enqueue({ pipeline: 'latency' })
      await claimed
      if (i >= 5) times.push(performance.now() - t0)
    }
    await worker.stop()
    return times.sort((a, b) => a - b)
  } finally {
    await producerDb.destroy()
    await workerDb.destroy()
  }
}

async function bossLatency(url: string): Promise<number[]> {
  const worker = await startBoss(url)
  // A second instance sends, as a server process would: pg-boss only wakes workers of its own instance early.
  const producer = await startBoss(url)
  try {
    const queue = 'latency'
    await worker.createQueue(queue)
    let started: (() => void) | undefined
    await worker.work(queue, { localConcurrency: 10, pollingIntervalSeconds: PGBOSS_POLL_SECONDS }, async () => {
      started?.()
    })
    const times: number[] = []
    for (let i = 0; i < LATENCY_JOBS + 5; i++) {
      const claimed = new Promise<void>((resolve) => {
        started = resolve
      })
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 10))
      const t0 = performance.now()
      await producer.send(queue, { i })
      await claimed
      if (i >= 5) times.push(performance.now() - t0)
    }
    await worker.offWork(queue)
    return times.sort((a, b) => a - b)
  } finally {
    await producer.stop({ graceful: false, close: true })
    await worker.stop({ graceful: false, close: true })
  }
}

/** graphile-worker wakes by LISTEN/NOTIFY (its insert trigger); the producer is its own `WorkerUtils` pool. */
async function graphileLatency(url: string): Promise<number[]> {
  const producer = await graphileUtils(url, 2)
  let started: (() => void) | undefined
  try {
    await producer.migrate()
    const runner = await runGraphile({
      connectionString: url,
      schema: GRAPHILE_SCHEMA,
      concurrency: 10,
      maxPoolSize: 4,
      pollInterval: GRAPHILE_POLL_MS,
      noHandleSignals: true,
      logger: graphileLogger,
      taskList: {
        latency: async () => {
          started?.()
        },
      },
    })
    const times: number[] = []
    for (let i = 0; i < LATENCY_JOBS + 5; i++) {
      const claimed = new Promise<void>((resolve) => {
        started = resolve
      })
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 10))
      const t0 = performance.now()
      await producer.addJob('latency', { i })
      await claimed
      if (i >= 5) times.push(performance.now() - t0)
    }
    await runner.stop()
    return times.sort((a, b) => a - b)
  } finally {
    await producer.release()
  }
}

/** The median of numbers. */
function median(values: readonly number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  )
}

/** Ours and the two anchors: what `run()` measures `ROUNDS` times. */
interface Trio<T> {
  readonly ours: T
  readonly graphile: T
  readonly boss: T
}

type Name = keyof Trio<unknown>

/** Runs `measure` for the three queues `ROUNDS` times, rotating which goes first, and collects the results. */
async function rounds<T>(measure: (name: Name, round: number) => Promise<T>): Promise<Trio<T[]>> {
  const order: Name[] = ['ours', 'graphile', 'boss']
  const out: Trio<T[]> = { ours: [], graphile: [], boss: [] }
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < order.length; k++) {
      const name = order[(r + k) % order.length] as Name
      out[name].push(await measure(name, r))
    }
  }
  return out
}

/** One row of ours against one anchor; `ratio` is always ours / anchor. */
function ratioRow(metric: string, unit: string, ours: number, anchor: string, anchorValue: number, target?: string) {
  return {
    metric,
    value: round(ours),
    unit,
    anchor,
    anchorValue: round(anchorValue),
    ratio: round(ours / anchorValue),
    ratioLabel: 'x (ours / anchor)',
    ...(target ? { target } : {}),
  } satisfies BenchRow
}

/** Runs the three queues on one throwaway database and reports ours / each anchor. */
export async function run(): Promise<BenchResult> {
  return withDatabase('sparkle_bench_queue', async (url) => {
    const rows: BenchRow[] = []
    try {
      for (const [i, setup] of SETUPS.entries()) {
        const measure = (name: Name, tag: string, jobs: number): Promise<number> => {
          if (name === 'ours') return oursThroughput(url, setup.concurrency, jobs)
          if (name === 'graphile') return graphileThroughput(url, `throughput${i}${tag}`, setup.concurrency, jobs)
          return bossThroughput(url, `throughput${i}${tag}`, setup.bossWorkers, setup.bossBatch, jobs)
        }
        for (const name of ['ours', 'graphile', 'boss'] as const) await measure(name, 'w', WARMUP_JOBS)
        const runs = await rounds((name, r) => measure(name, `r${r}`, THROUGHPUT_JOBS))
        const ours = median(runs.ours)
        const metric = `claim + complete throughput (${THROUGHPUT_JOBS} runs, concurrency ${setup.concurrency})`
        rows.push(
          ratioRow(
            metric,
            'runs/s',
            ours,
            `${GRAPHILE} (concurrency ${setup.concurrency}, maxPoolSize ${POOL_SIZE}, pollInterval ${GRAPHILE_POLL_MS} ms)`,
            median(runs.graphile),
            '>= 1.0x graphile-worker',
          ),
          ratioRow(
            metric,
            'runs/s',
            ours,
            `${PGBOSS} (localConcurrency ${setup.bossWorkers}, batchSize ${setup.bossBatch}, polling ${PGBOSS_POLL_SECONDS} s)`,
            median(runs.boss),
          ),
        )
      }
      const latency = await rounds((name) => {
        if (name === 'ours') return oursLatency(url)
        if (name === 'graphile') return graphileLatency(url)
        return bossLatency(url)
      })
      for (const [q, label] of [
        [0.5, 'p50'],
        [0.99, 'p99'],
      ] as const) {
        const at = (samples: number[][]) => median(samples.map((s) => quantile(s, q)))
        const metric = `enqueue-to-claim latency ${label}`
        rows.push(
          ratioRow(
            metric,
            'ms',
            at(latency.ours),
            `${GRAPHILE} (concurrency 10, LISTEN/NOTIFY, pollInterval ${GRAPHILE_POLL_MS} ms)`,
            at(latency.graphile),
            '<= 1.0x graphile-worker',
          ),
          ratioRow(metric, 'ms', at(latency.ours), `${PGBOSS} (polling ${PGBOSS_POLL_SECONDS} s)`, at(latency.boss)),
        )
      }
    } finally {
      const admin = new pg.Client({ connectionString: url })
      await admin.connect()
      await admin.query(`DROP SCHEMA IF EXISTS ${GRAPHILE_SCHEMA} CASCADE`)
      await admin.end()
    }
    return {
      name: 'run queue vs graphile-worker and pg-boss (same PostgreSQL database, no-op executor)',
      rows,
      notes: [
        `each figure: one unmeasured warm-up run of each queue (${WARMUP_JOBS} jobs per concurrency for throughput, 5 discarded jobs per latency run), then ${ROUNDS} measured runs, rotating which queue goes first; the median is reported. Ratios are ours / anchor: above 1 is better for throughput, below 1 is better for latency.`,
        `throughput: jobs enqueued before timing; the timer runs from starting the worker to the last job completed. Ours: Worker with \`concurrency\` slots, pool ${POOL_SIZE}, pollMs 2000 (default), LISTEN/NOTIFY. graphile-worker: \`run()\` with \`concurrency\`, maxPoolSize ${POOL_SIZE}, pollInterval ${GRAPHILE_POLL_MS} ms, no local queue and no completion batching (its defaults). pg-boss: each worker fetches a batch, completes it in one statement and waits out its polling interval before the next fetch, so it holds up to localConcurrency x batchSize jobs (10x ours) and is bounded by batchSize x localConcurrency / interval.`,
        `latency: ${LATENCY_JOBS} jobs per run enqueued one at a time by a separate client (its own pool) while the workers (concurrency 10) wait; ours (pool 4, notifications from its database as in production) and graphile-worker (maxPoolSize 4) wake by LISTEN/NOTIFY, pg-boss polls at its minimum interval (${PGBOSS_POLL_SECONDS} s) because it wakes workers early only for jobs sent from the same instance.`,
        'each run of ours writes a run row, an attempt row and two status events, and keeps them; graphile-worker inserts and deletes one job row; pg-boss writes one job row.',
      ],
    }
  })
}

await runIfMain(import.meta.url, run)
