// Webhook subscriptions and their delivery outbox in the run store's database.
import { randomBytes } from 'node:crypto'
import { StudioError } from '@sparkle-studio/core'
import type { WebhookEventType } from '@sparkle-studio/core/routes'
import { type Kysely, type Selectable, sql } from 'kysely'
import type { ApiSchema, WebhookDeliveriesTable, WebhooksTable } from '../auth/tables.ts'

/** A subscription as the API shows it: never its secret. */
export interface Webhook {
  readonly id: string
  readonly url: string
  readonly events: readonly WebhookEventType[]
  readonly description?: string
  readonly createdBy: string
  readonly createdAt: string
  readonly disabledAt?: string
}

/** Where a delivery is: waiting for an attempt, delivered, or given up. */
export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed'

/** One event for one subscription, and how its last attempt went. */
export interface WebhookDelivery {
  readonly id: string
  readonly eventId: string
  readonly type: WebhookEventType
  readonly payload: Record<string, unknown>
  readonly status: WebhookDeliveryStatus
  readonly attempts: number
  readonly nextAttemptAt?: string
  readonly lastStatusCode?: number
  readonly lastResponse?: string
  readonly lastError?: string
  readonly createdAt: string
  readonly deliveredAt?: string
}

/** A delivery claimed for one attempt, with what it takes to send it. */
export interface ClaimedDelivery {
  readonly id: string
  readonly eventId: string
  readonly payload: string
  /** The number of this attempt (1 for the first). */
  readonly attempts: number
  readonly webhookId: string
  readonly url: string
  readonly secret: string
}

/** How one attempt ended: an answer (any status), or no answer (`error`). */
export type AttemptResult =
  | { readonly statusCode: number; readonly response: string }
  | { readonly error: string; readonly statusCode?: undefined }

/** An event to record for every subscription to its type (the outbox row of each). */
export interface OutboxEvent {
  readonly type: WebhookEventType
  /** The `webhook-id`: one per event, so the same event is never queued twice for a subscription. */
  readonly eventId: string
  /** The JSON body, sent byte for byte on every attempt. */
  readonly payload: string
  /** Only subscriptions created at or before this moment get it (a run event's time); all active ones when absent. */
  readonly occurredAt?: Date | undefined
}

const toIso = (d: Date | string) => new Date(d).toISOString()

function toWebhook(row: Selectable<WebhooksTable>): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: (typeof row.events === 'string' ? JSON.parse(row.events) : row.events) as WebhookEventType[],
    ...(row.description !== null ? { description: row.description } : {}),
    createdBy: row.created_by,
    createdAt: toIso(row.created_at),
    ...(row.disabled_at ? { disabledAt: toIso(row.disabled_at) } : {}),
  }
}

function toDelivery(row: Selectable<WebhookDeliveriesTable>): WebhookDelivery {
  return {
    id: row.id,
    eventId: row.event_id,
    type: row.type as WebhookEventType,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    status: row.status as WebhookDeliveryStatus,
    attempts: row.attempts,
    ...(row.status === 'pending' && row.next_attempt_at ? { nextAttemptAt: toIso(row.next_attempt_at) } : {}),
    ...(row.last_status_code !== null ? { lastStatusCode: row.last_status_code } : {}),
    ...(row.last_response !== null ? { lastResponse: row.last_response } : {}),
    ...(row.last_error !== null ? { lastError: row.last_error } : {}),
    createdAt: toIso(row.created_at),
    ...(row.delivered_at ? { deliveredAt: toIso(row.delivered_at) } : {}),
  }
}

const notFound = (id: string) => new StudioError('NOT_FOUND', `webhook ${id} does not exist`, { id })

/** `now() + ms`, in the database's clock (every process claims against the same one). */
const afterMs = (ms: number) => sql<Date>`now() + ${Math.max(0, Math.round(ms))} * interval '1 millisecond'`

/** The webhook tables: subscriptions, the outbox, claims and outcomes of attempts. */
export class WebhookRecords {
  readonly #db: Kysely<ApiSchema>

  /** @param db the run store's database, with the API's tables migrated (`migrateApiTables`). */
  constructor(db: Kysely<ApiSchema>) {
    this.#db = db
  }

