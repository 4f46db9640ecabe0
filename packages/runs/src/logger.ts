import { redactUrl } from './database.ts'

/** Severity of a worker log entry. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** Structured logging as the worker uses it: a message and flat, JSON-safe fields (never secrets or params). */
export interface WorkerLogger {
  /** Records one entry. */
  log(level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>): void
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

/** Options of {@link jsonLogger}. */
export interface JsonLoggerOptions {
  /**
   * Lowest level written.
   * @default 'info'
   */
  readonly level?: LogLevel | undefined
  /**
   * Where each JSON line goes.
   * @default a line on stderr
   */
  readonly write?: ((line: string) => void) | undefined
  /** The clock for the `ts` field. */
  readonly now?: (() => Date) | undefined
}

/**
 * A {@link WorkerLogger} writing one JSON object per line (`ts`, `level`, `msg`, then the fields). Credentials in
 * connection strings are redacted from every string field.
 *
 * @example
 * ```ts
 * import { jsonLogger } from '@sparkle-studio/runs'
 *
 * const logger = jsonLogger({ level: 'debug' })
 * logger.log('info', 'worker started', { workerId: 'w1' }) // {"ts":"...","level":"info","msg":"worker started","workerId":"w1"}
 * ```
 */
export function jsonLogger(options: JsonLoggerOptions = {}): WorkerLogger {
  const min = LEVELS[options.level ?? 'info']
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`))
  const now = options.now ?? (() => new Date())
  return {
    log(level, message, fields = {}) {
      if (LEVELS[level] < min) return
      const entry: Record<string, unknown> = { ts: now().toISOString(), level, msg: redactUrl(message) }
      for (const [k, v] of Object.entries(fields)) {
        if (v === undefined) continue
        entry[k] = typeof v === 'string' ? redactUrl(v) : v
      }
      write(JSON.stringify(entry))
    },
  }
}

/** The message of an unknown thrown value, for logs. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
