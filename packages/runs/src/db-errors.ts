import { errorMessage } from './logger.ts'

const MAX_RETRY_DELAY_MS = 5_000

// SQLSTATEs (admin shutdown, crash shutdown, cannot connect now, too many connections, serialization failure,
// deadlock) and socket errors that a restart or a network blip causes; class 08 (connection exception) too.
const TRANSIENT_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '40001',
  '40P01',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
])

/** True for errors that a database restart or a lost connection causes, which are worth retrying. */
export function isTransientDbError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && (code.startsWith('08') || TRANSIENT_CODES.has(code))) return true
  const message = errorMessage(error)
  return /connection|terminat|timeout|ECONNREFUSED|ECONNRESET|shutting down|starting up/i.test(message)
}

/** Backoff for the n-th consecutive failure of a database call: 100 ms doubling up to 5 s. */
export function retryDelay(attempt: number): number {
  return Math.min(MAX_RETRY_DELAY_MS, 50 * 2 ** Math.min(attempt, 10))
}
