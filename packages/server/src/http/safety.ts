// Request safety: Host allowlist, Origin check, content types, rate limits, caps on streams and previews, request
// time limit, security headers. One instance per mount; the handler calls it at fixed points of each request.
import { createHash } from 'node:crypto'
import { isIPv6 } from 'node:net'
import { StudioError } from '@sparkle-studio/core'
import type { AnyRoute } from '@sparkle-studio/core/contract'
import helmet from 'helmet'
import pg from 'pg'
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible'
import { createLogger, type Logger } from '../logger.ts'
import type { Principal } from '../principal.ts'
import type { HandlerOptions, StudioRequest } from './handler.ts'

/** The defaults of {@link SafetyOptions}, in one place (the environment configuration reads them too). */
export const SAFETY_DEFAULTS = Object.freeze({
  requests: 600,
  windowS: 60,
  maxStreams: 1000,
  /** Each open stream polls the run store 4 times a second; the embedded database, in-process, takes ~100. */
  maxStreamsEmbedded: 100,
  maxStreamsPerCaller: 20,
  maxPreviewsPerCaller: 2,
  requestTimeoutMs: 120_000,
  tableName: 'sparkle_rate_limits',
})

/** Where rate-limit counts live when several server processes must share them. */
export interface PostgresRateLimitStore {
  /** The PostgreSQL server and database; the limiter opens its own small pool on it. */
  readonly postgresUrl: string
  /**
   * The table of counts, created (if missing) by rate-limiter-flexible on first use.
   * @default 'sparkle_rate_limits'
   */
  readonly tableName?: string | undefined
  /**
   * Connections of the pool the limiter opens.
   * @default 4
   */
  readonly poolSize?: number | undefined
  /**
   * How long a request waits for the store before the process's own count answers instead.
   * @default 2000
   */
  readonly timeoutMs?: number | undefined
}

/** How many requests a caller may make per window (a fixed window that starts with the caller's first request). */
export interface RateLimitOptions {
  /**
   * Requests one authenticated caller (by principal id) may make per window.
   * @default 600
   */
  readonly requests?: number | undefined
  /**
   * The window, in seconds.
   * @default 60
   */
  readonly windowS?: number | undefined
  /**
   * Requests per window from one client address when the caller is anonymous (IPv6 addresses count per /64).
   * Behind a reverse proxy every anonymous caller has the proxy's address unless the adapter is told the client's
   * (Express with `trust proxy`, or the fetch adapter's `remoteAddress`).
   * @default one fifth of `requests` (120)
   */
  readonly anonymousRequests?: number | undefined
  /**
   * Where the counts live: this process's memory, or a PostgreSQL table that every server process on the database
   * shares. If PostgreSQL cannot be reached, each process falls back to counting in its own memory (the library's
   * `insuranceLimiter`) and logs a warning: requests keep being served and limited, but N processes then allow up
   * to N times the limit until the database is back. Failing closed would turn a database outage into an API
   * outage; failing fully open would drop the limit altogether.
   * @default 'memory'
   */
  readonly store?: 'memory' | PostgresRateLimitStore | undefined
}

