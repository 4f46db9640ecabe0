// The execution policy in a studio, without Spark: GET /policy for editors, saves held to its Spark configuration and
// schedule rules, backfills compiled and counted before anything is stored, a time limit on every run, and the
// environment variables that set it.
import { join } from 'node:path'
import { errorStatus, hasErrorCode, type PipelineDocument, StudioError } from '@sparkle-studio/core'
import type { SubmitRequest, Submitter } from '@sparkle-studio/spark'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createLogger,
  createStudio,
  createStudioWorker,
  loadServerConfig,
  type Principal,
  type Studio,
  studioOptions,
} from '../src/index.ts'
import { runTimeLimitMs } from '../src/policy.ts'

const editor: Principal = { id: 'ed', name: 'ed', role: 'editor', via: 'host' }
const viewer: Principal = { id: 'vi', name: 'vi', role: 'viewer', via: 'host' }

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

const issuesOf = (error: StudioError) => (error.details as { issues: { code: string; message: string }[] }).issues

describe('the execution policy in a studio', () => {
  let dir: TempDir
  let studio: Studio

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-policy-')
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
    await studio.api.createPipeline({ body: { name: 'orders', template: 'daily-revenue' } }, { principal: editor })
  })

  afterAll(async () => {
    await studio?.close()
    await dir?.remove()
  })

  const pipelineRuns = async (pipeline: string) => (await studio.runs.list({ pipeline })).runs.length

  it('holds the default policy over the data folder, frozen, and answers it to editors only', async () => {
    expect(studio.policy).toMatchObject({
      // The data folder's sample and output, and the folder Spark reads uploaded artifacts in (nothing else of it).
      readRoots: [
        join(studio.dataDir, 'sample'),
        join(studio.dataDir, 'output'),
        join(studio.dataDir, 'artifacts', 'spark'),
      ],
      writeRoots: [join(studio.dataDir, 'output')],
      jdbcUrlPatterns: [],
      defaultRunTimeMs: 3_600_000,
      maxRunTimeMs: 6 * 3_600_000,
      maxBackfillPartitions: 1_000,
      minScheduleIntervalMinutes: 5,
    })
    expect(Object.isFrozen(studio.policy)).toBe(true)
    expect(Object.isFrozen(studio.policy.readRoots)).toBe(true)
    const answered = await studio.api.getPolicy({}, { principal: editor })
    expect(answered).toEqual(studio.policy)
    expect(answered.sparkConf['spark.sql.shuffle.partitions']).toEqual({ kind: 'int', min: 1, max: 2000 })
    const refused = await failure(studio.api.getPolicy({}, { principal: viewer }))
    expect(refused.code).toBe('FORBIDDEN')
    expect(errorStatus[refused.code]).toBe(403)
  })

  it('refuses to save a document whose Spark configuration the policy does not allow, and leaves the repo as it was', async () => {
    const before = await studio.pipelines.get('orders')
    const document = {
      ...before.document,
      spark: { conf: { 'spark.driver.extraJavaOptions': '-javaagent:/tmp/agent.jar' } },
    } as PipelineDocument
    const error = await failure(
      studio.api.savePipeline({ params: { name: 'orders' }, body: { document } }, { principal: editor }),
    )
    expect(error.code).toBe('VALIDATION_FAILED')
    expect(errorStatus[error.code]).toBe(422)
    expect(issuesOf(error)).toContainEqual(
      expect.objectContaining({
        code: 'conf_not_allowed',
        message: expect.stringContaining('spark.driver.extraJavaOptions'),
      }),
    )
    const after = await studio.pipelines.get('orders')
    expect([after.revision, after.blob]).toEqual([before.revision, before.blob])
    // Out of range is refused too; within the rules it saves.
    const tooMany = { ...before.document, spark: { conf: { 'spark.sql.shuffle.partitions': '5000' } } }
    const outOfRange = await failure(
      studio.api.savePipeline({ params: { name: 'orders' }, body: { document: tooMany } }, { principal: editor }),
    )
    expect(issuesOf(outOfRange)).toContainEqual(expect.objectContaining({ code: 'conf_value_not_allowed' }))
    const allowed = { ...before.document, spark: { conf: { 'spark.sql.shuffle.partitions': '8' } } }
    await studio.api.savePipeline(
      { params: { name: 'orders' }, headers: { 'if-match': `"${before.blob}"` }, body: { document: allowed } },
      { principal: editor },
    )
    const validated = await studio.api.validatePipeline(
      { params: { name: 'orders' }, body: { document: { ...before.document, spark: document.spark } } },
      { principal: viewer },
    )
    expect(validated.valid).toBe(false)
  })

  it('refuses to save a schedule more frequent than the policy allows', async () => {
    const before = await studio.pipelines.get('orders')
    const document = { ...before.document, schedule: { cron: '* * * * *' } }
    const error = await failure(
      studio.api.savePipeline({ params: { name: 'orders' }, body: { document } }, { principal: editor }),
    )
    expect(error.code).toBe('VALIDATION_FAILED')
    expect(JSON.stringify(issuesOf(error))).toContain('/schedule')
    expect((await studio.pipelines.get('orders')).blob).toBe(before.blob)
    const hourly = { ...before.document, schedule: { cron: '0 * * * *' } }
    await studio.api.savePipeline(
      { params: { name: 'orders' }, headers: { 'if-match': `"${before.blob}"` }, body: { document: hourly } },
      { principal: editor },
    )
  })

  it('compiles a backfill before it creates partitions: a pipeline that cannot run creates nothing', async () => {
    const template = (await studio.pipelines.get('orders')).document
    // A draft without its sink saves (drafts may), but cannot compile to run.
    const draft = {
      ...template,
      name: 'draft',
      nodes: template.nodes.filter((n) => n.id !== 'out'),
      edges: template.edges.filter((e) => e.target !== 'out'),
    }
    await studio.api.createPipeline({ body: { name: 'draft', document: draft } }, { principal: editor })
    const error = await failure(
      studio.api.backfill(
        { body: { pipeline: 'draft', start: '2026-11-01', end: '2026-11-05' } },
        { principal: editor },
      ),
    )
    expect(error.code).toBe('VALIDATION_FAILED')
    expect(errorStatus[error.code]).toBe(422)
    expect(await pipelineRuns('draft')).toBe(0)
    expect(await studio.runs.listBackfills({ pipeline: 'draft' })).toEqual([])
  })

  it('refuses a backfill of more partitions than the policy allows, creating nothing', async () => {
    // 2024-01-01 to 2026-12-31 holds 1,096 days: above the policy's 1,000, below the store's own 10,000.
    const error = await failure(
      studio.api.backfill(
        { body: { pipeline: 'orders', start: '2024-01-01', end: '2026-12-31' } },
        { principal: editor },
      ),
    )
    expect(error.code).toBe('LIMIT_EXCEEDED')
    expect(error.details).toMatchObject({ limit: 1_000, requested: 1_096 })
    expect(await pipelineRuns('orders')).toBe(0)
    expect(await studio.runs.listBackfills({ pipeline: 'orders' })).toEqual([])
    const created = await studio.api.backfill(
      { body: { pipeline: 'orders', start: '2026-11-01', end: '2026-11-03', dryRun: true } },
      { principal: editor },
    )
    expect(created).toMatchObject({ dryRun: true, partitions: [{ key: '2026-11-01' }, {}, {}] })
  })

  it('refuses at enqueue a run whose sink path lies outside the write roots', async () => {
    const error = await failure(
      studio.api.run({ body: { pipeline: 'orders', params: { out_dir: '/tmp/elsewhere' } } }, { principal: editor }),
    )
    expect(error.code).toBe('VALIDATION_FAILED')
    expect(await pipelineRuns('orders')).toBe(0)
    const plan = await studio.api.pipelinePlan({ params: { name: 'orders' } }, { principal: editor })
    expect(plan.policy?.writeRoots).toEqual(studio.policy.writeRoots)
    const viewed = await studio.api.pipelinePlan({ params: { name: 'orders' } }, { principal: viewer })
    expect(viewed).not.toHaveProperty('policy')
  })

  it("gives every run the policy's time limit", async () => {
    const submitted: SubmitRequest[] = []
    const submitter: Submitter = {
      backend: 'test',
      async submit(request) {
        submitted.push(request)
        throw new StudioError('SPARK_UNAVAILABLE', 'test: the submission is all this test needs')
      },
      status: async () => {
        throw new StudioError('NOT_FOUND', 'test: no jobs')
      },
      wait: async () => {
        throw new StudioError('NOT_FOUND', 'test: no jobs')
      },
      cancel: async () => {},
      logs: async () => ({ text: '', nextOffset: 0, complete: true }),
    }
    const worker = await createStudioWorker(
      { ...studio, submitter: async () => submitter },
      { schedules: false, healthFile: join(dir.path, 'health.json') },
    )
    await worker.start()
    try {
      const run = await studio.api.run({ body: { pipeline: 'orders', maxAttempts: 1 } }, { principal: editor })
      const deadline = Date.now() + 60_000
      while ((await studio.runs.get(run.id)).status !== 'failed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100))
      }
      expect((await studio.runs.get(run.id)).status).toBe('failed')
      expect(submitted.map((r) => r.timeoutMs)).toEqual([3_600_000])
    } finally {
      await worker.stop({ timeoutMs: 5_000 })
    }
    expect(runTimeLimitMs({ defaultRunTimeMs: 7_200_000, maxRunTimeMs: 5_400_000 })).toBe(5_400_000)
    // The worker's queue takes the limit of runs per pipeline across workers (and refuses one that is not a limit).
    await expect(createStudioWorker(studio, { schedules: false, maxRunsPerPipeline: 0 })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    })
  })
})

