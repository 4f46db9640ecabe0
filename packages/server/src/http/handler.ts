// The framework-agnostic HTTP handler: a parse, one use-case call and a response, for every route of the contract.
import { randomUUID } from 'node:crypto'
import { errorStatus, isStudioError, SDK_VERSION, StudioError } from '@sparkle-studio/core'
import type { RouteName } from '@sparkle-studio/core/contract'
import { formatRunStreamEvent } from '@sparkle-studio/core/routes'
import { assertRole } from '../api/index.ts'
import type { StreamMessage } from '../api/run-events.ts'
import type { ArtifactDownload } from '../artifacts/service.ts'
import type { RawRouteInput } from '../input.ts'
import type { Logger } from '../logger.ts'
import type { Call, Principal } from '../principal.ts'
import type { Studio } from '../studio.ts'
import { allowedMethods, matchRoute } from './routing.ts'
import { createRequestSafety, type SafetyOptions } from './safety.ts'
import { uploadContent } from './upload-body.ts'

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
  /** The client's network address, when the adapter knows it (rate limits of anonymous callers use it). */
  readonly remoteAddress?: string | undefined
}

/** The body of a {@link StudioRequest}. */
export type RequestBody =
  | {
      readonly kind: 'bytes'
      /** Reads the whole body. @throws `PAYLOAD_TOO_LARGE` past `limit` bytes. */
      read(limit: number): Promise<Uint8Array>
      /** The body as it arrives, for file uploads (read once, instead of `read`). */
      stream(): AsyncIterable<Uint8Array>
    }
  | { readonly kind: 'parsed'; readonly value: unknown }

/** What the handler answers: JSON, a stream of Server-Sent Events text, a file's bytes, or nothing. */
export type StudioResponse = {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
} & (
  | { readonly json: unknown }
  | { readonly stream: AsyncIterable<string> }
  | { readonly bytes: AsyncIterable<Uint8Array> }
  | { readonly empty: true }
)

/** Serves one request. */
export type StudioHandler = (request: StudioRequest) => Promise<StudioResponse>

