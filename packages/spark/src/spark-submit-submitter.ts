import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, openSync } from 'node:fs'
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { type ExecutionPolicy, StudioError } from '@sparkle-studio/core'
import type { RunnerEvent } from './events.ts'
import {
  type ExitRecord,
  type JobFiles,
  type JobRecord,
  jobFiles,
  readEventsFrom,
  readJson,
  type StopRecord,
  writeJsonAtomic,
} from './job-files.ts'
import { deriveJobStatus, isFinalState, type JobSnapshot, needsLogTail } from './job-state.ts'
import { DEFAULT_LOG_CHUNK, MAX_LOG_CHUNK, readLogChunk, readLogTail } from './log-reader.ts'
import { assertPlanConfAllowed, planForDriver } from './plan-policy.ts'
import { groupMembers, isProcessAlive, processStartTime, signalGroup, waitGroupGone } from './process.ts'
import { runnerLaunch } from './runner-launch.ts'
import { type SparkRuntime, supervisorScriptPath } from './runtime.ts'
import { secretsForPlan, splitSecretEnv } from './secrets.ts'
import { type FetchLike, fetchProgress } from './spark-rest.ts'
import type { JobStatus, LogChunk, Submission, SubmitRequest, Submitter, WaitOptions } from './submitter.ts'

/** Options shared by the spark-submit backends ({@link LocalSubmitter}, {@link StandaloneSubmitter}). */
export interface SparkSubmitOptions {
  /** The Spark installation to submit with (from {@link findSparkRuntime}). */
  readonly runtime: SparkRuntime
  /**
   * Folder that holds one sub-folder per job (plan, events, log, records). Every process that tracks the same jobs
   * (a restarted worker) must use the same folder: job ids outside it are refused.
   * @default join(os.tmpdir(), 'sparkle-jobs')
   */
  readonly baseDir?: string | undefined
  /** Spark configuration for every job, under the plan's own `conf` and the request's. */
  readonly conf?: Readonly<Record<string, string>> | undefined
  /**
   * Extra environment variables for spark-submit (over the driver's minimal environment: Java, Spark, Python, locale,
   * home and temporary folders). `SPARKLE_SECRET_<NAME>` entries are taken as {@link SparkSubmitOptions.secrets}.
   */
  readonly env?: Readonly<Record<string, string>> | undefined
  /**
   * Secret values by name: what `{ "$secret": NAME }` options resolve to. A job's driver gets only the ones its plan
   * references, in a file it removes once read; never in its environment or on its command line. They are replaced by
   * `***` in the job's events and log.
   * @default {} (and the `SPARKLE_SECRET_<NAME>` entries of `env`)
   */
  readonly secrets?: Readonly<Record<string, string>> | undefined
  /**
   * The execution policy: a plan whose `conf` has keys or values it does not allow is refused at submission, and the
   * driver enforces its read and write roots, JDBC URL patterns and denied functions on every step (over the plan's
   * own `policy`). Without one, plans keep their own `policy`, if any. Configuration that decides how the driver
   * starts (JVM options, class paths, ...) is refused in any case.
   * @default undefined
   */
  readonly policy?: ExecutionPolicy | undefined
  /**
   * Cap of a job's `spark.log`: the first part of the output and its last 1 MiB (a quarter of the cap when smaller)
   * are kept.
   * @default 16 MiB
   */
  readonly maxLogBytes?: number | undefined
  /**
   * Time between SIGTERM and SIGKILL when a job is cancelled or passes its deadline.
   * @default 10_000
   */
  readonly killGraceMs?: number | undefined
  /**
   * How often `wait` reads the job's events and state.
   * @default 100
   */
  readonly pollIntervalMs?: number | undefined
  /**
   * How often `wait` asks Spark's REST API for progress while the job runs.
   * @default 1000
   */
  readonly progressIntervalMs?: number | undefined
  /** `fetch` for Spark's REST API. @default globalThis.fetch */
  readonly fetch?: FetchLike | undefined
  /** Clock (epoch ms). @default Date.now */
  readonly now?: (() => number) | undefined
  /** Random suffix of job folder names. @default 8 random hex characters */
  readonly randomId?: (() => string) | undefined
  /**
   * Drivers to keep started ahead of submissions (JVM and Python up, waiting for a plan), so that a run starts
   * without their start-up time (seconds). Started after the first submission, or by {@link SparkSubmitSubmitter.start};
   * stopped by {@link SparkSubmitSubmitter.close}. Each holds a JVM (a few hundred MB) while it waits. A job that sets
   * configuration read at JVM start (`spark.driver.memory`, `spark.driver.extraJavaOptions`, `spark.jars.packages`,
   * ...) starts cold.
   * @default 0
   */
  readonly warmDrivers?: number | undefined
  /**
   * How long a warm driver waits for a job before it exits (it also exits when this process is gone).
   * @default 1_800_000
   */
  readonly warmDriverIdleMs?: number | undefined
}

