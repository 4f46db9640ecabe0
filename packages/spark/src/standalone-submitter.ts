import { StudioError } from '@sparkle-studio/core'
import { standaloneMasterHosts } from './runner-launch.ts'
import { type SparkSubmitOptions, SparkSubmitSubmitter } from './spark-submit-submitter.ts'

/** Options of {@link StandaloneSubmitter}. */
export interface StandaloneSubmitterOptions extends SparkSubmitOptions {
  /** The standalone master, `spark://host:port` (several hosts for a master with standby: `spark://h1:7077,h2:7077`). */
  readonly master: string
}

/**
 * Runs plans on a Spark standalone cluster in client mode: `spark-submit --master spark://host:7077`, the driver on
 * this machine and the executors on the cluster's workers. Input and output paths must be readable and writable by
 * the workers as they are by the driver (the same machine, or a shared file system).
 *
 * When the master is on the loopback interface the driver binds to it too, so that everything stays on this machine;
 * otherwise, when the driver's default address is one the workers cannot reach, set the driver's host in `conf`.
 *
 * @example
 * ```ts
 * import { findSparkRuntime, StandaloneSubmitter } from '@sparkle-studio/spark'
 *
 * const submitter = new StandaloneSubmitter({ runtime: await findSparkRuntime(), master: 'spark://10.0.0.5:7077' })
 * const { id } = await submitter.submit({ jobId: 'nightly-1', plan, timeoutMs: 3_600_000 })
 * console.log((await submitter.wait(id)).state)
 * ```
 */
export class StandaloneSubmitter extends SparkSubmitSubmitter {
  constructor(options: StandaloneSubmitterOptions) {
    if (!standaloneMasterHosts(options.master)) {
      throw new StudioError(
        'BAD_REQUEST',
        `a standalone master URL looks like spark://host:7077, got ${JSON.stringify(options.master)}`,
      )
    }
    super({ ...options, master: options.master.trim(), backend: 'standalone' })
  }
}
