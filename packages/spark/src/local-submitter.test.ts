import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ExecutionPlan } from '@sparkle-studio/core'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunnerEvent } from './events.ts'
import type { JobRecord } from './job-files.ts'
import { LocalSubmitter } from './local-submitter.ts'
import { groupMembers, isProcessAlive } from './process.ts'
import { findSparkRuntime, type SparkRuntime } from './runtime.ts'
import type { JobStatus, Submitter } from './submitter.ts'
import {
  expectedRevenue,
  makeOrders,
  pipelinePlan,
  readOrdersStep,
  slowPlan,
  writeOrdersCsv,
} from './testing/fixtures.ts'

const orders = makeOrders(500)

/** Reads a job's whole log, as a consumer would: chunk by chunk until it is complete. */
async function readAllLogs(submitter: Submitter, id: string): Promise<string> {
  let offset = 0
  let text = ''
  for (;;) {
    const chunk = await submitter.logs(id, { offset, limit: 16 * 1024 })
    text += chunk.text
    if (chunk.complete) return text
    // Not complete yet: the supervisor still appends to the log (its exit note comes last).
    if (chunk.nextOffset === offset) await new Promise((r) => setTimeout(r, 100))
    offset = chunk.nextOffset
  }
}

async function jobRecord(id: string): Promise<JobRecord> {
  return JSON.parse(await readFile(join(id, 'job.json'), 'utf8')) as JobRecord
}

/** Waits for the first event that `match` accepts, while the job runs. */
function waitForEvent(submitter: Submitter, id: string, match: (e: RunnerEvent) => boolean): Promise<RunnerEvent> {
  const controller = new AbortController()
  return new Promise<RunnerEvent>((resolve, reject) => {
    submitter
      .wait(id, {
        signal: controller.signal,
        onEvent: (e) => {
          if (match(e)) {
            controller.abort()
            resolve(e)
          }
        },
      })
      .then((s) => reject(new Error(`the job ended (${s.state}: ${s.error?.message}) before the expected event`)))
      .catch(() => {})
  })
}

