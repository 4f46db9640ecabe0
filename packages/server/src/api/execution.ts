import { compilePipeline, StudioError } from '@sparkle-studio/core'
import { type BackfillRequest, isFinalRunStatus, planBackfill } from '@sparkle-studio/runs'
import type { StudioParts } from '../parts.ts'
import { underPolicy } from '../policy.ts'
import { backfillDto, runDto } from './dto.ts'
import { runEvents } from './run-events.ts'
import { foldSteps, runnerEvents, usageDto } from './steps.ts'
import type { UseCases } from './types.ts'

type ExecutionCases = Pick<
  UseCases,
  | 'dryRun'
  | 'run'
  | 'backfill'
  | 'listExecutions'
  | 'getExecution'
  | 'executionLogs'
  | 'executionEvents'
  | 'executionSteps'
  | 'cancelExecution'
  | 'retryExecution'
  | 'getBackfill'
>

/**
 * The end of a backfill range as the store takes it: a date-only `end` (2026-11-05) includes that day, and the store's
 * range end is exclusive, so it becomes the next day. Timestamps are taken as they are.
 */
export function inclusiveEnd(end: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(end)) return end
  const next = new Date(`${end}T00:00:00Z`)
  if (Number.isNaN(next.getTime())) return end
  next.setUTCDate(next.getUTCDate() + 1)
  return next.toISOString().slice(0, 10)
}

