// Schedules through studio.api, without Spark: every pipeline's schedule with its next fire times across daylight-saving
// changes (the slots the scheduler enqueues) and the last slot it ran; pause and resume as commits authored by the
// caller, repeating one commits nothing, and the scheduler enqueues nothing for a paused schedule.
import { type PipelineDocument, StudioError } from '@sparkle-studio/core'
import { Scheduler } from '@sparkle-studio/runs'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger, createStudio, listStudioSchedules, type Principal, type Studio } from '../src/index.ts'

const editor: Principal = { id: 'erika', name: 'Erika Editor', email: 'erika@example.com', role: 'editor', via: 'host' }
const viewer: Principal = { id: 'vi', name: 'Victor Viewer', role: 'viewer', via: 'host' }

/** The error a call fails with (the test fails when it succeeds). */
async function failure(call: Promise<unknown>): Promise<StudioError> {
  try {
    await call
  } catch (error) {
    if (error instanceof StudioError) return error
    throw error
  }
  throw new Error('expected the call to fail')
}

describe('schedules', () => {
  let dir: TempDir
  let studio: Studio
  let clock = new Date('2026-03-28T23:30:00Z')
  let scheduler: Scheduler

  /** Saves a pipeline made from the sample template, with `schedule` when given. */
  async function create(name: string, schedule?: PipelineDocument['schedule']): Promise<void> {
    const template = studio.templates.find((t) => t.name === 'daily-revenue')
    if (!template) throw new Error('no daily-revenue template')
    const document = { ...structuredClone(template.document), name, ...(schedule ? { schedule } : {}) }
    await studio.pipelines.save(name, document, { expected: null, message: `Create ${name}` })
  }

  const list = async (query: { count?: number; after?: string } = {}) =>
    (await studio.api.listSchedules({ query }, { principal: viewer })).items
  const item = async (name: string, query: { count?: number; after?: string } = {}) =>
    (await list(query)).find((s) => s.pipeline === name)
  const history = async (name: string) =>
    studio.api.pipelineHistory({ params: { name }, query: {} }, { principal: viewer })

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-schedules-')
    studio = await createStudio({
      dataDir: dir.path,
      logger: createLogger({ level: 'error' }),
      authentication: { bootstrap: false },
      spark: {
        runtime: async () => {
          throw new StudioError('SPARK_UNAVAILABLE', 'No Spark installation found (test: none on purpose)')
        },
      },
    })
    await create('berlin', { cron: '0 2 * * *', timezone: 'Europe/Berlin' })
    await create('new-york', { cron: '30 1 * * *', timezone: 'America/New_York', catchUp: 'all' })
    await create('hourly', { cron: '0 * * * *' })
    await create('off', { cron: '0 6 * * 1', enabled: false })
    await create('plain')
    // The worker's scheduler, on the studio's queue, reading the schedules from git as createStudioWorker does.
    scheduler = new Scheduler({
      queue: studio.queue,
      listSchedules: ({ signal }) => listStudioSchedules(studio, signal),
      now: () => clock,
      logger: { log: () => {} },
      owner: 'test',
    })
  })

  afterAll(async () => {
    await studio?.close()
    await dir?.remove()
  })

  it('lists every pipeline with a schedule, paused ones too, with next fire times across DST changes', async () => {
    const items = await list({ after: '2026-03-27T12:00:00Z', count: 3 })
    const head = (await studio.pipelines.list()).revision
    expect(items.map((s) => s.pipeline)).toEqual(['berlin', 'hourly', 'new-york', 'off'])
    expect(items.every((s) => s.revision === head)).toBe(true)
    // 02:00 does not exist in Berlin on 2026-03-29 (CET to CEST): that day it fires at 03:00 CEST.
    expect(items[0]).toEqual({
      pipeline: 'berlin',
      cron: '0 2 * * *',
      timezone: 'Europe/Berlin',
      catchUp: 'latest',
      enabled: true,
      nextFireTimes: ['2026-03-28T02:00:00+01:00', '2026-03-29T03:00:00+02:00', '2026-03-30T02:00:00+02:00'],
      revision: head,
    })
    expect(items[3]).toMatchObject({ pipeline: 'off', enabled: false, nextFireTimes: [] })
    // 01:30 happens twice in New York on 2026-11-01 (EDT to EST): it fires once, at the first.
    expect((await item('new-york', { after: '2026-10-31T12:00:00Z' }))?.nextFireTimes).toEqual([
      '2026-11-01T01:30:00-04:00',
      '2026-11-02T01:30:00-05:00',
      '2026-11-03T01:30:00-05:00',
      '2026-11-04T01:30:00-05:00',
      '2026-11-05T01:30:00-05:00',
    ])
    expect((await item('hourly'))?.nextFireTimes).toHaveLength(5)
    expect((await item('hourly', { count: 50 }))?.nextFireTimes).toHaveLength(50)
    await expect(studio.api.listSchedules({ query: { count: 51 } }, { principal: viewer })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    })
  })

  it('shows the last slot the scheduler ran, which is the time it listed, with the run and its status', async () => {
    const listed = (await item('berlin', { after: clock.toISOString(), count: 1 }))?.nextFireTimes
    expect(listed).toEqual(['2026-03-29T03:00:00+02:00'])
    expect((await item('berlin'))?.lastSlot).toBeUndefined()
    await scheduler.tick()
    clock = new Date('2026-03-29T01:00:10Z')
    const tick = await scheduler.tick()
    expect(tick.errors).toEqual([])
    const [run] = tick.evaluations.find((e) => e.pipeline === 'berlin')?.runs ?? []
    expect(run?.params['slot']).toBe(listed?.[0])
    expect((await item('berlin'))?.lastSlot).toEqual({ slot: listed?.[0], runId: run?.id, status: 'queued' })
  })

  it('pauses with one commit authored by the caller, and a second pause commits nothing', async () => {
    const before = await history('berlin')
    const paused = await studio.api.pauseSchedule({ params: { name: 'berlin' } }, { principal: editor })
    expect(paused).toMatchObject({ pipeline: 'berlin', enabled: false, nextFireTimes: [], changed: true })
    expect(paused.lastSlot?.slot).toBe('2026-03-29T03:00:00+02:00')
    const after = await history('berlin')
    expect(after).toHaveLength(before.length + 1)
    expect(after[0]).toMatchObject({
      commit: paused.commit?.commit,
      message: 'Pause schedule of berlin',
      author: { name: 'Erika Editor', email: 'erika@example.com' },
    })
    expect(paused.revision).toBe(after[0]?.commit)
    const stored = await studio.pipelines.get('berlin')
    // The document as it was written, but for the flag.
    expect(stored.document.schedule).toEqual({ cron: '0 2 * * *', timezone: 'Europe/Berlin', enabled: false })
    expect(await item('berlin')).toMatchObject({ enabled: false, nextFireTimes: [] })

    const again = await studio.api.pauseSchedule({ params: { name: 'berlin' } }, { principal: editor })
    expect(again).toMatchObject({ enabled: false, changed: false, revision: stored.revision })
    expect(again.commit).toBeUndefined()
    expect(await history('berlin')).toHaveLength(after.length)
    expect((await studio.pipelines.get('berlin')).revision).toBe(stored.revision)
  })

  it('enqueues nothing for a paused schedule, and runs it again once resumed', async () => {
    clock = new Date('2026-03-30T00:00:10Z')
    const tick = await scheduler.tick()
    expect(tick.evaluations.map((e) => e.pipeline)).not.toContain('berlin')
    expect((await studio.runs.list({ pipeline: 'berlin' })).runs).toHaveLength(1)

    const resumed = await studio.api.resumeSchedule({ params: { name: 'berlin' } }, { principal: editor })
    expect(resumed).toMatchObject({ enabled: true, changed: true, commit: { message: 'Resume schedule of berlin' } })
    expect(resumed.nextFireTimes).toHaveLength(5)
    expect((await studio.pipelines.get('berlin')).document.schedule?.enabled).toBe(true)
    const again = await studio.api.resumeSchedule({ params: { name: 'berlin' } }, { principal: editor })
    expect(again).toMatchObject({ enabled: true, changed: false })
    expect(again.commit).toBeUndefined()

    // A slot missed while paused is caught up as after downtime, by the schedule's policy (latest: the last one).
    clock = new Date('2026-03-30T12:00:00Z')
    const next = await scheduler.tick()
    const runs = next.evaluations.find((e) => e.pipeline === 'berlin')?.runs ?? []
    expect(runs.map((r) => r.params['slot'])).toEqual(['2026-03-30T02:00:00+02:00'])
  })

  it('refuses a pipeline without a schedule (409), a missing one (404) and a viewer (403)', async () => {
    const none = await failure(studio.api.pauseSchedule({ params: { name: 'plain' } }, { principal: editor }))
    expect(none.code).toBe('CONFLICT')
    expect(none.message).toContain('pipeline "plain" has no schedule to pause')
    const missing = await failure(studio.api.resumeSchedule({ params: { name: 'missing' } }, { principal: editor }))
    expect(missing.code).toBe('NOT_FOUND')
    const forbidden = await failure(studio.api.pauseSchedule({ params: { name: 'berlin' } }, { principal: viewer }))
    expect(forbidden.code).toBe('FORBIDDEN')
    expect(await item('plain')).toBeUndefined()
  })
})
