// A run's steps as the API shows them: folded from the runner's events (stored as `spark` run events), never from
// counting data again.
import type { api, RouteOutput } from '@sparkle-studio/core/contract'
import type { AttemptUsage, RunAttempt, RunEvent, RunStore } from '@sparkle-studio/runs'

type StepsDto = RouteOutput<typeof api.executionSteps>
type StepDto = StepsDto['steps'][number]
type UsageDto = NonNullable<StepsDto['usage']>

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined)
const int = (v: unknown): number | undefined => {
  const n = num(v)
  return n === undefined ? undefined : Math.round(n)
}
const iso = (ms: unknown, fallback: Date): string => {
  const n = num(ms)
  return (n !== undefined ? new Date(n) : fallback).toISOString()
}

/** Drops the keys whose value is `undefined` (the contract's optional fields are absent, not null). */
function compact<T extends object>(obj: T): T {
  for (const k of Object.keys(obj) as (keyof T)[]) if (obj[k] === undefined) delete obj[k]
  return obj
}

/** Every `spark` event of a run, oldest first (read in pages). */
export async function runnerEvents(runs: RunStore, runId: string, signal?: AbortSignal): Promise<RunEvent[]> {
  const all: RunEvent[] = []
  let after: string | undefined
  for (;;) {
    const page = await runs.events(runId, { types: ['spark'], limit: 1000, ...(after ? { after } : {}), signal })
    all.push(...page)
    if (page.length < 1000) return all
    after = page.at(-1)?.id
  }
}

/** An attempt's usage in the API's shape. */
export function usageDto(usage: AttemptUsage): UsageDto {
  return compact({
    coreSeconds: usage.coreSeconds,
    taskSeconds: usage.taskSeconds,
    cpuSeconds: usage.cpuSeconds,
    peakMemoryBytes: int(usage.peakMemoryBytes),
    inputBytes: int(usage.inputBytes),
    outputBytes: int(usage.outputBytes),
    shuffleReadBytes: int(usage.shuffleReadBytes),
    shuffleWriteBytes: int(usage.shuffleWriteBytes),
    executors: int(usage.executors),
    cores: int(usage.cores),
  })
}

/**
 * The steps of one attempt from its runner events: a `step_started` opens a step, its `step_finished` closes it with
 * Spark's counts, and a `failed` event naming the node fails it. A step still open when the attempt ended was
 * interrupted (cancelled, timed out, or its driver lost).
 */
export function foldSteps(events: readonly RunEvent[], attempt: RunAttempt | undefined): StepDto[] {
  const steps = new Map<number, StepDto & { -readonly [K in keyof StepDto]: StepDto[K] }>()
  const open = new Map<string, number>()
  for (const event of events) {
    if (event.attempt !== (attempt?.attempt ?? null)) continue
    const p = event.payload
    const index = int(p['index'])
    const nodeId = typeof p['nodeId'] === 'string' ? p['nodeId'] : undefined
    if (p['type'] === 'step_started' && index !== undefined && nodeId !== undefined) {
      steps.set(index, {
        nodeId,
        index,
        kind: typeof p['kind'] === 'string' ? p['kind'] : 'unknown',
        status: 'running',
        startedAt: iso(p['ts'], event.createdAt),
      })
      open.set(nodeId, index)
    } else if (p['type'] === 'step_finished' && index !== undefined) {
      const step = steps.get(index)
      if (!step) continue
      open.delete(step.nodeId)
      Object.assign(
        step,
        compact({
          status: 'succeeded' as const,
          finishedAt: iso(p['ts'], event.createdAt),
          durationMs: num(p['durationMs']),
          rowsIn: int(p['rowsIn']),
          rowsOut: int(p['rows']),
          bytesRead: int(p['bytesRead']),
          bytesWritten: int(p['bytesWritten']),
          taskMs: num(p['taskMs']),
          jobs: int(p['jobs']),
        }),
      )
    } else if (p['type'] === 'failed' && nodeId !== undefined) {
      const at = open.get(nodeId)
      const step = at === undefined ? undefined : steps.get(at)
      if (!step) continue
      open.delete(nodeId)
      const finishedAt = iso(p['ts'], event.createdAt)
      step.status = 'failed'
      step.finishedAt = finishedAt
      step.durationMs = Math.max(0, Date.parse(finishedAt) - Date.parse(step.startedAt))
      step.error = compact({
        errorClass: typeof p['errorClass'] === 'string' ? p['errorClass'] : undefined,
        message: typeof p['message'] === 'string' ? p['message'] : 'the step failed',
      })
    }
  }
  const ended = attempt !== undefined && attempt.status !== 'running'
  for (const index of open.values()) {
    const step = steps.get(index)
    if (step && ended) {
      step.status = 'interrupted'
      if (attempt.finishedAt) step.finishedAt = attempt.finishedAt.toISOString()
    }
  }
  return [...steps.values()].sort((a, b) => a.index - b.index)
}
