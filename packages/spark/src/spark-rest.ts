import type { JobProgress } from './submitter.ts'

/** The part of a `fetch` response this package reads. */
export interface FetchResponseLike {
  /** True for a 2xx status. */
  readonly ok: boolean
  /** The HTTP status. */
  readonly status: number
  /** The body, parsed as JSON. */
  json(): Promise<unknown>
}

/** The `fetch` this package uses for Spark's REST APIs: the smallest shape of the global one. */
export type FetchLike = (
  url: string,
  init?: { readonly signal?: AbortSignal | undefined },
) => Promise<FetchResponseLike>

/** Options of {@link fetchProgress}. */
export interface FetchProgressOptions {
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike | undefined
  /**
   * Per-request limit: a driver that does not answer must not hold up a status call.
   * @default 2000
   */
  readonly timeoutMs?: number | undefined
  readonly signal?: AbortSignal | undefined
}

interface JobData {
  readonly numTasks?: number
  readonly numCompletedTasks?: number
  readonly numSkippedTasks?: number
}

interface StageData {
  readonly stageId?: number
}

async function getJson(url: string, options: FetchProgressOptions): Promise<unknown> {
  const doFetch = options.fetch ?? (globalThis.fetch as FetchLike)
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 2000)
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
  const res = await doFetch(url, { signal })
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`)
  return res.json()
}

/**
 * Task progress of a running Spark application from its driver's monitoring REST API
 * (`/api/v1/applications/<appId>/jobs` and `/stages?status=active`): completed and total tasks of its jobs (skipped
 * tasks of reused stages left out of both) and the stages running now. `undefined` when the driver does not answer,
 * which is normal while it starts and stops.
 */
export async function fetchProgress(
  uiUrl: string,
  appId: string,
  options: FetchProgressOptions = {},
): Promise<JobProgress | undefined> {
  const base = `${uiUrl.replace(/\/+$/, '')}/api/v1/applications/${encodeURIComponent(appId)}`
  try {
    const [jobs, stages] = await Promise.all([
      getJson(`${base}/jobs`, options),
      getJson(`${base}/stages?status=active`, options),
    ])
    if (!Array.isArray(jobs) || !Array.isArray(stages)) return undefined
    let completedTasks = 0
    let totalTasks = 0
    for (const job of jobs as JobData[]) {
      const skipped = job.numSkippedTasks ?? 0
      completedTasks += job.numCompletedTasks ?? 0
      totalTasks += Math.max(0, (job.numTasks ?? 0) - skipped)
    }
    const activeStages = (stages as StageData[])
      .map((s) => s.stageId)
      .filter((id): id is number => typeof id === 'number')
    return { completedTasks, totalTasks, activeStages: [...new Set(activeStages)].sort((a, b) => a - b) }
  } catch {
    return undefined
  }
}
