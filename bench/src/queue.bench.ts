// The run queue against pg-boss 12.17 on the same throwaway PostgreSQL database, in the same run:
// (a) claim + complete throughput with a no-op executor, (b) enqueue-to-claim latency with an idle worker.
import { migrateToLatest, openDatabase, type RunExecutor, RunQueue, RunStore, Worker } from '@sparkle-studio/runs'
import pg from 'pg'
import { PgBoss } from 'pg-boss'
import { type BenchResult, type BenchRow, quantile, round, runIfMain, withDatabase } from './lib.ts'

const THROUGHPUT_JOBS = 2_000
const LATENCY_JOBS = 100
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
async function oursThroughput(url: string, concurrency: number): Promise<number> {
  const database = await openDatabase({ url, poolSize: 12 })
  try {
    await migrateToLatest(database.db)
    const store = new RunStore({ db: database.db })
    const requests = Array.from({ length: THROUGHPUT_JOBS }, (_, i) => ({ pipeline: `p${i % 4}` }))
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
      if (done < THROUGHPUT_JOBS) return false
      const left = await store.list({ status: ['queued', 'submitting', 'running'], limit: 1 })
      return left.runs.length === 0
    }, 'our queue to drain')
    const seconds = (performance.now() - t0) / 1000
    await worker.stop()
    return THROUGHPUT_JOBS / seconds
  } finally {
    await database.destroy()
  }
}

async function startBoss(url: string): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: url, max: 12, supervise: false, schedule: false })
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

async function bossThroughput(url: string, queue: string, workers: number, batch: number): Promise<number> {
  const boss = await startBoss(url)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await boss.createQueue(queue)
    for (let i = 0; i < THROUGHPUT_JOBS; i += 500) {
      await boss.insert(
        queue,
        Array.from({ length: Math.min(500, THROUGHPUT_JOBS - i) }, (_, j) => ({ data: { i: i + j } })),
      )
    }
    const t0 = performance.now()
    await boss.work(
      queue,
      { localConcurrency: workers, batchSize: batch, pollingIntervalSeconds: PGBOSS_POLL_SECONDS },
      async () => {},
    )
    await until(async () => (await bossCompleted(client, queue)) === THROUGHPUT_JOBS, 'pg-boss to drain')
    const seconds = (performance.now() - t0) / 1000
    await boss.offWork(queue)
    return THROUGHPUT_JOBS / seconds
  } finally {
    await client.end()
    await boss.stop({ graceful: false, close: true })
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

/** Runs both queues on one throwaway database and reports the ratios. */
export async function run(): Promise<BenchResult> {
  return withDatabase('sparkle_bench_queue', async (url) => {
    const rows: BenchRow[] = []
    for (const [i, setup] of SETUPS.entries()) {
      // Alternate the two so that neither always runs on a warmer server; keep the better of two runs each.
      const ours1 = await oursThroughput(url, setup.concurrency)
      const boss1 = await bossThroughput(url, `throughput${i}a`, setup.bossWorkers, setup.bossBatch)
      const boss2 = await bossThroughput(url, `throughput${i}b`, setup.bossWorkers, setup.bossBatch)
      const ours2 = await oursThroughput(url, setup.concurrency)
      const ours = Math.max(ours1, ours2)
      const boss = Math.max(boss1, boss2)
      rows.push({
        metric: `claim + complete throughput (${THROUGHPUT_JOBS} runs, concurrency ${setup.concurrency})`,
        value: round(ours),
        unit: 'runs/s',
        anchor: `pg-boss 12.17 (localConcurrency ${setup.bossWorkers}, batchSize ${setup.bossBatch}, polling ${PGBOSS_POLL_SECONDS} s)`,
        anchorValue: round(boss),
        ratio: round(ours / boss),
        ratioLabel: 'x the anchor',
        target: '>= 1x',
      })
    }
    const oursLat = await oursLatency(url)
    const bossLat = await bossLatency(url)
    const latencyRow = (q: number, label: string): BenchRow => {
      const value = quantile(oursLat, q)
      const anchorValue = quantile(bossLat, q)
      return {
        metric: `enqueue-to-claim latency ${label}`,
        value: round(value),
        unit: 'ms',
        anchor: `pg-boss 12.17 (polling ${PGBOSS_POLL_SECONDS} s)`,
        anchorValue: round(anchorValue),
        ratio: round(anchorValue / value),
        ratioLabel: 'x faster than anchor',
      }
    }
    return {
      name: 'run queue vs pg-boss (same PostgreSQL database, no-op executor)',
      rows: [...rows, latencyRow(0.5, 'p50'), latencyRow(0.95, 'p95')],
      notes: [
        'throughput: best of two runs each, alternated; runs enqueued before timing. Our worker keeps `concurrency` runs in flight and claims as slots free up; each pg-boss worker fetches a batch, completes it in one statement and waits out its polling interval before the next fetch, so pg-boss holds up to localConcurrency x batchSize jobs (10x ours) and is bounded by batchSize x localConcurrency / interval.',
        `latency: ${LATENCY_JOBS} runs enqueued one at a time by a separate client while the worker waits; ours wakes by LISTEN/NOTIFY, pg-boss polls at its minimum interval (${PGBOSS_POLL_SECONDS} s) because it wakes workers early only for jobs sent from the same instance.`,
        'each run of ours writes a run row, an attempt row and two status events; pg-boss writes one job row.',
      ],
    }
  })
}

await runIfMain(import.meta.url, run)
