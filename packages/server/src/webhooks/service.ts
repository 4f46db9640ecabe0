// Webhooks: subscriptions, the outbox of deliveries, and the dispatcher loop that signs, sends and retries them.
import { randomBytes } from 'node:crypto'
import { StudioError } from '@sparkle-studio/core'
import { WEBHOOK_EVENT_TYPES, type WebhookEventType, webhookUrlProblem } from '@sparkle-studio/core/routes'
import type { RunStore } from '@sparkle-studio/runs'
import type { Kysely } from 'kysely'
import type { ApiSchema } from '../auth/tables.ts'
import type { Logger } from '../logger.ts'
import { sendDelivery, type WebhookFetch } from './delivery.ts'
import { type ClaimedDelivery, type Webhook, type WebhookDelivery, WebhookRecords } from './records.ts'
import { scanRunEvents } from './run-events.ts'
import { newWebhookSecret } from './signature.ts'

/** The waits between attempts by default: 5 s, 30 s, 2 min, 10 min, 1 h, 6 h (so 7 attempts in all). */
export const DEFAULT_WEBHOOK_RETRY_DELAYS_MS: readonly number[] = Object.freeze([
  5_000, 30_000, 120_000, 600_000, 3_600_000, 21_600_000,
])

/** How the dispatcher sends and retries (see {@link WebhookService}). */
export interface WebhookDispatchOptions {
  /**
   * Whether this process sends deliveries and turns run events into them. Off, events are still queued (by saves in
   * this process) for a process that dispatches.
   * @default true
   */
  readonly dispatch?: boolean | undefined
  /**
   * The wait after each failed attempt, in order; a delivery has one attempt more than there are waits. Each wait is
   * varied by up to ±20 % so that retries of many deliveries spread out.
   * @default DEFAULT_WEBHOOK_RETRY_DELAYS_MS
   */
  readonly retryDelaysMs?: readonly number[] | undefined
  /**
   * How long one attempt may take (connect, answer and the start of its body).
   * @default 10_000
   */
  readonly timeoutMs?: number | undefined
  /**
   * How often the dispatcher looks for due deliveries and ended runs (a save in this process wakes it at once).
   * @default 1_000
   */
  readonly pollMs?: number | undefined
  /**
   * Run events younger than this are read again (see `scanRunEvents`).
   * @default 30_000
   */
  readonly settleMs?: number | undefined
  /**
   * Attempts in flight at once in this process.
   * @default 8
   */
  readonly concurrency?: number | undefined
  /** The `fetch` deliveries go through (Node's by default). */
  readonly fetch?: WebhookFetch | undefined
}

/** What a {@link WebhookService} works with. */
export interface WebhookServiceOptions extends WebhookDispatchOptions {
  /** The run store's database, with the API's tables migrated. */
  readonly db: Kysely<ApiSchema>
  /** The run store (backfill summaries). */
  readonly runs: Pick<RunStore, 'getBackfill'>
  readonly log: Logger
  /** Random numbers in [0, 1) for the jitter. */
  readonly random?: (() => number) | undefined
}

/** The event data of a pipeline saved or deleted in git. */
export interface PipelineEventData {
  readonly pipeline: string
  /** The commit of the save or delete. */
  readonly revision: string
  /** The document's blob id after a save. */
  readonly blob?: string | undefined
  /** True when the save created the pipeline. */
  readonly created?: boolean | undefined
  /** The principal id of who saved or deleted it. */
  readonly by?: string | undefined
}

/** Where a receiver URL goes, for logs: its origin only (a query may hold a token). */
const originOf = (url: string) => {
  try {
    return new URL(url).origin
  } catch {
    return '?'
  }
}

/**
 * Webhooks: subscriptions (admins create them; each has its own signing secret, answered once), an outbox of
 * deliveries in the database, and a dispatcher loop that claims due deliveries, signs them as the Standard Webhooks
 * specification says, POSTs them with a timeout, and retries any non-2xx answer with backoff (410 Gone disables the
 * subscription). Run and backfill events come from the run store's events (`scanRunEvents`), pipeline events from
 * {@link WebhookService.emitPipeline}. Delivery is at least once: receivers deduplicate by `webhook-id`.
 */
export class WebhookService {
  readonly #records: WebhookRecords
  readonly #options: WebhookServiceOptions
  readonly #delays: readonly number[]
  readonly #timeoutMs: number
  readonly #log: Logger
  readonly #stop = new AbortController()
  #timer: NodeJS.Timeout | undefined
  #tick: Promise<void> | undefined
  #again = false
  #running = false

  constructor(options: WebhookServiceOptions) {
    this.#options = options
    this.#records = new WebhookRecords(options.db)
    this.#delays = options.retryDelaysMs ?? DEFAULT_WEBHOOK_RETRY_DELAYS_MS
    this.#timeoutMs = options.timeoutMs ?? 10_000
    this.#log = options.log.child({ component: 'webhooks' })
  }

