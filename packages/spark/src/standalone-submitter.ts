import { StudioError } from '@sparkle-studio/core'
import { type SparkSubmitOptions, SparkSubmitSubmitter } from './spark-submit-submitter.ts'

/** Options of {@link StandaloneSubmitter}. */
export interface StandaloneSubmitterOptions extends SparkSubmitOptions {
  /** The standalone master, `spark://host:port` (several hosts for a master with standby: `spark://h1:7077,h2:7077`). */
  readonly master: string
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/**
 * Runs plans on a Spark standalone cluster in client mode: `spark-submit --master spark://host:7077`, the driver on
 * this machine and the executors on the cluster's workers. Input and output paths must be readable and writable by
 * the workers as they are by the driver (the same machine, or a shared file system).
 *
 * When the master is on the loopback interface the driver binds to it too, so that everything stays on this machine;
 * otherwise set `spark.driver.host` in `conf` to an address the workers can reach when the default one is wrong.
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
  readonly #loopback: boolean

  constructor(options: StandaloneSubmitterOptions) {
    const m = /^spark:\/\/(.+)$/.exec(options.master.trim())
    const hosts = m?.[1]?.split(',').map((hp) => hp.replace(/:\d+$/, ''))
    if (!m || !hosts || hosts.some((h) => !h)) {
      throw new StudioError(
        'BAD_REQUEST',
        `a standalone master URL looks like spark://host:7077, got ${JSON.stringify(options.master)}`,
      )
    }
    super({ ...options, master: options.master.trim(), backend: 'standalone' })
    this.#loopback = hosts.every((h) => LOOPBACK.has(h))
  }

  protected override defaultConf(): Record<string, string> {
    return this.#loopback ? { 'spark.driver.host': '127.0.0.1', 'spark.driver.bindAddress': '127.0.0.1' } : {}
  }

  protected override defaultEnv(): Record<string, string> {
    return this.#loopback ? { SPARK_LOCAL_IP: '127.0.0.1' } : {}
  }
}
