// Structured logs: one JSON object per line on stderr, with secrets redacted (what the studio and its adapters log).

/** Log levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** A structured logger. */
export interface Logger {
  /** Logs details useful when tracing a problem. */
  debug(message: string, fields?: Record<string, unknown>): void
  /** Logs what happened (requests, starts, stops). */
  info(message: string, fields?: Record<string, unknown>): void
  /** Logs something that went wrong and was handled. */
  warn(message: string, fields?: Record<string, unknown>): void
  /** Logs something that went wrong and was not handled. */
  error(message: string, fields?: Record<string, unknown>): void
  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }
const SECRET_KEY = /pass(word)?|secret|token|authorization|api[-_]?key|credential/i

/** Replaces values of secret-looking keys, and known secret values anywhere, with `***`. */
export function redact(value: unknown, secrets: readonly string[] = [], depth = 0): unknown {
  if (depth > 8) return '…'
  if (typeof value === 'string') {
    let out = value
    for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***')
    return out
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, secrets, depth + 1))
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value))
      out[k] = SECRET_KEY.test(k) && typeof v === 'string' ? '***' : redact(v, secrets, depth + 1)
    return out
  }
  return value
}

/** A JSON-lines logger writing to `write` (stderr by default). */
export function createLogger(
  options: {
    level?: LogLevel
    secrets?: readonly string[]
    write?: (line: string) => void
    fields?: Record<string, unknown>
  } = {},
): Logger {
  const level = ORDER[options.level ?? 'info']
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`))
  const base = options.fields ?? {}
  const emit = (lvl: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < level) return
    write(
      JSON.stringify(
        redact({ ts: new Date().toISOString(), level: lvl, msg: message, ...base, ...fields }, options.secrets ?? []),
      ),
    )
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  }
}
