// Data artifacts end to end through the typed client: the real server (Express) with Spark previews, on local storage
// and on S3 (moto's server mode as the stand-in, the bucket read back with the AWS SDK). Upload -> detail (Spark's
// columns, row count) -> sample -> dry-run of a pipeline reading it -> download byte-equal; bad input refused with a
// clear 4xx and nothing left behind.
import { execFile } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { promisify } from 'node:util'
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import {
  ApiConflictError,
  type ApiValidationError,
  createStudioClient,
  type StudioClient,
  type UploadProgress,
} from '@sparkle-studio/client'
import { findSparkRuntime } from '@sparkle-studio/spark'
import { makeTempDir, type S3StandIn, startS3StandIn, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startServer } from '../src/main.ts'

const ADMIN_KEY = `sk_live_artifacts_${'a'.repeat(40)}`
const LIMIT_BYTES = 4 * 1024 * 1024

/** RFC 4180 CSV with a quoted delimiter, a doubled quote and a quoted line break: 4 rows below the header. */
const ORDERS_CSV = [
  'id,customer,amount,day',
  '1,"Ada, Countess",12.5,2026-11-01',
  '2,"Bob ""the builder""",7.25,2026-11-02',
  '3,"Line\r\nbreak",100,2026-11-02',
  '4,Dana,0.75,2026-11-03',
  '',
].join('\r\n')

const repoRoot = join(import.meta.dirname, '..', '..', '..')

/** Writes Parquet files with real Spark (the content checker's fixture script); answers their folder. */
async function makeParquet(dir: string): Promise<string> {
  const runtime = await findSparkRuntime()
  const python = process.env['SPARKLE_PYTHON'] ?? runtime.python ?? 'python3'
  await promisify(execFile)(python, [join(repoRoot, 'packages/server/src/artifacts/fixtures/make-parquet.py'), dir], {
    env: { ...process.env, SPARK_HOME: runtime.sparkHome },
    timeout: 180_000,
  })
  return dir
}

