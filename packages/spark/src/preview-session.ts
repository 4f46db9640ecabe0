import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ExecutionPlan, ExecutionPolicy } from '@sparkle-studio/core'
import { StudioError } from '@sparkle-studio/core'
import PQueue from 'p-queue'
import type { NodePreview, ServeMessage } from './events.ts'
import { assertPlanConfAllowed, planForDriver } from './plan-policy.ts'
import { signalGroup, waitGroupGone } from './process.ts'
import { runnerLaunch } from './runner-launch.ts'
import type { SparkRuntime } from './runtime.ts'
import { redactSecrets, secretsForPlan, splitSecretEnv } from './secrets.ts'

// Defined with the rest of the runner's protocol; part of this module's API.
export type { NodePreview, PreviewError } from './events.ts'

/** Rows a preview shows per node when the request does not say. */
export const DEFAULT_PREVIEW_ROWS = 100
/** The most rows a preview shows per node. */
export const MAX_PREVIEW_ROWS = 1000

/** Options of {@link PreviewSession}. */
export interface PreviewSessionOptions {
  /** The Spark installation (from {@link findSparkRuntime}). */
  readonly runtime: SparkRuntime
  /**
   * Worker threads of the driver's local Spark (`local[N]`).
   * @default 2
   */
  readonly threads?: number | undefined
  /**
   * Previews computed at once by the driver (each in its own Spark session and job group); more wait in a queue.
   * @default 1
   */
  readonly concurrency?: number | undefined
  /**
   * The driver stops after this long without a request, and starts again on the next one.
   * @default 300_000
   */
  readonly idleTimeoutMs?: number | undefined
  /**
   * Limit for starting the driver (JVM, Spark, warm-up); past it the start fails with `SPARK_UNAVAILABLE`.
   * @default 180_000
   */
  readonly startTimeoutMs?: number | undefined
  /**
   * Deadline of a request (queueing and driver start-up included) when the request does not set one.
   * @default 30_000
   */
  readonly deadlineMs?: number | undefined
  /**
   * After a deadline, how long the driver gets to stop the request's Spark jobs before it is restarted.
   * @default 5_000
   */
  readonly cancelGraceMs?: number | undefined
  /**
   * Most rows read from each `read` step's source (a smaller step `limit` wins); the sample is held in memory for
   * the request so that downstream nodes do not read the source again.
   * @default 10_000
   */
  readonly sampleRows?: number | undefined
  /**
   * Run a few small previews (read, filter, aggregate, sort) when the driver starts, so that the first request finds
   * a warm JVM; a second or two more at start-up.
   * @default true
   */
  readonly warmUp?: boolean | undefined
  /** Spark configuration for the driver, over the defaults tuned for latency (UI off, one shuffle partition, ...). */
  readonly conf?: Readonly<Record<string, string>> | undefined
  /**
   * Extra environment variables for the driver (over its minimal environment: Java, Spark, Python, locale, home and
   * temporary folders). `SPARKLE_SECRET_<NAME>` entries are taken as {@link PreviewSessionOptions.secrets}.
   */
  readonly env?: Readonly<Record<string, string>> | undefined
  /**
   * Secret values by name: what `{ "$secret": NAME }` options resolve to. A request hands the driver only the ones its
   * plan references, over the session's connection; they are never in the driver's environment, and are replaced by
   * `***` in its answers and log lines.
   * @default {} (and the `SPARKLE_SECRET_<NAME>` entries of `env`)
   */
  readonly secrets?: Readonly<Record<string, string>> | undefined
  /**
   * The execution policy: a plan whose `conf` has keys or values it does not allow is refused, and the driver enforces
   * its read roots, JDBC URL patterns and denied functions on every step (over the plan's own `policy`). Without one,
   * plans keep their own `policy`, if any. Reflection, commands and script transformation are refused in any case.
   * @default undefined
   */
  readonly policy?: ExecutionPolicy | undefined
  /**
   * Called with each line the driver writes to its stdout or stderr (Spark's log, at WARN level and above).
   * The last 200 lines are kept in any case and quoted when the driver fails.
   */
  readonly onLog?: ((line: string) => void) | undefined
}

