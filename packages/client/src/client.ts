// Only types come from the zod contract (erased at build); the route facts come from the zod-free routes entry.
import type { Api, RouteInput, RouteOutput } from '@sparkle-studio/core/contract'
import {
  API_BASE_PATH,
  buildPath,
  ROUTE_NAMES,
  type RouteName,
  type Routes,
  type RunStreamEvent,
  routes,
} from '@sparkle-studio/core/routes'
import ky, { HTTPError, type KyInstance, TimeoutError } from 'ky'
import { ApiError, ApiNetworkError, parseRetryAfter, toApiError } from './errors.ts'
import { downloadFile, type UploadOptions, uploadFile } from './files.ts'
import { runStreamEvents, streamEvents } from './sse.ts'

/** What a `beforeRequest` hook gets; it may return a new `Request` to send instead. */
export interface BeforeRequestState {
  readonly request: Request
  /** The route being called. */
  readonly route: RouteName
}

/** What an `afterResponse` hook gets (before the body is read). */
export interface AfterResponseState {
  readonly request: Request
  readonly response: Response
  readonly route: RouteName
}

/** A hook run before each request (trace ids, request signing); credentials go in the `token` option. */
export type BeforeRequestHook = (state: BeforeRequestState) => Request | undefined | Promise<Request | undefined>
/** A hook run after each response (metrics, logging). */
export type AfterResponseHook = (state: AfterResponseState) => void | Promise<void>

/** Hooks of the client, each an array run in order. */
export interface StudioClientHooks {
  readonly beforeRequest?: readonly BeforeRequestHook[]
  readonly afterResponse?: readonly AfterResponseHook[]
}

/**
 * The credential of a client: an API key (`sk_live_…`) or a JWT, or a function that gives one for each request (to
 * hand out a JWT refreshed before it expires).
 */
export type StudioToken = string | (() => string | Promise<string>)

/** The longest `Retry-After` (in seconds) the client waits out by itself before retrying a 429. */
const MAX_RATE_LIMIT_WAIT_S = 5

/** Options of {@link createStudioClient}. */
export interface StudioClientOptions {
  /** The server's base URL, e.g. `http://localhost:3000`. Routes are under `/api/v1`. */
  readonly baseUrl: string
  /**
   * The fetch implementation (a test double, an instrumented fetch, undici).
   * @default globalThis.fetch
   */
  readonly fetch?: typeof globalThis.fetch | undefined
  /**
   * The credential sent as `Authorization: Bearer <token>` with every request, the event stream (and each of its
   * reconnections) included: an API key (`sk_live_…`) or a JWT. A function is called for each request, so it may hand
   * out a refreshed JWT; what it throws reaches the caller as it is. It wins over an `authorization` in `headers`.
   * Leave it out when the host application authenticates the caller itself (its own session); anonymous callers get
   * only `health`, which tells them that the server is up.
   */
  readonly token?: StudioToken | undefined
  /** Headers sent with every request (a trace id, a tenant); put credentials in `token`. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /**
   * Retries of idempotent calls (GET, PUT, DELETE and routes marked idempotent) after a network failure, a 408 or a
   * 5xx, and after a 429 whose `Retry-After` is at most 5 seconds (waiting it out). A 429 that asks for longer, or says
   * nothing, is thrown at once as an `ApiRateLimitError`: the caller decides whether waiting is worth it. Calls that
   * are not idempotent are never retried. File uploads and downloads are not retried (a streamed body cannot be sent
   * twice; a download is a stream the caller reads).
   * @default 2
   */
  readonly retries?: number | undefined
  /**
   * Per-attempt timeout in milliseconds; `false` for none. File uploads and downloads take as long as their bytes do:
   * cancel them with their `signal`.
   * @default 30000
   */
  readonly timeout?: number | false | undefined
  /** Hooks around JSON calls (file uploads and downloads go by `fetch` itself: wrap `fetch` to see those). */
  readonly hooks?: StudioClientHooks | undefined
}

/** Options of every call. */
export interface CallOptions {
  /** Cancels the call. */
  readonly signal?: AbortSignal | undefined
}

/** One typed method per route: its input (params, query, headers, body) and its output, inferred from the contract. */
export type ClientMethod<R extends Api[RouteName]> =
  object extends RouteInput<R>
    ? (input?: RouteInput<R> & CallOptions) => Promise<RouteOutput<R>>
    : (input: RouteInput<R> & CallOptions) => Promise<RouteOutput<R>>

