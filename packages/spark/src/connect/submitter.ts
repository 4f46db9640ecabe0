import { createHash, randomUUID } from 'node:crypto'
import { type ExecutionPlan, type ExecutionPolicy, StudioError } from '@sparkle-studio/core'
import type { RunnerEvent } from '../events.ts'
import { isFinalState } from '../job-state.ts'
import { DEFAULT_LOG_CHUNK, MAX_LOG_CHUNK } from '../log-reader.ts'
import { assertPlanConfAllowed, planForDriver } from '../plan-policy.ts'
import { secretsForPlan } from '../secrets.ts'
import type { JobStatus, LogChunk, Submission, SubmitRequest, Submitter, WaitOptions } from '../submitter.ts'
import { SparkConnectClient, type SparkConnectClientOptions, type SparkExecuteOptions } from './client.ts'
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

// The job's state, kept in its server-side session so that any process that knows the job id (the session id) can
// continue it: the plan (secret references only, never values) and the step being run.
const JOB_KEY = 'spark.sparkle.job'
const STEP_KEY = 'spark.sparkle.job.step'

interface JobRecord {
  readonly plan: ExecutionPlan
  readonly tag: string
  readonly appId: string
  readonly master: string
  readonly startedAt: number
}

/**
 * The operation id of a job's step: derived from the job id and the step, so that a process continuing the job knows
 * which operation to re-attach to without asking the one that started it.
 */