  /** Stores a subscription with its secret; answers it without the secret. */
  async create(input: {
    readonly url: string
    readonly events: readonly WebhookEventType[]
    readonly description?: string | undefined
    readonly secret: string
    readonly createdBy: string
  }): Promise<Webhook> {
    const row = await this.#db
      .insertInto('webhooks')
      .values({
        id: `wh_${randomBytes(12).toString('base64url')}`,
        url: input.url,
        events: JSON.stringify([...new Set(input.events)]),
        description: input.description ?? null,
        secret: input.secret,
        created_by: input.createdBy,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    return toWebhook(row)
  }

  /** Every subscription, oldest first. */
  async list(): Promise<Webhook[]> {
    const rows = await this.#db.selectFrom('webhooks').selectAll().orderBy('created_at').orderBy('id').execute()
    return rows.map(toWebhook)
  }

  /**
   * Deletes a subscription and its deliveries (pending ones are never sent).
   * @throws `NOT_FOUND`
   */
  async delete(id: string): Promise<Webhook> {
    const row = await this.#db.deleteFrom('webhooks').where('id', '=', id).returningAll().executeTakeFirst()
    if (!row) throw notFound(id)
    return toWebhook(row)
  }

  /**
   * A subscription's deliveries, newest first.
   * @throws `NOT_FOUND` for an unknown subscription; `BAD_REQUEST` for a cursor that is not one of this list's.
   */
  async deliveries(
    id: string,
    query: {
      readonly status?: WebhookDeliveryStatus | undefined
      readonly limit?: number | undefined
      readonly cursor?: string | undefined
    } = {},
  ): Promise<{ items: WebhookDelivery[]; nextCursor?: string }> {
    const exists = await this.#db.selectFrom('webhooks').select('id').where('id', '=', id).executeTakeFirst()
    if (!exists) throw notFound(id)
    const limit = query.limit ?? 50
    let q = this.#db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', id)
      .orderBy('seq', 'desc')
      .limit(limit + 1)
    if (query.status) q = q.where('status', '=', query.status)
    if (query.cursor !== undefined) {
      if (!/^\d{1,19}$/.test(query.cursor)) throw new StudioError('BAD_REQUEST', 'cursor is not valid')
      q = q.where('seq', '<', query.cursor)
    }
    const rows = await q.execute()
    const page = rows.slice(0, limit)
    const last = page.at(-1)
    return rows.length > limit && last
      ? { items: page.map(toDelivery), nextCursor: String(last.seq) }
      : { items: page.map(toDelivery) }
  }

  /**
   * Queues an event for every active subscription to its type (due at once); an event already queued for a
   * subscription (same `eventId`) is left as it is. Answers how many deliveries were queued.
   */
  async enqueue(event: OutboxEvent): Promise<number> {
    const since = event.occurredAt ? sql`AND w.created_at <= ${event.occurredAt}` : sql``
    const result = await sql`
      INSERT INTO webhook_deliveries (id, webhook_id, event_id, type, payload, next_attempt_at)
      SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), w.id, ${event.eventId}, ${event.type},
        ${event.payload}, now()
      FROM webhooks w
      WHERE w.disabled_at IS NULL AND w.events @> ${JSON.stringify([event.type])}::jsonb ${since}
      ON CONFLICT (webhook_id, event_id) DO NOTHING
    `.execute(this.#db)
    return Number(result.numAffectedRows ?? 0)
  }

  /**
   * Claims up to `limit` due deliveries of active subscriptions for one attempt each: `FOR UPDATE SKIP LOCKED`, so
   * that processes sharing the database never claim the same row, and the next attempt is pushed `leaseMs` ahead,
   * so that a process that dies while sending leaves the delivery to be tried again.
   */
  async claim(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const { rows } = await sql<{
      id: string
      event_id: string
      payload: string
      attempts: number
      webhook_id: string
      url: string
      secret: string
    }>`
      WITH due AS (
        SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND w.disabled_at IS NULL
        ORDER BY d.next_attempt_at, d.seq
        LIMIT ${limit}
        FOR UPDATE OF d SKIP LOCKED
      )
      UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = ${afterMs(leaseMs)}
      FROM due, webhooks w
      WHERE d.id = due.id AND w.id = d.webhook_id
      RETURNING d.id, d.event_id, d.payload, d.attempts, w.id AS webhook_id, w.url, w.secret
    `.execute(this.#db)
    return rows.map((r) => ({
      id: r.id,
      eventId: r.event_id,
      payload: r.payload,
      attempts: r.attempts,
      webhookId: r.webhook_id,
      url: r.url,
      secret: r.secret,
    }))
  }

  /**
   * Records how a claimed attempt ended: a 2xx answer delivers it; 410 Gone fails it and disables the subscription
   * (its other pending deliveries fail with it); anything else is tried again after `retryInMs`, or fails when
   * `retryInMs` is `undefined` (attempts used up). Fenced on the attempt number: a stale attempt changes nothing.
   */
  async record(
    claimed: Pick<ClaimedDelivery, 'id' | 'attempts' | 'webhookId'>,
    result: AttemptResult,
    retryInMs: number | undefined,
  ): Promise<WebhookDeliveryStatus> {
    const code = result.statusCode ?? null
    const answer = 'response' in result ? result.response : null
    const error = 'error' in result ? result.error : null
    const delivered = code !== null && code >= 200 && code < 300
    const gone = code === 410
    const status: WebhookDeliveryStatus = delivered
      ? 'succeeded'
      : gone || retryInMs === undefined
        ? 'failed'
        : 'pending'
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .updateTable('webhook_deliveries')
        .set({
          status,
          last_status_code: code,
          last_response: answer,
          last_error: error,
          next_attempt_at: status === 'pending' ? afterMs(retryInMs ?? 0) : null,
          ...(delivered ? { delivered_at: sql<Date>`now()` } : {}),
        })
        .where('id', '=', claimed.id)
        .where('attempts', '=', claimed.attempts)
        .where('status', '=', 'pending')
        .execute()
      if (!gone) return
      await trx
        .updateTable('webhooks')
        .set({ disabled_at: sql<Date>`now()` })
        .where('id', '=', claimed.webhookId)
        .where('disabled_at', 'is', null)
        .execute()
      await trx
        .updateTable('webhook_deliveries')
        .set({ status: 'failed', next_attempt_at: null, last_error: 'the subscription was disabled (410 Gone)' })
        .where('webhook_id', '=', claimed.webhookId)
        .where('status', '=', 'pending')
        .execute()
    })
    return status
  }
}