/**
 * The method of a route that streams Server-Sent Events (`executionEvents`): the run's events as an async iterable,
 * typed by their SSE event name. `query.after` resumes after an event id.
 */
export type StreamMethod<R extends Api[RouteName]> = (
  input: RouteInput<R> & CallOptions,
) => AsyncIterable<RunStreamEvent>

/**
 * A route whose request body is a file (`uploadArtifact`): its route input (`query`) and the file with its options
 * (`body`, `contentType`, `size`, `onProgress`).
 */
export type UploadMethod<R extends Api[RouteName]> = (
  input: Omit<RouteInput<R>, 'body'> & UploadOptions,
) => Promise<RouteOutput<R>>

/**
 * A route that answers a file's bytes (`downloadArtifact`): the `Response` itself, `200` with the whole file or
 * `206` with the range asked for in `headers.range`.
 */
export type DownloadMethod<R extends Api[RouteName]> = (input: RouteInput<R> & CallOptions) => Promise<Response>

/** Options of `StudioClient.streamExecutionEvents`. */
export interface StreamOptions extends CallOptions {
  /** Resume after this event id. */
  readonly after?: number | undefined
}

/**
 * A typed client for the Sparkle Studio HTTP API: one method per route of the contract (a {@link StreamMethod} for the
 * streaming route, a {@link ClientMethod} for the others), plus `streamExecutionEvents`.
 */
export type StudioClient = {
  readonly [K in RouteName]: Routes[K] extends { readonly stream: 'sse' }
    ? StreamMethod<Api[K]>
    : Routes[K] extends { readonly upload: true }
      ? UploadMethod<Api[K]>
      : Routes[K] extends { readonly download: true }
        ? DownloadMethod<Api[K]>
        : ClientMethod<Api[K]>
} & {
  /**
   * The live events of a run (status changes, runner events, log lines, then `end`) as an async iterable, reconnecting
   * with `Last-Event-ID` after a dropped connection, until the run ends (`end` event) or the signal aborts. Narrow on
   * `event` to get each message's `data` type; messages of an event name this client does not know are skipped.
   */
  streamExecutionEvents(id: string, options?: StreamOptions): AsyncIterable<RunStreamEvent>
}

type AnyInput = {
  readonly params?: Record<string, unknown>
  readonly query?: Record<string, unknown>
  readonly headers?: Record<string, string | undefined>
  readonly body?: unknown
  readonly signal?: AbortSignal | undefined
}

function definedHeaders(headers: AnyInput['headers']): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers ?? {})) if (v !== undefined) out[k] = v
  return out
}

/** `headers` with `Authorization: Bearer <token>` in place of any `authorization` (in any case) they had. */
function withBearer(headers: Readonly<Record<string, string>>, token: string | undefined): Record<string, string> {
  if (!token) return { ...headers }
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'authorization') out[k] = v
  out['authorization'] = `Bearer ${token}`
  return out
}

/** Retries a 429 only when the server asks for a short wait (ky then waits `Retry-After`); other errors as ky does. */
function retryShortRateLimit({ error }: { error: Error }): false | undefined {
  if (!(error instanceof HTTPError) || error.response.status !== 429) return undefined
  const wait = parseRetryAfter(error.response.headers.get('retry-after'))
  return wait !== undefined && wait <= MAX_RATE_LIMIT_WAIT_S ? undefined : false
}

function searchParams(query: Readonly<Record<string, unknown>> | undefined): URLSearchParams | undefined {
  if (!query) return undefined
  const out = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue
    out.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v))
  }
  return out
}

/**
 * Creates a client for a Sparkle Studio server. Works in browsers and Node (any `fetch`). Every method takes
 * `{ params, query, headers, body, signal }` as its route needs and returns the `data` of the success envelope;
 * failures throw an {@link ApiError} subclass with the server's `code`, the HTTP `status` and `details`.
 *
 * @example
 * ```ts
 * import { createStudioClient } from '@sparkle-studio/client'
 *
 * const client = createStudioClient({ baseUrl: 'http://localhost:3000', token: 'sk_live_…' })
 * const { document, blob } = await client.getPipeline({ params: { name: 'orders' } })
 * await client.savePipeline({ params: { name: 'orders' }, headers: { 'if-match': blob }, body: { document } })
 * const run = await client.run({ body: { pipeline: 'orders', params: { ds: '2026-11-01' } } })
 * for await (const event of client.streamExecutionEvents(run.id)) {
 *   if (event.event === 'status') console.log('now', event.data.payload.status)
 *   else if (event.event === 'end') console.log('ended', event.data.status)
 * }
 * ```
 */
