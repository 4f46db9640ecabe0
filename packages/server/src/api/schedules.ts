import { hasErrorCode, type PipelineDocument, StudioError } from '@sparkle-studio/core'
import type { Api, RouteOutput } from '@sparkle-studio/core/contract'
import { formatZoned, isValidTimeZone, nextFireTimes, type ScheduleState } from '@sparkle-studio/runs'
import type { StudioParts } from '../parts.ts'
import { authorOf, type Principal } from '../principal.ts'
import { commitDto } from './pipelines.ts'
import type { UseCases } from './types.ts'

type ScheduleCases = Pick<UseCases, 'listSchedules' | 'pauseSchedule' | 'resumeSchedule'>
type ScheduleItem = RouteOutput<Api['listSchedules']>['items'][number]

/** How many fire times a schedule lists when the caller does not say. */
const DEFAULT_COUNT = 5
/** Saves that raced a pause or resume are read again and the change applied to them, this many times at most. */
const MAX_ATTEMPTS = 3

/** The schedule of a pipeline read at `revision`, as the API lists it. */
function scheduleItem(
  name: string,
  schedule: NonNullable<PipelineDocument['schedule']>,
  revision: string,
  state: ScheduleState | undefined,
  from: Date,
  count: number,
): ScheduleItem {
  const timezone = schedule.timezone ?? 'UTC'
  const enabled = schedule.enabled !== false
  let fireTimes: string[] = []
  let problem: string | undefined
  try {
    // The scheduler's own rule (runs' cron): the times listed are the slots it enqueues.
    const times = nextFireTimes(schedule.cron, timezone, from, enabled ? count : 0)
    fireTimes = times.map((t) => formatZoned(t, timezone))
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error)
  }
  return {
    pipeline: name,
    cron: schedule.cron,
    timezone,
    catchUp: schedule.catchUp ?? 'latest',
    enabled,
    nextFireTimes: fireTimes,
    ...(problem ? { problem } : {}),
    ...(state?.lastSlot
      ? {
          lastSlot: {
            slot: isValidTimeZone(timezone) ? formatZoned(state.lastSlot, timezone) : state.lastSlot.toISOString(),
            ...(state.lastRunId ? { runId: state.lastRunId } : {}),
            ...(state.lastRunStatus ? { status: state.lastRunStatus } : {}),
          },
        }
      : {}),
    revision,
  }
}

/** The `CONFLICT` of a pause or resume of a pipeline without a schedule. */
function noSchedule(name: string, action: 'pause' | 'resume'): StudioError {
  return new StudioError(
    'CONFLICT',
    `pipeline "${name}" has no schedule to ${action}. Fix: add one to its document ("schedule": { "cron": "0 3 * * *", "timezone": "UTC" }) and save it`,
    { name, schedule: null },
  )
}

/** Schedules: every pipeline's schedule with its next fire times and last slot, and pause/resume as commits. */
export function scheduleUseCases(parts: Pick<StudioParts, 'pipelines' | 'runs' | 'log'>): ScheduleCases {
  const { pipelines, runs, log } = parts

  async function setEnabled(
    name: string,
    enabled: boolean,
    call: { readonly principal: Principal; readonly signal?: AbortSignal | undefined },
  ): Promise<RouteOutput<Api['pauseSchedule']>> {
    const { principal, signal } = call
    const action = enabled ? 'resume' : 'pause'
    for (let attempt = 1; ; attempt++) {
      const stored = await pipelines.get(name, { signal })
      const schedule = stored.document.schedule
      if (!schedule) throw noSchedule(name, action)
      const [state] = await runs.scheduleStates({ pipelines: [name], signal })
      if ((schedule.enabled !== false) === enabled) {
        return { ...scheduleItem(name, schedule, stored.revision, state, new Date(), DEFAULT_COUNT), changed: false }
      }
      const changed = { ...schedule, enabled }
      try {
        // The blob read: a save in between is a conflict, read again and changed again, never overwritten.
        const saved = await pipelines.save(
          name,
          { ...stored.document, schedule: changed },
          {
            expected: stored.blob,
            message: `${enabled ? 'Resume' : 'Pause'} schedule of ${name}`,
            author: authorOf(principal),
            signal,
          },
        )
        return {
          ...scheduleItem(name, changed, saved.commit, state, new Date(), DEFAULT_COUNT),
          changed: true,
          commit: commitDto(saved),
        }
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS || !hasErrorCode(error, 'CONFLICT')) throw error
        log.info('schedule change raced a save; reading the pipeline again', { name, action, attempt })
      }
    }
  }

  return {
    listSchedules: async ({ query }, { signal }) => {
      const from = query.after ? new Date(query.after) : new Date()
      const count = query.count ?? DEFAULT_COUNT
      const list = await pipelines.list({ lastCommit: false, signal })
      if (list.revision === null) return { items: [] }
      // Every document at the one commit listed, so that the items agree with each other.
      const scheduled: { name: string; schedule: NonNullable<PipelineDocument['schedule']> }[] = []
      for (const p of list.pipelines) {
        const stored = await pipelines.get(p.name, { ref: list.revision, signal })
        if (stored.document.schedule) scheduled.push({ name: p.name, schedule: stored.document.schedule })
      }
      const states = new Map(
        (await runs.scheduleStates({ pipelines: scheduled.map((s) => s.name), signal })).map((s) => [s.pipeline, s]),
      )
      return {
        items: scheduled.map(({ name, schedule }) =>
          scheduleItem(name, schedule, list.revision ?? '', states.get(name), from, count),
        ),
      }
    },
    pauseSchedule: async ({ params }, call) => setEnabled(params.name, false, call),
    resumeSchedule: async ({ params }, call) => setEnabled(params.name, true, call),
  }
}
