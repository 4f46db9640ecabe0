import type { OpenLineageRunEvent } from '@sparkle-studio/core'
import type { Logger } from '../logger.ts'

/** The part of `fetch` the transport uses. */
export type OpenLineageFetch = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{
  readonly status: number
  readonly headers: {
    /** A response header's value (`Retry-After` is read), `null` when absent. */
    get(name: string): string | null
  }
  readonly body?: {
    /** Discards the response body (it is never read). */
    cancel(): Promise<void>
  } | null
}>

/** Options of {@link OpenLineageHttpTransport}. */
export interface OpenLineageTransportOptions {
  /** Where events are POSTed (e.g. Marquez's `http://host:5000/api/v1/lineage`). */
  readonly url: string
  /** Sent as `Authorization: Bearer <apiKey>`; never logged. */
  readonly apiKey?: string | undefined
  /** How long one attempt may take. */
  readonly timeoutMs: number
  /** Attempts per event before it is dropped (with one warning). */
  readonly maxAttempts: number
  /** The wait after the first failed attempt; doubled after each next one (at most 60 s), varied by ±20 %. */
  readonly retryBaseMs: number
  /** Events waiting at most; the oldest is dropped (with a warning) when one more comes. */
  readonly maxQueue: number
  readonly log: Logger
  readonly fetch?: OpenLineageFetch | undefined
}

interface Pending {
  readonly event: OpenLineageRunEvent
  attempts: number
}

/** The receiver's origin only, for logs (a path or query may hold a token). */
function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return '?'
  }
}

/**
 * Sends OpenLineage events over HTTP, one at a time and in order (a run's START before its COMPLETE), in the
 * background: {@link OpenLineageHttpTransport.send} never waits and never throws, so lineage never blocks or fails a
 * run. Network errors, timeouts, 5xx and 429 are retried with exponential backoff (a 429's `Retry-After` is
 * honoured, within 60 s); after `maxAttempts`, or at once for another 4xx, the event is dropped with one warning.
 */
export class OpenLineageHttpTransport {
  readonly #options: OpenLineageTransportOptions
  readonly #queue: Pending[] = []
  readonly #stop = new AbortController()
  #pumping: Promise<void> | undefined
  #wait: { timer: NodeJS.Timeout; wake: () => void } | undefined
  #delivered = 0
  #retried = 0
  #dropped = 0

  constructor(options: OpenLineageTransportOptions) {
    this.#options = options
  }

  /** Counts since start: events delivered, failed attempts retried, events dropped. */
  get stats(): { readonly delivered: number; readonly retried: number; readonly dropped: number } {
    return { delivered: this.#delivered, retried: this.#retried, dropped: this.#dropped }
  }

  /** Queues an event for sending. */
  send(event: OpenLineageRunEvent): void {
    if (this.#stop.signal.aborted) return
    if (this.#queue.length >= this.#options.maxQueue) {
      const oldest = this.#queue.shift()
      this.#dropped++
      if (oldest) this.#warnDropped(oldest, `the queue holds ${this.#options.maxQueue} events`)
    }
    this.#queue.push({ event, attempts: 0 })
    this.#pumping ??= this.#pump().finally(() => {
      this.#pumping = undefined
    })
  }

  /** Waits until every queued event was sent or dropped (or `signal` aborts). */
  async drain(signal?: AbortSignal): Promise<void> {
    while (this.#pumping && !signal?.aborted) {
      await Promise.race([this.#pumping, new Promise((ok) => signal?.addEventListener('abort', ok, { once: true }))])
    }
  }

  /** Stops sending: the attempt in flight is aborted and what is queued is dropped. */
  async stop(): Promise<void> {
    this.#stop.abort()
    if (this.#wait) {
      clearTimeout(this.#wait.timer)
      this.#wait.wake()
    }
    await this.#pumping
    this.#queue.length = 0
  }

  async #pump(): Promise<void> {
    for (;;) {
      const head = this.#queue[0]
      if (!head || this.#stop.signal.aborted) return
      head.attempts++
      const result = await this.#attempt(head.event)
      if (this.#stop.signal.aborted) return
      if (result.ok) {
        this.#delivered++
        this.#queue.shift()
        this.#options.log.debug('OpenLineage event sent', fieldsOf(head))
        continue
      }
      if (!result.retryable || head.attempts >= this.#options.maxAttempts) {
        this.#dropped++
        this.#queue.shift()
        this.#warnDropped(head, result.reason)
        continue
      }
      this.#retried++
      const backoff = Math.min(60_000, this.#options.retryBaseMs * 2 ** (head.attempts - 1))
      await this.#sleep(result.retryAfterMs ?? Math.round(backoff * (0.8 + 0.4 * Math.random())))
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((wake) => {
      const timer = setTimeout(() => {
        this.#wait = undefined
        wake()
      }, ms)
      this.#wait = { timer, wake }
    })
  }

  async #attempt(
    event: OpenLineageRunEvent,
  ): Promise<{ ok: true } | { ok: false; retryable: boolean; reason: string; retryAfterMs?: number }> {
    const { url, apiKey, timeoutMs } = this.#options
    const send = this.#options.fetch ?? (fetch as unknown as OpenLineageFetch)
    const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(timeoutMs)])
    try {
      const res = await send(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
        },
        body: JSON.stringify(event),
        signal,
      })
      // The answer's body is not read: let the connection go.
      await res.body?.cancel().catch(() => undefined)
      if (res.status >= 200 && res.status < 300) return { ok: true }
      const retryable = res.status === 429 || res.status >= 500
      const after = Number(res.headers.get('retry-after'))
      return {
        ok: false,
        retryable,
        reason: `the receiver answered ${res.status}`,
        ...(res.status === 429 && after > 0 ? { retryAfterMs: Math.min(60_000, after * 1000) } : {}),
      }
    } catch (error) {
      return { ok: false, retryable: true, reason: (error as Error).message }
    }
  }

  #warnDropped(pending: Pending, reason: string): void {
    this.#options.log.warn('OpenLineage event dropped', {
      ...fieldsOf(pending),
      receiver: originOf(this.#options.url),
      reason,
    })
  }
}

function fieldsOf(pending: Pending): Record<string, unknown> {
  return {
    eventType: pending.event.eventType,
    job: pending.event.job.name,
    olRunId: pending.event.run.runId,
    attempts: pending.attempts,
  }
}
