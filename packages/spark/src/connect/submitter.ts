import { randomUUID } from 'node:crypto'
import { type ExecutionPolicy, StudioError } from '@sparkle-studio/core'
import type { RunnerEvent } from '../events.ts'
import { assertPlanConfAllowed, planForDriver } from '../plan-policy.ts'
import { secretsForPlan } from '../secrets.ts'
import type { JobStatus, LogChunk, Submission, SubmitRequest, Submitter, WaitOptions } from '../submitter.ts'
import { SparkConnectClient, type SparkConnectClientOptions } from './client.ts'
import { type ConnectionString, parseConnectionString } from './connection-string.ts'
import { ProgressTally, runConnectSteps, stepErrorFields } from './plan-runner.ts'

/** Options of {@link SparkConnectSubmitter}. */
export interface SparkConnectSubmitterOptions {
  /** The Spark Connect server: an `sc://` connection string (its token, TLS and user id included), or one parsed. */
  readonly remote: string | ConnectionString
  /** Spark configuration for every job's session, under the plan's own `conf` and the request's. */
  readonly conf?: Readonly<Record<string, string>> | undefined
  /**
   * Secret values by name: what `{ "$secret": NAME }` options resolve to. Only those a plan references are used, sent
   * to the server as data source options (never in SQL text), and never written to events or logs.
   */
  readonly secrets?: Readonly<Record<string, string>> | undefined
  /**
   * The execution policy: a plan whose `conf` it does not allow is refused at submission; sources and sinks are
   * checked against its roots and JDBC URL patterns before they are sent, and every file location of a step's
   * physical plan, as the server plans it, against its read roots.
   */
  readonly policy?: ExecutionPolicy | undefined
  /** More client options (retries, message limits); tests inject ids here. */
  readonly client?: Partial<SparkConnectClientOptions> | undefined
}

interface Job {
  readonly id: string
  readonly events: RunnerEvent[]
  readonly log: string[]
  readonly listeners: Set<() => void>
  readonly controller: AbortController
  readonly tally: ProgressTally
  readonly tag: string
  readonly client: SparkConnectClient
  status: JobStatus
  cancelRequested: boolean
  done: Promise<void>
}

const MAX_LOG_CHUNK = 4 * 1024 * 1024
const DEFAULT_LOG_CHUNK = 64 * 1024
// `SET key=value` takes the rest of the statement as the value: keys and values are kept to what needs no quoting.
const SAFE_CONF_KEY = /^[A-Za-z0-9_.-]+$/
const SAFE_CONF_VALUE = /^[^;\r\n]*$/

/**
 * Runs plans on a Spark Connect server (Spark 4 or later, e.g. `SPARK_REMOTE=sc://spark.internal:15002/;token=...`):
 * no Spark installation and no JVM on this machine. Each job is one server-side session; its steps run in order as
 * Spark Connect operations (temporary views through `CreateDataFrameView`, sources as data source reads, sinks through
 * `WriteOperation`, rows and checks collected as Arrow), tagged with the job, with the events of the Python runner
 * (`started`, `step_started`, `rows`, `check`, `step_finished`, `succeeded`/`failed` naming the node), progress from
 * the server's execution progress, and cancellation by interrupting the job's tag.
 *
 * The job is driven by this process: `status`, `wait`, `cancel` and `logs` know the jobs it submitted (another
 * process gets `NOT_FOUND`, which a worker reports as a lost run). Reattachment by another worker is not provided yet.
 *
 * @example
 * ```ts
 * import { SparkConnectSubmitter } from '@sparkle-studio/spark/connect'
 *
 * const submitter = new SparkConnectSubmitter({ remote: process.env['SPARK_REMOTE'] ?? 'sc://localhost' })
 * const plan = { pipeline: 'hello', mode: 'run' as const, steps: [{ nodeId: 'q', kind: 'query' as const, sql: 'SELECT 1 AS one', limit: 10 }] }
 * const { id } = await submitter.submit({ jobId: 'hello-1', plan })
 * const status = await submitter.wait(id, { onEvent: (e) => console.log(e.type) })
 * console.log(status.state) // 'succeeded'
 * ```
 */
export class SparkConnectSubmitter implements Submitter {
  readonly backend = 'connect'
  readonly #options: SparkConnectSubmitterOptions
  readonly #remote: ConnectionString
  readonly #jobs = new Map<string, Job>()

  constructor(options: SparkConnectSubmitterOptions) {
    this.#options = options
    this.#remote = typeof options.remote === 'string' ? parseConnectionString(options.remote) : options.remote
  }