/** The safety settings of an HTTP mount. */
export interface SafetyOptions {
  /**
   * `Host` header values accepted besides `localhost`, `127.0.0.1` and `[::1]` (which are always accepted, on any
   * port): a name accepts any port (`example.com`), `name:port` only that port (`example.com:8443`), a leading dot
   * the name and its subdomains (`.example.com`). Other hosts get `MISDIRECTED_REQUEST` (421): this stops DNS
   * rebinding, where a page on an attacker's name that resolves to this server calls the API same-origin.
   * `'*'` accepts any host: UNSAFE unless a proxy in front checks the host.
   * @default [] (loopback names only)
   */
  readonly allowedHosts?: readonly string[] | undefined
  /**
   * Requests per caller per window, or `false` for no limit. Answers carry `RateLimit-Limit`,
   * `RateLimit-Remaining`, `RateLimit-Reset` (seconds) and `RateLimit-Policy`; past the limit, `RATE_LIMITED` (429)
   * with `Retry-After`.
   * @default { requests: 600, windowS: 60, anonymousRequests: 120, store: 'memory' }
   */
  readonly rateLimit?: false | RateLimitOptions | undefined
  /**
   * Event streams open at once on this mount, all callers together; past it, `RATE_LIMITED` (429).
   * `Infinity` for no cap. Each open stream polls the run store four times a second: the embedded database runs
   * in the server's process and slows every request past about 100 (bench/src/sse-load.bench.ts).
   * @default 1000 with PostgreSQL, 100 with the embedded database
   */
  readonly maxStreams?: number | undefined
  /**
   * Event streams one caller may hold open at once; past it, `RATE_LIMITED` (429).
   * @default 20
   */
  readonly maxStreamsPerCaller?: number | undefined
  /**
   * Previews (dry runs) one caller may have running at once; past it, `RATE_LIMITED` (429).
   * @default 2
   */
  readonly maxPreviewsPerCaller?: number | undefined
  /**
   * The longest a non-streaming request may take, in milliseconds, before it fails with `JOB_TIMEOUT`; `false`
   * for no limit. Long enough for the preview of a big pipeline (runs are asynchronous and never wait).
   * @default 120_000
   */
  readonly requestTimeoutMs?: number | false | undefined
  /**
   * Sends `Strict-Transport-Security: max-age=31536000; includeSubDomains`: only when the API is served over HTTPS
   * (on plain HTTP, browsers ignore it; on a shared domain it pins every subdomain to HTTPS for a year).
   * @default false
   */
  readonly hsts?: boolean | undefined
}

/** What the safety layer may use from its mount. */
export interface SafetyContext {
  /** Where problems with the rate-limit store are logged. @default a logger on stderr */
  readonly log?: Logger | undefined
  /** The studio's run store, which sets the default of `maxStreams`. @default 'postgres' */
  readonly databaseDialect?: 'postgres' | 'pglite' | undefined
}

/** What the handler asks of the safety layer for each request. */
export interface RequestSafety {
  /** Headers every answer carries. */
  readonly headers: Readonly<Record<string, string>>
  /** @throws `MISDIRECTED_REQUEST` for a `Host` that is not allowed. */
  checkHost(request: StudioRequest): void
  /** @throws `FORBIDDEN` for a mutating request from a browser origin that is not allowed. */
  checkOrigin(request: StudioRequest, route: AnyRoute): void
  /** @throws `UNSUPPORTED_MEDIA_TYPE` for a mutating request with a body that is not JSON. */
  checkContentType(request: StudioRequest, route: AnyRoute): void
  /**
   * Takes one request from the caller's budget (the principal's, or the client address's when anonymous).
   * @returns the `RateLimit-*` headers to send.
   * @throws `RATE_LIMITED` (details: `retryAfterS`, `limit`, `remaining`, `resetS`) when the budget is spent.
   */
  rateLimit(request: StudioRequest, principal: Principal | null): Promise<Record<string, string>>
  /**
   * The headers an error answer adds: `RateLimit-*` for a `RATE_LIMITED` error of the rate limit (the handler
   * sets `Retry-After` itself); none for other errors.
   */
  errorHeaders(error: unknown): Record<string, string>
  /**
   * Reserves one of the caller's slots for an event stream or a preview.
   * @returns the release function (calling it more than once releases once).
   * @throws `RATE_LIMITED` (details: `retryAfterS` of 1 to 5) when no slot is free.
   */
  reserve(kind: 'stream' | 'preview', principal: Principal): () => void
  /** The longest a (non-streaming) request may take, in milliseconds. */
  readonly requestTimeoutMs: number | undefined
  /** Releases what the limiter holds (the PostgreSQL pool it opened). */
  close(): Promise<void>
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]']
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/
/** The content types a file upload may be sent with. */
const UPLOAD_TYPES = new Set([
  'multipart/form-data',
  'application/octet-stream',
  'text/csv',
  'application/csv',
  'text/plain',
  'application/vnd.ms-excel',
  'application/jsonl',
  'application/x-ndjson',
  'application/x-jsonlines',
  'application/json',
  'application/vnd.apache.parquet',
  'application/x-parquet',
])
const HOST_SYNTAX = /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(\d{1,5}))?$/