  /**
   * Subscribes `url` to `events`, with a new signing secret: the only time the secret is answered.
   * @throws `VALIDATION_FAILED` for a URL that is not http(s), holds credentials, or for unknown or no events.
   */
  async create(input: {
    readonly url: string
    readonly events: readonly WebhookEventType[]
    readonly description?: string | undefined
    readonly createdBy: string
  }): Promise<{ readonly webhook: Webhook; readonly secret: string }> {
    const problem = webhookUrlProblem(input.url)
    const unknown = input.events.filter((e) => !WEBHOOK_EVENT_TYPES.includes(e))
    if (problem || unknown.length > 0 || input.events.length === 0) {
      throw new StudioError('VALIDATION_FAILED', 'the webhook subscription is not valid', {
        issues: [
          ...(problem ? [{ path: '/url', code: 'invalid_url', message: `url ${problem}` }] : []),
          ...(input.events.length === 0 ? [{ path: '/events', code: 'too_small', message: 'name an event' }] : []),
          ...unknown.map((e) => ({ path: '/events', code: 'invalid_value', message: `unknown event ${e}` })),
        ],
      })
    }
    const secret = newWebhookSecret()
    const webhook = await this.#records.create({ ...input, secret })
    this.#log.info('webhook created', { webhookId: webhook.id, receiver: originOf(webhook.url) })
    return { webhook, secret }
  }

  /** Every subscription, without secrets. */
  list(): Promise<Webhook[]> {
    return this.#records.list()
  }

  /**
   * Deletes a subscription: nothing more is sent to it, pending deliveries included.
   * @throws `NOT_FOUND`
   */
  async delete(id: string): Promise<Webhook> {
    const webhook = await this.#records.delete(id)
    this.#log.info('webhook deleted', { webhookId: id })
    return webhook
  }

  /**
   * A subscription's deliveries, newest first, with keyset pagination.
   * @throws `NOT_FOUND`
   */
  deliveries(
    id: string,
    query: Parameters<WebhookRecords['deliveries']>[1] = {},
  ): Promise<{ items: WebhookDelivery[]; nextCursor?: string }> {
    return this.#records.deliveries(id, query)
  }

  /**
   * Queues `pipeline.saved` or `pipeline.deleted` for its subscribers. Never rejects (a save that committed stays
   * committed): a failure to queue is logged.
   */
  async emitPipeline(type: 'pipeline.saved' | 'pipeline.deleted', data: PipelineEventData): Promise<void> {
    const timestamp = new Date().toISOString()
    const clean = Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined))
    try {
      const queued = await this.#records.enqueue({
        type,
        eventId: `msg_${randomBytes(12).toString('base64url')}`,
        payload: JSON.stringify({ type, timestamp, data: clean }),
      })
      if (queued > 0) this.wake()
    } catch (error) {
      this.#log.error('webhook event not queued', { type, pipeline: data.pipeline, error: (error as Error).message })
    }
  }

  /** Starts the dispatcher loop (unless `dispatch` is off). */
  start(): void {
    if (this.#options.dispatch === false || this.#running || this.#stop.signal.aborted) return
    this.#running = true
    this.wake()
  }

  /** Runs the next dispatcher pass now (or right after the one in progress). */
  wake(): void {
    if (!this.#running || this.#stop.signal.aborted) return
    if (this.#tick) {
      this.#again = true
      return
    }
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#tick = this.#pass().finally(() => {
      this.#tick = undefined
      if (this.#stop.signal.aborted) return
      if (this.#again) {
        this.#again = false
        this.wake()
      } else {
        this.#timer = setTimeout(() => this.wake(), this.#options.pollMs ?? 1_000)
        this.#timer.unref()
      }
    })
  }

  /** Stops the loop: attempts in flight are aborted (and tried again later, by this or another process). */
  async stop(): Promise<void> {
    this.#stop.abort()
    clearTimeout(this.#timer)
    await this.#tick
  }

  /**
   * One pass: queue what ended in the run store, then send every due delivery (in batches of `concurrency`) until
   * none is due.
   */
  async #pass(): Promise<void> {
    try {
      await scanRunEvents({
        db: this.#options.db,
        runs: this.#options.runs,
        enqueue: (event) => this.#records.enqueue(event),
        settleMs: this.#options.settleMs ?? 30_000,
        batch: 500,
      })
    } catch (error) {
      this.#log.warn('webhook run events not read', { error: (error as Error).message })
    }
    try {
      const concurrency = this.#options.concurrency ?? 8
      while (!this.#stop.signal.aborted) {
        const claimed = await this.#records.claim(concurrency, this.#timeoutMs + 30_000)
        if (claimed.length === 0) break
        await Promise.all(claimed.map((d) => this.#attempt(d)))
      }
    } catch (error) {
      this.#log.warn('webhook deliveries not sent', { error: (error as Error).message })
    }
  }

  /** The wait after failed attempt number `attempt`, jittered; `undefined` when it was the last attempt. */
  #retryIn(attempt: number): number | undefined {
    const base = this.#delays[attempt - 1]
    if (base === undefined) return undefined
    return Math.round(base * (0.8 + 0.4 * (this.#options.random ?? Math.random)()))
  }

  async #attempt(delivery: ClaimedDelivery): Promise<void> {
    const result = await sendDelivery(delivery, {
      timeoutMs: this.#timeoutMs,
      signal: this.#stop.signal,
      ...(this.#options.fetch ? { fetch: this.#options.fetch } : {}),
    })
    const status = await this.#records.record(delivery, result, this.#retryIn(delivery.attempts))
    const fields = {
      webhookId: delivery.webhookId,
      eventId: delivery.eventId,
      attempt: delivery.attempts,
      receiver: originOf(delivery.url),
      ...(result.statusCode !== undefined ? { status: result.statusCode } : { error: result.error }),
    }
    if (status === 'succeeded') this.#log.debug('webhook delivered', fields)
    else if (result.statusCode === 410) this.#log.warn('webhook disabled: the receiver answered 410 Gone', fields)
    else this.#log.warn(status === 'failed' ? 'webhook delivery failed' : 'webhook delivery will be retried', fields)
  }
}