describe('the execution policy from the environment', () => {
  it('reads roots, JDBC URL patterns, run times and limits, and hands them to the studio', () => {
    const config = loadServerConfig({
      SPARKLE_DATA_DIR: '/srv/sparkle',
      SPARKLE_READ_ROOTS: '/srv/data/raw, s3a://lake/raw/',
      SPARKLE_WRITE_ROOTS: '/srv/data/curated',
      SPARKLE_JDBC_URLS: 'jdbc:postgresql://db\\.internal:5432/\\w+',
      SPARKLE_MAX_RUN_TIME: '2h',
      SPARKLE_DEFAULT_RUN_TIME: '90m',
      SPARKLE_MAX_BACKFILL_PARTITIONS: '400',
      SPARKLE_MIN_SCHEDULE_INTERVAL: '15',
    })
    expect(config.policy).toMatchObject({
      readRoots: ['/srv/data/raw', 's3a://lake/raw/'],
      writeRoots: ['/srv/data/curated'],
      jdbcUrlPatterns: ['jdbc:postgresql://db\\.internal:5432/\\w+'],
      maxRunTimeMs: 2 * 3_600_000,
      defaultRunTimeMs: 90 * 60_000,
      maxBackfillPartitions: 400,
      minScheduleIntervalMinutes: 15,
      deniedFunctions: ['reflect', 'java_method', 'try_reflect'],
    })
    expect(studioOptions(config).policy).toBe(config.policy)
  })

  it('defaults to the data folder and core limits, and keeps the default run time within a lower maximum', () => {
    const defaults = loadServerConfig({ SPARKLE_DATA_DIR: '/srv/sparkle' }).policy
    expect(defaults).toMatchObject({
      readRoots: ['/srv/sparkle/sample', '/srv/sparkle/output'],
      writeRoots: ['/srv/sparkle/output'],
      jdbcUrlPatterns: [],
      defaultRunTimeMs: 3_600_000,
      maxRunTimeMs: 6 * 3_600_000,
      maxBackfillPartitions: 1_000,
      minScheduleIntervalMinutes: 5,
    })
    const short = loadServerConfig({ SPARKLE_MAX_RUN_TIME: '30m' }).policy
    expect([short.defaultRunTimeMs, short.maxRunTimeMs]).toEqual([30 * 60_000, 30 * 60_000])
  })

  it('refuses invalid values, naming the variables', () => {
    const refused = (env: Record<string, string>) => {
      try {
        loadServerConfig(env)
      } catch (error) {
        if (hasErrorCode(error, 'BAD_REQUEST')) return error.message
      }
      return 'accepted'
    }
    expect(refused({ SPARKLE_MAX_RUN_TIME: '6 hours' })).toContain('SPARKLE_MAX_RUN_TIME')
    expect(refused({ SPARKLE_DEFAULT_RUN_TIME: '0s' })).toContain('SPARKLE_DEFAULT_RUN_TIME')
    expect(refused({ SPARKLE_JDBC_URLS: 'jdbc:(' })).toContain('SPARKLE_JDBC_URLS')
    expect(refused({ SPARKLE_MAX_BACKFILL_PARTITIONS: '0' })).toContain('SPARKLE_MAX_BACKFILL_PARTITIONS')
    expect(refused({ SPARKLE_MIN_SCHEDULE_INTERVAL: 'often' })).toContain('SPARKLE_MIN_SCHEDULE_INTERVAL')
    expect(refused({ SPARKLE_DEFAULT_RUN_TIME: '8h' })).toMatch(/SPARKLE_DEFAULT_RUN_TIME is longer/)
  })
})