/** A header value safe to quote in a message: at most 100 characters, control characters dropped. */
function quote(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, '')
  return JSON.stringify(clean.length > 100 ? `${clean.slice(0, 100)}…` : clean)
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback
  if (!(n === Number.POSITIVE_INFINITY || (Number.isInteger(n) && n > 0))) {
    throw new StudioError('BAD_REQUEST', `Invalid safety option ${name}: ${n} (a positive integer, or Infinity)`)
  }
  return n
}

/** A `Host` value split into its lower-case name and its port, or `undefined` when it is not a host. */
function parseHost(value: string): { readonly name: string; readonly port: string | undefined } | undefined {
  const m = HOST_SYNTAX.exec(value.trim().toLowerCase())
  return m?.[1] ? { name: m[1], port: m[2] } : undefined
}

/** The host check: `undefined` accepts any host. */
function hostMatcher(allowed: readonly string[]): ((host: string) => boolean) | undefined {
  if (allowed.includes('*')) return undefined
  const rules = [...LOOPBACK_HOSTS, ...allowed].map((entry) => {
    const suffix = entry.startsWith('.')
    const parsed = parseHost(suffix ? entry.slice(1) : entry)
    if (!parsed) throw new StudioError('BAD_REQUEST', `Invalid safety option allowedHosts: ${quote(entry)}`)
    return { ...parsed, suffix }
  })
  return (host) => {
    const h = parseHost(host)
    if (!h) return false
    return rules.some(
      (r) =>
        (h.name === r.name || (r.suffix && h.name.endsWith(`.${r.name}`))) &&
        (r.port === undefined || r.port === h.port),
    )
  }
}

/** True when a browser `Origin` is the origin the request was sent to (scheme defaults for the port). */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  const h = parseHost(host)
  if (!h || (url.protocol !== 'http:' && url.protocol !== 'https:')) return false
  const defaultPort = url.protocol === 'https:' ? '443' : '80'
  return url.hostname.toLowerCase() === h.name && (url.port || defaultPort) === (h.port ?? defaultPort)
}

/** The key of an anonymous caller: its address, IPv4-mapped IPv6 unwrapped, IPv6 by its /64 network. */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown'
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped?.[1]) return mapped[1]
  if (!isIPv6(address)) return address
  const [head = '', tail = ''] = address.toLowerCase().split('::')
  const left = head ? head.split(':') : []
  const right = address.includes('::') && tail ? tail.split(':') : []
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}

/** Principal ids as store keys: long ones hashed (the PostgreSQL table keys are at most 255 characters). */
function callerKey(id: string): string {
  return id.length <= 200 ? id : createHash('sha256').update(id).digest('hex')
}

/** Security headers of the API's answers, computed once by running helmet against a response that records them. */
function securityHeaders(hsts: boolean): Record<string, string> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value)
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()]
    },
  }
  // helmet is connect middleware: it only calls setHeader and removeHeader on the response.
  const middleware = helmet({
    // JSON and event streams: nothing to load, nothing to frame.
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: hsts ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    xFrameOptions: { action: 'deny' },
  }) as unknown as (req: unknown, res: typeof recorder, next: (error?: unknown) => void) => void
  middleware({}, recorder, (error) => {
    if (error) throw error
  })
  // Answers carry data a shared cache must not keep (the event stream sets its own cache-control).
  headers['cache-control'] = 'no-store'
  return headers
}

/** The subset of a rate limiter used here. */
interface Limiter {
  consume(key: string): Promise<RateLimiterRes>
}

/** A rate limiter of one kind of caller, with what its headers say. */
interface Budget {
  readonly limiter: Limiter
  readonly limit: number
  readonly windowS: number
  readonly who: string
}

function rateLimitHeaders(limit: number, windowS: number, res: RateLimiterRes): Record<string, string> {
  return {
    'ratelimit-limit': String(limit),
    'ratelimit-remaining': String(Math.max(0, res.remainingPoints)),
    'ratelimit-reset': String(Math.max(0, Math.ceil(res.msBeforeNext / 1000))),
    'ratelimit-policy': `${limit};w=${windowS}`,
  }
}

/** The details of a `RATE_LIMITED` error of the rate limit (not of the caps). */
interface RateLimitDetails {
  readonly retryAfterS: number
  readonly limit: number
  readonly remaining: number
  readonly resetS: number
  readonly windowS: number
}

