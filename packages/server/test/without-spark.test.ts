// A studio and its worker on a machine without Spark (what a newcomer has before `pip install pyspark`): both start;
// health says Spark is down with the fix while pipelines, git and the database work; previews answer a typed
// SPARK_UNAVAILABLE; the worker claims nothing (runs stay queued) until Spark is found, then runs them.
import { execFile } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { errorStatus } from '@sparkle-studio/core'
import { findSparkRuntime, PYSPARK_VERSION, type SparkRuntime } from '@sparkle-studio/spark'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger, createStudio, createStudioWorker, type Principal, type Studio } from '../src/index.ts'

const execFileAsync = promisify(execFile)
const admin: Principal = { id: 'test', name: 'test', role: 'admin', via: 'host' }
const viewer: Principal = { id: 'viewer', name: 'viewer', role: 'viewer', via: 'host' }

describe('a studio without Spark', () => {
  let dir: TempDir
  let studio: Studio
  let real: SparkRuntime
  let noPyspark: string
  /** What the studio's Spark search reads: changed by the test to "install" Spark while the studio runs. */
  let sparkEnv: Record<string, string | undefined>
  let searches = 0
  const logs: { level: string; msg: string; [field: string]: unknown }[] = []

  beforeAll(async () => {
    real = await findSparkRuntime()
    dir = await makeTempDir('sparkle-no-spark-')
    // A Python without pyspark (a fresh virtualenv), and a PATH with no python3 on it.
    const venv = join(dir.path, 'venv')
    await execFileAsync(real.python, ['-m', 'venv', '--without-pip', venv])
    noPyspark = join(venv, 'bin', 'python')
    const emptyBin = join(dir.path, 'bin')
    await mkdir(emptyBin)
    sparkEnv = { PATH: emptyBin, HOME: dir.path, SPARKLE_PYTHON: noPyspark }
    const logger = createLogger({ level: 'info', write: (line) => logs.push(JSON.parse(line)) })
    studio = await createStudio({
      dataDir: join(dir.path, 'data'),
      logger,
      authentication: { bootstrap: false },
      spark: {
        master: 'local[1]',
        recheckMs: 300,
        runtime: () => {
          searches++
          return findSparkRuntime({ env: sparkEnv, searchFrom: [dir.path] })
        },
      },
    })
  })

  afterAll(async () => {
    await studio?.close()
    await dir?.remove()
  })

  it('starts, serves pipelines, reports Spark down with the fix, and runs nothing until Spark is found', async () => {
    expect(searches).toBe(0)
    const health = await studio.api.health({}, { principal: admin })
    expect(health.status).toBe('degraded')
    expect(health.checks?.git).toMatchObject({ ok: true, branch: 'main' })
    expect(health.checks?.database).toMatchObject({ ok: true })
    expect(health.checks?.spark.ok).toBe(false)
    expect(health.checks?.spark.detail).toContain(`SPARKLE_PYTHON=${noPyspark} has no pyspark`)
    expect(health.checks?.spark.detail).toContain(`${noPyspark} -m pip install pyspark==${PYSPARK_VERSION}`)
    // Viewers learn that Spark is down, not the server's paths.
    const seen = await studio.api.health({}, { principal: viewer })
    expect(seen.checks?.spark).toEqual({ ok: false })

    await studio.api.createPipeline({ body: { name: 'orders', template: 'daily-revenue' } }, { principal: admin })
    const list = await studio.api.listPipelines({}, { principal: admin })
    expect(list.map((p) => p.name)).toContain('orders')

    // A preview needs Spark: a typed 503 with the fix.
    const preview = await studio.api
      .dryRun({ body: { pipeline: 'orders', limit: 5 } }, { principal: admin })
      .catch((e: unknown) => e)
    expect(preview).toMatchObject({ code: 'SPARK_UNAVAILABLE', details: { missing: 'spark' } })
    expect(errorStatus['SPARK_UNAVAILABLE']).toBe(503)
    expect((preview as Error).message).toContain(`pip install pyspark==${PYSPARK_VERSION}`)

    const worker = await createStudioWorker(studio, { schedules: false, healthFile: join(dir.path, 'health.json') })
    await worker.start()
    try {
      const run = await studio.api.run(
        { body: { pipeline: 'orders', params: { ds: '2026-11-01' }, maxAttempts: 1 } },
        { principal: admin },
      )
      // Several claim polls (every 2 s) and Spark searches (kept 300 ms): the run stays queued, no attempt made.
      const before = searches
      await new Promise((r) => setTimeout(r, 5_000))
      expect(searches).toBeGreaterThan(before)
      expect((await studio.runs.get(run.id)).status).toBe('queued')
      expect(await studio.runs.attempts(run.id)).toEqual([])
      const warnings = logs.filter((l) => l.msg.startsWith('Spark is not available'))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatchObject({
        level: 'warn',
        fix: expect.stringContaining(`-m pip install pyspark==${PYSPARK_VERSION}`),
      })

      // Spark is installed meanwhile (here: the machine's own, through SPARK_HOME): the worker picks it up and runs.
      Object.assign(sparkEnv, {
        SPARK_HOME: real.sparkHome,
        SPARKLE_PYTHON: real.python,
        PATH: process.env['PATH'],
        JAVA_HOME: real.env['JAVA_HOME'],
      })
      const deadline = Date.now() + 150_000
      let status = (await studio.runs.get(run.id)).status
      while (!['succeeded', 'failed', 'cancelled'].includes(status) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200))
        status = (await studio.runs.get(run.id)).status
      }
      const done = await studio.api.getExecution({ params: { id: run.id } }, { principal: admin })
      expect(done.error).toBeUndefined()
      expect(done.status).toBe('succeeded')
      // The run's final task counts, as the demo's progress bar ends on them.
      expect(done.progress?.totalTasks).toBeGreaterThan(0)
      expect(done.progress?.completedTasks).toBe(done.progress?.totalTasks)
      expect(logs.some((l) => l.msg === 'Spark found: claiming runs')).toBe(true)
      // The job's supervisor writes its last files after the runner reported success: let it finish before cleanup.
      const submissionId = (await studio.runs.attempts(run.id)).at(-1)?.submissionId
      const submitter = await studio.submitter()
      while (submissionId && !(await submitter.logs(submissionId, { offset: 1e12 })).complete) {
        await new Promise((r) => setTimeout(r, 100))
      }
      expect((await studio.api.health({}, { principal: admin })).checks?.spark).toMatchObject({
        ok: true,
        version: real.sparkVersion,
      })
    } finally {
      await worker.stop({ timeoutMs: 5_000 })
    }
  })
})
