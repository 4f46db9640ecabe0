import { type ErrorCode, errorStatus, StudioError } from '@sparkle-studio/core/routes'

/**
 * An error answered by the API (rebuilt from its `{ success: false, error }` envelope) or met on the way to it.
 * Subclasses name the common cases; `code`, `status` and `details` are always there.
 *
 * @example
 * ```ts
 * import { ApiConflictError, createStudioClient } from '@sparkle-studio/client'
 *
 * const client = createStudioClient({ baseUrl: 'http://localhost:3000' })
 * try {
 *   await client.savePipeline({ params: { name: 'orders' }, headers: { 'if-match': blob }, body: { document } })
 * } catch (error) {
 *   if (error instanceof ApiConflictError) console.log('someone saved first', error.details)
 * }
 * ```
 */
export class ApiError extends StudioError {
  override name = 'ApiError'
  /** The HTTP status, or 0 when no response arrived (network failure, timeout, abort). */
  readonly status: number
  /** The server's request id, to quote in bug reports. */
  readonly requestId: string | undefined

  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    details?: unknown,
    requestId?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, details, options)
    this.status = status
    this.requestId = requestId
  }
}

/**
 * The request was invalid as sent (`VALIDATION_FAILED`, `BAD_REQUEST`, `PAYLOAD_TOO_LARGE`, `HEADERS_TOO_LARGE`,
 * `SECRET_IN_PLAINTEXT`, `UNSUPPORTED_MEDIA_TYPE`, `METHOD_NOT_ALLOWED`); `details.issues` lists the problems when there
 * are several.
 */
export class ApiValidationError extends ApiError {
  override name = 'ApiValidationError'
}
/** The thing asked for does not exist (`NOT_FOUND`). */
export class ApiNotFoundError extends ApiError {
  override name = 'ApiNotFoundError'
}
/**
 * A lost update was prevented, or the state does not allow it: `CONFLICT` (409: the version you sent is stale),
 * `PRECONDITION_REQUIRED` (428: a save or delete of an existing pipeline without the version you read; send
 * `headers: { 'if-match': blob }`, or `query: { force: true }` to overwrite), and the git conflicts
 * (`GIT_MERGE_CONFLICT`, `GIT_REMOTE_REJECTED`, `GIT_NO_REMOTE`).
 */
export class ApiConflictError extends ApiError {
  override name = 'ApiConflictError'
}
/**
 * Missing, invalid or insufficient credentials (`UNAUTHORIZED`, `FORBIDDEN`), or a request the server refuses for
 * where it was sent: a `Host` it does not serve (`MISDIRECTED_REQUEST`, against DNS rebinding).
 */
export class ApiAuthError extends ApiError {
  override name = 'ApiAuthError'
}
/** No response arrived: network failure, timeout or abort (`status` 0). */
export class ApiNetworkError extends ApiError {
  override name = 'ApiNetworkError'
}

/**
 * The caller spent its request budget (`RATE_LIMITED`, 429). `retryAfterS` is how many seconds the server asks to
 * wait (from `Retry-After`), when it said. The client retries a 429 by itself only for an idempotent call and a wait of
 * at most 5 seconds; otherwise it is yours to handle.
 *
 * @example
 * ```ts
 * import { ApiRateLimitError, createStudioClient } from '@sparkle-studio/client'
 *
 * const client = createStudioClient({ baseUrl: 'http://localhost:3000', token: 'sk_live_…' })
 * try {
 *   await client.run({ body: { pipeline: 'orders' } })
 * } catch (error) {
 *   if (error instanceof ApiRateLimitError) console.log(`try again in ${error.retryAfterS ?? 60} s`)
 * }
 * ```
 */
export class ApiRateLimitError extends ApiError {
  override name = 'ApiRateLimitError'
  /** Seconds to wait before calling again, as the server said (`Retry-After`); undefined when it did not. */
  readonly retryAfterS: number | undefined

  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    details?: unknown,
    requestId?: string,
    options?: { cause?: unknown; retryAfterS?: number | undefined },
  ) {
    super(status, code, message, details, requestId, options)
    this.retryAfterS = options?.retryAfterS
  }
}

