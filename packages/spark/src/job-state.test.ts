import { describe, expect, it } from 'vitest'
import type { RunnerEvent } from './events.ts'
import type { JobRecord } from './job-files.ts'
import { deriveJobStatus, FAILED_LINGER_MS, type JobSnapshot, needsLogTail } from './job-state.ts'

const record: JobRecord = {
  version: 1,
  jobId: 'j',
  backend: 'local',
  master: 'local[2]',
  pipeline: 'p',
  createdAt: 1_000,
  timeoutMs: 5_000,
  deadline: 6_000,
  pid: 123,
  maxLogBytes: 1_000_000,
}
const started: RunnerEvent = {
  type: 'started',
  ts: 2_000,
  appId: 'local-1',
  uiUrl: 'http://127.0.0.1:4041',
  master: 'local[2]',
  sparkVersion: '4.3.0',
  appStartTime: 1_900,
  driverPid: 456,
}
const stepA: RunnerEvent = { type: 'step_started', ts: 2_100, nodeId: 'a', index: 0, kind: 'view' }
const stepADone: RunnerEvent = { type: 'step_finished', ts: 2_200, nodeId: 'a', index: 0, durationMs: 100 }
const stepB: RunnerEvent = { type: 'step_started', ts: 2_300, nodeId: 'b', index: 1, kind: 'query' }

function snap(partial: Partial<JobSnapshot>): JobSnapshot {
  return {
    record,
    logFile: '/jobs/j/spark.log',
    events: [],
    exit: undefined,
    cancel: undefined,
    timeout: undefined,
    alive: true,
    now: 3_000,
    ...partial,
  }
}

