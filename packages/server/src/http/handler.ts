// The framework-agnostic HTTP handler: a parse, one use-case call and a response, for every route of the contract.
import { randomUUID } from 'node:crypto'
import { errorStatus, isStudioError, StudioError } from '@sparkle-studio/core'
import type { RouteName } from '@sparkle-studio/core/contract'
import { formatRunStreamEvent } from '@sparkle-studio/core/routes'
import type { StreamMessage } from '../api/run-events.ts'
import type { RawRouteInput } from '../input.ts'
import type { Logger } from '../logger.ts'
import type { Call } from '../principal.ts'
import type { Studio } from '../studio.ts'
import { matchRoute } from './routing.ts'

/** A request as every adapter hands it to the handler. */
export interface StudioRequest {
  readonly method: string
  /** The path below the mount point (`/pipelines/orders`), percent-encoded as received, without the query. */
  readonly path: string
  readonly query: URLSearchParams
  /** A request header by lower-case name. */
  header(name: string): string | undefined
  /** The body: bytes to read (up to a limit), or a value a framework already parsed. */
  readonly body: RequestBody
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal
}

/** The body of a {@link StudioRequest}. */
export type RequestBody =
  | {
      readonly kind: 'bytes'
      /** Reads the whole body. @throws `PAYLOAD_TOO_LARGE` past `limit` bytes. */
      read(limit: number): Promise<Uint8Array>
    }
  | { readonly kind: 'parsed'; readonly value: unknown }

/** What the handler answers: JSON, a stream of Server-Sent Events text, or nothing. */
export type StudioResponse = {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
} & ({ readonly json: unknown } | { readonly stream: AsyncIterable<string> } | { readonly empty: true })

/** Serves one request. */
export type StudioHandler = (request: StudioRequest) => Promise<StudioResponse>

/** Options of the HTTP adapters. */
export interface HandlerOptions {
  /**
   * Largest JSON body accepted, in bytes.
   * @default 1_048_576
   */
  readonly bodyLimit?: number | undefined
  /**
   * Origins allowed to call the API from a browser (`*` for any); none by default.
   * @default []
   */
  readonly corsOrigins?: readonly string[] | undefined
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/**
 * Reads a JSON body: empty is `undefined`; otherwise it must be sent as JSON and be an object or an array.
 * @throws `BAD_REQUEST` for another content type or text that is not JSON; `PAYLOAD_TOO_LARGE` past the limit.
 */
async function readJson(request: StudioRequest, limit: number): Promise<unknown> {
  const isJson = JSON_TYPE.test(request.header('content-type') ?? '')
  const notJson = () => new StudioError('BAD_REQUEST', 'The body must be JSON, sent with content-type application/json')
  if (request.body.kind === 'parsed') {
    // A body a framework parsed (e.g. express.json() in front): only a JSON one counts, so a form post cannot pass.
    const value = request.body.value
    const empty =
      value === undefined || (typeof value === 'object' && value !== null && Object.keys(value).length === 0)
    if (!isJson) {
      if (empty) return undefined
      throw notJson()
    }
    return empty && !request.header('content-length') ? undefined : value
  }
  const bytes = await request.body.read(limit)
  if (bytes.length === 0) return undefined
  if (!isJson) throw notJson()
  const text = new TextDecoder().decode(bytes)
  const start = text.trimStart()[0]
  if (start !== '{' && start !== '[') throw new StudioError('BAD_REQUEST', 'The body is not valid JSON')
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new StudioError('BAD_REQUEST', 'The body is not valid JSON')
  }
}

function queryRecord(query: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const key of new Set(query.keys())) {
    const all = query.getAll(key)
    out[key] = all.length === 1 ? (all[0] ?? '') : all
  }
  return out
}

async function* sseStream(messages: AsyncIterable<StreamMessage>): AsyncGenerator<string> {
  for await (const m of messages) yield 'comment' in m ? `: ${m.comment}\n\n` : formatRunStreamEvent(m)
}

