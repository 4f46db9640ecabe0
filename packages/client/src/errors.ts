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

/** The request was invalid (`VALIDATION_FAILED`, `BAD_REQUEST`); `details.issues` lists the problems. */
export class ApiValidationError extends ApiError {
  override name = 'ApiValidationError'
}
/** The thing asked for does not exist (`NOT_FOUND`). */
export class ApiNotFoundError extends ApiError {
  override name = 'ApiNotFoundError'
}
/** A lost update was prevented, or the state does not allow it (`CONFLICT`, 409). */
export class ApiConflictError extends ApiError {
  override name = 'ApiConflictError'
}
/** Missing or insufficient credentials (`UNAUTHORIZED`, `FORBIDDEN`). */
export class ApiAuthError extends ApiError {
  override name = 'ApiAuthError'
}
/** No response arrived: network failure, timeout or abort (`status` 0). */
export class ApiNetworkError extends ApiError {
  override name = 'ApiNetworkError'
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

/** Builds the right {@link ApiError} subclass for an HTTP status and error body. */
export function toApiError(status: number, body: unknown, requestId?: string): ApiError {
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error
  const code: ErrorCode =
    typeof e?.code === 'string' && e.code in errorStatus
      ? (e.code as ErrorCode)
      : status >= 500
        ? 'INTERNAL'
        : 'BAD_REQUEST'
  const message = typeof e?.message === 'string' ? e.message : `HTTP ${status} without an error envelope`
  const Class =
    code === 'VALIDATION_FAILED' ||
    code === 'BAD_REQUEST' ||
    code === 'SECRET_IN_PLAINTEXT' ||
    code === 'PAYLOAD_TOO_LARGE'
      ? ApiValidationError
      : code === 'NOT_FOUND'
        ? ApiNotFoundError
        : code === 'CONFLICT' || code === 'GIT_MERGE_CONFLICT' || code === 'GIT_REMOTE_REJECTED'
          ? ApiConflictError
          : code === 'UNAUTHORIZED' || code === 'FORBIDDEN'
            ? ApiAuthError
            : ApiError
  return new Class(status, code, message, e?.details, requestId)
}
