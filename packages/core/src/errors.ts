/**
 * Every error code the SDK raises. Codes are stable strings: match on them, not on messages.
 *
 * @example
 * ```ts
 * import { isStudioError } from '@sparkle-studio/core'
 *
 * try { await store.save('orders', doc, { expected }) } catch (e) {
 *   if (isStudioError(e) && e.code === 'CONFLICT') console.log('someone saved first')
 * }
 * ```
 */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'METHOD_NOT_ALLOWED'
  | 'RANGE_NOT_SATISFIABLE'
  | 'PRECONDITION_REQUIRED'
  | 'HEADERS_TOO_LARGE'
  | 'MISDIRECTED_REQUEST'
  | 'RATE_LIMITED'
  | 'LIMIT_EXCEEDED'
  | 'SPARK_UNAVAILABLE'
  | 'SPARK_JOB_FAILED'
  | 'SPARK_CONNECT_FAILED'
  | 'SPARK_SESSION_CHANGED'
  | 'JOB_TIMEOUT'
  | 'JOB_CANCELLED'
  | 'DATABASE_UNAVAILABLE'
  | 'GIT_FAILED'
  | 'GIT_REMOTE_REJECTED'
  | 'GIT_MERGE_CONFLICT'
  | 'GIT_NO_REMOTE'
  | 'PROVIDER_FAILED'
  | 'SECRET_IN_PLAINTEXT'
  | 'INTERNAL'

/** The HTTP status that each error code maps to, used by servers and by the client to rebuild errors. */
export const errorStatus: Readonly<Record<ErrorCode, number>> = Object.freeze({
  VALIDATION_FAILED: 422,
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  METHOD_NOT_ALLOWED: 405,
  RANGE_NOT_SATISFIABLE: 416,
  PRECONDITION_REQUIRED: 428,
  HEADERS_TOO_LARGE: 431,
  MISDIRECTED_REQUEST: 421,
  RATE_LIMITED: 429,
  LIMIT_EXCEEDED: 422,
  SPARK_UNAVAILABLE: 503,
  SPARK_JOB_FAILED: 502,
  SPARK_CONNECT_FAILED: 502,
  SPARK_SESSION_CHANGED: 409,
  JOB_TIMEOUT: 504,
  JOB_CANCELLED: 409,
  DATABASE_UNAVAILABLE: 503,
  GIT_FAILED: 500,
  GIT_REMOTE_REJECTED: 409,
  GIT_MERGE_CONFLICT: 409,
  GIT_NO_REMOTE: 409,
  PROVIDER_FAILED: 502,
  SECRET_IN_PLAINTEXT: 422,
  INTERNAL: 500,
})

/** Options accepted by {@link StudioError} and its subclasses. */
export interface StudioErrorOptions {
  /** The underlying error, kept for debugging; never serialized to API responses. */
  readonly cause?: unknown
}

/**
 * The one base class of every error the SDK throws on purpose. Carries a stable {@link ErrorCode},
 * a human message and structured `details` (for example the list of validation issues).
 */
export class StudioError extends Error {
  override name = 'StudioError'
  /** Stable machine-readable code. */
  readonly code: ErrorCode
  /** Structured, JSON-safe context for the error (validation issues, the current revision, ...). */
  readonly details: unknown

  constructor(code: ErrorCode, message: string, details?: unknown, options?: StudioErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.details = details
  }

  /** A JSON-safe view, as the API puts it in its error envelope (no stack, no cause). */
  toJSON(): { code: ErrorCode; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details }
  }
}

/**
 * True when `error` is a {@link StudioError}, also when it comes from another copy of the package or another realm
 * (a worker thread, an iframe), where `instanceof` fails.
 */
export function isStudioError(error: unknown): error is StudioError {
  if (error instanceof StudioError) return true
  if (typeof error !== 'object' || error === null) return false
  const e = error as { name?: unknown; code?: unknown; message?: unknown }
  return (
    typeof e.code === 'string' &&
    typeof e.message === 'string' &&
    typeof e.name === 'string' &&
    (e.name === 'StudioError' || e.name.endsWith('Error')) &&
    e.code in errorStatus
  )
}

/** True when `error` is a {@link StudioError} with the given code. */
export function hasErrorCode<C extends ErrorCode>(error: unknown, code: C): error is StudioError & { code: C } {
  return isStudioError(error) && error.code === code
}