/**
 * A request's rows per node and deadline, checked: `BAD_REQUEST` for a limit that is not a positive integer or a
 * deadline that is not a positive, finite number; `LIMIT_EXCEEDED` above {@link MAX_PREVIEW_ROWS}.
 */
export function previewLimits(
  options: Pick<PreviewOptions, 'limit' | 'deadlineMs'>,
  defaultDeadlineMs: number | undefined,
): { readonly limit: number; readonly deadlineMs: number } {
  const limit = options.limit ?? DEFAULT_PREVIEW_ROWS
  if (!Number.isInteger(limit) || limit < 1) throw new StudioError('BAD_REQUEST', 'limit must be a positive integer')
  if (limit > MAX_PREVIEW_ROWS) {
    throw new StudioError('LIMIT_EXCEEDED', `a preview shows at most ${MAX_PREVIEW_ROWS} rows per node, not ${limit}`)
  }
  const deadlineMs = options.deadlineMs ?? defaultDeadlineMs ?? 30_000
  if (!(deadlineMs > 0 && Number.isFinite(deadlineMs))) {
    throw new StudioError('BAD_REQUEST', 'deadlineMs must be a positive, finite number')
  }
  return { limit, deadlineMs }
}

/** Options of one {@link PreviewSession.preview} request. */
export interface PreviewOptions {
  /**
   * Rows shown per node, 1 to {@link MAX_PREVIEW_ROWS}; a `query` step's own smaller limit wins for its node.
   * @default 100
   */
  readonly limit?: number | undefined
  /** Deadline of this request in milliseconds; past it the request fails with `JOB_TIMEOUT`. @default the session's */
  readonly deadlineMs?: number | undefined
  /** Aborts the request (its Spark jobs are cancelled). */
  readonly signal?: AbortSignal | undefined
}

/** The answer to a preview request: one entry per node of the plan, in plan order. */
export interface PreviewResult {
  readonly nodes: readonly NodePreview[]
  /** Time the driver spent on the request. */
  readonly durationMs: number
  /** Time the driver spent checking the plan's steps against its rules (part of `durationMs`). */
  readonly checksMs?: number
  /** The Spark application of the driver that answered. */
  readonly appId: string
}

/**
 * What answers preview requests: the warm local driver ({@link PreviewSession}) or a Spark Connect server
 * (`ConnectPreviewSession` of `@sparkle-studio/spark/connect`).
 */
export interface Previewer {
  /** Gets ready for the first request now (starts the driver, or reaches the server) instead of on that request. */
  start(): Promise<void>
  /** Answers one request: per node, schema and first rows, or the node's error. */
  preview(plan: ExecutionPlan, options?: PreviewOptions): Promise<PreviewResult>
  /** Stops answering and frees what the previewer holds. */
  close(): Promise<void>
}

/** What {@link PreviewSession.info} reports. */
export interface PreviewSessionInfo {
  /** `stopped`: no driver now (never started, idle, or died); the next request starts one. */
  readonly state: 'stopped' | 'starting' | 'ready' | 'closed'
  /** Spark application id of the running driver. */
  readonly appId?: string
  /** Process group (and pid) of the running driver JVM. */
  readonly pid?: number
  /** Drivers started so far. */
  readonly starts: number
}

type Answer = Extract<ServeMessage, { id: number }>

interface Driver {
  readonly child: ChildProcess
  readonly pid: number
  readonly socket: Socket
  readonly appId: string
  readonly pending: Map<number, { resolve(m: Answer): void; reject(e: unknown): void }>
  readonly exited: Promise<void>
  dead: boolean
}

const LOG_LINES = 200