/** The error envelope and status of any error; internals are logged, never sent. */
export function errorResponse(error: unknown, requestId: string, log: Logger): { status: number; json: unknown } {
  let status: number
  let body: { code: string; message: string; details?: unknown }
  if (isStudioError(error)) {
    status = errorStatus[error.code]
    body = error.toJSON()
  } else {
    status = 500
    body = { code: 'INTERNAL', message: 'Internal error; the server log has the details (quote the request id)' }
    log.error('unhandled error', {
      error: error instanceof Error ? { message: error.message, stack: error.stack } : String(error),
    })
  }
  return { status, json: { success: false, error: body, requestId } }
}

function corsHeaders(request: StudioRequest, origins: readonly string[]): Record<string, string> {
  const origin = request.header('origin')
  if (!origin || !(origins.includes('*') || origins.includes(origin))) return {}
  return {
    'access-control-allow-origin': origins.includes('*') ? '*' : origin,
    vary: 'Origin',
    'access-control-expose-headers': 'x-request-id',
  }
}

/**
 * The handler every adapter wraps: finds the route, identifies the caller, parses the input with the route's
 * schemas, calls the use case (which checks the caller's role) and answers the envelope, an event stream, or a typed
 * error envelope. Never answers a 500 for bad input.
 */
export function createStudioHandler(studio: Studio, options: HandlerOptions = {}): StudioHandler {
  const bodyLimit = options.bodyLimit ?? 1_048_576
  const origins = options.corsOrigins ?? []
  const useCases = studio.api as unknown as Record<RouteName, (input: unknown, call: Call) => Promise<unknown>>
  return async (request) => {
    const incoming = request.header('x-request-id')
    const requestId = incoming && /^[A-Za-z0-9._-]{1,100}$/.test(incoming) ? incoming : randomUUID()
    const log = studio.log.child({ requestId })
    const started = performance.now()
    const headers: Record<string, string> = { 'x-request-id': requestId, ...corsHeaders(request, origins) }
    const done = (status: number) =>
      log.info('request', {
        method: request.method,
        path: request.path,
        status,
        ms: Math.round(performance.now() - started),
      })
    if (request.method === 'OPTIONS' && headers['access-control-allow-origin']) {
      done(204)
      return {
        status: 204,
        empty: true,
        headers: {
          ...headers,
          'access-control-allow-methods': 'GET,POST,PUT,DELETE',
          'access-control-allow-headers':
            request.header('access-control-request-headers') ?? 'content-type,authorization,if-match',
          'access-control-max-age': '600',
        },
      }
    }
    try {
      const match = matchRoute(request.method, request.path)
      if (!match) throw new StudioError('NOT_FOUND', `No route ${request.method} ${request.path}`)
      const { name, route } = match
      const principal = await studio.authenticate({
        method: request.method,
        path: request.path,
        header: (h) => request.header(h),
      })
      if (!principal) throw new StudioError('UNAUTHORIZED', 'Authentication required: send Authorization: Bearer <key>')
      const query = queryRecord(request.query)
      if (route.stream === 'sse') {
        // A reconnecting EventSource sends the last id it saw; it wins over the query.
        const last = request.header('last-event-id')
        if (last && /^\d+$/.test(last)) query['after'] = last
      }
      const rawHeaders: Record<string, string> = {}
      for (const key of Object.keys(route.headers?.shape ?? {})) {
        const value = request.header(key)
        if (value !== undefined) rawHeaders[key] = value
      }
      const input: RawRouteInput = {
        params: match.params,
        query,
        headers: rawHeaders,
        body: route.body ? await readJson(request, bodyLimit) : undefined,
      }
      const call: Call = { principal, signal: request.signal, requestId, log }
      const data = await useCases[name](input, call)
      if (route.stream === 'sse') {
        done(200)
        return {
          status: 200,
          headers: {
            ...headers,
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache, no-transform',
            'x-accel-buffering': 'no',
          },
          stream: sseStream(data as AsyncIterable<StreamMessage>),
        }
      }
      const status = route.status ?? 200
      done(status)
      return {
        status,
        headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
        json: { success: true, data },
      }
    } catch (error) {
      if (request.signal.aborted && !isStudioError(error)) {
        // The client went away and the work was stopped for it: nothing to answer, nothing went wrong here.
        done(499)
        return { status: 499, empty: true, headers }
      }
      const { status, json } = errorResponse(error, requestId, log)
      done(status)
      return { status, headers: { ...headers, 'content-type': 'application/json; charset=utf-8' }, json }
    }
  }
}