/** Every file under a folder, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true })
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
  } catch {
    return []
  }
}

const chunked = (bytes: Uint8Array, size: number) =>
  Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size)
    })(),
  )

let parquetDir: TempDir
let parquetBytes: Buffer
let parquetRows: number

beforeAll(async () => {
  parquetDir = await makeTempDir('sparkle-artifacts-parquet-')
  await makeParquet(parquetDir.path)
  parquetBytes = await readFile(join(parquetDir.path, 'nested.parquet'))
  parquetRows = (JSON.parse(await readFile(join(parquetDir.path, 'expected.json'), 'utf8')) as { nested: number })
    .nested
}, 240_000)

afterAll(async () => {
  await parquetDir?.remove()
})

describe.each([{ storage: 'local' as const }, { storage: 's3' as const }])(
  'data artifacts through the typed client ($storage storage)',
  ({ storage }) => {
    let dir: TempDir
    let s3: S3StandIn | undefined
    let s3Client: S3Client | undefined
    let server: RunningServer
    let client: StudioClient
    const bucket = 'sparkle-artifacts'

    /** What the storage holds: every object and every unfinished upload (S3), or every file (local). */
    async function stored(): Promise<string[]> {
      if (!s3Client) return (await filesUnder(join(dir.path, 'artifacts'))).filter((f) => !f.startsWith('spark/'))
      const objects = await s3Client.send(new ListObjectsV2Command({ Bucket: bucket }))
      const uploads = await s3Client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
      return [
        ...(objects.Contents ?? []).map((o) => o.Key ?? ''),
        ...(uploads.Uploads ?? []).map((u) => `upload:${u.Key}`),
      ].sort()
    }

    beforeAll(async () => {
      dir = await makeTempDir('sparkle-artifacts-')
      const env: Record<string, string | undefined> = {
        ...process.env,
        PORT: '0',
        SPARKLE_DATA_DIR: dir.path,
        SPARKLE_WORKER: 'off',
        SPARKLE_LOG_LEVEL: 'warn',
        SPARKLE_ADMIN_KEY: ADMIN_KEY,
        SPARKLE_ARTIFACTS_MAX_BYTES: `${LIMIT_BYTES / 1024 / 1024}mb`,
      }
      if (storage === 's3') {
        s3 = await startS3StandIn()
        await s3.createBucket(bucket)
        // The AWS SDK reads credentials from its own environment variables, as in production.
        process.env['AWS_ACCESS_KEY_ID'] = s3.credentials.accessKeyId
        process.env['AWS_SECRET_ACCESS_KEY'] = s3.credentials.secretAccessKey
        Object.assign(env, {
          SPARKLE_ARTIFACTS_S3_BUCKET: bucket,
          SPARKLE_ARTIFACTS_S3_PREFIX: 'studio/',
          SPARKLE_ARTIFACTS_S3_ENDPOINT: s3.endpoint,
          SPARKLE_ARTIFACTS_S3_REGION: s3.region,
        })
        s3Client = new S3Client({
          endpoint: s3.endpoint,
          region: s3.region,
          forcePathStyle: true,
          credentials: s3.credentials,
        })
      }
      server = await startServer(env)
      client = createStudioClient({ baseUrl: server.url, timeout: 180_000, token: ADMIN_KEY })
    }, 120_000)

    afterAll(async () => {
      await server?.stop()
      s3Client?.destroy()
      await s3?.close()
      await dir?.remove()
    })

    it('uploads a CSV from a Node stream, reads its columns and sample, previews a pipeline on it, downloads it byte-equal', async () => {
      const bytes = new TextEncoder().encode(ORDERS_CSV)
      const progress: UploadProgress[] = []
      const artifact = await client.uploadArtifact({
        query: { name: 'orders sample.csv', description: 'Four orders' },
        body: chunked(bytes, 7),
        contentType: 'text/csv',
        size: bytes.length,
        onProgress: (p) => progress.push(p),
      })
      expect(artifact).toMatchObject({
        name: 'orders sample.csv',
        description: 'Four orders',
        format: 'csv',
        size: bytes.length,
        rowCount: 4,
        ref: { $artifact: artifact.id },
        createdBy: expect.any(String),
      })
      expect(progress.at(-1)).toEqual({ loaded: bytes.length, total: bytes.length })
      const { createHash } = await import('node:crypto')
      expect(artifact.sha256).toBe(createHash('sha256').update(bytes).digest('hex'))

      // Detail: Spark's columns (the warm preview session reads the file once; the answer is kept).
      const detail = await client.getArtifact({ params: { id: artifact.id } })
      expect(detail.inspection.status).toBe('ready')
      expect(detail.schema?.map((c) => [c.name, c.type])).toEqual([
        ['id', 'int'],
        ['customer', 'string'],
        ['amount', 'double'],
        ['day', 'date'],
      ])
      expect(detail.rowCount).toBe(4)

      // Sample: typed JSON, the quoted fields exactly as written.
      const sample = await client.artifactSample({ params: { id: artifact.id }, query: { limit: 3 } })
      expect(sample.rows).toHaveLength(3)
      expect(sample.truncated).toBe(true)
      expect(sample.rows[0]).toMatchObject({ id: 1, customer: 'Ada, Countess', amount: 12.5 })
      expect(sample.rows[1]?.['customer']).toBe('Bob "the builder"')
      expect(sample.rows[2]?.['customer']).toBe('Line\r\nbreak')

      // A dry-run of a pipeline that reads it by reference.
      const preview = await client.dryRun({
        body: {
          document: {
            schemaVersion: 2,
            name: 'big-orders',
            nodes: [
              {
                id: 'orders',
                position: { x: 0, y: 0 },
                data: { component: 'ingestor/csv@1', config: { path: { $artifact: artifact.id } } },
              },
              {
                id: 'big',
                position: { x: 1, y: 0 },
                data: { component: 'transformer/filter@1', config: { condition: 'amount >= 10' } },
              },
            ],
            edges: [{ id: 'e1', source: 'orders', target: 'big' }],
          },
        },
      })
      const big = preview.nodes.find((n) => n.nodeId === 'big')
      expect(big?.rows?.map((r) => r['id'])).toEqual([1, 3])

      // Download: the same bytes, whole and by range.
      const whole = await client.downloadArtifact({ params: { id: artifact.id } })
      expect(whole.status).toBe(200)
      expect(whole.headers.get('content-disposition')).toContain('orders sample.csv')
      expect(new Uint8Array(await whole.arrayBuffer())).toEqual(bytes)
      const part = await client.downloadArtifact({ params: { id: artifact.id }, headers: { range: 'bytes=3-9' } })
      expect(part.status).toBe(206)
      expect(part.headers.get('content-range')).toBe(`bytes 3-9/${bytes.length}`)
      expect(new Uint8Array(await part.arrayBuffer())).toEqual(bytes.subarray(3, 10))
      const outside = await client
        .downloadArtifact({ params: { id: artifact.id }, headers: { range: `bytes=${bytes.length}-` } })
        .catch((e: unknown) => e)
      expect(outside).toMatchObject({ status: 416, code: 'RANGE_NOT_SATISFIABLE' })
    }, 300_000)

    it('uploads Parquet from a Blob, and a pipeline previews on its sample while runs read the production path', async () => {
      const artifact = await client.uploadArtifact({
        query: { name: 'nested.parquet' },
        body: new Blob([parquetBytes]),
      })
      expect(artifact).toMatchObject({ format: 'parquet', rowCount: parquetRows, size: parquetBytes.length })
      const detail = await client.getArtifact({ params: { id: artifact.id } })
      expect(detail.schema?.map((c) => c.name)).toEqual(['id', 's', 'd', 'nested', 'm', 'day'])
      const sample = await client.artifactSample({ params: { id: artifact.id }, query: { limit: 2 } })
      expect(sample.rows.map((r) => r['id'])).toEqual([0, 1])

      const production = join(dir.path, 'sample', 'no-such-folder')
      const document = {
        schemaVersion: 2,
        name: 'nested-ids',
        nodes: [
          {
            id: 'source',
            position: { x: 0, y: 0 },
            data: {
              component: 'ingestor/parquet@1',
              config: { path: production },
              previewSample: { $artifact: artifact.id },
            },
          },
          {
            id: 'ids',
            position: { x: 1, y: 0 },
            data: { component: 'transformer/select@1', config: { columns: [{ column: 'id' }, { column: 's' }] } },
          },
          {
            id: 'out',
            position: { x: 2, y: 0 },
            data: { component: 'sink/parquet@1', config: { path: join(dir.path, 'output', 'nested-ids') } },
          },
        ],
        edges: [
          { id: 'e1', source: 'source', target: 'ids' },
          { id: 'e2', source: 'ids', target: 'out' },
        ],
      }
      const preview = await client.dryRun({ body: { document, limit: 3 } })
      expect(preview.nodes.find((n) => n.nodeId === 'ids')?.rows).toEqual([
        { id: 0, s: '0' },
        { id: 1, s: '1' },
        { id: 2, s: '2' },
      ])
      await client.createPipeline({ body: { name: 'nested-ids', document } })
      const plan = await client.pipelinePlan({ params: { name: 'nested-ids' }, query: { mode: 'run' } })
      const read = plan.steps.find((s) => s['kind'] === 'read') as { source?: { path?: string } } | undefined
      expect(read?.source?.path).toBe(production)

      // Deleting an artifact a saved pipeline reads is refused, naming the pipeline; once the pipeline is gone it goes.
      const refused = await client.deleteArtifact({ params: { id: artifact.id } }).catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(ApiConflictError)
      expect((refused as ApiConflictError).details).toEqual({ pipelines: ['nested-ids'] })
      await client.deletePipeline({ params: { name: 'nested-ids' }, query: { force: true } })
      const before = await stored()
      await client.deleteArtifact({ params: { id: artifact.id } })
      const after = await stored()
      expect(after.length).toBe(before.length - 1)
      const gone = await client.getArtifact({ params: { id: artifact.id } }).catch((e: unknown) => e)
      expect(gone).toMatchObject({ status: 404 })
    }, 300_000)

    it('lists artifacts newest first with filters and keyset pages', async () => {
      for (const name of ['a.jsonl', 'b.jsonl', 'c.jsonl']) {
        await client.uploadArtifact({
          query: { name },
          body: new TextEncoder().encode(`{"n":1,"name":"${name}"}\n{"n":2}\n`),
          contentType: 'application/jsonl',
        })
      }
      const first = await client.listArtifacts({ query: { format: 'jsonl', limit: 2 } })
      expect(first.items.map((a) => a.name)).toEqual(['c.jsonl', 'b.jsonl'])
      expect(first.items[0]).toMatchObject({ rowCount: 2, format: 'jsonl' })
      const second = await client.listArtifacts({ query: { format: 'jsonl', limit: 2, cursor: first.nextCursor } })
      expect(second.items.map((a) => a.name)).toEqual(['a.jsonl'])
      expect(second.nextCursor).toBeUndefined()
      expect((await client.listArtifacts({ query: { q: 'B.JSON' } })).items.map((a) => a.name)).toEqual(['b.jsonl'])
    })

    it('refuses bad input with a clear 4xx and keeps nothing of it', async () => {
      const before = await stored()
      const listed = (await client.listArtifacts({ query: { limit: 500 } })).items.length
      const attempt = (options: Parameters<StudioClient['uploadArtifact']>[0]) =>
        client.uploadArtifact(options).then(
          () => {
            throw new Error('the upload was accepted')
          },
          (e: unknown) => e as ApiValidationError,
        )

      // Parquet bytes sent as CSV.
      const wrongType = await attempt({ query: { name: 'x.csv' }, body: parquetBytes, contentType: 'text/csv' })
      expect(wrongType).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' })
      expect(wrongType.message).toMatch(/parquet/i)
      // A Parquet file cut short.
      const truncated = await attempt({
        query: { name: 'cut.parquet' },
        body: parquetBytes.subarray(0, parquetBytes.length - 100),
        contentType: 'application/vnd.apache.parquet',
      })
      expect(truncated).toMatchObject({ status: 422, code: 'VALIDATION_FAILED' })
      expect(truncated.message).toMatch(/truncated|damaged/i)
      // A CSV in Latin-1, not UTF-8.
      const latin1 = Buffer.from('id,name\n1,Jos\xe9\n', 'latin1')
      const encoding = await attempt({ query: { name: 'latin1.csv' }, body: latin1, contentType: 'text/csv' })
      expect(encoding).toMatchObject({ status: 422, code: 'VALIDATION_FAILED' })
      expect(encoding.message).toMatch(/UTF-8/)
      // A name with ../ (in the query, and as a form's file name).
      const dotted = await attempt({ query: { name: '../../etc/passwd' }, body: new TextEncoder().encode('a\n1\n') })
      expect(dotted.status).toBe(400)
      expect(dotted.message).toMatch(/name/)
      const form = new FormData()
      form.append('file', new Blob(['a\n1\n'], { type: 'text/csv' }), '../evil.csv')
      const formAnswer = await fetch(`${server.url}/api/v1/artifacts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
        body: form,
      })
      expect(formAnswer.status).toBe(422)
      expect(JSON.stringify(await formAnswer.json())).toMatch(/may not hold/)
      // Larger than the limit: declared up front, and streamed without a length.
      const big = new Uint8Array(LIMIT_BYTES + 1024).fill(0x61)
      const declared = await attempt({ query: { name: 'big.csv' }, body: big, contentType: 'text/csv' })
      expect(declared).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' })
      const streamed = await attempt({
        query: { name: 'big.csv' },
        body: chunked(big, 65_536),
        contentType: 'text/csv',
      })
      expect(streamed).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' })

      expect(await stored()).toEqual(before)
      expect((await client.listArtifacts({ query: { limit: 500 } })).items.length).toBe(listed)
    }, 120_000)

    it('refuses attacks: a viewer writing, references that escape, reading storage by path, a header in a name', async () => {
      const before = await stored()
      const { secret } = await client.createKey({ body: { name: `viewer-${storage}`, role: 'viewer' } })
      const viewer = createStudioClient({ baseUrl: server.url, token: secret })
      const csv = new TextEncoder().encode('a,b\n1,2\n')
      const mine = await client.uploadArtifact({ query: { name: 'mine.csv' }, body: csv, contentType: 'text/csv' })
      const counted = (await client.listArtifacts({ query: { limit: 500 } })).items.length

      // A viewer reads, and writes nothing.
      expect(await viewer.getArtifact({ params: { id: mine.id } })).toMatchObject({ id: mine.id })
      const upload = await viewer
        .uploadArtifact({ query: { name: 'v.csv' }, body: csv, contentType: 'text/csv' })
        .catch((e: unknown) => e)
      expect(upload).toMatchObject({ status: 403, code: 'FORBIDDEN' })
      const remove = await viewer.deleteArtifact({ params: { id: mine.id } }).catch((e: unknown) => e)
      expect(remove).toMatchObject({ status: 403, code: 'FORBIDDEN' })

      const reading = (path: unknown) => ({
        schemaVersion: 2,
        name: 'attack',
        nodes: [{ id: 'src', position: { x: 0, y: 0 }, data: { component: 'ingestor/csv@1', config: { path } } }],
        edges: [],
      })
      const refusedCodes = async (path: unknown) => {
        const answer = await client.dryRun({ body: { document: reading(path) } }).catch((e: unknown) => e)
        expect(answer).toMatchObject({ status: 422 })
        return ((answer as ApiValidationError).details as { issues: { code: string }[] }).issues.map((i) => i.code)
      }
      // An id that is a path, and one that names nothing.
      expect(await refusedCodes({ $artifact: '../../../etc/passwd' })).not.toHaveLength(0)
      expect(await refusedCodes({ $artifact: '00000000-0000-4000-8000-000000000000' })).toEqual(['unknown_artifact'])
      // The storage's own folders by path: outside the read roots (only the folder Spark reads artifacts in is).
      for (const path of [join(dir.path, 'artifacts', 'objects'), join(dir.path, 'artifacts', 'staging'), dir.path]) {
        expect(await refusedCodes(path)).toContain('read_path_not_allowed')
      }
      // A name cannot carry a header or a path into the download's Content-Disposition.
      const header = await client
        .uploadArtifact({ query: { name: 'x.csv\r\nSet-Cookie: a=b' }, body: csv, contentType: 'text/csv' })
        .catch((e: unknown) => e)
      expect(header).toMatchObject({ status: 400 })
      const quoted = await client.uploadArtifact({
        query: { name: 'q"uote;é.csv' },
        body: csv,
        contentType: 'text/csv',
      })
      const download = await client.downloadArtifact({ params: { id: quoted.id } })
      expect(download.headers.get('content-disposition')).toBe(
        `attachment; filename="q_uote;_.csv"; filename*=UTF-8''${encodeURIComponent('q"uote;é.csv')}`,
      )
      expect(download.headers.get('content-type')).toBe('application/octet-stream')
      expect(download.headers.get('x-content-type-options')).toBe('nosniff')

      await client.deleteArtifact({ params: { id: quoted.id } })
      await client.deleteArtifact({ params: { id: mine.id } })
      expect((await client.listArtifacts({ query: { limit: 500 } })).items.length).toBe(counted - 1)
      expect(await stored()).toEqual(before)
    }, 120_000)

    it('takes a multipart form with the file and its fields', async () => {
      const form = new FormData()
      form.append('description', 'From a form')
      form.append('file', new Blob(['k,v\nx,1\ny,2\n'], { type: 'text/csv' }), 'form.csv')
      const answer = await fetch(`${server.url}/api/v1/artifacts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
        body: form,
      })
      expect(answer.status).toBe(201)
      const { data } = (await answer.json()) as { data: { id: string; name: string; description: string } }
      expect(data).toMatchObject({ name: 'form.csv', description: 'From a form', rowCount: 2 })
      const back = await client.downloadArtifact({ params: { id: data.id } })
      expect(await back.text()).toBe('k,v\nx,1\ny,2\n')
    })
  },
)