describe('deriveJobStatus', () => {
  it('is submitting until the runner reports the application, then running with its id and real UI URL', () => {
    expect(deriveJobStatus(snap({})).state).toBe('submitting')
    const running = deriveJobStatus(snap({ events: [started, stepA] }))
    expect(running).toMatchObject({
      state: 'running',
      appId: 'local-1',
      uiUrl: 'http://127.0.0.1:4041',
      startedAt: 1_900,
      driverPid: 456,
    })
  })

  it('reports success as soon as the runner says so, with the application duration', () => {
    const s = deriveJobStatus(snap({ events: [started, { type: 'succeeded', ts: 9_000, durationMs: 7_100 }] }))
    expect(s).toMatchObject({ state: 'succeeded', finishedAt: 9_000, appDurationMs: 7_100 })
    expect(s.error).toBeUndefined()
  })

  it("gives a job that ended the final task counts of the runner's last event", () => {
    const done: RunnerEvent = { type: 'succeeded', ts: 9_000, durationMs: 7_100, completedTasks: 12, totalTasks: 12 }
    expect(deriveJobStatus(snap({ events: [started, done] })).progress).toEqual({
      completedTasks: 12,
      totalTasks: 12,
      activeStages: [],
    })
    const failed: RunnerEvent = {
      type: 'failed',
      ts: 9_000,
      nodeId: 'b',
      message: 'boom',
      completedTasks: 3,
      totalTasks: 5,
    }
    expect(deriveJobStatus(snap({ events: [started, failed] })).progress).toMatchObject({
      completedTasks: 3,
      totalTasks: 5,
    })
    // Without counts (a runner that could not ask Spark), no progress is made up.
    expect(
      deriveJobStatus(snap({ events: [started, { type: 'succeeded', ts: 9_000, durationMs: 1 }] })).progress,
    ).toBeUndefined()
  })

  it('waits for the process to end before a failure is final, then reports the node and Spark message', () => {
    const failed: RunnerEvent = {
      type: 'failed',
      ts: 2_500,
      nodeId: 'b',
      errorClass: 'UNRESOLVED_COLUMN.WITH_SUGGESTION',
      message: 'column `x` cannot be resolved',
    }
    expect(deriveJobStatus(snap({ events: [started, stepB, failed] })).state).toBe('running')
    const lingering = deriveJobStatus(snap({ events: [started, stepB, failed], now: 2_500 + FAILED_LINGER_MS + 1 }))
    expect(lingering.state).toBe('failed')
    const s = deriveJobStatus(
      snap({
        events: [started, stepB, failed],
        alive: false,
        exit: { code: 1, signal: null, at: 3_100, timedOut: false },
      }),
    )
    expect(s).toMatchObject({
      state: 'failed',
      error: { nodeId: 'b', errorClass: 'UNRESOLVED_COLUMN.WITH_SUGGESTION', message: 'column `x` cannot be resolved' },
      exit: { code: 1, signal: null },
      finishedAt: 3_100,
    })
  })

  it('is cancelled, not failed, when cancel was asked, even though the runner reported the SIGTERM', () => {
    const term: RunnerEvent = {
      type: 'failed',
      ts: 2_600,
      errorClass: 'TERMINATED',
      message: 'terminated by signal 15',
    }
    const base = { events: [started, stepB, term], cancel: { at: 2_550 } }
    expect(deriveJobStatus(snap({ ...base, alive: true })).state).toBe('running')
    expect(deriveJobStatus(snap({ ...base, alive: false }))).toMatchObject({ state: 'cancelled', finishedAt: 2_550 })
  })

  it('keeps a failure that came before the cancel', () => {
    const failed: RunnerEvent = { type: 'failed', ts: 2_500, nodeId: 'b', errorClass: 'DIVIDE_BY_ZERO', message: 'x' }
    const s = deriveJobStatus(snap({ events: [started, stepB, failed], cancel: { at: 2_550 }, alive: false }))
    expect(s).toMatchObject({ state: 'failed', error: { nodeId: 'b', errorClass: 'DIVIDE_BY_ZERO' } })
  })

  it('keeps a success that came before the cancel', () => {
    const s = deriveJobStatus(
      snap({
        events: [started, { type: 'succeeded', ts: 2_400, durationMs: 500 }],
        cancel: { at: 2_550 },
        alive: false,
      }),
    )
    expect(s.state).toBe('succeeded')
  })

  it('fails with JOB_TIMEOUT and the running node when the deadline stopped the job', () => {
    const s = deriveJobStatus(
      snap({ events: [started, stepA, stepADone, stepB], timeout: { at: 6_000 }, alive: false }),
    )
    expect(s).toMatchObject({ state: 'failed', error: { errorClass: 'JOB_TIMEOUT', nodeId: 'b' } })
    expect(s.error?.message).toContain('timeout of 5000 ms')
  })

  it('names a killed driver, and the node it was running, when the runner left no result', () => {
    const s = deriveJobStatus(
      snap({
        events: [started, stepB],
        alive: false,
        exit: { code: null, signal: 'SIGKILL', at: 4_000, timedOut: false },
      }),
    )
    expect(s).toMatchObject({ state: 'failed', error: { errorClass: 'DRIVER_KILLED', nodeId: 'b' } })
    expect(s.error?.message).toContain('was killed by SIGKILL while running node b')
  })

  it('blames the driver death over what the runner then reported', () => {
    const py4j: RunnerEvent = {
      type: 'failed',
      ts: 2_600,
      nodeId: 'b',
      errorClass: 'Py4JError',
      message: 'Answer empty',
    }
    const s = deriveJobStatus(
      snap({
        events: [started, stepB, py4j],
        alive: false,
        exit: { code: 137, signal: null, at: 4_000, timedOut: false },
      }),
    )
    expect(s).toMatchObject({ state: 'failed', error: { errorClass: 'DRIVER_KILLED', nodeId: 'b' } })
    expect(s.error?.message).toContain('Answer empty')
  })

  it('quotes the end of the log when spark-submit failed before the application started', () => {
    const partial = snap({ alive: false, exit: { code: 1, signal: null, at: 1_500, timedOut: false } })
    expect(needsLogTail(partial)).toBe(true)
    const s = deriveJobStatus({ ...partial, logTail: 'Error: Master must start with yarn, spark, k8s, or local' })
    expect(s).toMatchObject({ state: 'failed', error: { errorClass: 'SPARK_SUBMIT_FAILED' } })
    expect(s.error?.message).toContain('before the Spark application started')
    expect(s.error?.message).toContain('Master must start with')
  })

  it('is lost when the processes are gone and nothing recorded how the job ended', () => {
    const s = deriveJobStatus(snap({ events: [started, stepB], alive: false }))
    expect(s).toMatchObject({ state: 'lost', error: { errorClass: 'JOB_LOST', nodeId: 'b' } })
  })
})