/**
 * A warm Spark driver for previews: one long-lived PySpark driver (`local[N]`) started on the first request, reused
 * by the next ones, started again when it died, and stopped after an idle time. A request takes a plan and answers per
 * node: schema and first rows, or the node's error (nodes that read a failed node answer `UPSTREAM_FAILED`; the
 * others still answer). Sinks are never written: a `write` step answers with the rows it would write. Each request
 * runs in a fresh Spark session, so temporary views never leak between requests, and under its own job group, so a
 * request past its deadline is cancelled in Spark and the driver stays usable.
 *
 * @example
 * ```ts
 * import { findSparkRuntime, PreviewSession } from '@sparkle-studio/spark'
 *
 * const session = new PreviewSession({ runtime: await findSparkRuntime() })
 * const { nodes } = await session.preview(
 *   { pipeline: 'p', mode: 'preview', steps: [{ nodeId: 'q', kind: 'query', sql: 'SELECT 1 AS one', limit: 10 }] },
 *   { limit: 100, deadlineMs: 10_000 },
 * )
 * for (const n of nodes) console.log(n.nodeId, n.ok ? n.rows : n.error.message)
 * await session.close()
 * ```
 */
export class PreviewSession implements Previewer {
  readonly #options: PreviewSessionOptions
  readonly #env: Readonly<Record<string, string>>
  readonly #secrets: Readonly<Record<string, string>>
  readonly #queue: PQueue
  readonly #inFlight = new Set<(error: unknown) => void>()
  readonly #log: string[] = []
  #driver: Driver | undefined
  #starting: Promise<Driver> | undefined
  #idleTimer: NodeJS.Timeout | undefined
  #workDir: string | undefined
  #closed = false
  #nextId = 0
  #starts = 0

