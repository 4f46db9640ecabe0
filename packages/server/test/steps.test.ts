// How a run's stored runner events become its steps (GET /executions/{id}/steps): a failed step names its error, a
// step open when its attempt ended is interrupted, other attempts' events are left out.
import type { RunAttempt, RunEvent } from '@sparkle-studio/runs'
import { describe, expect, it } from 'vitest'
import { foldSteps } from '../src/api/steps.ts'

const at = new Date('2026-11-02T10:00:00Z')
let id = 0
const spark = (attempt: number, payload: Record<string, unknown>): RunEvent => ({
  id: String(++id),
  runId: 'r1',
  attempt,
  type: 'spark',
  payload,
  createdAt: at,
})
const attempt = (n: number, status: RunAttempt['status'], finishedAt?: Date): RunAttempt =>
  ({
    id: `r1.${n}`,
    runId: 'r1',
    attempt: n,
    status,
    workerId: 'w1',
    submissionId: null,
    appId: null,
    startedAt: at,
    finishedAt: finishedAt ?? null,
    error: null,
  }) as RunAttempt

const t0 = Date.parse('2026-11-02T10:00:01Z')
const events = [
  spark(1, { type: 'step_started', ts: t0, nodeId: 'orders', index: 0, kind: 'read' }),
  spark(1, { type: 'step_finished', ts: t0 + 900, nodeId: 'orders', index: 0, durationMs: 900 }),
  spark(1, { type: 'step_started', ts: t0 + 900, nodeId: 'out', index: 1, kind: 'write' }),
  spark(1, {
    type: 'failed',
    ts: t0 + 2_900,
    nodeId: 'out',
    errorClass: 'UNRESOLVED_COLUMN.WITH_SUGGESTION',
    message: 'no column amount',
  }),
  spark(2, { type: 'step_started', ts: t0 + 10_000, nodeId: 'orders', index: 0, kind: 'read' }),
  spark(2, { type: 'step_finished', ts: t0 + 10_500, nodeId: 'orders', index: 0, durationMs: 500 }),
  spark(2, { type: 'step_started', ts: t0 + 10_500, nodeId: 'out', index: 1, kind: 'write' }),
  spark(2, { type: 'rows', ts: t0 + 10_600, nodeId: 'out', rowCount: 3, truncated: false }),
  spark(2, {
    type: 'step_finished',
    ts: t0 + 12_000,
    nodeId: 'out',
    index: 1,
    durationMs: 1_500,
    rows: 5,
    rowsIn: 400,
    bytesRead: 20_480,
    bytesWritten: 1_073,
    taskMs: 812.5,
    jobs: 2,
  }),
  spark(3, { type: 'step_started', ts: t0 + 20_000, nodeId: 'orders', index: 0, kind: 'read' }),
]

describe('a run attempt folded into steps', () => {
  it('fails the step a failed event names, with its error class', () => {
    expect(foldSteps(events, attempt(1, 'failed', new Date(t0 + 3_000)))).toEqual([
      {
        nodeId: 'orders',
        index: 0,
        kind: 'read',
        status: 'succeeded',
        startedAt: '2026-11-02T10:00:01.000Z',
        finishedAt: '2026-11-02T10:00:01.900Z',
        durationMs: 900,
      },
      {
        nodeId: 'out',
        index: 1,
        kind: 'write',
        status: 'failed',
        startedAt: '2026-11-02T10:00:01.900Z',
        finishedAt: '2026-11-02T10:00:03.900Z',
        durationMs: 2_000,
        error: { errorClass: 'UNRESOLVED_COLUMN.WITH_SUGGESTION', message: 'no column amount' },
      },
    ])
  })

  it("carries Spark's counts of a finished step, and only the attempt's own events", () => {
    const steps = foldSteps(events, attempt(2, 'succeeded', new Date(t0 + 13_000)))
    expect(steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded'])
    expect(steps[1]).toEqual({
      nodeId: 'out',
      index: 1,
      kind: 'write',
      status: 'succeeded',
      startedAt: '2026-11-02T10:00:11.500Z',
      finishedAt: '2026-11-02T10:00:13.000Z',
      durationMs: 1_500,
      rowsIn: 400,
      rowsOut: 5,
      bytesRead: 20_480,
      bytesWritten: 1_073,
      taskMs: 812.5,
      jobs: 2,
    })
  })

  it('shows a step still open as running while its attempt runs, and as interrupted once it ended', () => {
    expect(foldSteps(events, attempt(3, 'running')).map((s) => s.status)).toEqual(['running'])
    const ended = foldSteps(events, attempt(3, 'cancelled', new Date(t0 + 25_000)))
    expect(ended).toEqual([expect.objectContaining({ status: 'interrupted', finishedAt: '2026-11-02T10:00:26.000Z' })])
    expect(foldSteps(events, undefined)).toEqual([])
  })
})
