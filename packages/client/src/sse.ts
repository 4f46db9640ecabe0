import type { RunStreamEvent } from '@sparkle-studio/core/routes'
import { toApiError } from './errors.ts'

/**
 * One Server-Sent Event as parsed, before it is typed: its `event:` name, `id:` and `data:` (parsed as JSON when it
 * is JSON). A run's event stream gives {@link RunStreamEvent}s instead.
 */
export interface ServerSentEvent {
  readonly event: string
  readonly id: number | undefined
  readonly data: unknown
}

/** Options of {@link streamEvents}. */
export interface StreamEventsOptions {
  /** The SSE endpoint. */
  readonly url: string
  /** The fetch implementation. */
  readonly fetch: typeof globalThis.fetch
  /**
   * Headers for every (re)connection, or a function called before each one (to send a refreshed credential).
   */
  readonly headers:
    | Readonly<Record<string, string>>
    | (() => Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>)
  /** Resume after this event id. */
  readonly after?: number | undefined
  readonly signal?: AbortSignal | undefined
  /**
   * Reconnects after a dropped connection, with `Last-Event-ID`.
   * @default 5
   */
  readonly maxReconnects?: number | undefined
}

/** Parses an SSE byte stream into events (spec: lines, `field: value`, blank line ends an event). */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder()
  const reader = body.getReader()
  let buffer = ''
  let event = 'message'
  let id: number | undefined
  let data: string[] = []
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += decoder.decode(value, { stream: true })
      let newline = buffer.search(/\r\n|\r|\n/)
      while (newline >= 0) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(buffer[newline] === '\r' && buffer[newline + 1] === '\n' ? newline + 2 : newline + 1)
        if (line === '') {
          if (data.length > 0) {
            const text = data.join('\n')
            let parsed: unknown = text
            try {
              parsed = JSON.parse(text)
            } catch {
              // Not JSON: keep the text.
            }
            yield { event, id, data: parsed }
          }
          event = 'message'
          data = []
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':')
          const field = colon === -1 ? line : line.slice(0, colon)
          const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
          if (field === 'event') event = value
          else if (field === 'data') data.push(value)
          else if (field === 'id' && /^\d+$/.test(value)) id = Number(value)
        }
        newline = buffer.search(/\r\n|\r|\n/)
      }
    }
  } finally {
    reader.releaseLock()
  }
}

/**
 * Follows an SSE endpoint with fetch (browsers and Node alike), reconnecting with `Last-Event-ID` when the connection
 * drops, until an `end` event, the signal aborts, or reconnects run out.
 */
export async function* streamEvents(options: StreamEventsOptions): AsyncGenerator<ServerSentEvent> {
  let lastId = options.after
  let reconnects = 0
  const max = options.maxReconnects ?? 5
  for (;;) {
    const base = typeof options.headers === 'function' ? await options.headers() : options.headers
    const headers: Record<string, string> = { ...base, accept: 'text/event-stream' }
    if (lastId !== undefined) headers['last-event-id'] = String(lastId)
    let response: Response
    try {
      response = await options.fetch(options.url, { headers, ...(options.signal ? { signal: options.signal } : {}) })
    } catch (error) {
      if (options.signal?.aborted || reconnects++ >= max) throw error
      await new Promise((r) => setTimeout(r, 250 * reconnects))
      continue
    }
    if (!response.ok || !response.body) {
      const body = await response.json().catch(() => undefined)
      throw toApiError(response.status, body, response.headers.get('x-request-id') ?? undefined, {
        retryAfter: response.headers.get('retry-after'),
      })
    }
    try {
      for await (const e of parseSse(response.body)) {
        if (e.id !== undefined) lastId = e.id
        reconnects = 0
        yield e
        if (e.event === 'end') return
      }
    } catch (error) {
      if (options.signal?.aborted) return
      if (reconnects++ >= max) throw error
    }
    if (options.signal?.aborted) return
    await new Promise((r) => setTimeout(r, 100))
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The typed message of a parsed event of a run's stream, or undefined for an event name or shape it does not know. */
function toRunStreamEvent(e: ServerSentEvent): RunStreamEvent | undefined {
  const data = e.data
  if (!isObject(data)) return undefined
  if (e.event === 'end')
    return typeof data['status'] === 'string' ? ({ event: 'end', data } as unknown as RunStreamEvent) : undefined
  if (e.event !== 'status' && e.event !== 'log' && e.event !== 'event') return undefined
  if (typeof data['id'] !== 'number' || typeof data['type'] !== 'string' || !isObject(data['payload'])) return undefined
  return { event: e.event, id: data['id'], data } as unknown as RunStreamEvent
}

/**
 * Types the events of a run's stream (`GET /executions/{id}/events`) by their SSE event name: `status`, `log`,
 * `event` and the final `end`. Events of a name (or a shape) it does not know, from a newer server, are skipped.
 */
export async function* runStreamEvents(events: AsyncIterable<ServerSentEvent>): AsyncGenerator<RunStreamEvent> {
  for await (const e of events) {
    const typed = toRunStreamEvent(e)
    if (typed) yield typed
  }
}
