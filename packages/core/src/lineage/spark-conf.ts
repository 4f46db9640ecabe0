/**
 * The Spark conf that makes Spark's own OpenLineage listener (`io.openlineage.spark.agent.OpenLineageSparkListener`)
 * report its events as children of a pipeline run: `spark.openlineage.parentJobNamespace`, `parentJobName` and
 * `parentRunId` (and the root run's, for a backfill partition under a backfill). The listener's transport and the
 * `spark.extraListeners` entry are the deployment's to set.
 *
 * @example
 * ```ts
 * import { sparkOpenLineageConf } from '@sparkle-studio/core'
 *
 * const conf = sparkOpenLineageConf({ run: { runId }, job: { namespace: 'sparkle-studio', name: 'daily-revenue' } })
 * ```
 */
export function sparkOpenLineageConf(parent: {
  readonly run: { readonly runId: string }
  readonly job: { readonly namespace: string; readonly name: string }
  readonly root?: {
    readonly run: { readonly runId: string }
    readonly job: { readonly namespace: string; readonly name: string }
  }
}): Record<string, string> {
  return {
    'spark.openlineage.parentJobNamespace': parent.job.namespace,
    'spark.openlineage.parentJobName': parent.job.name,
    'spark.openlineage.parentRunId': parent.run.runId,
    ...(parent.root === undefined
      ? {}
      : {
          'spark.openlineage.rootParentJobNamespace': parent.root.job.namespace,
          'spark.openlineage.rootParentJobName': parent.root.job.name,
          'spark.openlineage.rootParentRunId': parent.root.run.runId,
        }),
  }
}