export function stepOperationId(jobId: string, index: number): string {
  const hex = createHash('sha256').update(`${jobId}/step/${index}`).digest('hex')
  const variant = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

/**
 * Runs plans on a Spark Connect server (Spark 4 or later, e.g. `SPARK_REMOTE=sc://spark.internal:15002/;token=...`):
 * no Spark installation and no JVM on this machine. Each job is one server-side session (the job id is the session
 * id); its steps run in order as Spark Connect operations (temporary views through `CreateDataFrameView`, sources as
 * data source reads, sinks through `WriteOperation`, rows and checks collected as Arrow), tagged with the job, with the
 * events of the Python runner (`started`, `step_started`, `rows`, `check`, `step_finished`, `succeeded`/`failed`
 * naming the node), progress from the server's execution progress, and cancellation by interrupting the job's tag.
 * Unlike the Python runner, its `step_finished` events carry no Spark figures (`rowsIn`, `bytesRead`, `bytesWritten`,
 * `taskMs`, `jobs`) and it writes no `usage` event: the driver's status store is not reachable over Spark Connect.
 *
 * Re-attachment needs no local files: the job's plan and the step it runs are kept in its server-side session
 * (`spark.sparkle.job*` settings), and each step's operation id is derived from the job id and the step. When the
 * process driving a job dies, `wait(id)` in any other process (a worker on another machine that took the run over)
 * re-attaches to the running step's operation, receives its result, and runs the remaining steps in the same session.
 * `status(id)` and `logs(id)` of a job driven elsewhere only read. A job whose session the server no longer has (it
 * restarted) is `lost`.
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
  #version: { readonly version: string; readonly appId: string } | undefined

  constructor(options: SparkConnectSubmitterOptions) {
    this.#options = options
    this.#remote = typeof options.remote === 'string' ? parseConnectionString(options.remote) : options.remote
  }

  /** The server, for messages: its connection string without the token. */
  get remote(): string {
    return this.#remote.toString()
  }

  #client(id: string): SparkConnectClient {
    return SparkConnectClient.fromConnectionString(this.#remote, { sessionId: id, ...this.#options.client })
  }

  #newJob(id: string, client: SparkConnectClient, tag: string, status: JobStatus): Job {
    const job: Job = {
      id,
      events: [],
      log: [],
      listeners: new Set(),
      controller: new AbortController(),
      tally: new ProgressTally(),
      tag,
      client,
      status,
      cancelRequested: false,
      done: Promise.resolve(),
    }
    this.#jobs.set(id, job)
    return job
  }

  /**
   * Starts a job and returns once the server has its session and plan; its id is the job's server-side session id.
   * @throws {@link @sparkle-studio/core!index.ValidationError | ValidationError} for Spark configuration the plan may
   * not set (nothing is sent); `SPARK_UNAVAILABLE` when the server cannot be reached.
   */
  async submit(request: SubmitRequest): Promise<Submission> {
    request.signal?.throwIfAborted()
    const policy = this.#options.policy
    assertPlanConfAllowed(request.plan, policy)
    const conf = { ...this.#options.conf, ...request.plan.conf, ...request.conf }
    const plan = planForDriver(request.plan, policy)
    const id = randomUUID()
    const client = this.#client(id)
    const tag = `sparkle-job-${request.jobId.replace(/[^A-Za-z0-9_.-]/g, '_')}`
    const notSet: string[] = []
    try {
      for (const [key, value] of Object.entries(conf)) {
        // Static configuration cannot change in a running server: left out (and logged), as spark-submit jobs on a
        // warm driver leave it out.
        await client.setConf({ [key]: value }, { signal: request.signal }).catch((error: unknown) => {
          if (error instanceof StudioError && error.code === 'SPARK_UNAVAILABLE') throw error
          notSet.push(`${key} (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`)
        })
      }
      const settings = await client.getConf(['spark.app.id', 'spark.master'], { signal: request.signal })
      const record: JobRecord = {
        plan,
        tag,
        appId: settings['spark.app.id'] ?? '',
        master: settings['spark.master'] ?? '',
        startedAt: Date.now(),
      }
      await client.setConf({ [JOB_KEY]: JSON.stringify(record), [STEP_KEY]: '0' }, { signal: request.signal })
      const job = this.#newJob(id, client, tag, { state: 'submitting', startedAt: record.startedAt })
      for (const line of notSet) this.#log(job, `configuration not set: ${line}`)
      this.#start(job, record, request.timeoutMs, 0, false)
    } catch (error) {
      await client.close().catch(() => undefined)
      throw error
    }
    return { id, backend: this.backend }
  }

  /** Drives a job from step `startAt` (re-attaching to that step's operation when `resume`) in this process. */
  #start(job: Job, record: JobRecord, timeoutMs: number | undefined, startAt: number, resume: boolean): void {
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => job.controller.abort(new StudioError('JOB_TIMEOUT', 'the job ran past its timeout')),
            Math.max(0, record.startedAt + timeoutMs - Date.now()),
          )
    const secrets = secretsForPlan(record.plan, this.#options.secrets ?? {})
    job.done = this.#run(job, record, secrets, startAt, resume).finally(() => {
      clearTimeout(timer)
      void job.client.close().catch(() => undefined)
    })
  }

  async #run(
    job: Job,
    record: JobRecord,
    secrets: Readonly<Record<string, string>>,
    startAt: number,
    resume: boolean,
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
    let ok = false
    try {
      this.#log(job, `${resume ? 'continuing' : 'starting'} on ${this.remote} (session ${job.id}) at step ${startAt}`)
      this.#update(job, { state: 'running', appId: record.appId })
      if (!resume) {
        this.#emit(job, {
          type: 'started',
          ts: Date.now(),
          appId: record.appId,
          uiUrl: null,
          master: record.master,
          sparkVersion: await this.#sparkVersion(client, record.appId, execute),
        })
      }
      ok = await runConnectSteps(record.plan, {
        client,
        policy: record.plan.policy,
        secrets,
        execute,
        emit: (event) => this.#emit(job, event),
        startAt,
        resume,
        operationIdOf: (index) => stepOperationId(job.id, index),
        beforeStep: async (index) => {
          if (index > 0 || resume) await client.setConf({ [STEP_KEY]: String(index) }, { signal: controller.signal })
        },
        log: (line) => this.#log(job, line),
      })
    } catch (error) {
      if (!controller.signal.aborted) this.#emit(job, { type: 'failed', ts: Date.now(), ...stepErrorFields(error) })
    }
    const counts = ok ? job.tally.finish() : job.tally.counts()
    // The session goes before the job is reported final: a reader who sees the outcome finds no job left to take over.
    await client.close().catch(() => undefined)
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
        durationMs: finishedAt - record.startedAt,
        completedTasks: counts.completedTasks,
        totalTasks: counts.totalTasks,
      })
    }
  }

  /** The server's Spark version, asked once per application (a server restart is a new application). */
  async #sparkVersion(client: SparkConnectClient, appId: string, execute: SparkExecuteOptions): Promise<string> {
    const known = this.#version
    if (known && appId !== '' && known.appId === appId) return known.version
    const { rows } = await client.executeSql('SELECT version() AS v', execute)
    const version = String(rows[0]?.['v'] ?? '').split(' ')[0] ?? ''
    this.#version = { version, appId }
    return version
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

  /** What the job's session says about a job this process does not drive: its record and step, or undefined. */
  async #readState(id: string): Promise<{ record: JobRecord; step: number } | undefined> {
    const client = this.#client(id)
    try {
      const state = await client.getConf([JOB_KEY, STEP_KEY])
      const text = state[JOB_KEY]
      if (text === undefined) return undefined
      return { record: JSON.parse(text) as JobRecord, step: Number(state[STEP_KEY] ?? 0) }
    } catch (error) {
      if (error instanceof StudioError && error.code === 'SPARK_UNAVAILABLE') throw error
      return undefined
    } finally {
      // Only read: the session stays for the process that drives the job (or takes it over).
      await client.close({ releaseSession: false }).catch(() => undefined)
    }
  }

  #lostStatus(id: string): JobStatus {
    return {
      state: 'lost',
      error: {
        message: `the Spark Connect server has no session ${id} with a job (it restarted, or the job finished and its session was released)`,
      },
    }
  }

  /**
   * The job's status. A job driven by another process is read from its server-side session (`running` while the
   * session holds it, `lost` when it does not), without taking it over.
   */
  async status(id: string): Promise<JobStatus> {
    const job = this.#jobs.get(id)
    if (job) return job.status
    const state = await this.#readState(id)
    if (!state) return this.#lostStatus(id)
    return { state: 'running', appId: state.record.appId, startedAt: state.record.startedAt }
  }

  /**
   * Waits until the job is final; `onEvent` sees every event of this process from the first. For a job no process
   * here drives (its driver died), this process takes it over: it re-attaches to the running step's operation and runs
   * the remaining steps.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<JobStatus> {
    let job = this.#jobs.get(id)
    if (!job) {
      const state = await this.#readState(id)
      if (!state) return this.#lostStatus(id)
      job = this.#jobs.get(id)
      if (!job) {
        job = this.#newJob(id, this.#client(id), state.record.tag, {
          state: 'running',
          appId: state.record.appId,
          startedAt: state.record.startedAt,
        })
        // This process's own policy holds for the rest of the job, whatever the recorded plan carries.
        const plan = this.#options.policy ? planForDriver(state.record.plan, this.#options.policy) : state.record.plan
        this.#start(job, { ...state.record, plan }, undefined, state.step, true)
      }
    }
    const followed = job
    let seen = 0
    const final = () => isFinalState(followed.status.state)
    return new Promise<JobStatus>((resolve, reject) => {
      const onChange = () => {
        while (seen < followed.events.length) {
          const event = followed.events[seen++] as RunnerEvent
          options.onEvent?.(event)
        }
        options.onStatus?.(followed.status)
        if (final()) {
          cleanup()
          resolve(followed.status)
        }
      }
      const onAbort = () => {
        cleanup()
        reject(options.signal?.reason)
      }
      const cleanup = () => {
        followed.listeners.delete(onChange)
        options.signal?.removeEventListener('abort', onAbort)
      }
      if (options.signal?.aborted) return onAbort()
      options.signal?.addEventListener('abort', onAbort, { once: true })
      followed.listeners.add(onChange)
      onChange()
    })
  }

  /** Interrupts the job's running operation on the server and runs none of its remaining steps. */
  async cancel(id: string): Promise<void> {
    const job = this.#jobs.get(id)
    if (!job) {
      // Driven elsewhere (or by nobody): interrupt its operations on the server; its driver then stops.
      const state = await this.#readState(id)
      if (!state) return
      const client = this.#client(id)
      try {
        await client.interrupt({ tag: state.record.tag }).catch(() => undefined)
      } finally {
        await client.close({ releaseSession: false }).catch(() => undefined)
      }
      return
    }
    if (isFinalState(job.status.state)) return
    job.cancelRequested = true
    job.controller.abort(new StudioError('JOB_CANCELLED', 'the job was cancelled'))
    await job.client.interrupt({ tag: job.tag }).catch(() => undefined)
    await job.done
  }

  /**
   * The job's log (what it did, re-attachments, and errors as the server answered them), from a character offset.
   * @throws `NOT_FOUND` for a job this process does not drive (its log is in the process that does).
   */
  async logs(id: string, options: { readonly offset?: number; readonly limit?: number } = {}): Promise<LogChunk> {
    const job = this.#jobs.get(id)
    if (!job) {
      throw new StudioError('NOT_FOUND', `job ${id} is driven by another process, which has its log`, { id })
    }
    const text = job.log.join('')
    const offset = Math.max(0, Math.floor(options.offset ?? 0))
    const limit = Math.max(1, Math.min(MAX_LOG_CHUNK, Math.floor(options.limit ?? DEFAULT_LOG_CHUNK)))
    const chunk = text.slice(offset, offset + limit)
    const nextOffset = offset + chunk.length
    const ended = isFinalState(job.status.state)
    return { text: chunk, nextOffset, complete: ended && nextOffset >= text.length }
  }
}
