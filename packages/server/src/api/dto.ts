// Mapping package objects to the API's response shapes (the contract's schemas).
import type { api, RouteOutput } from '@sparkle-studio/core/contract'
import type { BackfillSummary, Run, RunAttempt, RunEvent } from '@sparkle-studio/runs'

type RunDto = RouteOutput<typeof api.getExecution>
type BackfillDto = RouteOutput<typeof api.getBackfill>

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : undefined)

function compact<T extends Record<string, unknown>>(obj: T): T {
  for (const k of Object.keys(obj)) if (obj[k] === undefined) delete obj[k]
  return obj
}

/** A run as the API shows it, with what the latest runner events say (Spark UI URL, progress). */
export function runDto(
  run: Run,
  extra: { attempts?: readonly RunAttempt[]; events?: readonly RunEvent[]; baseUrl?: string } = {},
): RunDto {
  let sparkUiUrl: string | undefined
  let progress: { completedTasks: number; totalTasks: number } | undefined
  for (const e of extra.events ?? []) {
    const p = e.payload as Record<string, unknown>
    if (e.type === 'spark' && p['type'] === 'started' && typeof p['uiUrl'] === 'string') sparkUiUrl = p['uiUrl']
    if (e.type === 'progress' && typeof p['completedTasks'] === 'number' && typeof p['totalTasks'] === 'number') {
      progress = { completedTasks: p['completedTasks'], totalTasks: p['totalTasks'] }
    }
  }
  const dto = compact({
    id: run.id,
    pipeline: run.pipeline,
    revision: run.revision ?? undefined,
    params: { ...run.params },
    status: run.status,
    priority: run.priority,
    attempt: run.attempt,
    maxAttempts: run.maxAttempts,
    idempotencyKey: run.idempotencyKey ?? undefined,
    backfillId: run.backfillId ?? undefined,
    createdAt: run.createdAt.toISOString(),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    cancelRequested: run.cancelRequestedAt ? true : undefined,
    requestedBy: run.requestedBy ?? undefined,
    cancelledBy: run.cancelledBy ?? undefined,
    error: run.error ? { ...run.error } : undefined,
    appId: run.appId ?? undefined,
    sparkUiUrl: run.status === 'running' ? sparkUiUrl : undefined,
    logsUrl: `${extra.baseUrl ?? ''}/api/v1/executions/${run.id}/logs`,
    progress,
    attempts: extra.attempts?.map((a) =>
      compact({
        attempt: a.attempt,
        status: a.status,
        workerId: a.workerId,
        submissionId: a.submissionId ?? undefined,
        appId: a.appId ?? undefined,
        startedAt: iso(a.startedAt),
        finishedAt: iso(a.finishedAt),
        error: a.error ? { ...a.error } : undefined,
      }),
    ),
  })
  return dto as RunDto
}

/** A backfill with its counts. */
export function backfillDto(summary: BackfillSummary, runIds?: readonly string[]): BackfillDto {
  const b = summary.backfill as unknown as Record<string, unknown>
  const date = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v))
  return compact({
    id: String(b['id']),
    pipeline: String(b['pipeline']),
    start: date(b['start']),
    end: date(b['end']),
    grain: b['grain'] as BackfillDto['grain'],
    status: summary.status,
    partitions: summary.total,
    counts: { ...summary.counts },
    createdAt: date(b['createdAt']),
    runIds: runIds ? [...runIds] : undefined,
  }) as BackfillDto
}
