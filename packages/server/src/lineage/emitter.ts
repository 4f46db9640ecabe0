// OpenLineage events of runs, read from the run store's events after a persisted cursor, as the webhooks dispatcher
// reads them (`webhooks/run-event-cursor.ts`, shared): every status change and the runner's `spark` events are rows of `run_events` (ids
// increasing), written by whichever process runs the worker, so reading that table after a persisted cursor sees every
// attempt's start, Spark application and end, from any process, across restarts.
import {
  type ComponentRegistry,
  columnLineage,
  errorMessageFacet,
  externalQueryFacet,
  nominalTimeFacet,
  type OpenLineageDataset,
  type OpenLineageFacet,
  type OpenLineageRunEvent,
  openLineageDatasets,
  openLineageRunEvent,
  parentRunFacet,
  planSourceColumns,
  processingEngineFacet,
  type RunEventType,
} from '@sparkle-studio/core'
import { type Kysely, sql } from 'kysely'
import type { Logger } from '../logger.ts'
import type { StudioParts } from '../parts.ts'
import { advanceRunEventCursor, createRunEventCursor, readRunEventCursor } from '../webhooks/run-event-cursor.ts'
import {
  backfillJobName,
  DEFAULT_OPENLINEAGE_NAMESPACE,
  DEFAULT_OPENLINEAGE_PRODUCER,
  type OpenLineageOptions,
} from './options.ts'
import { openLineageAttemptRunId, openLineageBackfillRunId } from './run-id.ts'
import { OpenLineageHttpTransport } from './transport.ts'

/** The cursor's row in `webhook_cursor` (the table of run-event cursors). */
const CURSOR = 'openlineage'
const BATCH = 500

interface EventRow {
  id: string
  run_id: string
  attempt: number
  type: string
  payload: Record<string, unknown> | string
  created_at: Date | string
  pipeline: string
  backfill_id: string | null
  partition_start: Date | string | null
  partition_end: Date | string | null
  attempt_status: string | null
  attempt_error: Record<string, unknown> | string | null
}

interface Datasets {
  readonly inputs: readonly OpenLineageDataset[]
  readonly outputs: readonly OpenLineageDataset[]
}

const parsed = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value)
const iso = (value: Date | string) => new Date(value).toISOString()
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined)

/** The parts of a studio the emitter reads. */
export type OpenLineageEmitterParts = Pick<StudioParts, 'database' | 'runs' | 'pipelines' | 'registry' | 'resolvePlan'>

/**
 * Sends an OpenLineage RunEvent (spec 2-0-2) for every attempt of every run: START when the attempt starts, RUNNING
 * when Spark reports its application (its id as an `externalQuery` facet, Spark's version as `processing_engine`),
 * then COMPLETE, FAIL (an `errorMessage` facet naming the node and Spark's error class; also for an attempt that is
 * retried) or ABORT (cancelled). Each attempt is one OpenLineage run of the pipeline's job, its id a UUID v5 of the
 * attempt id; a backfill partition's run has a `parent` facet naming the backfill (a UUID v5 of its id) and a
 * `nominalTime` facet with the partition's start and end. Inputs and outputs are the compiled plan's datasets with
 * schema facets and, on outputs, column lineage facets. Sending is the {@link OpenLineageHttpTransport}'s: in the
 * background, retried, bounded, never failing a run.
 */
export class OpenLineageEmitter {
  readonly #parts: OpenLineageEmitterParts
  readonly #log: Logger
  readonly #namespace: string
  readonly #producer: string
  readonly #pollMs: number
  readonly #settleMs: number
  readonly #transport: OpenLineageHttpTransport
  // biome-ignore lint/suspicious/noExplicitAny: raw SQL over the run store's and the API's tables
  readonly #db: Kysely<any>
  /** Run event ids above the cursor already sent by this process (read again within the settle time). */
  readonly #sent = new Set<string>()
  /** Datasets of the runs seen lately, by run id (a run's plan is compiled once for all its events). */
  readonly #datasets = new Map<string, Promise<Datasets>>()
  readonly #stop = new AbortController()
  #timer: NodeJS.Timeout | undefined
  #tick: Promise<void> | undefined
  #started = false

