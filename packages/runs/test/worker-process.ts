// A worker process for the multi-process store tests, run with
//   node --conditions=@sparkle-studio/source test/worker-process.ts '<json config>'
// Modes:
//   record: a fast test executor that records each (run, attempt) it executes into `test_executions` (primary key on
//           both, so a second execution of one attempt fails loudly); exits once no run is left unfinished.
//   spark:  the SparkRunExecutor on a LocalSubmitter, running the plan in the run's params; exits once the runs are
//           finished (the test kills it with SIGKILL in the middle).
// Either stops gracefully on SIGTERM. Logs are JSON lines on stderr.

import type { ExecutionPlan } from '@sparkle-studio/core'
import {
  type ExecutionOutcome,
  handleShutdownSignals,
  jsonLogger,
  openDatabase,
  type RunExecutor,
  Worker,
} from '@sparkle-studio/runs'
import { findSparkRuntime, LocalSubmitter, SparkRunExecutor } from '@sparkle-studio/spark'
import { sql } from 'kysely'
import { storeAndQueue } from './helpers.ts'

interface Config {
  readonly url: string
  readonly mode: 'record' | 'spark'
  readonly workerId: string
  readonly concurrency?: number
  readonly leaseMs?: number
  readonly heartbeatMs?: number
  readonly pollMs?: number
  /** For spark mode: the folder the submitter keeps its jobs in (shared by the workers). */
  readonly jobsDir?: string
  /** Exit once at least this many runs exist and all are finished. */
  readonly expectRuns?: number
  /** record mode: how long each execution takes, in milliseconds (default: 0 to 2 at random). */
  readonly delayMs?: number
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config
const database = await openDatabase({ url: config.url, poolSize: 4 })
const store = storeAndQueue({ db: database.db, retry: { baseMs: 50, maxMs: 500 } })
const logger = jsonLogger({ level: 'debug' })

async function recordExecutor(): Promise<RunExecutor> {
  return {
    async execute(ctx): Promise<ExecutionOutcome> {
      await sql`INSERT INTO test_executions (run_id, attempt, worker_id) VALUES (${ctx.run.id}, ${ctx.attempt.attempt}, ${config.workerId})`.execute(
        database.db,
      )
      const delay = config.delayMs ?? Math.floor(Math.random() * 3)
      if (delay > 0) await new Promise((r) => setTimeout(r, delay))
      return { status: 'succeeded' }
    },
  }
}

async function sparkExecutor(): Promise<RunExecutor> {
  const submitter = new LocalSubmitter({
    runtime: await findSparkRuntime(),
    threads: 2,
    ...(config.jobsDir ? { baseDir: config.jobsDir } : {}),
  })
  return new SparkRunExecutor({
    submitter,
    // The tests put a hand-written plan in the run's params (the host would compile the pipeline here).
    resolvePlan: async (run) => run.params['plan'] as ExecutionPlan,
    progressIntervalMs: 1_000,
  })
}

const executor = config.mode === 'spark' ? await sparkExecutor() : await recordExecutor()
const worker = new Worker({
  queue: store,
  executor,
  notifications: database,
  workerId: config.workerId,
  concurrency: config.concurrency ?? 8,
  leaseMs: config.leaseMs ?? 30_000,
  heartbeatMs: config.heartbeatMs,
  pollMs: config.pollMs ?? 200,
  logger,
})

async function exit(code: number): Promise<never> {
  await database.destroy().catch(() => {})
  process.exit(code)
}

handleShutdownSignals(worker, { timeoutMs: 10_000, onStopped: () => exit(0) })
await worker.start()
process.stdout.write(`${JSON.stringify({ ready: config.workerId })}\n`)

// Exit once nothing is left to do (a run in flight here or elsewhere keeps the process going).
for (;;) {
  await new Promise((r) => setTimeout(r, 200))
  try {
    const counts = await database.db
      .selectFrom('runs')
      .select((eb) => [
        eb.fn.countAll<string>().as('total'),
        eb.fn.count<string>('id').filterWhere('status', 'not in', ['succeeded', 'failed', 'cancelled']).as('left'),
      ])
      .executeTakeFirstOrThrow()
    const enough = Number(counts.total) >= (config.expectRuns ?? 1)
    if (enough && Number(counts.left) === 0 && worker.health().inFlight === 0) {
      await worker.stop({ timeoutMs: 10_000 })
      await exit(0)
    }
  } catch {
    // The database may be restarting; the worker rides it out and so does this check.
  }
}