/** Options of the HTTP adapters. */
export interface HandlerOptions extends SafetyOptions {
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

async function* sseStream(messages: AsyncIterable<StreamMessage>, release: () => void): AsyncGenerator<string> {
  try {
    for await (const m of messages) yield 'comment' in m ? `: ${m.comment}\n\n` : formatRunStreamEvent(m)
  } finally {
    release()
  }
}

const jsonHeaders = (headers: Record<string, string>) => ({
  ...headers,
  'content-type': 'application/json; charset=utf-8',
})

/** What an audit entry starts from, before the answer is known. */
interface AuditDraft {
  readonly route: RouteName
  readonly method: string
  readonly principal: Principal
  readonly params: Readonly<Record<string, string>>
  body?: unknown
}

const auditFailed = (log: Logger) => (error: unknown) =>
  log.error('audit entry not written', { error: error instanceof Error ? error.message : String(error) })

/** Runs `fn` with a signal that also aborts after `ms` (when set); past it, the call fails with `JOB_TIMEOUT`. */
async function withTimeout<T>(ms: number | undefined, call: Call, fn: (call: Call) => Promise<T>): Promise<T> {
  if (!ms) return fn(call)
  const timeout = AbortSignal.timeout(ms)
  const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout
  try {
    return await fn({ ...call, signal })
  } catch (error) {
    if (timeout.aborted && !call.signal?.aborted) {
      throw new StudioError('JOB_TIMEOUT', `The request took longer than the limit of ${ms} ms`, { limitMs: ms })
    }
    throw error
  }
}

/**
 * True when an `If-None-Match` header names the entity tag of `blob` (or is `*`): weak comparison, as RFC 9110 asks
 * for If-None-Match, so `W/"<blob>"` matches too.
 */
export function noneMatchHits(header: string | undefined, blob: string): boolean {
  if (!header) return false
  return header.split(',').some((tag) => {
    const t = tag.trim()
    return t === '*' || t.replace(/^W\//, '') === `"${blob}"`
  })
}

/** The headers of a file download: its length, range, type and name, and its SHA-256 as the entity tag. */
function downloadHeaders(base: Record<string, string>, download: ArtifactDownload): Record<string, string> {
  const { artifact, start, end, partial } = download
  // The name as a quoted ASCII fallback and as RFC 8187 UTF-8: never a path, and no header injection.
  const ascii = artifact.name.replace(/[^\x20-\x7e]|["\\]/g, '_')
  return {
    ...base,
    'content-type': 'application/octet-stream',
    'content-length': String(artifact.size === 0 ? 0 : end - start + 1),
    'accept-ranges': 'bytes',
    'content-disposition': `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(artifact.name)}`,
    etag: `"${artifact.sha256}"`,
    'x-content-type-options': 'nosniff',
    ...(partial ? { 'content-range': `bytes ${start}-${end}/${artifact.size}` } : {}),
  }
}

/** What an anonymous caller learns from the health route: that the server is up. */
function liveness() {
  return { status: 'ok' as const, version: SDK_VERSION }
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
    'access-control-expose-headers': 'x-request-id, etag',
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
  const safety = createRequestSafety(options, { log: studio.log, databaseDialect: studio.database.dialect })
  return async (request) => {
    const incoming = request.header('x-request-id')
    const requestId = incoming && /^[A-Za-z0-9._-]{1,100}$/.test(incoming) ? incoming : randomUUID()
    const log = studio.log.child({ requestId })
    const started = performance.now()
    const headers: Record<string, string> = {
      ...safety.headers,
      'x-request-id': requestId,
      ...corsHeaders(request, origins),
    }
    // The metrics name the contract route (a bounded set), never the path: `unmatched` until a route matched.
    let routeName = 'unmatched'
    const done = (status: number) => {
      studio.metrics.observeRequest(routeName, request.method, status, (performance.now() - started) / 1000)
      log.info('request', {
        method: request.method,
        path: request.path,
        status,
        ms: Math.round(performance.now() - started),
      })
    }
    let audit: AuditDraft | undefined
    let upload = false
    try {
      safety.checkHost(request)
      if (request.method === 'OPTIONS' && headers['access-control-allow-origin']) {
        done(204)
        return {
          status: 204,
          empty: true,
          headers: {
            ...headers,
            'access-control-allow-methods': 'GET,POST,PUT,DELETE',
            'access-control-allow-headers':
              request.header('access-control-request-headers') ?? 'content-type,authorization,if-match,if-none-match',
            'access-control-max-age': '600',
          },
        }
      }
      const match = matchRoute(request.method, request.path)
      if (!match) {
        const allow = allowedMethods(request.path)
        if (allow.length > 0) {
          headers['allow'] = allow.join(', ')
          throw new StudioError('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${request.path}`, {
            allow,
          })
        }
        throw new StudioError('NOT_FOUND', `No route ${request.method} ${request.path}`)
      }
      const { name, route } = match
      routeName = name
      upload = route.upload === true
      safety.checkOrigin(request, route)
      const principal = await studio.authenticate({
        method: request.method,
        path: request.path,
        header: (h) => request.header(h),
      })
      Object.assign(headers, await safety.rateLimit(request, principal))
      if (!principal) {
        if (name === 'health') {
          // Liveness for anyone; the checks (versions, paths, errors) only for callers who authenticated.
          done(200)
          return { status: 200, headers: jsonHeaders(headers), json: { success: true, data: liveness() } }
        }
        throw new StudioError('UNAUTHORIZED', 'Authentication required: send Authorization: Bearer <API key or token>')
      }
      const call: Call = { principal, signal: request.signal, requestId, log }
      if (route.method !== 'GET') audit = { route: name, method: route.method, principal, params: match.params }
      // The role first: an under-privileged caller learns nothing from how its input would have been parsed.
      assertRole(name, call)
      safety.checkContentType(request, route)
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
        body: route.upload ? await uploadContent(request) : route.body ? await readJson(request, bodyLimit) : undefined,
      }
      if (audit && !route.upload) audit.body = input.body
      if (route.download) {
        const download = (await useCases[name](input, call)) as ArtifactDownload
        const status = download.partial ? 206 : 200
        done(status)
        return { status, headers: downloadHeaders(headers, download), bytes: download.body }
      }
      if (route.stream === 'sse') {
        const release = safety.reserve('stream', principal)
        try {
          const data = await useCases[name](input, call)
          done(200)
          return {
            status: 200,
            headers: {
              ...headers,
              'content-type': 'text/event-stream; charset=utf-8',
              'cache-control': 'no-cache, no-transform',
              'x-accel-buffering': 'no',
            },
            stream: sseStream(data as AsyncIterable<StreamMessage>, release),
          }
        } catch (error) {
          release()
          throw error
        }
      }
      const release = name === 'dryRun' ? safety.reserve('preview', principal) : undefined
      // An upload takes as long as its bytes take to arrive: the body's size limit bounds it, not the request timeout.
      const limitMs = route.upload ? undefined : safety.requestTimeoutMs
      const data = await withTimeout(limitMs, call, (c) => useCases[name](input, c)).finally(() => release?.())
      const status = route.status ?? 200
      // The route's answer names its version (`blob`): it is the entity tag, set here so no framework's own replaces it.
      const blob = route.etag ? (data as { blob?: unknown }).blob : undefined
      if (typeof blob === 'string' && blob !== '') {
        headers['etag'] = `"${blob}"`
        // A versioned read may stay in the caller's own cache if it asks again each time (If-None-Match, 304); shared
        // caches still keep nothing.
        if (route.method === 'GET') headers['cache-control'] = 'private, no-cache'
        if (route.method === 'GET' && noneMatchHits(request.header('if-none-match'), blob)) {
          done(304)
          return { status: 304, empty: true, headers }
        }
      }
      done(status)
      if (audit) await studio.audit.record({ ...audit, status, requestId, data }).catch(auditFailed(log))
      return { status, headers: jsonHeaders(headers), json: { success: true, data } }
    } catch (error) {
      if (request.signal.aborted && !isStudioError(error)) {
        // The client went away and the work was stopped for it: nothing to answer, nothing went wrong here.
        done(499)
        return { status: 499, empty: true, headers }
      }
      const { status, json } = errorResponse(error, requestId, log)
      const retryAfter = isStudioError(error) ? (error.details as { retryAfterS?: unknown } | undefined) : undefined
      if (typeof retryAfter?.retryAfterS === 'number') headers['retry-after'] = String(retryAfter.retryAfterS)
      const size = isStudioError(error) && error.code === 'RANGE_NOT_SATISFIABLE' ? error.details : undefined
      if (typeof (size as { size?: unknown } | undefined)?.size === 'number') {
        headers['content-range'] = `bytes */${(size as { size: number }).size}`
      }
      Object.assign(headers, safety.errorHeaders(error))
      // A refused upload may not have been read to its end: the connection is not reused for another request.
      if (upload) headers['connection'] = 'close'
      done(status)
      const code = isStudioError(error) ? error.code : 'INTERNAL'
      if (audit) await studio.audit.record({ ...audit, status, requestId, code }).catch(auditFailed(log))
      return { status, headers: jsonHeaders(headers), json }
    }
  }
}