/** Options of {@link SparkSubmitSubmitter}: the shared ones plus the master URL and the backend's name. */
export interface SparkSubmitSubmitterOptions extends SparkSubmitOptions {
  /**
   * Master URL as spark-submit takes it (`local[2]`, `spark://host:7077`, ...). The driver runs here (client mode); for
   * a local master, or a standalone master on the loopback interface, it binds to 127.0.0.1.
   */
  readonly master: string
  /**
   * Name reported as {@link Submission.backend}.
   * @default 'spark-submit'
   */
  readonly backend?: string | undefined
}

/** A driver started ahead of its job, waiting for a plan in its folder. */
interface WarmDriver {
  readonly dir: string
  readonly pid: number
  readonly pidStartTime: string | undefined
  readonly createdAt: number
}

/**
 * Configuration read when the driver JVM starts (by spark-submit's launcher): a job that sets any of these cannot
 * run on a warm driver.
 */
const LAUNCH_CONF =
  /^spark\.(master|submit\..*|driver\.(memory|cores|extra.*|defaultJavaOptions|userClassPathFirst)|jars.*|files|archives|pyFiles|yarn\..*|kubernetes\..*)$/
/** A warm driver this close to giving up waiting is not used. */
const WARM_MARGIN_MS = 5_000

const DEFAULT_MAX_LOG_BYTES = 16 * 1024 * 1024
const MIN_MAX_LOG_BYTES = 64 * 1024

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolvePromise()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Hands a job's secrets over: `secrets.json` for the runner and `redact.json` (the values only) for the supervisor,
 * which replaces them by `***` in the job's log. Each reader removes its file once read.
 */
async function writeSecrets(files: JobFiles, secrets: Readonly<Record<string, string>>): Promise<void> {
  const values = Object.values(secrets)
  if (values.length === 0) return
  await writeFile(files.redact, JSON.stringify(values), { mode: 0o600 })
  await writeFile(files.secrets, JSON.stringify(secrets), { mode: 0o600 })
}

function safeName(jobId: string): string {
  return (
    jobId
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^[._]+/, '')
      .slice(0, 64) || 'job'
  )
}

/**
 * Runs plans with `spark-submit` of the plan runner in client mode (the driver runs on this machine) and tracks them
 * through files, so that any process on the machine can follow a job by its id, also after the submitting process
 * died. Each job gets its own folder, a supervisor process leading its own process group (spark-submit's output goes
 * to a capped log, its exit is recorded, its deadline enforced), and structured runner events.
 *
 * {@link LocalSubmitter} and {@link StandaloneSubmitter} are this class with a fixed kind of master.
 */
export class SparkSubmitSubmitter implements Submitter {
  /** Backend name, as in {@link Submission.backend}. */
  readonly backend: string
  /** The master URL jobs are submitted to. */
  readonly master: string
  /** The folder that holds the job folders. */
  readonly baseDir: string
  readonly #options: SparkSubmitSubmitterOptions
  readonly #env: Readonly<Record<string, string>>
  readonly #secrets: Readonly<Record<string, string>>
  readonly #now: () => number
  readonly #randomId: () => string
  readonly #warmIdleMs: number
  readonly #warm: WarmDriver[] = []
  readonly #launching = new Set<Promise<void>>()
  #warmBroken = false
  #closed = false

