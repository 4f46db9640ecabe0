import { sparkOpenLineageConf } from '@sparkle-studio/core'
import type { Submitter } from '@sparkle-studio/spark'
import { type Kysely, sql } from 'kysely'
import { backfillJobName, DEFAULT_OPENLINEAGE_NAMESPACE, type OpenLineageOptions } from './options.ts'
import { openLineageAttemptRunId, openLineageBackfillRunId } from './run-id.ts'

/**
 * The studio's submitter with the OpenLineage parent-run configuration added to every job's Spark conf
 * (`spark.openlineage.parentJobNamespace`, `parentJobName`, `parentRunId`, and `rootParent*`: the backfill for a
 * partition's run, the run itself otherwise), so that an OpenLineage Spark listener on the cluster attaches its
 * events to the run's. The keys go in the request's conf (the operator's, not the document's), which the execution
 * policy does not limit; a document's own `spark.openlineage.*` values are overridden. Without `options` (OpenLineage
 * not configured) the submitter is answered as it is.
 */
export function openLineageSubmitter(
  submitter: () => Promise<Submitter>,
  options: Pick<OpenLineageOptions, 'namespace'> | undefined,
  // biome-ignore lint/suspicious/noExplicitAny: raw SQL over the run store's tables
  db: Kysely<any>,
): () => Promise<Submitter> {
  if (!options) return submitter
  const namespace = options.namespace ?? DEFAULT_OPENLINEAGE_NAMESPACE
  let wrapped: Promise<Submitter> | undefined
  return () => {
    wrapped ??= submitter().then(
      (inner) => wrap(inner, namespace, db),
      (error: unknown) => {
        wrapped = undefined
        throw error
      },
    )
    return wrapped
  }
}

function wrap(
  inner: Submitter,
  namespace: string,
  // biome-ignore lint/suspicious/noExplicitAny: raw SQL over the run store's tables
  db: Kysely<any>,
): Submitter {
  const submit: Submitter['submit'] = async (request) => {
    // The job id is the attempt's id (`<runId>.<attempt>`); its run says whether a backfill is the root.
    const { rows } = await sql<{ backfill_id: string | null }>`
      SELECT r.backfill_id FROM run_attempts a JOIN runs r ON r.id = a.run_id WHERE a.id = ${request.jobId}
    `.execute(db)
    const backfillId = rows[0]?.backfill_id ?? null
    const parent = {
      run: { runId: openLineageAttemptRunId(request.jobId) },
      job: { namespace, name: request.plan.pipeline },
    }
    const root = backfillId
      ? {
          run: { runId: openLineageBackfillRunId(backfillId) },
          job: { namespace, name: backfillJobName(request.plan.pipeline) },
        }
      : parent
    return inner.submit({ ...request, conf: { ...request.conf, ...sparkOpenLineageConf({ ...parent, root }) } })
  }
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'submit') return submit
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