describe('LocalSubmitter (real spark-submit, local[2])', () => {
  let runtime: SparkRuntime
  let tmp: TempDir
  let csv: string
  let baseDir: string

  beforeAll(async () => {
    runtime = await findSparkRuntime()
    tmp = await makeTempDir('sparkle-local-')
    csv = await writeOrdersCsv(tmp.path, orders)
    baseDir = join(tmp.path, 'jobs')
  })
  afterAll(async () => {
    await tmp?.remove()
  })

  it('runs csv -> filter -> aggregate -> parquet to exactly the expected rows, in a job that outlives the process that submitted it', async () => {
    const out = join(tmp.path, 'by-country.parquet')
    const planFile = join(tmp.path, 'pipeline.json')
    await writeFile(planFile, JSON.stringify(pipelinePlan(csv, out)))
    // Another Node process submits and is killed with SIGKILL at once: the job must not depend on it.
    const child = spawn(
      process.execPath,
      [
        '--conditions=@sparkle-studio/source',
        '--experimental-transform-types',
        '--no-warnings',
        fileURLToPath(new URL('./testing/submit-and-hang.ts', import.meta.url)),
        baseDir,
        planFile,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const line = await new Promise<string>((resolve, reject) => {
      let buffer = ''
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString()
        if (buffer.includes('\n')) resolve(buffer.split('\n')[0] as string)
      })
      child.once('exit', (code) => reject(new Error(`the submitting process exited with ${code}`)))
    })
    child.kill('SIGKILL')
    const { id } = JSON.parse(line) as { id: string }

    // A new submitter, as a restarted worker would create, picks the job up by its id.
    const submitter = new LocalSubmitter({ runtime, baseDir })
    const events: RunnerEvent[] = []
    const final = await submitter.wait(id, { onEvent: (e) => events.push(e) })
    expect(final.error).toBeUndefined()
    expect(final.state).toBe('succeeded')
    expect(final.appId).toMatch(/^local-\d+$/)
    expect(final.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(final.appDurationMs).toBeGreaterThan(0)

    const readback = events.find((e) => e.type === 'rows' && e.nodeId === 'readback')
    expect(readback?.type === 'rows' && readback.rows).toEqual(expectedRevenue(orders))
    expect(existsSync(join(out, '_SUCCESS'))).toBe(true)
    const written = events.find((e) => e.type === 'step_finished' && e.nodeId === 'sink')
    expect(written?.type === 'step_finished' && written.rows).toBe(expectedRevenue(orders).length)
    expect(events.map((e) => e.type).filter((t) => t === 'started' || t === 'succeeded')).toEqual([
      'started',
      'succeeded',
    ])

    const again = await new LocalSubmitter({ runtime, baseDir }).status(id)
    expect(again.state).toBe('succeeded')
    const log = await readAllLogs(submitter, id)
    expect(log).toContain('SparkContext')
    expect(log).toContain('[sparkle] spark-submit exited with code 0')
  })

  it('fails a bad column, a bad expression and a missing input file with the node, Spark error class and message', async () => {
    const submitter = new LocalSubmitter({ runtime, baseDir })
    const broken = (nodeId: string, sql: string, input = csv): ExecutionPlan => ({
      pipeline: `broken-${nodeId}`,
      mode: 'run',
      steps: [
        readOrdersStep(input),
        { nodeId, kind: 'view', view: `\`sparkle_${nodeId}\``, sql },
        { nodeId: 'show', kind: 'query', sql: `SELECT * FROM \`sparkle_${nodeId}\``, limit: 10 },
      ],
    })
    const cases = [
      {
        plan: broken('bad_column', 'SELECT no_such_column FROM `sparkle_orders`'),
        nodeId: 'bad_column',
        errorClass: /^UNRESOLVED_COLUMN/,
        message: 'no_such_column',
      },
      {
        plan: broken('bad_expression', 'SELECT * FROM `sparkle_orders` WHERE amount_cents >'),
        nodeId: 'bad_expression',
        errorClass: /^PARSE_SYNTAX_ERROR$/,
        message: 'Syntax error',
      },
      {
        plan: broken('filter', 'SELECT * FROM `sparkle_orders`', join(tmp.path, 'no-such-file.csv')),
        nodeId: 'orders',
        errorClass: /^PATH_NOT_FOUND$/,
        message: 'no-such-file.csv',
      },
    ]
    const ids = await Promise.all(cases.map((c, i) => submitter.submit({ jobId: `broken-${i}`, plan: c.plan })))
    const finals = await Promise.all(ids.map(({ id }) => submitter.wait(id)))
    for (const [i, c] of cases.entries()) {
      const final = finals[i] as JobStatus
      expect(final.state).toBe('failed')
      expect(final.error?.nodeId).toBe(c.nodeId)
      expect(final.error?.errorClass).toMatch(c.errorClass)
      expect(final.error?.message).toContain(c.message)
      expect(final.exit).toEqual({ code: 1, signal: null })
      // The log is kept, with the runner's traceback of the failure.
      expect(await readAllLogs(submitter, (ids[i] as { id: string }).id)).toContain(final.error?.errorClass)
    }
  })

  // Each of these mostly waits on its own JVM: side by side they take the time of the slowest.
  describe.concurrent('stopping, timing out, warm drivers', () => {
    it('fails a driver killed from outside with the node it was running, and keeps its log', async () => {
      const submitter = new LocalSubmitter({ runtime, baseDir })
      const { id } = await submitter.submit({ jobId: 'killed', plan: slowPlan(120) })
      const started = await waitForEvent(submitter, id, (e) => e.type === 'started')
      await waitForEvent(submitter, id, (e) => e.type === 'step_started' && e.nodeId === 'slow')
      const driverPid = started.type === 'started' ? (started.driverPid as number) : 0
      process.kill(driverPid, 'SIGKILL')
      const final = await submitter.wait(id)
      expect(final.state).toBe('failed')
      expect(final.error).toMatchObject({ nodeId: 'slow', errorClass: 'DRIVER_KILLED' })
      expect(final.error?.message).toContain('killed by SIGKILL')
      expect(final.exit).toEqual({ code: null, signal: 'SIGKILL' })
      expect(await groupMembers((await jobRecord(id)).pid)).toEqual([])
      expect(await readAllLogs(submitter, id)).toContain('SparkContext')
    })

    describe('with the UI port taken', () => {
      let blocker: Server
      let takenPort: number
      beforeAll(async () => {
        blocker = createServer()
        await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
        takenPort = (blocker.address() as { port: number }).port
      })
      afterAll(async () => {
        await new Promise((resolve) => blocker.close(resolve))
      })

      it('reports the moved UI URL and task progress while running, and cancel leaves no Spark process behind', async () => {
        const submitter = new LocalSubmitter({
          runtime,
          baseDir,
          conf: { 'spark.ui.port': String(takenPort) },
          progressIntervalMs: 250,
        })
        const { id } = await submitter.submit({ jobId: 'cancel-me', plan: slowPlan(120) })
        const controller = new AbortController()
        let moving: JobStatus | undefined
        await submitter
          .wait(id, {
            signal: controller.signal,
            onStatus: (s) => {
              if (s.state === 'running' && (s.progress?.completedTasks ?? 0) >= 2) {
                moving = s
                controller.abort()
              }
            },
          })
          .catch((e: unknown) => {
            if (!controller.signal.aborted) throw e
          })
        expect(moving?.progress?.totalTasks).toBe(240)
        expect(moving?.progress?.activeStages.length).toBe(1)
        const uiPort = Number(new URL(moving?.uiUrl as string).port)
        expect(uiPort).not.toBe(takenPort)
        const apps = (await (await fetch(`${moving?.uiUrl}/api/v1/applications`)).json()) as { id: string }[]
        expect(apps.map((a) => a.id)).toEqual([moving?.appId])

        const { pid } = await jobRecord(id)
        await submitter.cancel(id)
        const final = await submitter.status(id)
        expect(final.state).toBe('cancelled')
        expect(await groupMembers(pid)).toEqual([])
        expect(await isProcessAlive(moving?.driverPid as number)).toBe(false)
        await submitter.cancel(id)
        expect((await submitter.status(id)).state).toBe('cancelled')
      })
    })

    it('stops a job at its wall-clock timeout and fails it with JOB_TIMEOUT', async () => {
      const submitter = new LocalSubmitter({ runtime, baseDir, killGraceMs: 3_000 })
      const { id } = await submitter.submit({ jobId: 'too-slow', plan: slowPlan(120), timeoutMs: 6_000 })
      const final = await submitter.wait(id)
      expect(final.state).toBe('failed')
      expect(final.error?.errorClass).toBe('JOB_TIMEOUT')
      expect(final.error?.message).toContain('timeout of 6000 ms')
      expect(await groupMembers((await jobRecord(id)).pid)).toEqual([])
    })

    it("runs a job on a warm driver started ahead of it, with the job's own configuration", async () => {
      const warmBase = join(tmp.path, 'warm-jobs')
      const submitter = new LocalSubmitter({ runtime, baseDir: warmBase, warmDrivers: 1 })
      try {
        await submitter.start()
        const plan: ExecutionPlan = {
          pipeline: 'warm',
          mode: 'run',
          conf: { 'spark.sql.shuffle.partitions': '3', 'spark.sql.adaptive.enabled': 'false' },
          steps: [
            {
              nodeId: 'setting',
              kind: 'query',
              // The shuffle's partitions, as the plan's configuration set them (SET is a command: never run).
              sql: 'SELECT count(DISTINCT p) AS partitions FROM (SELECT spark_partition_id() AS p FROM (SELECT id FROM range(0, 100) DISTRIBUTE BY id))',
              limit: 1,
            },
            { nodeId: 'sum', kind: 'query', sql: 'SELECT sum(id) AS total FROM range(0, 100)', limit: 1 },
          ],
        }
        const { id } = await submitter.submit({ jobId: 'on-a-warm-driver', plan })
        expect(basename(id)).toMatch(/^warm-/)
        const events: RunnerEvent[] = []
        const final = await submitter.wait(id, { onEvent: (e) => events.push(e) })
        expect(final.state, final.error?.message).toBe('succeeded')
        const started = events.find((e) => e.type === 'started')
        expect(started?.type === 'started' && started.appName).toBe('sparkle:warm:on-a-warm-driver')
        const rows = (nodeId: string) => events.find((e) => e.type === 'rows' && e.nodeId === nodeId)
        expect(rows('setting')).toMatchObject({ rows: [{ partitions: 3 }] })
        expect(rows('sum')).toMatchObject({ rows: [{ total: 4950 }] })

        // Configuration read at JVM start cannot go to a warm driver: that job starts cold.
        const cold = await submitter.submit({ jobId: 'needs-memory', plan, conf: { 'spark.driver.memory': '700m' } })
        expect(basename(cold.id)).toMatch(/^needs-memory-/)
        await submitter.cancel(cold.id)
      } finally {
        await submitter.close()
      }
      // The replacement warm driver is gone with its folder; the jobs' folders stay.
      const left = await readdir(warmBase)
      expect(left.filter((n) => n.startsWith('warm-'))).toHaveLength(1)
      for (const name of left) expect(existsSync(join(warmBase, name, 'job.json'))).toBe(true)
    })

    it('lets a warm driver that got no job exit on its own, leaving nothing behind', async () => {
      const idleBase = join(tmp.path, 'idle-jobs')
      const submitter = new LocalSubmitter({ runtime, baseDir: idleBase, warmDrivers: 1, warmDriverIdleMs: 10_000 })
      await submitter.start()
      const [name] = await readdir(idleBase)
      expect(name).toMatch(/^warm-/)
      expect(existsSync(join(idleBase, name as string, 'job.json'))).toBe(false)
      // Its supervisor removes the folder once the driver and all its processes are gone.
      while ((await readdir(idleBase)).length > 0) await new Promise((r) => setTimeout(r, 250))
      await submitter.close()
    })
  })

  it('refuses ids outside its folder', async () => {
    const submitter = new LocalSubmitter({ runtime, baseDir })
    await expect(submitter.status('/etc')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(submitter.cancel(join(baseDir, '..', 'elsewhere'))).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(submitter.status(join(baseDir, 'never-submitted'))).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})
