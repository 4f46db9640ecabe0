import type { Worker } from './worker.ts'

/** Options of {@link handleShutdownSignals}. */
export interface ShutdownOptions {
  /**
   * How long runs in flight may take to finish before they are handed back.
   * @default 30_000
   */
  readonly timeoutMs?: number | undefined
  /**
   * The signals that stop the worker.
   * @default ['SIGTERM', 'SIGINT']
   */
  readonly signals?: readonly NodeJS.Signals[] | undefined
  /** Called once the worker stopped (e.g. to close the database and exit). */
  readonly onStopped?: (() => void | Promise<void>) | undefined
}

/**
 * Stops `worker` gracefully on SIGTERM or SIGINT (stop claiming, let runs in flight finish up to the timeout, hand
 * the rest back); a second signal exits at once with code 130. Returns a function that removes the handlers.
 *
 * @example
 * ```ts
 * import { handleShutdownSignals, type Worker } from '@sparkle-studio/runs'
 *
 * declare const worker: Worker
 * handleShutdownSignals(worker, { timeoutMs: 60_000, onStopped: () => process.exit(0) })
 * ```
 */
export function handleShutdownSignals(worker: Worker, options: ShutdownOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT']
  let stopping = false
  const handler = () => {
    if (stopping) process.exit(130)
    stopping = true
    void worker
      .stop({ timeoutMs: options.timeoutMs ?? 30_000 })
      .then(() => options.onStopped?.())
      .catch(() => process.exit(1))
  }
  for (const s of signals) process.on(s, handler)
  return () => {
    for (const s of signals) process.off(s, handler)
  }
}