/**
 * The seconds a `Retry-After` header asks to wait: delay-seconds (`120`) or an HTTP date, counted from `now`
 * (milliseconds since the epoch). Undefined for a missing or malformed value; never negative.
 *
 * @example
 * ```ts
 * import { parseRetryAfter } from '@sparkle-studio/client'
 *
 * parseRetryAfter('3') // 3
 * parseRetryAfter('Wed, 21 Oct 2026 07:28:00 GMT', Date.parse('2026-10-21T07:27:30Z')) // 30
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text)
  // Only a date with a weekday and a zone is an HTTP date; `Date.parse` accepts far more.
  const at = /^[A-Z][a-z]{2},? .* GMT$/.test(text) ? Date.parse(text) : Number.NaN
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000))
}

/** What {@link toApiError} may read besides the status and body. */
export interface ToApiErrorOptions {
  /** The `Retry-After` header of the response (for a 429). */
  readonly retryAfter?: string | null | undefined
}

/** True when `error` is an {@link ApiError}, also across realms and package copies. */
export function isApiError(error: unknown): error is ApiError {
  return (
    error instanceof ApiError ||
    (typeof error === 'object' &&
      error !== null &&
      typeof (error as { status?: unknown }).status === 'number' &&
      typeof (error as { code?: unknown }).code === 'string' &&
      String((error as { name?: unknown }).name).startsWith('Api'))
  )
}

// The code of an answer without an error envelope (a proxy's, a load balancer's), for the statuses that say enough.
const CODE_OF_STATUS: Readonly<Record<number, ErrorCode>> = {
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  428: 'PRECONDITION_REQUIRED',
  429: 'RATE_LIMITED',
  416: 'RANGE_NOT_SATISFIABLE',
  431: 'HEADERS_TOO_LARGE',
}

/**
 * Builds the right {@link ApiError} subclass for an HTTP status and error body (and, for a 429, the `Retry-After`
 * header: an {@link ApiRateLimitError} with `retryAfterS`).
 */
export function toApiError(status: number, body: unknown, requestId?: string, options?: ToApiErrorOptions): ApiError {
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error
  const code: ErrorCode =
    typeof e?.code === 'string' && e.code in errorStatus
      ? (e.code as ErrorCode)
      : (CODE_OF_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST'))
  const message = typeof e?.message === 'string' ? e.message : `HTTP ${status} without an error envelope`
  if (code === 'RATE_LIMITED') {
    const fromBody = (e?.details as { retryAfterS?: unknown } | undefined)?.retryAfterS
    const retryAfterS =
      parseRetryAfter(options?.retryAfter) ?? (typeof fromBody === 'number' && fromBody >= 0 ? fromBody : undefined)
    return new ApiRateLimitError(status, code, message, e?.details, requestId, { retryAfterS })
  }
  const Class =
    code === 'VALIDATION_FAILED' ||
    code === 'BAD_REQUEST' ||
    code === 'SECRET_IN_PLAINTEXT' ||
    code === 'PAYLOAD_TOO_LARGE' ||
    code === 'UNSUPPORTED_MEDIA_TYPE' ||
    code === 'METHOD_NOT_ALLOWED' ||
    code === 'RANGE_NOT_SATISFIABLE' ||
    code === 'HEADERS_TOO_LARGE'
      ? ApiValidationError
      : code === 'NOT_FOUND'
        ? ApiNotFoundError
        : code === 'CONFLICT' ||
            code === 'PRECONDITION_REQUIRED' ||
            code === 'GIT_MERGE_CONFLICT' ||
            code === 'GIT_REMOTE_REJECTED' ||
            code === 'GIT_NO_REMOTE'
          ? ApiConflictError
          : code === 'UNAUTHORIZED' || code === 'FORBIDDEN' || code === 'MISDIRECTED_REQUEST'
            ? ApiAuthError
            : ApiError
  return new Class(status, code, message, e?.details, requestId)
}
