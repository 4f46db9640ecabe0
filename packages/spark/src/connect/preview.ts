import { randomUUID } from 'node:crypto'
import { type ExecutionPlan, type ExecutionPolicy, StudioError } from '@sparkle-studio/core'
import { assertPlanConfAllowed, planForDriver } from '../plan-policy.ts'
import {
  type MAX_PREVIEW_ROWS,
  type Previewer,
  type PreviewOptions,
  type PreviewResult,
  previewLimits,
} from '../preview-session.ts'
import { secretsForPlan } from '../secrets.ts'
import { SparkConnectClient, type SparkConnectClientOptions } from './client.ts'
import { type ConnectionString, parseConnectionString } from './connection-string.ts'
import { previewConnectPlan } from './plan-runner.ts'

/** Options of {@link ConnectPreviewSession}. */
export interface ConnectPreviewSessionOptions {
  /** The Spark Connect server: an `sc://` connection string, or one parsed. */
  readonly remote: string | ConnectionString
  /** Secret values by name; a request gets only those its plan references. */
  readonly secrets?: Readonly<Record<string, string>> | undefined
  /** What every request is held to (see {@link SparkConnectSubmitterOptions.policy}). */
  readonly policy?: ExecutionPolicy | undefined
  /**
   * Most rows read from each source.
   * @default 10_000
   */
  readonly sampleRows?: number | undefined
  /**
   * Deadline of a request in milliseconds, unless the request sets its own.
   * @default 30_000
   */
  readonly deadlineMs?: number | undefined
  /** More client options. */
  readonly client?: Partial<SparkConnectClientOptions> | undefined
}

/**
 * Previews over Spark Connect: the answers of {@link PreviewSession} (per node, schema and first rows, or the node's
 * error; sinks never written) from a remote Spark 4 server, with no Spark on this machine. Each request runs in its own
 * server-side session, released when it answers, so temporary views never leak between requests; a request past its
 * deadline, or aborted, is interrupted on the server.
 *
 * @example
 * ```ts
 * import { ConnectPreviewSession } from '@sparkle-studio/spark/connect'
 *
 * const previews = new ConnectPreviewSession({ remote: 'sc://127.0.0.1:15002' })
 * const { nodes } = await previews.preview(
 *   { pipeline: 'p', mode: 'preview', steps: [{ nodeId: 'q', kind: 'query', sql: 'SELECT 1 AS one', limit: 10 }] },
 *   { limit: 100 },
 * )
 * console.log(nodes[0])
 * await previews.close()
 * ```
 */
export class ConnectPreviewSession implements Previewer {
  readonly #options: ConnectPreviewSessionOptions
  readonly #remote: ConnectionString
  readonly #open = new Set<SparkConnectClient>()
  #closed = false
  #appId: string | undefined

  constructor(options: ConnectPreviewSessionOptions) {
    this.#options = options
    this.#remote = typeof options.remote === 'string' ? parseConnectionString(options.remote) : options.remote
  }

  /** Reaches the server once (and learns its application id), so that the first request does not pay for it. */
  async start(): Promise<void> {
    if (this.#closed) throw new StudioError('JOB_CANCELLED', 'the preview session was closed')
    const client = SparkConnectClient.fromConnectionString(this.#remote, this.#options.client)
    try {
      this.#appId ??= await this.#applicationId(client)
    } finally {
      await client.close().catch(() => undefined)
    }
  }

  /**
   * Answers one preview request.
   * @throws `LIMIT_EXCEEDED` for a limit over {@link MAX_PREVIEW_ROWS}; `BAD_REQUEST` for a bad limit or deadline;
   * `VALIDATION_FAILED` for Spark configuration the plan may not set; `JOB_TIMEOUT` past the deadline;
   * `SPARK_UNAVAILABLE` when the server cannot be reached; the abort reason when `signal` aborts.
   */
  async preview(plan: ExecutionPlan, options: PreviewOptions = {}): Promise<PreviewResult> {
    if (this.#closed) throw new StudioError('JOB_CANCELLED', 'the preview session was closed')
    assertPlanConfAllowed(plan, this.#options.policy)
    const driverPlan = planForDriver(plan, this.#options.policy)
    const { limit, deadlineMs } = previewLimits(options, this.#options.deadlineMs)
    options.signal?.throwIfAborted()
    const timeout = AbortSignal.timeout(deadlineMs)
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
    const started = performance.now()
    const client = SparkConnectClient.fromConnectionString(this.#remote, {
      sessionId: randomUUID(),
      ...this.#options.client,
    })
    this.#open.add(client)
    try {
      const execute = { signal, tag: 'sparkle-preview' }
      // Settings a running server cannot change (static ones) are left out, as the local driver leaves them out.
      for (const [key, value] of Object.entries(driverPlan.conf ?? {})) {
        await client.setConf({ [key]: value }, { signal }).catch(() => undefined)
      }
      const nodes = await previewConnectPlan(driverPlan, {
        client,
        policy: driverPlan.policy,
        secrets: secretsForPlan(driverPlan, this.#options.secrets ?? {}),
        execute,
        limit,
        sampleRows: this.#options.sampleRows ?? 10_000,
      })
      this.#appId ??= await this.#applicationId(client)
      return { nodes, durationMs: Math.round(performance.now() - started), appId: this.#appId ?? '' }
    } catch (error) {
      if (timeout.aborted && !options.signal?.aborted) {
        throw new StudioError('JOB_TIMEOUT', `the preview did not finish within its deadline of ${deadlineMs} ms`)
      }
      if (options.signal?.aborted) throw options.signal.reason
      throw error
    } finally {
      this.#open.delete(client)
      void client.close().catch(() => undefined)
    }
  }

  async #applicationId(client: SparkConnectClient): Promise<string | undefined> {
    return (await client.getConf(['spark.app.id']))['spark.app.id']
  }

  /** Refuses further requests and releases the sessions of requests still running. */
  async close(): Promise<void> {
    this.#closed = true
    await Promise.all([...this.#open].map((c) => c.close().catch(() => undefined)))
  }
}