/** Previews, runs, backfills, and reading, following, cancelling and retrying runs. */
export function executionUseCases(parts: StudioParts): ExecutionCases {
  const { registry, pipelines, runs, policy } = parts
  return {
    dryRun: async ({ body }, { signal }) => {
      let document: unknown = body.document
      let revision: string | undefined
      if (body.pipeline !== undefined) {
        const stored = await pipelines.get(body.pipeline, { ...(body.ref ? { ref: body.ref } : {}), signal })
        document = stored.document
        revision = stored.revision
      }
      const plan = compilePipeline(document, registry, {
        mode: 'preview',
        artifacts: await parts.artifacts.locations(document),
        previewLimit: body.limit ?? 100,
        ...(body.params ? { params: body.params } : {}),
        ...(revision ? { revision } : {}),
        ...underPolicy(policy),
      })
      const started = performance.now()
      const seconds = () => (performance.now() - started) / 1000
      const result = await parts
        .previewSession()
        .then((session) => session.preview(plan, { limit: body.limit ?? 100, signal }))
        .catch((error: unknown) => {
          parts.metrics.observePreview('error', seconds())
          throw error
        })
      parts.metrics.observePreview('ok', seconds())
      return {
        pipeline: plan.pipeline,
        plan: plan as never,
        durationMs: result.durationMs,
        nodes: result.nodes.map((n) =>
          n.ok
            ? { nodeId: n.nodeId, schema: [...n.schema], rows: [...n.rows], truncated: n.truncated }
            : { nodeId: n.nodeId, error: { errorClass: n.error.errorClass, message: n.error.message } },
        ),
      }
    },
    run: async ({ body }, { signal, principal }) => {
      const stored = await pipelines.get(body.pipeline, { ...(body.ref ? { ref: body.ref } : {}), signal })
      // Compiled now so that a run that cannot start is refused here, with every problem, rather than failing later.
      compilePipeline(stored.document, registry, {
        params: body.params,
        revision: stored.revision,
        artifacts: await parts.artifacts.locations(stored.document),
        ...underPolicy(policy),
      })
      const { run } = await runs.enqueue(
        {
          pipeline: body.pipeline,
          revision: stored.revision,
          params: body.params ?? {},
          requestedBy: principal.id,
          ...(body.idempotencyKey ? { idempotencyKey: body.idempotencyKey } : {}),
          ...(body.priority !== undefined ? { priority: body.priority } : {}),
          ...(body.maxAttempts !== undefined ? { maxAttempts: body.maxAttempts } : {}),
        },
        { signal },
      )
      return runDto(run)
    },
    backfill: async ({ body }, { signal, principal }) => {
      const stored = await pipelines.get(body.pipeline, { ...(body.ref ? { ref: body.ref } : {}), signal })
      const request: BackfillRequest = {
        pipeline: body.pipeline,
        revision: stored.revision,
        start: body.start,
        end: inclusiveEnd(body.end),
        grain: body.grain,
        // Each run gets the partition params its pipeline declares, and no others.
        pipelineParams: (stored.document.params ?? []).map((p) => p.name),
        requestedBy: principal.id,
        ...(body.timezone ? { timezone: body.timezone } : {}),
        ...(body.reprocess ? { reprocess: body.reprocess } : {}),
        ...(body.concurrency ? { concurrency: body.concurrency } : {}),
        ...(body.order ? { order: body.order } : {}),
        ...(body.params ? { params: body.params } : {}),
        ...(body.dryRun ? { dryRun: true } : {}),
        maxPartitions: policy.maxBackfillPartitions,
      }
      // The range and the pipeline are checked before anything is stored: a backfill above the policy's limit, or of
      // a pipeline that does not compile (with its first partition's params, as its first run would), creates nothing.
      const planned = planBackfill(request)
      compilePipeline(stored.document, registry, {
        params: planned.partitions[0]?.params ?? body.params,
        revision: stored.revision,
        artifacts: await parts.artifacts.locations(stored.document),
        ...underPolicy(policy),
      })
      const created = await runs.createBackfill(request, { signal })
      if (created.dryRun || !created.backfill) {
        return {
          dryRun: true as const,
          partitions: created.partitions.map((p) => ({
            key: p.key,
            params: { start: p.start.toISOString(), end: p.end.toISOString(), action: p.action },
          })),
        }
      }
      const summary = await runs.getBackfill(created.backfill.id, { signal })
      return backfillDto(
        summary,
        created.partitions.map((p) => p.runId).filter((id): id is string => id !== null),
      )
    },
    listExecutions: async ({ query }, { signal }) => {
      const page = await runs.list({
        ...(query.pipeline ? { pipeline: query.pipeline } : {}),
        ...(query.status ? { status: query.status } : {}),
        ...(query.backfill ? { backfillId: query.backfill } : {}),
        ...(query.since ? { createdAfter: new Date(query.since) } : {}),
        ...(query.until ? { createdBefore: new Date(query.until) } : {}),
        ...(query.limit ? { limit: query.limit } : {}),
        ...(query.cursor ? { cursor: query.cursor } : {}),
        signal,
      })
      return { items: page.runs.map((r) => runDto(r)), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) }
    },
    getExecution: async ({ params }, { signal }) => {
      const run = await runs.get(params.id, { signal })
      const [attempts, events, usage] = await Promise.all([
        runs.attempts(params.id, { signal }),
        runs.events(params.id, { types: ['spark', 'progress'], signal }),
        runs.usage(params.id, { signal }),
      ])
      const dto = runDto(run, { attempts, events })
      for (const a of dto.attempts ?? []) {
        const used = usage.find((u) => u.attempt === a.attempt)
        if (used) Object.assign(a, { usage: usageDto(used) })
      }
      return dto
    },
    executionSteps: async ({ params, query }, { signal }) => {
      await runs.get(params.id, { signal })
      const [attempts, events, usage] = await Promise.all([
        runs.attempts(params.id, { signal }),
        runnerEvents(runs, params.id, signal),
        runs.usage(params.id, { signal }),
      ])
      const attempt = query.attempt === undefined ? attempts.at(-1) : attempts.find((a) => a.attempt === query.attempt)
      if (query.attempt !== undefined && !attempt) {
        throw new StudioError('NOT_FOUND', `run ${params.id} has no attempt ${query.attempt}`, {
          run: params.id,
          attempt: query.attempt,
        })
      }
      const used = attempt ? usage.find((u) => u.attempt === attempt.attempt) : undefined
      return {
        runId: params.id,
        attempt: attempt?.attempt ?? 0,
        steps: foldSteps(events, attempt),
        ...(used ? { usage: usageDto(used) } : {}),
      }
    },
    executionLogs: async ({ params, query }, { signal }) => {
      const run = await runs.get(params.id, { signal })
      const last = (await runs.attempts(params.id, { signal })).at(-1)
      if (!last?.submissionId) return { text: '', nextOffset: 0, complete: isFinalRunStatus(run.status) }
      const submitter = await parts.submitter()
      const chunk = await submitter.logs(last.submissionId, {
        ...(query.offset !== undefined ? { offset: query.offset } : {}),
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
      })
      return { text: chunk.text, nextOffset: chunk.nextOffset, complete: chunk.complete }
    },
    executionEvents: async ({ params, query }, { signal }) => {
      await runs.get(params.id, { signal })
      return runEvents(runs, params.id, query.after !== undefined ? String(query.after) : undefined, signal)
    },
    cancelExecution: async ({ params }, { signal, principal }) =>
      runDto(await runs.cancel(params.id, { by: principal.id, signal })),
    retryExecution: async ({ params }, { signal, principal }) =>
      runDto(await runs.retry(params.id, { by: principal.id, signal })),
    getBackfill: async ({ params }, { signal }) => backfillDto(await runs.getBackfill(params.id, { signal })),
  }
}
