import { type ErrorCode, StudioError } from '@sparkle-studio/core'

/** What Spark said about a failed Spark Connect call, beyond its message. */
export interface SparkConnectErrorInfo {
  /** Spark's error class, e.g. `'TABLE_OR_VIEW_NOT_FOUND'`; absent for errors outside Spark's error framework. */
  readonly errorClass?: string | undefined
  /** The SQL state, e.g. `'42P01'`. */
  readonly sqlState?: string | undefined
  /** The parameters of the error class's message template, e.g. `{ relationName: '`no_such_table`' }`. */
  readonly messageParameters: Readonly<Record<string, string>>
  /** The gRPC status code name of the failed call, e.g. `'INTERNAL'`, `'UNAVAILABLE'`. */
  readonly grpcStatus: string
  /** The JVM exception classes, most specific first, when the server sent them. */
  readonly exceptionClasses: readonly string[]
}

/**
 * A failed Spark Connect call, with Spark's error class, SQL state and message parameters when the server sent them.
 * Its `code` is `SPARK_UNAVAILABLE` when the server could not be reached, `SPARK_SESSION_CHANGED` when the
 * server-side session is no longer the one this client started on (a restarted server), `JOB_CANCELLED` when the
 * caller aborted, and `SPARK_CONNECT_FAILED` otherwise (the query or the request failed).
 *
 * @example
 * ```ts
 * import { SparkConnectError } from '@sparkle-studio/spark/connect'
 *
 * try { await client.executeSql('SELECT * FROM nowhere') } catch (e) {
 *   if (e instanceof SparkConnectError && e.errorClass === 'TABLE_OR_VIEW_NOT_FOUND') console.log(e.sqlState)
 * }
 * ```
 */
export class SparkConnectError extends StudioError {
  override name = 'SparkConnectError'
  /** Spark's error class, when known. */
  readonly errorClass: string | undefined
  /** The SQL state, when known. */
  readonly sqlState: string | undefined
  /** The error class's message parameters (empty when none). */
  readonly messageParameters: Readonly<Record<string, string>>
  /** The gRPC status code name of the failed call. */
  readonly grpcStatus: string

  constructor(code: ErrorCode, message: string, info: SparkConnectErrorInfo, options?: { cause?: unknown }) {
    super(code, message, info, options)
    this.errorClass = info.errorClass
    this.sqlState = info.sqlState
    this.messageParameters = info.messageParameters
    this.grpcStatus = info.grpcStatus
  }
}
