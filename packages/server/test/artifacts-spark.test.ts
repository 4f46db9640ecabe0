// Data artifacts on real Spark through the use cases (no HTTP): a large CSV is sampled (Spark reads its head only) while
// its row count, counted as it streamed, stays exact; a run reads an artifact as reference data and writes every row.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseParquetFooter } from '../src/artifacts/parquet-footer.ts'
import { type Call, createLogger, createStudio, createStudioWorker, type Studio } from '../src/index.ts'

const ROWS = 20_000

/** `id,city,amount` rows, streamed in chunks of 1,000 rows. */
function* csvRows(): Generator<Uint8Array> {
  const encoder = new TextEncoder()
  yield encoder.encode('id,city,amount\n')
  for (let start = 0; start < ROWS; start += 1000) {
    let chunk = ''
    for (let id = start; id < start + 1000; id++) chunk += `${id},"City ${id % 17}, Zone ${id % 3}",${(id % 100) / 4}\n`
    yield encoder.encode(chunk)
  }
}

describe('data artifacts on Spark', () => {
  let dir: TempDir
  let studio: Studio
  let worker: Awaited<ReturnType<typeof createStudioWorker>>
  let call: Call

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-artifacts-spark-')
    studio = await createStudio({
      dataDir: dir.path,
      logger: createLogger({ level: 'warn' }),
      authentication: { bootstrap: false },
      // Small enough that the test's 700 KB file counts as large.
      artifacts: { sampleAboveBytes: 64 * 1024, headBytes: 32 * 1024 },
    })
    call = { principal: { id: 'ada', name: 'Ada', role: 'editor', via: 'host' } }
    worker = await createStudioWorker(studio, { schedules: false, healthFile: join(dir.path, 'health.json') })
    await worker.start()
  }, 120_000)

  afterAll(async () => {
    await worker?.stop()
    await studio?.close()
    await dir?.remove()
  })

  it('samples a large CSV for its columns, keeps the exact row count, and a run reads it whole', async () => {
    const uploaded = await studio.api.uploadArtifact(
      { query: { name: 'cities.csv' }, body: { stream: Readable.from(csvRows()), contentType: 'text/csv' } },
      call,
    )
    expect(uploaded.rowCount).toBe(ROWS)
    expect(uploaded.size).toBeGreaterThan(64 * 1024)

    const detail = await studio.api.getArtifact({ params: { id: uploaded.id } }, call)
    expect(detail.inspection).toMatchObject({ status: 'ready', sampled: true })
    expect(detail.schema?.map((c) => [c.name, c.type])).toEqual([
      ['id', 'int'],
      ['city', 'string'],
      ['amount', 'double'],
    ])
    expect(detail.rowCount).toBe(ROWS)
    const sample = await studio.api.artifactSample({ params: { id: uploaded.id }, query: { limit: 2 } }, call)
    expect(sample.rows).toEqual([
      { id: 0, city: 'City 0, Zone 0', amount: 0 },
      { id: 1, city: 'City 1, Zone 1', amount: 0.25 },
    ])

    // A run reads the artifact as reference data (the whole file, not the sample) and writes every row.
    const output = join(dir.path, 'output', 'cities')
    await studio.api.createPipeline(
      {
        body: {
          name: 'cities',
          document: {
            schemaVersion: 2,
            name: 'cities',
            nodes: [
              {
                id: 'cities',
                position: { x: 0, y: 0 },
                data: { component: 'ingestor/csv@1', config: { path: { $artifact: uploaded.id } } },
              },
              {
                id: 'out',
                position: { x: 1, y: 0 },
                data: { component: 'sink/parquet@1', config: { path: output, mode: 'overwrite' } },
              },
            ],
            edges: [{ id: 'e1', source: 'cities', target: 'out' }],
          },
        },
      },
      call,
    )
    const run = await studio.api.run({ body: { pipeline: 'cities' } }, call)
    let now = run
    const deadline = Date.now() + 240_000
    while (!['succeeded', 'failed', 'cancelled'].includes(now.status) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500))
      now = await studio.api.getExecution({ params: { id: run.id } }, call)
    }
    expect(now.status, JSON.stringify(now)).toBe('succeeded')
    // Every row written, counted from the Parquet footers of the files the run wrote.
    const parts = (await readdir(output)).filter((f) => f.endsWith('.parquet'))
    expect(parts.length).toBeGreaterThan(0)
    let written = 0
    for (const part of parts) {
      const bytes = await readFile(join(output, part))
      const footerLength = bytes.readUInt32LE(bytes.length - 8)
      written += parseParquetFooter(bytes.subarray(bytes.length - 8 - footerLength, bytes.length - 8)).rowCount
    }
    expect(written).toBe(ROWS)
  }, 400_000)
})