  constructor(options: SparkSubmitSubmitterOptions) {
    if (!options.master.trim()) throw new StudioError('BAD_REQUEST', 'a Spark master URL is required')
    const maxLogBytes = options.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES
    if (!Number.isInteger(maxLogBytes) || maxLogBytes < MIN_MAX_LOG_BYTES) {
      throw new StudioError('BAD_REQUEST', `maxLogBytes must be an integer of at least ${MIN_MAX_LOG_BYTES}`)
    }
    this.#options = options
    const split = splitSecretEnv(options.env)
    this.#env = split.env
    this.#secrets = { ...split.secrets, ...options.secrets }
    this.backend = options.backend ?? 'spark-submit'
    this.master = options.master
    this.baseDir = resolve(options.baseDir ?? join(tmpdir(), 'sparkle-jobs'))
    this.#now = options.now ?? Date.now
    this.#randomId = options.randomId ?? (() => randomBytes(4).toString('hex'))
    this.#warmIdleMs = options.warmDriverIdleMs ?? 30 * 60_000
    const warm = options.warmDrivers ?? 0
    if (!Number.isInteger(warm) || warm < 0) throw new StudioError('BAD_REQUEST', 'warmDrivers must be 0 or more')
    if (warm > 0 && this.#warmIdleMs < 2 * WARM_MARGIN_MS) {
      throw new StudioError('BAD_REQUEST', `warmDriverIdleMs must be at least ${2 * WARM_MARGIN_MS} ms`)
    }
  }

  /**
   * Starts the warm drivers (`warmDrivers`) now rather than after the first submission. Resolves once they were
   * launched (they are ready a few seconds later).
   */
  async start(): Promise<void> {
    await this.#fillWarm()
  }

