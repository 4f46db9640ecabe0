import pg from 'pg'

/** Callbacks of one subscription to a notification channel. */
export interface NotificationHandlers {
  /** Called with the payload of each notification on the channel. */
  readonly onNotify: (payload: string) => void
  /**
   * Called after the listening connection was re-established; notifications sent meanwhile are lost, so the
   * subscriber should look for work it may have missed.
   */
  readonly onReconnect?: (() => void) | undefined
  /** Called when the listening connection fails (it reconnects by itself). */
  readonly onError?: ((error: Error) => void) | undefined
}

/** Stops a subscription. */
export type Unlisten = () => Promise<void>

const RECONNECT_MIN_MS = 100
const RECONNECT_MAX_MS = 5_000

/**
 * One dedicated node-postgres connection that LISTENs on the channels of its subscribers and reconnects (with
 * backoff) when the connection drops, e.g. on a server restart.
 */
export class PgNotificationListener {
  readonly #url: string
  readonly #subscribers = new Map<string, Set<NotificationHandlers>>()
  #client: pg.Client | undefined
  #connecting: Promise<void> | undefined
  #closed = false
  #retryMs = RECONNECT_MIN_MS
  #timer: NodeJS.Timeout | undefined
  #hadConnection = false

  constructor(url: string) {
    this.#url = url
  }

  /** Subscribes to `channel`; resolves once the server listens on it (or, if it is down, once reconnecting started). */
  async listen(channel: string, handlers: NotificationHandlers): Promise<Unlisten> {
    let set = this.#subscribers.get(channel)
    const isNew = !set
    if (!set) {
      set = new Set()
      this.#subscribers.set(channel, set)
    }
    set.add(handlers)
    if (!this.#client) await this.#connect()
    // LISTEN twice is harmless; a connection opened meanwhile may not have seen the new channel.
    if (isNew) await this.#client?.query(`LISTEN ${quoteIdent(channel)}`).catch(() => {})
    return async () => {
      const current = this.#subscribers.get(channel)
      current?.delete(handlers)
      if (current && current.size === 0) {
        this.#subscribers.delete(channel)
        await this.#client?.query(`UNLISTEN ${quoteIdent(channel)}`).catch(() => {})
      }
    }
  }

  /** Closes the connection; no reconnects after this. */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer) clearTimeout(this.#timer)
    const client = this.#client
    this.#client = undefined
    await client?.end().catch(() => {})
  }

  #connect(): Promise<void> {
    if (this.#client) return Promise.resolve()
    this.#connecting ??= this.#open().finally(() => {
      this.#connecting = undefined
    })
    return this.#connecting
  }

  async #open(): Promise<void> {
    if (this.#closed) return
    const client = new pg.Client({ connectionString: this.#url })
    let dropped = false
    const onDrop = (error?: Error) => {
      if (dropped) return
      dropped = true
      if (this.#client === client) this.#client = undefined
      if (error) this.#each((h) => h.onError?.(error))
      client.end().catch(() => {})
      this.#scheduleReconnect()
    }
    client.on('error', (error) => onDrop(error))
    client.on('end', () => onDrop())
    client.on('notification', (message) => {
      for (const h of this.#subscribers.get(message.channel) ?? []) h.onNotify(message.payload ?? '')
    })
    try {
      await client.connect()
      for (const channel of this.#subscribers.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`)
    } catch (error) {
      onDrop(error as Error)
      return
    }
    if (this.#closed) {
      await client.end().catch(() => {})
      return
    }
    this.#client = client
    this.#retryMs = RECONNECT_MIN_MS
    if (this.#hadConnection) this.#each((h) => h.onReconnect?.())
    this.#hadConnection = true
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#timer) return
    const delay = this.#retryMs
    this.#retryMs = Math.min(RECONNECT_MAX_MS, this.#retryMs * 2)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      // A first connection that never succeeded still counts as a reconnect for subscribers: work may be waiting.
      this.#hadConnection = true
      void this.#connect()
    }, delay)
    this.#timer.unref()
  }

  #each(fn: (handlers: NotificationHandlers) => void): void {
    for (const set of this.#subscribers.values()) for (const h of set) fn(h)
  }
}

/** Quotes a PostgreSQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}
