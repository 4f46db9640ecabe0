import { StudioError } from '@sparkle-studio/core'
import { LocalSubmitter, type SparkRuntime, StandaloneSubmitter, type Submitter } from '@sparkle-studio/spark'

/** Where and how runs are submitted. */
export interface SubmitterConfig {
  /** `local[N]`/`local[*]` runs spark-submit on this machine; `spark://host:port` on a standalone cluster. */
  readonly master: string
  /** The folder each job keeps its files in (plan, events, log). */
  readonly baseDir: string
  /** Environment of every job (secret values as `SPARKLE_SECRET_<NAME>`). */
  readonly env: Readonly<Record<string, string>>
}

/**
 * The submitter for a master URL.
 * @throws `BAD_REQUEST` for a master that is neither `local[N]`, `local[*]` nor `spark://host:port`.
 */
export function createSubmitter(config: SubmitterConfig, runtime: SparkRuntime): Submitter {
  const { master, baseDir, env } = config
  if (master.startsWith('spark://')) return new StandaloneSubmitter({ runtime, baseDir, master, env })
  const m = /^local\[(\d+|\*)\]$/.exec(master)
  if (!m?.[1]) {
    throw new StudioError(
      'BAD_REQUEST',
      `the Spark master must be local[N], local[*] or spark://host:port, not "${master}"`,
    )
  }
  return new LocalSubmitter({ runtime, baseDir, env, threads: m[1] === '*' ? '*' : Number(m[1]) })
}