  constructor(options: PreviewSessionOptions) {
    const concurrency = options.concurrency ?? 1
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new StudioError('BAD_REQUEST', 'concurrency must be a positive integer')
    }
    const threads = options.threads ?? 2
    if (!Number.isInteger(threads) || threads < 1)
      throw new StudioError('BAD_REQUEST', 'threads must be a positive integer')
    this.#options = options
    const split = splitSecretEnv(options.env)
    this.#env = split.env
    this.#secrets = { ...split.secrets, ...options.secrets }
    this.#queue = new PQueue({ concurrency })
    this.#queue.addEventListener('idle', () => this.#armIdleTimer())
  }

  /** The driver's state now. */
  info(): PreviewSessionInfo {
    const state = this.#closed ? 'closed' : this.#driver ? 'ready' : this.#starting ? 'starting' : 'stopped'
    return {
      state,
      ...(this.#driver ? { appId: this.#driver.appId, pid: this.#driver.pid } : {}),
      starts: this.#starts,
    }
  }

  /** Starts the driver now instead of on the first request (a warm-up, e.g. when an editor opens). */
  async start(): Promise<void> {
    this.#assertOpen()
    await this.#ensureDriver()
    this.#armIdleTimer()
  }

  /**
   * Previews `plan`: per node, schema and first rows, or the node's error.
   *
   * A node whose step the driver refused (reflection, a command, a path outside the policy's roots, ...) answers with
   * a `POLICY_*` error class, the rule and the fix; nothing of it ran.
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `JOB_TIMEOUT` past the deadline; `SPARK_UNAVAILABLE`
   * when the driver cannot start; `SPARK_JOB_FAILED` when the driver died during the request or rejected the plan;
   * `LIMIT_EXCEEDED` for a limit over {@link MAX_PREVIEW_ROWS}; `VALIDATION_FAILED` for Spark configuration the plan
   * may not set; the abort reason when `signal` aborts.
   */
  async preview(plan: ExecutionPlan, options: PreviewOptions = {}): Promise<PreviewResult> {
    this.#assertOpen()
    assertPlanConfAllowed(plan, this.#options.policy)
    const driverPlan = planForDriver(plan, this.#options.policy)
    const secrets = secretsForPlan(driverPlan, this.#secrets)
    const { limit, deadlineMs } = previewLimits(options, this.#options.deadlineMs)
    options.signal?.throwIfAborted()
    clearTimeout(this.#idleTimer)

    return new Promise<PreviewResult>((resolve, reject) => {
      let settled = false
      let stopRunning: (() => void) | undefined
      const settle = (error: unknown, result?: PreviewResult) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
        this.#inFlight.delete(fail)
        if (result) resolve(result)
        else reject(error)
      }
      const fail = (error: unknown) => settle(error)
      const timer = setTimeout(() => {
        settle(new StudioError('JOB_TIMEOUT', `the preview did not finish within its deadline of ${deadlineMs} ms`))
        stopRunning?.()
      }, deadlineMs)
      const onAbort = () => {
        settle(options.signal?.reason)
        stopRunning?.()
      }
      options.signal?.addEventListener('abort', onAbort, { once: true })
      this.#inFlight.add(fail)

      this.#queue
        .add(async () => {
          if (settled) return
          let driver: Driver
          try {
            driver = await this.#ensureDriver()
          } catch (error) {
            settle(error)
            return
          }
          if (settled) return
          const id = ++this.#nextId
          const answered = new Promise<Answer>((res, rej) => driver.pending.set(id, { resolve: res, reject: rej }))
          stopRunning = () => this.#cancelRequest(driver, id, answered)
          this.#send(driver, {
            op: 'preview',
            id,
            plan: driverPlan,
            limit,
            sampleRows: this.#options.sampleRows ?? 10_000,
            ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
          })
          try {
            const answer = await answered
            if (answer.type === 'result') {
              settle(undefined, {
                nodes: answer.nodes,
                durationMs: answer.durationMs,
                ...(answer.checksMs === undefined ? {} : { checksMs: answer.checksMs }),
                appId: driver.appId,
              })
            } else if (answer.type === 'error') {
              settle(
                new StudioError('SPARK_JOB_FAILED', `the preview failed: ${answer.message}`, {
                  errorClass: answer.errorClass,
                  ...(answer.rule === undefined ? {} : { rule: answer.rule, fix: answer.fix }),
                }),
              )
            } else {
              settle(new StudioError('JOB_CANCELLED', 'the preview was cancelled'))
            }
          } catch (error) {
            settle(error)
          } finally {
            driver.pending.delete(id)
          }
        })
        .catch(fail)
    })
  }

  /** Stops the driver and refuses further requests; requests still waiting fail with `JOB_CANCELLED`. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#idleTimer)
    this.#queue.clear()
    for (const fail of [...this.#inFlight]) fail(new StudioError('JOB_CANCELLED', 'the preview session was closed'))
    const driver = this.#driver ?? (await this.#starting?.catch(() => undefined))
    if (driver) await this.#stopDriver(driver)
    if (this.#workDir) await rm(this.#workDir, { recursive: true, force: true })
  }

  #assertOpen(): void {
    if (this.#closed) throw new StudioError('SPARK_UNAVAILABLE', 'the preview session is closed')
  }

  #armIdleTimer(): void {
    clearTimeout(this.#idleTimer)
    if (this.#closed || !this.#driver || this.#queue.size > 0 || this.#queue.pending > 0) return
    this.#idleTimer = setTimeout(() => {
      const driver = this.#driver
      if (driver && this.#queue.size === 0 && this.#queue.pending === 0) void this.#stopDriver(driver)
    }, this.#options.idleTimeoutMs ?? 300_000)
    this.#idleTimer.unref()
  }

  #ensureDriver(): Promise<Driver> {
    if (this.#closed) return Promise.reject(new StudioError('SPARK_UNAVAILABLE', 'the preview session is closed'))
    if (this.#driver && !this.#driver.dead) return Promise.resolve(this.#driver)
    this.#starting ??= this.#launch().finally(() => {
      this.#starting = undefined
    })
    return this.#starting
  }

  #send(driver: Driver, message: unknown): void {
    if (!driver.dead) driver.socket.write(`${JSON.stringify(message)}\n`)
  }

  #cancelRequest(driver: Driver, id: number, answered: Promise<unknown>): void {
    this.#send(driver, { op: 'cancel', id })
    const grace = setTimeout(() => {
      if (driver.pending.has(id)) {
        this.#pushLog(`[sparkle] request ${id} did not stop within the grace period: restarting the preview driver`)
        void this.#stopDriver(driver)
      }
    }, this.#options.cancelGraceMs ?? 5_000)
    grace.unref()
    answered.then(
      () => clearTimeout(grace),
      () => clearTimeout(grace),
    )
  }

  #pushLog(raw: string): void {
    // The driver redacts what it writes itself; Spark's own log lines (a failing task's message) are redacted here.
    const line = redactSecrets(raw, Object.values(this.#secrets))
    this.#log.push(line)
    if (this.#log.length > LOG_LINES) this.#log.splice(0, this.#log.length - LOG_LINES)
    this.#options.onLog?.(line)
  }

  #logTail(lines = 30): string {
    return this.#log.slice(-lines).join('\n')
  }

  async #launch(): Promise<Driver> {
    const { runtime } = this.#options
    const threads = this.#options.threads ?? 2
    this.#workDir ??= await mkdtemp(join(tmpdir(), 'sparkle-preview-'))
    const propertiesFile = join(this.#workDir, 'spark.properties')
    const token = randomBytes(24).toString('hex')
    // The runner reads the token from this file and removes it before Spark starts: never in its environment.
    const tokenFile = join(this.#workDir, `token-${randomBytes(6).toString('hex')}`)
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    server.unref()
    const port = (server.address() as { port: number }).port
    const launch = runnerLaunch({
      runtime,
      master: `local[${threads}]`,
      mode: 'serve',
      serve: {
        address: `127.0.0.1:${port}`,
        tokenFile,
        concurrency: this.#options.concurrency ?? 1,
        warmUp: this.#options.warmUp !== false,
      },
      propertiesFile,
      conf: this.#options.conf,
      env: this.#env,
    })
    try {
      await writeFile(propertiesFile, launch.properties, { mode: 0o600 })
      await writeFile(tokenFile, token, { mode: 0o600 })
    } catch (error) {
      server.close()
      throw error
    }

    this.#starts++
    const child = spawn(launch.command, launch.args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: launch.env,
      // What Spark and its libraries leave in their working folder (a warehouse, derby.log) stays in the session's.
      cwd: this.#workDir,
    })
    child.unref()
    for (const stream of [child.stdout, child.stderr]) {
      let partial = ''
      stream?.setEncoding('utf8')
      stream?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n')
        partial = lines.pop() ?? ''
        for (const line of lines) if (line.trim()) this.#pushLog(line)
      })
      ;(stream as unknown as { unref?: () => void } | null)?.unref?.()
    }
    const exited = new Promise<{ code: number | null; signal: string | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }))
      child.once('exit', (code, signal) => resolve({ code, signal }))
    })
    const describe = (e: { code: number | null; signal: string | null; error?: Error }) =>
      e.error ? e.error.message : e.signal ? `killed by ${e.signal}` : `exited with code ${e.code}`

    try {
      const { socket, appId } = await this.#handshake(server, token, exited, describe)
      const driver: Driver = {
        child,
        pid: child.pid as number,
        socket,
        appId,
        pending: new Map(),
        exited: exited.then(() => undefined),
        dead: false,
      }
      socket.unref()
      this.#attach(driver, exited, describe)
      this.#driver = driver
      return driver
    } catch (error) {
      if (child.pid !== undefined) {
        signalGroup(child.pid, 'SIGKILL')
        await waitGroupGone(child.pid, 5_000)
      }
      throw error
    } finally {
      server.close()
      // Read and removed by a driver that started; removed here when it did not get that far.
      await rm(tokenFile, { force: true })
    }
  }

  #handshake(
    server: Server,
    token: string,
    exited: Promise<{ code: number | null; signal: string | null; error?: Error }>,
    describe: (e: { code: number | null; signal: string | null; error?: Error }) => string,
  ): Promise<{ socket: Socket; appId: string }> {
    const startTimeoutMs = this.#options.startTimeoutMs ?? 180_000
    return new Promise((resolve, reject) => {
      let done = false
      const finish = (error: unknown, value?: { socket: Socket; appId: string }) => {
        if (done) return
        done = true
        clearTimeout(timer)
        if (value) resolve(value)
        else reject(error)
      }
      const timer = setTimeout(
        () =>
          finish(
            new StudioError(
              'SPARK_UNAVAILABLE',
              `the preview driver did not start within ${startTimeoutMs} ms; its output ends with:\n${this.#logTail()}`,
            ),
          ),
        startTimeoutMs,
      )
      void exited.then((e) =>
        finish(
          new StudioError(
            'SPARK_UNAVAILABLE',
            `the preview driver ${describe(e)} while starting; its output ends with:\n${this.#logTail()}`,
            undefined,
            { cause: e.error },
          ),
        ),
      )
      server.on('connection', (socket) => {
        socket.setNoDelay(true)
        let greeted = false
        readLines(socket, (line) => {
          if (done && !greeted) return
          let message: ServeMessage
          try {
            message = JSON.parse(line) as ServeMessage
          } catch {
            socket.destroy()
            return
          }
          if (!greeted) {
            if (message.type !== 'hello' || message.token !== token) {
              socket.destroy()
              return
            }
            greeted = true
            return
          }
          if (message.type === 'ready') {
            socket.removeAllListeners('data')
            finish(undefined, { socket, appId: message.appId })
          }
        })
      })
    })
  }

  #attach(
    driver: Driver,
    exited: Promise<{ code: number | null; signal: string | null; error?: Error }>,
    describe: (e: { code: number | null; signal: string | null; error?: Error }) => string,
  ): void {
    readLines(driver.socket, (line) => {
      let message: ServeMessage
      try {
        message = JSON.parse(line) as ServeMessage
      } catch {
        return
      }
      // An answer sent by a Python driver whose JVM just died is not trusted: the exit rejects the request instead.
      if ('id' in message && driver.child.exitCode === null && driver.child.signalCode === null) {
        driver.pending.get(message.id)?.resolve(message)
      }
    })
    driver.socket.on('error', () => {})
    // Without its connection the driver is useless: it exits by itself; make sure of it.
    driver.socket.on('close', () => {
      if (!driver.dead) void this.#stopDriver(driver)
    })
    void exited.then((e) => {
      driver.dead = true
      if (this.#driver === driver) this.#driver = undefined
      const error = new StudioError(
        'SPARK_JOB_FAILED',
        `the preview driver ${describe(e)} during the request; it restarts on the next one. Its output ends with:\n${this.#logTail()}`,
      )
      for (const p of driver.pending.values()) p.reject(error)
      driver.pending.clear()
      driver.socket.destroy()
      signalGroup(driver.pid, 'SIGKILL')
    })
  }

  async #stopDriver(driver: Driver): Promise<void> {
    if (this.#driver === driver) this.#driver = undefined
    if (!driver.dead) {
      this.#send(driver, { op: 'shutdown' })
      driver.socket.end()
      // A referenced timer: it keeps the process alive while close() waits for the driver to exit.
      let timer: NodeJS.Timeout | undefined
      const stopped = await Promise.race([
        driver.exited.then(() => true),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), 5_000)
        }),
      ])
      clearTimeout(timer)
      if (!stopped) signalGroup(driver.pid, 'SIGTERM')
    }
    if (!(await waitGroupGone(driver.pid, 5_000))) {
      signalGroup(driver.pid, 'SIGKILL')
      await waitGroupGone(driver.pid, 5_000)
    }
  }
}

function readLines(socket: Socket, onLine: (line: string) => void): void {
  let buffer = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    buffer += chunk
    let nl = buffer.indexOf('\n')
    while (nl >= 0) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      if (line.trim()) onLine(line)
      nl = buffer.indexOf('\n')
    }
  })
}