  /** The server, for messages: its connection string without the token. */
  get remote(): string {
    return this.#remote.toString()
  }

  /**
   * Starts a job and returns at once; its id is the job's server-side session id.
   * @throws {@link @sparkle-studio/core!index.ValidationError | ValidationError} for Spark configuration the plan may
   * not set (nothing is sent).
   */
  async submit(request: SubmitRequest): Promise<Submission> {
    request.signal?.throwIfAborted()
    const policy = this.#options.policy
    assertPlanConfAllowed(request.plan, policy)
    const conf = { ...this.#options.conf, ...request.plan.conf, ...request.conf }
    for (const [key, value] of Object.entries(conf)) {
      if (!SAFE_CONF_KEY.test(key) || !SAFE_CONF_VALUE.test(value)) {
        throw new StudioError('VALIDATION_FAILED', `Spark configuration ${JSON.stringify(key)} cannot be sent as set`)
      }
    }
    const plan = planForDriver(request.plan, policy)
    const secrets = secretsForPlan(plan, this.#options.secrets ?? {})
    const id = randomUUID()
    const client = SparkConnectClient.fromConnectionString(this.#remote, { sessionId: id, ...this.#options.client })
    const job: Job = {
      id,
      events: [],
      log: [],
      listeners: new Set(),
      controller: new AbortController(),
      tally: new ProgressTally(),
      tag: `sparkle-job-${request.jobId.replace(/[^A-Za-z0-9_.-]/g, '_')}`,
      client,
      status: { state: 'submitting', startedAt: Date.now() },
      cancelRequested: false,
      done: Promise.resolve(),
    }
    this.#jobs.set(id, job)
    const timer =
      request.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => job.controller.abort(new StudioError('JOB_TIMEOUT', 'the job ran past its timeout')),
            request.timeoutMs,
          )
    job.done = this.#run(job, plan, conf, secrets).finally(() => {
      clearTimeout(timer)
      void client.close().catch(() => undefined)
    })
    return { id, backend: this.backend }
  }