/**
 * The memory limiter that stands in for the PostgreSQL store (rate-limiter-flexible's `insuranceLimiter`): the store
 * limiter calls `consume` when its query failed, which is reported; `consumeHere` counts while the store is known
 * to be down, without trying it.
 */
class InsuranceLimiter extends RateLimiterMemory {
  readonly #onStoreFailure: () => void
  constructor(options: ConstructorParameters<typeof RateLimiterMemory>[0], onStoreFailure: () => void) {
    super(options)
    this.#onStoreFailure = onStoreFailure
  }

  override consume(key: string | number, points?: number, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    this.#onStoreFailure()
    return super.consume(key, points, options)
  }

  consumeHere(key: string): Promise<RateLimiterRes> {
    return super.consume(key)
  }
}

interface RateLimiting {
  readonly caller: Budget
  readonly address: Budget
  /** Resolves once the store can be used, or was found unusable (its insurance then stands in). */
  ready(): Promise<void>
  close(): Promise<void>
}

const STORE_RETRY_MS = 5_000
const TABLE_RETRY_MS = 30_000

function createRateLimiting(options: RateLimitOptions, log: Logger): RateLimiting {
  const requests = positive('rateLimit.requests', options.requests, SAFETY_DEFAULTS.requests)
  const windowS = positive('rateLimit.windowS', options.windowS, SAFETY_DEFAULTS.windowS)
  const anonymous = positive(
    'rateLimit.anonymousRequests',
    options.anonymousRequests,
    Math.max(1, Math.round(requests / 5)),
  )
  const store = options.store ?? 'memory'
  if (store === 'memory') {
    const memory = (points: number, keyPrefix: string) =>
      new RateLimiterMemory({ points, duration: windowS, keyPrefix })
    return {
      caller: { limiter: memory(requests, 'sparkle-caller'), limit: requests, windowS, who: 'caller' },
      address: { limiter: memory(anonymous, 'sparkle-address'), limit: anonymous, windowS, who: 'client address' },
      ready: async () => {},
      close: async () => {},
    }
  }
  const tableName = store.tableName ?? SAFETY_DEFAULTS.tableName
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(tableName)) {
    throw new StudioError('BAD_REQUEST', `Invalid safety option rateLimit.store.tableName: ${quote(tableName)}`)
  }
  const pool = new pg.Pool({
    connectionString: store.postgresUrl,
    max: positive('rateLimit.store.poolSize', store.poolSize, 4),
    // A slow or unreachable database must not hold requests: past the timeout the insurance limiter answers.
    connectionTimeoutMillis: positive('rateLimit.store.timeoutMs', store.timeoutMs, 2_000),
    query_timeout: positive('rateLimit.store.timeoutMs', store.timeoutMs, 2_000),
    idleTimeoutMillis: 10_000,
    allowExitOnIdle: true,
  })
  pool.on('error', (error) => log.warn('rate-limit store connection failed', { error: error.message }))
  let created = false
  let downUntil = 0
  let warnedAt = 0
  const storeFailed = () => {
    const now = Date.now()
    // While the store is down, count in memory without waiting for it on every request; try it again later.
    downUntil = now + STORE_RETRY_MS
    if (now - warnedAt > 60_000) {
      warnedAt = now
      log.warn('rate-limit store unavailable: counting in this process only', { table: tableName })
    }
  }
  const budget = (points: number, keyPrefix: string, who: string) => {
    const insurance = new InsuranceLimiter({ points, duration: windowS, keyPrefix }, storeFailed)
    let postgres: RateLimiterPostgres | undefined
    const open = (tableCreated: boolean) =>
      new Promise<void>((resolve) => {
        postgres = new RateLimiterPostgres(
          {
            storeClient: pool,
            storeType: 'pool',
            tableName,
            tableCreated,
            keyPrefix,
            points,
            duration: windowS,
            // Once a key is over its limit, this process refuses it without asking the database until the window ends.
            inMemoryBlockOnConsumed: points + 1,
            insuranceLimiter: insurance,
          },
          (error?: unknown) => {
            if (error) log.warn('rate-limit table not ready', { table: tableName, error: String(error) })
            else created = true
            resolve()
          },
        )
      })
    const limiter: Limiter = {
      consume: (key) => (postgres && Date.now() >= downUntil ? postgres.consume(key) : insurance.consumeHere(key)),
    }
    return { budget: { limiter, limit: points, windowS, who }, open }
  }
  const caller = budget(requests, 'sparkle-caller', 'caller')
  const address = budget(anonymous, 'sparkle-address', 'client address')
  let opening: Promise<void> | undefined
  let retryAt = 0
  const open = async () => {
    // One after the other: two concurrent CREATE TABLE IF NOT EXISTS can collide in PostgreSQL's catalog, also
    // between two processes starting together; the loser finds the table there on its next try.
    for (let attempt = 0; attempt < 5 && !created; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 100 * 2 ** attempt))
      await caller.open(false)
    }
    await address.open(created)
  }
  return {
    caller: caller.budget,
    address: address.budget,
    ready() {
      // Until the table exists the insurance counts; a failed start is tried again every 30 s.
      if (!opening || (!created && Date.now() >= retryAt)) {
        retryAt = Date.now() + TABLE_RETRY_MS
        opening = open()
      }
      return opening
    },
    async close() {
      await opening
      await pool.end()
    },
  }
}