export function createStudioClient(options: StudioClientOptions): StudioClient {
  const baseUrl = `${options.baseUrl.replace(/\/+$/, '')}${API_BASE_PATH}/`
  const fetchImpl: typeof globalThis.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const http: KyInstance = ky.create({
    prefix: baseUrl,
    fetch: fetchImpl,
    timeout: options.timeout ?? 30_000,
  })
  const retries = options.retries ?? 2
  const token = options.token
  const resolveToken = async (): Promise<string | undefined> => (typeof token === 'function' ? await token() : token)
  // One rule for calls and streams: the client's headers, the call's, then the token over any `authorization`.
  const headersOf = async (input: AnyInput): Promise<Record<string, string>> =>
    withBearer({ ...options.headers, ...definedHeaders(input.headers) }, await resolveToken())

  async function call(route: RouteName, input: AnyInput = {}): Promise<unknown> {
    const { method, path, idempotent } = routes[route]
    const hooks = options.hooks
    // Before the try on purpose: a failing token provider is the caller's own error, not one of the API.
    const headers = await headersOf(input)
    const search = searchParams(input.query)
    try {
      const response = await http(buildPath(path as string, input.params).replace(/^\//, ''), {
        method,
        headers,
        ...(search ? { searchParams: search } : {}),
        ...(input.body !== undefined ? { json: input.body } : {}),
        ...(input.signal ? { signal: input.signal } : {}),
        retry: idempotent
          ? {
              limit: retries,
              methods: [method.toLowerCase()],
              statusCodes: [408, 429, 500, 502, 503, 504],
              shouldRetry: retryShortRateLimit,
            }
          : 0,
        hooks: {
          beforeRequest: (hooks?.beforeRequest ?? []).map(
            (hook) => async (state) => (await hook({ request: state.request, route })) ?? undefined,
          ),
          afterResponse: (hooks?.afterResponse ?? []).map((hook) => async (state) => {
            await hook({ request: state.request, response: state.response, route })
          }),
        },
      })
      const body = (await response.json()) as { success?: boolean; data?: unknown }
      return body.data
    } catch (error) {
      if (error instanceof HTTPError) {
        const { status, headers: answered } = error.response
        throw toApiError(status, error.data, answered.get('x-request-id') ?? undefined, {
          retryAfter: answered.get('retry-after'),
        })
      }
      if (error instanceof ApiError) throw error
      const message =
        error instanceof TimeoutError ? 'the request timed out' : `no response: ${(error as Error).message}`
      throw new ApiNetworkError(0, 'INTERNAL', message, undefined, undefined, { cause: error })
    }
  }

  function stream(route: RouteName, input: AnyInput = {}): AsyncIterable<RunStreamEvent> {
    const after = input.query?.['after']
    return runStreamEvents(
      streamEvents({
        url: `${baseUrl}${buildPath(routes[route].path as string, input.params).replace(/^\//, '')}`,
        fetch: fetchImpl,
        headers: () => headersOf(input),
        after: after === undefined || after === null ? undefined : Number(after),
        signal: input.signal,
      }),
    )
  }

  /** The URL of a route with its params and query, and the headers of a call: what a file request needs. */
  async function fileRequest(route: RouteName, input: AnyInput) {
    const search = searchParams(input.query)?.toString()
    const path = buildPath(routes[route].path as string, input.params).replace(/^\//, '')
    return { url: `${baseUrl}${path}${search ? `?${search}` : ''}`, headers: await headersOf(input), fetch: fetchImpl }
  }

  const client: Record<string, unknown> = {}
  for (const route of ROUTE_NAMES) {
    const info: { readonly stream?: 'sse'; readonly upload?: true; readonly download?: true } = routes[route]
    client[route] = info.stream
      ? (input?: AnyInput) => stream(route, input)
      : info.upload
        ? async (input: AnyInput & UploadOptions) => uploadFile(await fileRequest(route, input), input)
        : info.download
          ? async (input: AnyInput) => downloadFile(await fileRequest(route, input), input.signal)
          : (input?: AnyInput) => call(route, input)
  }
  client['streamExecutionEvents'] = (id: string, opts: StreamOptions = {}) =>
    stream('executionEvents', { params: { id }, query: { after: opts.after }, signal: opts.signal })
  return client as StudioClient
}
