// The fetch adapter: (Request) => Promise<Response>, for runtimes and frameworks built on web standards.
import { StudioError } from '@sparkle-studio/core'
import type { Studio } from '../studio.ts'
import { createStudioHandler, errorResponse, type HandlerOptions } from './handler.ts'

/** Options of {@link studioFetchHandler}. */
export interface FetchHandlerOptions extends HandlerOptions {
  /**
   * The path the API is served under.
   * @default '/api/v1'
   */
  readonly basePath?: string | undefined
}

async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new StudioError('PAYLOAD_TOO_LARGE', `The body is larger than the limit of ${limit} bytes`, { limit })
  if (Number(request.headers.get('content-length') ?? 0) > limit) throw tooLarge()
  if (!request.body) return new Uint8Array()
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of request.body) {
    size += chunk.length
    if (size > limit) throw tooLarge()
    chunks.push(chunk)
  }
  const out = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

/** What a runtime knows about a request besides the `Request` itself. */
export interface FetchRequestContext {
  /**
   * The client's network address (Bun: `server.requestIP(request)?.address`; Deno: `info.remoteAddr.hostname`):
   * anonymous callers are rate-limited by it.
   */
  readonly remoteAddress?: string | undefined
}

/**
 * The API as a fetch handler under `basePath`.
 *
 * @example
 * ```ts
 * import { createStudio, studioFetchHandler } from '@sparkle-studio/server'
 *
 * const handle = studioFetchHandler(await createStudio({ dataDir: '.data' }))
 * const response = await handle(new Request('http://localhost/api/v1/health'))
 * ```
 */
export function studioFetchHandler(
  studio: Studio,
  options: FetchHandlerOptions = {},
): (request: Request, context?: FetchRequestContext) => Promise<Response> {
  const handler = createStudioHandler(studio, options)
  const base = (options.basePath ?? '/api/v1').replace(/\/$/, '')
  const encoder = new TextEncoder()
  return async (request, context) => {
    const url = new URL(request.url)
    const path = url.pathname
    if (!(path === base || path.startsWith(`${base}/`))) {
      const { status, json } = errorResponse(
        new StudioError('NOT_FOUND', `No route ${request.method} ${path}`),
        '',
        studio.log,
      )
      return Response.json(json, { status })
    }
    const controller = new AbortController()
    request.signal.addEventListener('abort', () => controller.abort(), { once: true })
    const response = await handler({
      method: request.method,
      path: path.slice(base.length) || '/',
      query: url.searchParams,
      // A Request made in code has no Host header: its URL says which host it was sent to.
      header: (name) => request.headers.get(name) ?? (name === 'host' ? url.host : undefined),
      body: {
        kind: 'bytes',
        read: (limit) => readLimited(request, limit),
        stream: () => request.body ?? (async function* () {})(),
      },
      signal: controller.signal,
      remoteAddress: context?.remoteAddress,
    })
    if ('json' in response) {
      return new Response(JSON.stringify(response.json), { status: response.status, headers: response.headers })
    }
    if ('empty' in response) return new Response(null, { status: response.status, headers: response.headers })
    if ('bytes' in response) {
      const bytes = response.bytes[Symbol.asyncIterator]()
      const body = new ReadableStream<Uint8Array>({
        async pull(stream) {
          const next = await bytes.next()
          if (next.done) stream.close()
          else stream.enqueue(next.value)
        },
        async cancel() {
          controller.abort()
          await bytes.return?.()
        },
      })
      return new Response(body, { status: response.status, headers: response.headers })
    }
    const iterator = response.stream[Symbol.asyncIterator]()
    const body = new ReadableStream<Uint8Array>({
      async pull(stream) {
        const next = await iterator.next()
        if (next.done) stream.close()
        else stream.enqueue(encoder.encode(next.value))
      },
      async cancel() {
        controller.abort()
        await iterator.return?.()
      },
    })
    return new Response(body, { status: response.status, headers: response.headers })
  }
}
