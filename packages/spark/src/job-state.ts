import type { RunnerEvent } from './events.ts'
import type { ExitRecord, JobRecord, StopRecord } from './job-files.ts'
import type { JobError, JobState, JobStatus } from './submitter.ts'

/** Everything on disk (and in the process table) that a job's status is derived from. */
export interface JobSnapshot {
  readonly record: JobRecord
  readonly logFile: string
  readonly events: readonly RunnerEvent[]
  readonly exit: ExitRecord | undefined
  readonly cancel: StopRecord | undefined
  readonly timeout: StopRecord | undefined
  /** Whether the supervisor or any other process of the job's group still runs. */
  readonly alive: boolean
  /** The last lines of the job's log; read only when {@link needsLogTail} says the status will quote them. */
  readonly logTail?: string | undefined
  /** Epoch ms. */
  readonly now: number
}

/**
 * How long a job may keep running after its runner reported a failure before the failure is final anyway.
 * Until then the status waits for the process to end, so that it can say how the driver ended.
 */
export const FAILED_LINGER_MS = 15_000

/** True for the states a job never leaves. */
export function isFinalState(state: JobState): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled' || state === 'lost'
}

function finalEvent(events: readonly RunnerEvent[]) {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]
    if (e?.type === 'succeeded' || e?.type === 'failed') return e
  }
  return undefined
}

/** The node whose step started last without finishing: where a job was when it stopped. */
function runningNode(events: readonly RunnerEvent[]): string | undefined {
  const open = new Map<number, string>()
  for (const e of events) {
    if (e.type === 'step_started') open.set(e.index, e.nodeId)
    else if (e.type === 'step_finished') open.delete(e.index)
  }
  return [...open.values()].at(-1)
}

function describeExit(exit: ExitRecord): { killed: boolean; text: string } {
  if (exit.signal) return { killed: true, text: `was killed by ${exit.signal}` }
  if (exit.code !== null && exit.code > 128) {
    return { killed: true, text: `exited with code ${exit.code} (killed by signal ${exit.code - 128}?)` }
  }
  return { killed: false, text: `exited with code ${exit.code}` }
}

/** True when {@link deriveJobStatus} will quote the end of the log (the job ended without any result). */
export function needsLogTail(s: Omit<JobSnapshot, 'logTail'>): boolean {
  return !s.alive && !s.cancel && !s.timeout && !finalEvent(s.events) && s.exit !== undefined
}

/**
 * The normalized status of a job, from its runner events (the final event wins), its stop markers and whether its
 * processes still run. Never from Spark's log text.
 *
 * - `succeeded`: the runner reported success (written after the SparkSession stopped).
 * - `cancelled`: `cancel` was asked and the processes are gone (the runner's own report of the SIGTERM is ignored).
 * - `failed`: the runner reported a failure and the processes are gone (or lingered past {@link FAILED_LINGER_MS});
 *   the deadline passed (`JOB_TIMEOUT`); or spark-submit exited without any result (the driver was killed).
 * - `lost`: the processes are gone and nothing recorded how the job ended (the machine restarted, or the whole process
 *   group was killed).
 * - `submitting` until the runner reports the application started, then `running`.
 */
export function deriveJobStatus(s: JobSnapshot): JobStatus {
  const started = s.events.find((e) => e.type === 'started')
  const final = finalEvent(s.events)
  const node = runningNode(s.events)
  const base: { -readonly [K in keyof JobStatus]?: JobStatus[K] } = { logFile: s.logFile }
  if (started?.type === 'started') {
    base.appId = started.appId
    if (started.uiUrl) base.uiUrl = started.uiUrl
    base.startedAt = started.appStartTime ?? started.ts
    if (started.driverPid !== undefined) base.driverPid = started.driverPid
  }
  if (s.exit) base.exit = { code: s.exit.code, signal: s.exit.signal }
  // The final counts: nothing can ask the application for them once it stopped.
  if (final && final.totalTasks !== undefined && final.completedTasks !== undefined) {
    base.progress = { completedTasks: final.completedTasks, totalTasks: final.totalTasks, activeStages: [] }
  }
  const finishedAt = s.exit?.at ?? s.cancel?.at ?? s.timeout?.at ?? (final ? final.ts : s.now)
  const failed = (error: JobError, at = finishedAt): JobStatus => ({ ...base, state: 'failed', error, finishedAt: at })

  if (final?.type === 'succeeded') {
    return { ...base, state: 'succeeded', finishedAt: final.ts, appDurationMs: final.durationMs }
  }
  if (s.alive) {
    const lingering = final?.type === 'failed' && !s.cancel && !s.timeout && s.now - final.ts > FAILED_LINGER_MS
    if (!lingering) return { ...base, state: started ? 'running' : 'submitting' }
  }
  // A stop request explains the end unless the runner had already failed on its own before it.
  const failedBefore = (at: number) => final?.type === 'failed' && final.ts < at && final.errorClass !== 'TERMINATED'
  if (s.cancel && !failedBefore(s.cancel.at)) return { ...base, state: 'cancelled', finishedAt }
  if (s.timeout && !failedBefore(s.timeout.at)) {
    const limit = s.record.timeoutMs === undefined ? '' : ` of ${s.record.timeoutMs} ms`
    return failed({
      ...(node === undefined ? {} : { nodeId: node }),
      errorClass: 'JOB_TIMEOUT',
      message: `the job ran past its wall-clock timeout${limit} and was stopped${node === undefined ? '' : ` while running node ${node}`}`,
    })
  }
  if (final?.type === 'failed') {
    const error: { -readonly [K in keyof JobError]: JobError[K] } = { message: final.message }
    if (final.nodeId !== undefined) error.nodeId = final.nodeId
    if (final.errorClass !== undefined) error.errorClass = final.errorClass
    if (final.rule !== undefined) error.rule = final.rule
    if (final.fix !== undefined) error.fix = final.fix
    const exit = s.exit ? describeExit(s.exit) : undefined
    if (exit?.killed) {
      // The driver JVM died under the runner, which then reported whatever Py4J said: the death is the cause.
      const where = (error.nodeId ?? node) === undefined ? '' : ` while running node ${error.nodeId ?? node}`
      return failed({
        ...((error.nodeId ?? node) === undefined ? {} : { nodeId: (error.nodeId ?? node) as string }),
        errorClass: 'DRIVER_KILLED',
        message: `the Spark driver ${exit.text}${where}; the runner reported: ${error.message}`,
      })
    }
    return failed(error, s.exit?.at ?? final.ts)
  }
  if (s.exit) {
    const exit = describeExit(s.exit)
    const where = started
      ? node === undefined
        ? ' after the application started'
        : ` while running node ${node}`
      : ' before the Spark application started'
    const tail = s.logTail ? `; the log ends with:\n${s.logTail}` : `; see ${s.logFile}`
    const subject = exit.killed ? 'the Spark driver' : 'spark-submit'
    return failed({
      ...(node === undefined ? {} : { nodeId: node }),
      errorClass: exit.killed ? 'DRIVER_KILLED' : started ? 'DRIVER_EXITED' : 'SPARK_SUBMIT_FAILED',
      message: `${subject} ${exit.text}${where} without reporting a result${tail}`,
    })
  }
  return {
    ...base,
    state: 'lost',
    error: {
      ...(node === undefined ? {} : { nodeId: node }),
      errorClass: 'JOB_LOST',
      message:
        'the job is no longer running and left no result or exit record (the machine restarted, or its whole process group was killed)',
    },
    finishedAt,
  }
}