  async #run(
    job: Job,
    plan: SubmitRequest['plan'],
    conf: Readonly<Record<string, string>>,
    secrets: Readonly<Record<string, string>>,
  ): Promise<void> {
    const { client, controller } = job
    const execute = {
      signal: controller.signal,
      tag: job.tag,
      onProgress: (p: Parameters<ProgressTally['add']>[0]) => {
        job.tally.add(p)
        this.#update(job, { progress: job.tally.counts() })
      },
    }
    const started = Date.now()
    let ok = false
    try {
      this.#log(job, `connecting to ${this.remote} (session ${job.id})`)
      for (const [key, value] of Object.entries(conf)) {
        await client.executeCommand(`SET ${key}=${value}`, execute).catch((error: unknown) => {
          // Static configuration cannot change in a running server: reported, as spark-submit jobs ignore it too.
          this.#log(job, `configuration ${key} not set: ${error instanceof Error ? error.message : String(error)}`)
        })
      }
      const settings = await client.executeCommand('SET spark.app.id', execute)
      const master = await client.executeCommand('SET spark.master', execute)
      const version = await client.executeSql('SELECT version() AS v', execute)
      const appId = String(settings.rows[0]?.['value'] ?? '')
      this.#update(job, { state: 'running', appId })
      this.#emit(job, {
        type: 'started',
        ts: Date.now(),
        appId,
        uiUrl: null,
        master: String(master.rows[0]?.['value'] ?? ''),
        sparkVersion: String(version.rows[0]?.['v'] ?? '').split(' ')[0] ?? '',
      })
      ok = await runConnectSteps(plan, {
        client,
        policy: plan.policy,
        secrets,
        execute,
        emit: (event) => this.#emit(job, event),
      })
    } catch (error) {
      if (!controller.signal.aborted) this.#emit(job, { type: 'failed', ts: Date.now(), ...stepErrorFields(error) })
    }
    const counts = job.tally.counts()
    const finishedAt = Date.now()
    if (controller.signal.aborted) {
      const reason = controller.signal.reason
      if (job.cancelRequested) this.#update(job, { state: 'cancelled', finishedAt })
      else {
        const message = reason instanceof Error ? reason.message : 'the job was stopped'
        this.#emit(job, { type: 'failed', ts: finishedAt, errorClass: 'JOB_TIMEOUT', message })
      }
    } else if (ok) {
      this.#emit(job, {
        type: 'succeeded',
        ts: finishedAt,
        durationMs: finishedAt - started,
        completedTasks: counts.completedTasks,
        totalTasks: counts.totalTasks,
      })
    }
  }

  #emit(job: Job, event: RunnerEvent): void {
    job.events.push(event)
    if (event.type === 'failed') {
      const error = {
        message: event.message,
        ...(event.nodeId === undefined ? {} : { nodeId: event.nodeId }),
        ...(event.errorClass === undefined ? {} : { errorClass: event.errorClass }),
        ...(event.rule === undefined ? {} : { rule: event.rule, ...(event.fix ? { fix: event.fix } : {}) }),
      }
      this.#log(job, `failed${event.nodeId ? ` at node ${event.nodeId}` : ''}: [${event.errorClass}] ${event.message}`)
      this.#update(job, { state: 'failed', error, finishedAt: event.ts })
      return
    }
    if (event.type === 'step_started') this.#log(job, `step ${event.index} (${event.kind}) of node ${event.nodeId}`)
    if (event.type === 'succeeded') {
      this.#log(job, `succeeded in ${event.durationMs} ms`)
      this.#update(job, {
        state: 'succeeded',
        finishedAt: event.ts,
        appDurationMs: event.durationMs,
        progress: { completedTasks: event.completedTasks ?? 0, totalTasks: event.totalTasks ?? 0, activeStages: [] },
      })
      return
    }
    this.#notify(job)
  }

  #log(job: Job, line: string): void {
    job.log.push(`${new Date().toISOString()} ${line}\n`)
  }

  #update(job: Job, patch: Partial<JobStatus>): void {
    job.status = { ...job.status, ...patch }
    this.#notify(job)
  }

  #notify(job: Job): void {
    for (const listener of job.listeners) listener()
  }

  #job(id: string): Job {
    const job = this.#jobs.get(id)
    if (!job) {
      throw new StudioError(
        'NOT_FOUND',
        `job ${id} was not submitted by this process: Spark Connect jobs are followed by the process that submitted them`,
        { id },
      )
    }
    return job
  }

  /** The job's status now. @throws `NOT_FOUND` for a job this submitter did not start. */
  async status(id: string): Promise<JobStatus> {
    return this.#job(id).status
  }

  /** Waits until the job is final; `onEvent` sees every event from the first. */
  async wait(id: string, options: WaitOptions = {}): Promise<JobStatus> {
    const job = this.#job(id)
    let seen = 0
    const final = () => ['succeeded', 'failed', 'cancelled', 'lost'].includes(job.status.state)
    return new Promise<JobStatus>((resolve, reject) => {
      const onChange = () => {
        while (seen < job.events.length) options.onEvent?.(job.events[seen++] as RunnerEvent)
        options.onStatus?.(job.status)
        if (final()) {
          cleanup()
          resolve(job.status)
        }
      }
      const onAbort = () => {
        cleanup()
        reject(options.signal?.reason)
      }
      const cleanup = () => {
        job.listeners.delete(onChange)
        options.signal?.removeEventListener('abort', onAbort)
      }
      if (options.signal?.aborted) return onAbort()
      options.signal?.addEventListener('abort', onAbort, { once: true })
      job.listeners.add(onChange)
      onChange()
    })
  }

  /** Interrupts the job's running operation on the server and runs none of its remaining steps. */
  async cancel(id: string): Promise<void> {
    const job = this.#job(id)
    if (['succeeded', 'failed', 'cancelled', 'lost'].includes(job.status.state)) return
    job.cancelRequested = true
    job.controller.abort(new StudioError('JOB_CANCELLED', 'the job was cancelled'))
    await job.client.interrupt({ tag: job.tag }).catch(() => undefined)
    await job.done
  }

  /** The job's log (what it did, and errors as the server answered them), from a character offset. */
  async logs(id: string, options: { readonly offset?: number; readonly limit?: number } = {}): Promise<LogChunk> {
    const job = this.#job(id)
    const text = job.log.join('')
    const offset = Math.max(0, Math.floor(options.offset ?? 0))
    const limit = Math.max(1, Math.min(MAX_LOG_CHUNK, Math.floor(options.limit ?? DEFAULT_LOG_CHUNK)))
    const chunk = text.slice(offset, offset + limit)
    const nextOffset = offset + chunk.length
    const ended = ['succeeded', 'failed', 'cancelled', 'lost'].includes(job.status.state)
    return { text: chunk, nextOffset, complete: ended && nextOffset >= text.length }
  }
}
