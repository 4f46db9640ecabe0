// A studio and its worker on a machine without Spark: both start; health says what is missing; a run fails with the
// reason instead of the worker failing to start.
import { StudioError } from '@sparkle-studio/core'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger, createStudio, createStudioWorker, type Principal, type Studio } from '../src/index.ts'

const admin: Principal = { id: 'test', name: 'test', role: 'admin', via: 'host' }

describe('a studio without Spark', () => {
  let dir: TempDir
  let studio: Studio
  let lookups = 0

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-no-spark-')
    studio = await createStudio({
      dataDir: dir.path,
      logger: createLogger({ level: 'error' }),
      spark: {
        runtime: async () => {
          lookups++
          throw new StudioError('SPARK_UNAVAILABLE', 'No Spark installation found (test: none on purpose)')
        },
      },
    })
  })

  afterAll(async () => {
    await studio?.close()
    await dir?.remove()
  })

  it('starts, serves, reports Spark missing in health, and fails runs with the reason', async () => {
    const worker = await createStudioWorker(studio, { schedules: false, healthFile: `${dir.path}/health.json` })
    await worker.start()
    try {
      expect(lookups).toBe(0)
      const health = await studio.api.health({}, { principal: admin })
      expect(health.status).toBe('degraded')
      expect(health.checks?.spark).toMatchObject({ ok: false, detail: expect.stringContaining('No Spark') })
      await studio.api.createPipeline({ body: { name: 'orders', template: 'daily-revenue' } }, { principal: admin })
      const run = await studio.api.run({ body: { pipeline: 'orders', maxAttempts: 1 } }, { principal: admin })
      const deadline = Date.now() + 60_000
      let status = run.status
      while (status !== 'failed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100))
        status = (await studio.runs.get(run.id)).status
      }
      const failed = await studio.runs.get(run.id)
      expect(failed.status).toBe('failed')
      expect(failed.error).toMatchObject({ code: 'SPARK_UNAVAILABLE', message: expect.stringContaining('No Spark') })
    } finally {
      await worker.stop({ timeoutMs: 5_000 })
    }
  })
})