/** A `RATE_LIMITED` error of a cap, with a jittered retry (1 to 5 s) so refused clients do not come back at once. */
function capReached(what: string, limit: number): StudioError {
  const retryAfterS = 1 + Math.floor(Math.random() * 5)
  return new StudioError(
    'RATE_LIMITED',
    `Too many ${what}: the limit is ${limit}; close one or retry after ${retryAfterS} s`,
    { retryAfterS, limit },
  )
}

/** Open slots per principal id, released exactly once each. */
function slots() {
  const held = new Map<string, number>()
  return {
    count: (id: string) => held.get(id) ?? 0,
    take(id: string): () => void {
      held.set(id, (held.get(id) ?? 0) + 1)
      let released = false
      return () => {
        if (released) return
        released = true
        const n = (held.get(id) ?? 1) - 1
        if (n <= 0) held.delete(id)
        else held.set(id, n)
      }
    },
  }
}

/**
 * The safety layer of one mount: what every request passes before its use case runs.
 * @param options the mount's options (`corsOrigins` is the handler's).
 * @param context where it logs, and which database the studio's runs are in.
 * @throws `BAD_REQUEST` for an invalid option.
 */
export function createRequestSafety(
  options: SafetyOptions & Pick<HandlerOptions, 'corsOrigins'> = {},
  context: SafetyContext = {},
): RequestSafety {
  const log = context.log ?? createLogger()
  const hostAllowed = hostMatcher(options.allowedHosts ?? [])
  const corsOrigins = options.corsOrigins ?? []
  const maxStreams = positive(
    'maxStreams',
    options.maxStreams,
    context.databaseDialect === 'pglite' ? SAFETY_DEFAULTS.maxStreamsEmbedded : SAFETY_DEFAULTS.maxStreams,
  )
  const maxStreamsPerCaller = positive(
    'maxStreamsPerCaller',
    options.maxStreamsPerCaller,
    SAFETY_DEFAULTS.maxStreamsPerCaller,
  )
  const maxPreviewsPerCaller = positive(
    'maxPreviewsPerCaller',
    options.maxPreviewsPerCaller,
    SAFETY_DEFAULTS.maxPreviewsPerCaller,
  )
  const timeout = options.requestTimeoutMs ?? SAFETY_DEFAULTS.requestTimeoutMs
  const limits = options.rateLimit === false ? undefined : createRateLimiting(options.rateLimit ?? {}, log)
  const streams = slots()
  const previews = slots()
  let openStreams = 0
  const rateLimited = new WeakMap<object, RateLimitDetails>()

  return {
    headers: Object.freeze(securityHeaders(options.hsts === true)),

    checkHost(request) {
      if (!hostAllowed) return
      const host = request.header('host') ?? request.header(':authority')
      if (host && hostAllowed(host)) return
      throw new StudioError(
        'MISDIRECTED_REQUEST',
        host
          ? `The host ${quote(host)} is not served here: this server answers for localhost, 127.0.0.1, [::1] and the names in its allowedHosts option (a guard against DNS rebinding)`
          : 'The request has no Host header: this server answers only for localhost, 127.0.0.1, [::1] and the names in its allowedHosts option',
      )
    },

    checkOrigin(request) {
      if (SAFE_METHODS.has(request.method.toUpperCase())) return
      const origin = request.header('origin')
      // Requests without an Origin do not come from a browser's cross-site page: browsers send it on every
      // request that is not GET or HEAD.
      if (origin === undefined) return
      if (corsOrigins.includes('*') || corsOrigins.includes(origin)) return
      if (sameOrigin(origin, request.header('host') ?? request.header(':authority'))) return
      throw new StudioError(
        'FORBIDDEN',
        corsOrigins.length > 0
          ? `The origin ${quote(origin)} may not change anything here: it is not in this server's corsOrigins`
          : `A cross-site request from ${quote(origin)} may not change anything here (allow the origin with corsOrigins)`,
      )
    },

    checkContentType(request, route) {
      if (SAFE_METHODS.has(request.method.toUpperCase())) return
      const raw = request.header('content-type')
      const type = (raw ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
      if (route.upload) {
        // A file upload: the file's own content type (checked against the bytes as they stream), or a form. Cross-site
        // pages are held off by the Origin check, which runs before this one.
        if (!type || UPLOAD_TYPES.has(type)) return
        throw new StudioError(
          'UNSUPPORTED_MEDIA_TYPE',
          `Send the file with its content type (${[...UPLOAD_TYPES].join(', ')}) or none, not ${quote(type)}`,
        )
      }
      const length = request.header('content-length')
      const hasBody =
        (length !== undefined && length.trim() !== '0') || (request.header('transfer-encoding') ?? '') !== ''
      // Any content type but JSON is refused, body or not: forms and text/plain are what another site's page can
      // send without a preflight. Without a content type, only a route that reads no body may carry one.
      if (type ? JSON_TYPE.test(type) : !(hasBody && route.body)) return
      throw new StudioError(
        'UNSUPPORTED_MEDIA_TYPE',
        type
          ? `Send the body as JSON with content-type application/json (got ${quote(type)})`
          : 'Send the body as JSON with content-type application/json (the request has a body and no content type)',
        { allowed: ['application/json', 'application/*+json'] },
      )
    },

    async rateLimit(request, principal) {
      if (!limits) return {}
      await limits.ready()
      const budget = principal ? limits.caller : limits.address
      const key = principal ? callerKey(principal.id) : addressKey(request.remoteAddress)
      try {
        const res = await budget.limiter.consume(key)
        return rateLimitHeaders(budget.limit, budget.windowS, res)
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) {
          // Only reached if the insurance limiter itself failed: serve rather than refuse everyone.
          log.error('rate limit not checked', { error: String(rejection) })
          return {}
        }
        const resetS = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000))
        const details: RateLimitDetails = {
          retryAfterS: resetS,
          limit: budget.limit,
          remaining: 0,
          resetS,
          windowS: budget.windowS,
        }
        const error = new StudioError(
          'RATE_LIMITED',
          `Too many requests: ${budget.limit} per ${budget.windowS} s per ${budget.who}; retry after ${resetS} s`,
          details,
        )
        rateLimited.set(error, details)
        throw error
      }
    },

    errorHeaders(error) {
      const details = typeof error === 'object' && error !== null ? rateLimited.get(error) : undefined
      if (!details) return {}
      return {
        'ratelimit-limit': String(details.limit),
        'ratelimit-remaining': '0',
        'ratelimit-reset': String(details.resetS),
        'ratelimit-policy': `${details.limit};w=${details.windowS}`,
      }
    },

    reserve(kind, principal) {
      if (kind === 'stream') {
        if (openStreams >= maxStreams) throw capReached('event streams open on this server', maxStreams)
        if (streams.count(principal.id) >= maxStreamsPerCaller) {
          throw capReached('event streams open for this caller', maxStreamsPerCaller)
        }
        const release = streams.take(principal.id)
        openStreams++
        let released = false
        return () => {
          if (released) return
          released = true
          openStreams--
          release()
        }
      }
      if (previews.count(principal.id) >= maxPreviewsPerCaller) {
        throw capReached('previews running for this caller', maxPreviewsPerCaller)
      }
      return previews.take(principal.id)
    },

    requestTimeoutMs: timeout === false || timeout === 0 ? undefined : positive('requestTimeoutMs', timeout, 1),

    close: async () => {
      await limits?.close()
    },
  }
}