  /**
   * Stops the warm drivers waiting for a job. Submitted jobs are not affected and can still be followed; later
   * submissions start cold.
   */
  async close(): Promise<void> {
    this.#closed = true
    // Drivers still being launched are stopped with the others.
    await Promise.all(this.#launching)
    const drivers = this.#warm.splice(0)
    for (const d of drivers) signalGroup(d.pid, 'SIGTERM')
    for (const d of drivers) {
      if (!(await waitGroupGone(d.pid, this.#options.killGraceMs ?? 10_000))) {
        signalGroup(d.pid, 'SIGKILL')
        await waitGroupGone(d.pid, 5_000)
      }
      await rm(d.dir, { recursive: true, force: true })
    }
  }

  /**
   * Starts the job and returns once its driver runs; the job goes on without this process.
   *
   * @throws {@link @sparkle-studio/core!index.ValidationError | ValidationError} (`VALIDATION_FAILED`) for a plan whose
   * Spark configuration the policy does not allow, or that sets how the driver starts.
   */
  async submit(request: SubmitRequest): Promise<Submission> {
    const { jobId } = request
    if (!jobId.trim()) throw new StudioError('BAD_REQUEST', 'jobId must not be empty')
    assertPlanConfAllowed(request.plan, this.#options.policy)
    const plan = planForDriver(request.plan, this.#options.policy)
    const secrets = secretsForPlan(plan, this.#secrets)
    if (request.timeoutMs !== undefined && !(Number.isFinite(request.timeoutMs) && request.timeoutMs > 0)) {
      throw new StudioError('BAD_REQUEST', 'timeoutMs must be a positive number of milliseconds')
    }
    request.signal?.throwIfAborted()
    const createdAt = this.#now()
    const deadline = request.timeoutMs === undefined ? undefined : createdAt + request.timeoutMs
    const jobConf: Record<string, string> = {
      'spark.app.name': `sparkle:${plan.pipeline}:${jobId}`,
      'spark.sparkle.jobId': jobId,
      ...plan.conf,
      ...request.conf,
    }
    const record = (pid: number, pidStartTime: string | undefined): JobRecord => ({
      version: 1,
      jobId,
      backend: this.backend,
      master: this.master,
      pipeline: plan.pipeline,
      createdAt,
      ...(deadline === undefined ? {} : { deadline, timeoutMs: request.timeoutMs as number }),
      pid,
      ...(pidStartTime === undefined ? {} : { pidStartTime }),
      maxLogBytes: this.#options.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES,
    })

    const warm = await this.#takeWarm(jobConf)
    if (warm) {
      const files = jobFiles(warm.dir)
      await writeFile(join(warm.dir, 'conf.json'), JSON.stringify(jobConf), { mode: 0o600 })
      // Before job.json: the supervisor picks the values to redact up when the job is assigned, the runner the
      // secrets once the plan is there.
      await writeSecrets(files, secrets)
      await writeFile(`${files.plan}.tmp`, JSON.stringify(plan), { mode: 0o600 })
      // job.json first: the supervisor reads the deadline from it, and status() needs it once the driver runs.
      await writeJsonAtomic(files.job, record(warm.pid, warm.pidStartTime))
      await rename(`${files.plan}.tmp`, files.plan)
      void this.#fillWarm()
      return { id: warm.dir, backend: this.backend }
    }

    await mkdir(this.baseDir, { recursive: true, mode: 0o700 })
    const dir = join(this.baseDir, `${safeName(jobId)}-${this.#randomId()}`)
    await mkdir(dir, { mode: 0o700 })
    const files = jobFiles(dir)
    await writeFile(files.plan, JSON.stringify(plan), { mode: 0o600 })
    request.signal?.throwIfAborted()
    await writeSecrets(files, secrets)
    const { pid, pidStartTime } = await this.#launch(dir, jobConf, { deadline }).catch(async (error: unknown) => {
      // Nobody will read them: no secret stays on disk.
      await Promise.all([rm(files.secrets, { force: true }), rm(files.redact, { force: true })])
      throw error
    })
    await writeJsonAtomic(files.job, record(pid, pidStartTime))
    if ((this.#options.warmDrivers ?? 0) > 0) void this.#fillWarm()
    return { id: dir, backend: this.backend }
  }

  /** Starts a supervisor and spark-submit of the runner in `dir`, detached; `warm` drivers wait for their plan. */
  async #launch(
    dir: string,
    extraConf: Readonly<Record<string, string>>,
    opts: { readonly deadline?: number | undefined; readonly warmForMs?: number },
  ): Promise<{ pid: number; pidStartTime: string | undefined }> {
    const { runtime } = this.#options
    const files = jobFiles(dir)
    const maxLogBytes = this.#options.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES
    const launch = runnerLaunch({
      runtime,
      master: this.master,
      mode: 'batch',
      batch: {
        plan: files.plan,
        events: files.events,
        waitForPlan:
          opts.warmForMs === undefined ? undefined : { ms: opts.warmForMs, confFile: join(dir, 'conf.json') },
        secretsFile: files.secrets,
      },
      propertiesFile: files.properties,
      conf: { ...this.#options.conf, ...extraConf },
      env: this.#env,
    })
    await writeFile(files.properties, launch.properties, { mode: 0o600 })
    await writeFile(files.events, '', { mode: 0o600 })

    const supervisorArgs = [
      supervisorScriptPath(),
      '--dir',
      dir,
      '--max-log-bytes',
      String(maxLogBytes),
      '--tail-bytes',
      String(Math.min(1024 * 1024, Math.floor(maxLogBytes / 4))),
      '--deadline',
      String(opts.deadline ?? 0),
      '--grace-ms',
      String(this.#options.killGraceMs ?? 10_000),
      ...(opts.warmForMs !== undefined ? ['--warm'] : []),
      '--',
      launch.command,
      ...launch.args,
    ]

    const out = openSync(files.supervisorLog, 'a', 0o600)
    let pid: number
    try {
      // Detached: a new session and process group that outlives this process; output goes to files, never to pipes
      // into this process (a pipe would break, and kill the driver, when this process dies).
      const child = spawn(runtime.python, supervisorArgs, {
        cwd: dir,
        detached: true,
        stdio: ['ignore', out, out],
        env: launch.env,
      })
      pid = await new Promise<number>((resolvePid, reject) => {
        child.once('error', reject)
        child.once('spawn', () => resolvePid(child.pid as number))
      }).catch((cause: unknown) => {
        throw new StudioError(
          'SPARK_UNAVAILABLE',
          `could not start the job supervisor with ${runtime.python}: ${(cause as Error).message}. Fix: install Python 3 or set SPARKLE_PYTHON`,
          { missing: 'python' },
          { cause },
        )
      })
      child.unref()
    } finally {
      closeSync(out)
    }
    return { pid, pidStartTime: await processStartTime(pid) }
  }

  /** Starts warm drivers until `warmDrivers` wait (or are starting). */
  async #fillWarm(): Promise<void> {
    const want = this.#options.warmDrivers ?? 0
    const starts: Promise<void>[] = []
    while (!this.#closed && !this.#warmBroken && this.#warm.length + this.#launching.size < want) {
      const start = (async () => {
        try {
          await mkdir(this.baseDir, { recursive: true, mode: 0o700 })
          const dir = join(this.baseDir, `warm-${this.#randomId()}`)
          await mkdir(dir, { mode: 0o700 })
          const createdAt = this.#now()
          const launched = await this.#launch(
            dir,
            { 'spark.app.name': 'sparkle:warm' },
            { warmForMs: this.#warmIdleMs },
          )
          this.#warm.push({ dir, createdAt, ...launched })
        } catch {
          // A warm driver is an optimisation: without one, submissions start cold.
          this.#warmBroken = true
        }
      })()
      this.#launching.add(start)
      void start.finally(() => this.#launching.delete(start))
      starts.push(start)
    }
    await Promise.all(starts)
  }

  /** A live warm driver that can run a job with `jobConf`, taken off the list; undefined when none fits. */
  async #takeWarm(jobConf: Readonly<Record<string, string>>): Promise<WarmDriver | undefined> {
    if (Object.keys(jobConf).some((k) => LAUNCH_CONF.test(k))) return undefined
    // Drivers that are waiting already (their runner wrote `ready`) first, then the oldest still starting.
    const ready = await Promise.all(
      this.#warm.map((d) =>
        stat(join(d.dir, 'ready')).then(
          () => true,
          () => false,
        ),
      ),
    )
    const order = this.#warm
      .map((d, i) => ({ d, ready: ready[i] as boolean }))
      .sort((a, b) => Number(b.ready) - Number(a.ready))
    this.#warm.splice(0, this.#warm.length, ...order.map((o) => o.d))
    while (this.#warm.length > 0) {
      const driver = this.#warm.shift() as WarmDriver
      const fresh = this.#now() < driver.createdAt + this.#warmIdleMs - WARM_MARGIN_MS
      if (fresh && (await isProcessAlive(driver.pid, driver.pidStartTime))) return driver
      // It gave up waiting, or died: its supervisor removes its folder. One that died young will die again.
      if (fresh) this.#warmBroken = true
      signalGroup(driver.pid, 'SIGTERM')
    }
    return undefined
  }

  /** The job's state now, with progress from Spark's REST API while it runs. */
  async status(id: string, options: { readonly signal?: AbortSignal | undefined } = {}): Promise<JobStatus> {
    const files = this.#files(id)
    const snapshot = await this.#snapshot(files, (await readEventsFrom(files.events, 0)).events)
    const status = deriveJobStatus(snapshot)
    return status.state === 'running' ? this.#withProgress(status, options.signal) : status
  }

  /** Waits until the job is final; `onEvent` sees every runner event from the first, also when re-attaching. */
  async wait(id: string, options: WaitOptions = {}): Promise<JobStatus> {
    const files = this.#files(id)
    const pollMs = this.#options.pollIntervalMs ?? 100
    const progressMs = this.#options.progressIntervalMs ?? 1000
    const events: RunnerEvent[] = []
    let offset = 0
    let lastReport = Number.NEGATIVE_INFINITY
    for (;;) {
      options.signal?.throwIfAborted()
      const read = await readEventsFrom(files.events, offset)
      offset = read.offset
      for (const e of read.events) {
        events.push(e)
        options.onEvent?.(e)
      }
      const status = deriveJobStatus(await this.#snapshot(files, events))
      if (isFinalState(status.state)) {
        // Events written between the read above and the final state: report them too.
        const rest = await readEventsFrom(files.events, offset)
        for (const e of rest.events) options.onEvent?.(e)
        return status
      }
      if (options.onStatus && this.#now() - lastReport >= progressMs) {
        lastReport = this.#now()
        options.onStatus(status.state === 'running' ? await this.#withProgress(status, options.signal) : status)
      }
      await sleep(pollMs, options.signal)
    }
  }

  /**
   * Cancels the job: records the request, then SIGTERM to its process group and SIGKILL after the grace period.
   * Resolves once no process of the job is left. A job that already ended keeps its state.
   */
  async cancel(id: string): Promise<void> {
    const files = this.#files(id)
    const snapshot = await this.#snapshot(files, (await readEventsFrom(files.events, 0)).events)
    if (isFinalState(deriveJobStatus(snapshot).state)) return
    const { pid } = snapshot.record
    if (!snapshot.cancel) {
      await writeFile(files.cancel, JSON.stringify({ at: this.#now() } satisfies StopRecord), {
        flag: 'wx',
        mode: 0o600,
      }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error
      })
    }
    if (!snapshot.alive) return
    signalGroup(pid, 'SIGTERM')
    if (await waitGroupGone(pid, this.#options.killGraceMs ?? 10_000)) return
    signalGroup(pid, 'SIGKILL')
    await waitGroupGone(pid, 5_000)
  }

  /** Reads the job's `spark.log` from a byte offset (default 0), at most `limit` bytes (default 64 KiB, max 4 MiB). */
  async logs(id: string, options: { readonly offset?: number; readonly limit?: number } = {}): Promise<LogChunk> {
    const files = this.#files(id)
    const offset = Math.max(0, Math.floor(options.offset ?? 0))
    const limit = Math.max(1, Math.min(MAX_LOG_CHUNK, Math.floor(options.limit ?? DEFAULT_LOG_CHUNK)))
    const snapshot = await this.#snapshot(files, (await readEventsFrom(files.events, 0)).events)
    const chunk = await readLogChunk(files.log, offset, limit)
    const ended = !snapshot.alive && isFinalState(deriveJobStatus(snapshot).state)
    return { text: chunk.text, nextOffset: chunk.nextOffset, complete: ended && chunk.nextOffset >= chunk.size }
  }

  #files(id: string): JobFiles {
    const dir = resolve(id)
    const rel = relative(this.baseDir, dir)
    if (!isAbsolute(id) || rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new StudioError(
        'NOT_FOUND',
        `job ${id} is not a job folder under ${this.baseDir}. Fix: track jobs with a submitter whose baseDir is the one they were submitted with`,
        { id, baseDir: this.baseDir },
      )
    }
    return jobFiles(dir)
  }

  async #snapshot(files: JobFiles, events: readonly RunnerEvent[]): Promise<JobSnapshot> {
    const record = await readJson<JobRecord>(files.job)
    if (!record) {
      throw new StudioError('NOT_FOUND', `no job at ${files.dir} (job.json is missing)`, { id: files.dir })
    }
    const [exit, cancel, timeout] = await Promise.all([
      readJson<ExitRecord>(files.exit),
      readJson<StopRecord>(files.cancel),
      readJson<StopRecord>(files.timeout),
    ])
    const supervisorAlive = await isProcessAlive(record.pid, record.pidStartTime)
    let alive = supervisorAlive
    if (!alive && !exit && !(await isProcessAlive(record.pid))) {
      // The supervisor died without recording an exit: what is left of its group may still run. (A pid that now
      // belongs to another process means the group is long gone: the kernel keeps a pid while its group lives.)
      alive = (await groupMembers(record.pid)).length > 0
    }
    const partial = { record, logFile: files.log, events, exit, cancel, timeout, alive, now: this.#now() }
    return needsLogTail(partial) ? { ...partial, logTail: await readLogTail(files.log) } : partial
  }

  async #withProgress(status: JobStatus, signal?: AbortSignal): Promise<JobStatus> {
    if (!status.uiUrl || !status.appId) return status
    const progress = await fetchProgress(status.uiUrl, status.appId, { fetch: this.#options.fetch, signal })
    return progress ? { ...status, progress } : status
  }
}
