import { StudioError } from '@sparkle-studio/core'
import { type SparkSubmitOptions, SparkSubmitSubmitter } from './spark-submit-submitter.ts'

/** Options of {@link LocalSubmitter}. */
export interface LocalSubmitterOptions extends SparkSubmitOptions {
  /**
   * Worker threads of the local Spark (`local[N]`); `'*'` for one per core.
   * @default 2
   */
  readonly threads?: number | '*' | undefined
}

/**
 * Runs plans on this machine with `spark-submit --master local[N]`: the whole application in one driver JVM, bound to
 * the loopback interface (driver, block manager and UI listen on 127.0.0.1 only).
 *
 * @example
 * ```ts
 * import { findSparkRuntime, LocalSubmitter } from '@sparkle-studio/spark'
 *
 * const submitter = new LocalSubmitter({ runtime: await findSparkRuntime(), threads: 2 })
 * const { id } = await submitter.submit({
 *   jobId: 'run-1',
 *   plan: { pipeline: 'hello', mode: 'run', steps: [{ nodeId: 'q', kind: 'query', sql: 'SELECT 1 AS one', limit: 1 }] },
 * })
 * const status = await submitter.wait(id, { onStatus: (s) => console.log(s.state, s.progress) })
 * console.log(status.state, status.uiUrl, status.error?.message)
 * ```
 */
export class LocalSubmitter extends SparkSubmitSubmitter {
  constructor(options: LocalSubmitterOptions) {
    const threads = options.threads ?? 2
    if (threads !== '*' && !(Number.isInteger(threads) && threads > 0)) {
      throw new StudioError('BAD_REQUEST', `threads must be a positive integer or '*', got ${String(threads)}`)
    }
    super({ ...options, master: `local[${threads}]`, backend: 'local' })
  }
}
