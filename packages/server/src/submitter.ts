import { type ExecutionPolicy, StudioError } from '@sparkle-studio/core'
import { LocalSubmitter, type SparkRuntime, StandaloneSubmitter, type Submitter } from '@sparkle-studio/spark'

/** Where and how runs are submitted. */
export interface SubmitterConfig {
  /** `local[N]`/`local[*]` runs spark-submit on this machine; `spark://host:port` on a standalone cluster. */
  readonly master: string
  /** The folder each job keeps its files in (plan, events, log). */
  readonly baseDir: string
  /** Secret values by name: each job's driver gets only those its plan references. */
  readonly secrets: Readonly<Record<string, string>>
  /** What every job's driver enforces (and what submission checks the plan's conf against). */
  readonly policy?: ExecutionPolicy | undefined
}

/**
 * The submitter for a master URL.
 * @throws `BAD_REQUEST` for a master that is neither `local[N]`, `local[*]` nor `spark://host:port`.
 */
export function createSubmitter(config: SubmitterConfig, runtime: SparkRuntime): Submitter {
  const { master, baseDir, secrets } = config
  const policy = config.policy ? { policy: config.policy } : {}
  if (master.startsWith('spark://')) return new StandaloneSubmitter({ runtime, baseDir, master, secrets, ...policy })
  const m = /^local\[(\d+|\*)\]$/.exec(master)
  if (!m?.[1]) {
    throw new StudioError(
      'BAD_REQUEST',
      `the Spark master must be local[N], local[*] or spark://host:port, not "${master}"`,
    )
  }
  return new LocalSubmitter({ runtime, baseDir, secrets, ...policy, threads: m[1] === '*' ? '*' : Number(m[1]) })
}