  constructor(options: OpenLineageOptions, parts: OpenLineageEmitterParts, log: Logger) {
    this.#parts = parts
    this.#log = log.child({ component: 'openlineage' })
    this.#namespace = options.namespace ?? DEFAULT_OPENLINEAGE_NAMESPACE
    this.#producer = options.producer ?? DEFAULT_OPENLINEAGE_PRODUCER
    this.#pollMs = options.pollMs ?? 1_000
    this.#settleMs = options.settleMs ?? 30_000
    this.#db = parts.database.db
    this.#transport = new OpenLineageHttpTransport({
      url: options.url,
      apiKey: options.apiKey,
      timeoutMs: options.timeoutMs ?? 5_000,
      maxAttempts: options.maxAttempts ?? 5,
      retryBaseMs: options.retryBaseMs ?? 1_000,
      maxQueue: options.maxQueue ?? 1_000,
      log: this.#log,
      fetch: options.fetch,
    })
  }

  /** Counts since start: events delivered, failed attempts retried, events dropped. */
  get stats(): OpenLineageHttpTransport['stats'] {
    return this.#transport.stats
  }

  /** Starts reading run events (from the newest one on, the first time a database is used). */
  start(): void {
    if (this.#started || this.#stop.signal.aborted) return
    this.#started = true
    this.#tick = this.#init().then(() => this.#loop())
  }

  /** Waits until the events queued so far were sent or dropped (or `signal` aborts). */
  drain(signal?: AbortSignal): Promise<void> {
    return this.#transport.drain(signal)
  }

  /**
   * Stops reading run events, gives the events already queued up to `graceMs` to be sent (a run's last event, at
   * shutdown), then stops sending: what is left is dropped (the cursor keeps what was read for good).
   */
  async stop(graceMs = 2_000): Promise<void> {
    this.#stop.abort()
    clearTimeout(this.#timer)
    await this.#tick?.catch(() => undefined)
    await this.#transport.drain(AbortSignal.timeout(graceMs))
    await this.#transport.stop()
  }

  async #init(): Promise<void> {
    // Runs that ended before OpenLineage was configured are not replayed.
    await createRunEventCursor(this.#db, CURSOR)
  }

  async #loop(): Promise<void> {
    if (this.#stop.signal.aborted) return
    try {
      await this.#scan()
    } catch (error) {
      if (!this.#stop.signal.aborted) this.#log.warn('run events not read', { error: (error as Error).message })
    }
    if (this.#stop.signal.aborted) return
    this.#timer = setTimeout(() => {
      this.#tick = this.#loop()
    }, this.#pollMs)
    this.#timer.unref()
  }

  async #scan(): Promise<void> {
    const cursor = await readRunEventCursor(this.#db, CURSOR)
    const { rows } = await sql<EventRow>`
      SELECT e.id, e.run_id, e.attempt, e.type, e.payload, e.created_at, r.pipeline, r.backfill_id,
        bp.partition_start, bp.partition_end, a.status AS attempt_status, a.error AS attempt_error
      FROM run_events e
      JOIN runs r ON r.id = e.run_id
      LEFT JOIN run_attempts a ON a.run_id = e.run_id AND a.attempt = e.attempt
      LEFT JOIN backfill_partitions bp ON bp.backfill_id = r.backfill_id AND bp.partition_key = r.partition_key
      WHERE e.id > ${cursor} AND e.attempt > 0 AND (
        (e.type = 'status' AND e.payload->>'status' IN ('submitting', 'succeeded', 'failed', 'retrying', 'cancelled'))
        OR (e.type = 'spark' AND e.payload->>'type' = 'started')
      )
      ORDER BY e.id
      LIMIT ${BATCH}
    `.execute(this.#db)
    for (const row of rows) {
      if (this.#stop.signal.aborted) return
      if (this.#sent.has(String(row.id))) continue
      const event = await this.#event(row)
      if (event) this.#transport.send(event)
      this.#sent.add(String(row.id))
    }
    // Past the events old enough that no lower id can still commit; with a full batch, not past its last row.
    const next = await advanceRunEventCursor(
      this.#db,
      CURSOR,
      cursor,
      this.#settleMs,
      rows.length === BATCH ? rows.at(-1)?.id : undefined,
    )
    if (next === undefined) return
    for (const id of this.#sent) if (BigInt(id) <= BigInt(next)) this.#sent.delete(id)
  }

  /** The RunEvent of a run event row, or `undefined` for a change that is none of an attempt's (see below). */
  async #event(row: EventRow): Promise<OpenLineageRunEvent | undefined> {
    const payload = parsed(row.payload)
    const facets: Record<string, OpenLineageFacet> = {}
    let eventType: RunEventType
    if (row.type === 'spark') {
      eventType = 'RUNNING'
      const appId = text(payload['appId'])
      if (appId) facets['externalQuery'] = externalQueryFacet(this.#producer, appId, 'spark')
      const version = text(payload['sparkVersion'])
      if (version) facets['processing_engine'] = processingEngineFacet(this.#producer, { name: 'spark', version })
    } else {
      const status = payload['status']
      if (status === 'submitting') eventType = 'START'
      else if (status === 'succeeded') eventType = 'COMPLETE'
      // A run cancelled while it waited for a retry ended its attempt as failed already (FAIL was sent).
      else if (status === 'cancelled' && row.attempt_status === 'cancelled') eventType = 'ABORT'
      else if ((status === 'failed' || status === 'retrying') && row.attempt_status !== 'cancelled') {
        eventType = 'FAIL'
        const error = (payload['error'] ?? (row.attempt_error ? parsed(row.attempt_error) : undefined)) as
          | Record<string, unknown>
          | undefined
        facets['errorMessage'] = errorMessageFacet(this.#producer, {
          message: failureMessage(error),
          programmingLanguage: 'SQL',
        })
      } else return undefined
    }
    if (row.backfill_id) {
      const backfill = {
        run: { runId: openLineageBackfillRunId(row.backfill_id) },
        job: { namespace: this.#namespace, name: backfillJobName(row.pipeline) },
      }
      facets['parent'] = parentRunFacet(this.#producer, { ...backfill, root: backfill })
      if (row.partition_start) {
        facets['nominalTime'] = nominalTimeFacet(
          this.#producer,
          iso(row.partition_start),
          row.partition_end ? iso(row.partition_end) : undefined,
        )
      }
    }
    const { inputs, outputs } = await this.#datasetsOf(row.run_id)
    return openLineageRunEvent({
      eventType,
      eventTime: iso(row.created_at),
      run: {
        runId: openLineageAttemptRunId(`${row.run_id}.${row.attempt}`),
        ...(Object.keys(facets).length > 0 ? { facets } : {}),
      },
      job: { namespace: this.#namespace, name: row.pipeline },
      producer: this.#producer,
      inputs,
      outputs,
    })
  }

  /**
   * The datasets of a run: its plan compiled as the worker compiles it, with the column lineage of its document.
   * A run whose plan does not compile (its pipeline deleted, a policy refusal) has none.
   */
  #datasetsOf(runId: string): Promise<Datasets> {
    let known = this.#datasets.get(runId)
    if (known === undefined) {
      known = this.#compute(runId)
      this.#datasets.set(runId, known)
      // A few hundred runs in flight at most: the oldest entry goes.
      if (this.#datasets.size > 256) this.#datasets.delete(this.#datasets.keys().next().value as string)
    }
    return known
  }

  async #compute(runId: string): Promise<Datasets> {
    const signal = this.#stop.signal
    try {
      const run = await this.#parts.runs.get(runId, { signal })
      const plan = await this.#parts.resolvePlan(run, { signal })
      const stored = await this.#parts.pipelines.get(run.pipeline, {
        ...(plan.revision ? { ref: plan.revision } : {}),
        signal,
      })
      const lineage = columnLineage(stored.document, this.#parts.registry as ComponentRegistry, {
        sourceColumns: planSourceColumns(plan),
      })
      return openLineageDatasets(plan, lineage, { producer: this.#producer })
    } catch (error) {
      if (signal.aborted) return { inputs: [], outputs: [] }
      this.#log.warn('run datasets not known: its events have no inputs and outputs', {
        runId,
        error: (error as Error).message,
      })
      return { inputs: [], outputs: [] }
    }
  }
}

/** The message of an attempt's failure: the node, Spark's error class and its message. */
function failureMessage(error: Record<string, unknown> | undefined): string {
  const node = text(error?.['nodeId'])
  const errorClass = text(error?.['errorClass']) ?? text(error?.['code'])
  const message = text(error?.['message']) ?? 'the run failed'
  return `${node ? `node "${node}" failed: ` : ''}${errorClass ? `[${errorClass}] ` : ''}${message}`
}
