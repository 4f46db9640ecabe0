import { toApiError } from './errors.ts'

/** One Server-Sent Event: its `event:` name, `id:` and parsed JSON `data:`. */
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
  /** Headers for every (re)connection. */
  readonly headers: Readonly<Record<string, string>>
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
    const headers: Record<string, string> = { ...options.headers, accept: 'text/event-stream' }
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
      throw toApiError(response.status, body, response.headers.get('x-request-id') ?? undefined)
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
