import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ExecutionPlan } from '@sparkle-studio/core'
import { StudioError } from '@sparkle-studio/core'
import { type ColumnInfo, parseRunnerEvents, type RunnerEvent } from './events.ts'
import { runnerScriptPath, type SparkRuntime } from './runtime.ts'

/** Options of {@link runPlan}. */
export interface RunPlanOptions {
  /** The Spark installation to run on (from {@link findSparkRuntime}). */
  readonly runtime: SparkRuntime
  /**
   * Spark master URL.
   * @default 'local[*]'
   */
  readonly master?: string | undefined
  /** Folder for the plan, events and log files; a fresh temporary folder when absent. */
  readonly workDir?: string | undefined
  /** Extra `--conf key=value` pairs for spark-submit. */
  readonly conf?: Readonly<Record<string, string>> | undefined
  /** Cancels the run: the Spark process group gets SIGTERM, then SIGKILL after 10 s. */
  readonly signal?: AbortSignal | undefined
}

/** The rows and schema a `query` step reported. */
export interface NodeRows {
  /** Columns of the result. */
  readonly schema: readonly ColumnInfo[]
  /** The first rows, as plain objects keyed by column name. */
  readonly rows: readonly Record<string, unknown>[]
  /** True when the result had more rows than the step's limit. */
  readonly truncated: boolean
}

/** The outcome of {@link runPlan}. */
export interface PlanRunResult {
  /** Final state. */
  readonly status: 'succeeded' | 'failed' | 'cancelled'
  /** Spark application id, once the session started. */
  readonly appId: string | undefined
  /** Rows reported by `query` steps, by node id. */
  readonly rows: Readonly<Record<string, NodeRows>>
  /** Every runner event, in order. */
  readonly events: readonly RunnerEvent[]
  /** For a failed run: the failing node (when a step failed), Spark's error class and message. */
  readonly error: { readonly nodeId?: string; readonly errorClass?: string; readonly message: string } | undefined
  /** Path of the file holding spark-submit's stdout and stderr. */
  readonly logFile: string
  /** Wall-clock duration of the spark-submit process in milliseconds. */
  readonly durationMs: number
}

const KILL_GRACE_MS = 10_000

/**
 * Runs an {@link ExecutionPlan} to the end with one `spark-submit` of the plan runner, in its own process group,
 * and returns its structured outcome. Never throws for a failed Spark job: a failure is a result with `error`.
 *
 * @throws {@link @sparkle-studio/core!StudioError | StudioError} `SPARK_UNAVAILABLE` when spark-submit cannot be started.
 * @example
 * ```ts
 * import { findSparkRuntime, runPlan } from '@sparkle-studio/spark'
 *
 * const runtime = await findSparkRuntime()
 * const result = await runPlan(
 *   { pipeline: 'hello', mode: 'run', steps: [{ nodeId: 'q', kind: 'query', sql: 'SELECT 1 AS one', limit: 10 }] },
 *   { runtime },
 * )
 * console.log(result.status, result.rows['q']?.rows)
 * ```
 */
export async function runPlan(plan: ExecutionPlan, options: RunPlanOptions): Promise<PlanRunResult> {
  const { runtime } = options
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'sparkle-run-')))
  await mkdir(workDir, { recursive: true })
  const planFile = join(workDir, 'plan.json')
  const eventsFile = join(workDir, 'events.jsonl')
  const logFile = join(workDir, 'spark.log')
  await writeFile(planFile, JSON.stringify(plan))
  await writeFile(eventsFile, '')

  const args = ['--master', options.master ?? 'local[*]', '--conf', 'spark.ui.showConsoleProgress=false']
  for (const [k, v] of Object.entries(options.conf ?? {})) args.push('--conf', `${k}=${v}`)
  args.push(runnerScriptPath(), '--plan', planFile, '--events', eventsFile)

  const started = performance.now()
  const log = createWriteStream(logFile)
  const child = spawn(runtime.sparkSubmit, args, {
    env: { ...process.env, ...runtime.env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.pipe(log, { end: false })
  child.stderr.pipe(log, { end: false })

  let cancelled = false
  let killTimer: NodeJS.Timeout | undefined
  const onAbort = () => {
    cancelled = true
    signalGroup(child.pid, 'SIGTERM')
    killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS)
    killTimer.unref()
  }
  if (options.signal?.aborted) onAbort()
  else options.signal?.addEventListener('abort', onAbort, { once: true })

  const exit = await new Promise<{ code: number | null; error?: Error }>((resolvePromise) => {
    child.once('error', (error) => resolvePromise({ code: null, error }))
    child.once('close', (code) => resolvePromise({ code }))
  })
  options.signal?.removeEventListener('abort', onAbort)
  if (killTimer) clearTimeout(killTimer)
  await new Promise<void>((r) => log.end(r))
  if (exit.error) {
    throw new StudioError('SPARK_UNAVAILABLE', `could not start spark-submit: ${exit.error.message}`, undefined, {
      cause: exit.error,
    })
  }

  const events = parseRunnerEvents(await readFile(eventsFile, 'utf8'))
  const rows: Record<string, NodeRows> = {}
  let appId: string | undefined
  let error: PlanRunResult['error']
  let succeeded = false
  for (const e of events) {
    if (e.type === 'started') appId = e.appId
    else if (e.type === 'rows') rows[e.nodeId] = { schema: e.schema, rows: e.rows, truncated: e.truncated }
    else if (e.type === 'succeeded') succeeded = true
    else if (e.type === 'failed') {
      error = { message: e.message }
      if (e.nodeId !== undefined) error = { ...error, nodeId: e.nodeId }
      if (e.errorClass !== undefined) error = { ...error, errorClass: e.errorClass }
    }
  }
  const status = cancelled ? 'cancelled' : succeeded && exit.code === 0 ? 'succeeded' : 'failed'
  if (status === 'failed' && !error) {
    error = {
      message: `spark-submit exited with code ${exit.code} before the runner reported a result; see ${logFile}`,
    }
  }
  return { status, appId, rows, events, error, logFile, durationMs: Math.round(performance.now() - started) }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, signal)
  } catch {
    // The group is already gone.
  }
}
