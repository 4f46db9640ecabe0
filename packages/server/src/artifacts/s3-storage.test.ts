import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { makeTempDir, type S3StandIn, startS3StandIn, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { S3ArtifactStorage } from './s3-storage.ts'

const MiB = 1024 * 1024

async function* chunks(bytes: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const c of it) parts.push(c)
  return Buffer.concat(parts)
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

describe('S3ArtifactStorage (against moto)', () => {
  let s3: S3StandIn
  let client: S3Client
  let cache: TempDir
  let storage: S3ArtifactStorage
  let bucket: string
  let n = 0

  beforeAll(async () => {
    s3 = await startS3StandIn()
    client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: s3.credentials,
      forcePathStyle: true,
    })
  })
  afterAll(async () => {
    client?.destroy()
    await s3?.close()
  })
  beforeEach(async () => {
    bucket = `artifacts-${++n}`
    await s3.createBucket(bucket)
    cache = await makeTempDir('sparkle-s3-cache-')
    storage = new S3ArtifactStorage({
      bucket,
      prefix: 'studio/artifacts',
      client,
      partSize: 5 * MiB,
      cacheDir: cache.path,
    })
  })
  afterEach(async () => {
    await storage.close()
    await cache.remove()
  })

  /** Everything in the bucket: objects and in-progress multipart uploads, whatever their prefix. */
  async function bucketContents(): Promise<{ objects: string[]; uploads: string[] }> {
    const objects =
      (await client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((o) => o.Key ?? '') ?? []
    const uploads =
      (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads?.map((u) => u.Key ?? '') ?? []
    return { objects, uploads }
  }

  it('stages a small file with one PutObject, commits content-addressed, reads whole and by ranges', async () => {
    const bytes = randomBytes(300_000)
    const staged = await storage.stage(chunks(bytes))
    expect(staged).toMatchObject({ size: bytes.length, sha256: sha(bytes) })
    const listed = await storage.list()
    expect(listed.keys).toEqual([])
    expect(listed.staging).toHaveLength(1)
    const key = await staged.commit()
    expect(key).toBe(`sha256:${sha(bytes)}`)
    expect(await storage.list()).toEqual({ keys: [key], staging: [] })
    expect(await bucketContents()).toEqual({ objects: [`studio/artifacts/objects/${sha(bytes)}`], uploads: [] })
    expect(await storage.size(key)).toBe(bytes.length)
    expect(Buffer.compare(await collect(await storage.read(key)), bytes)).toBe(0)
    expect(
      Buffer.compare(
        await collect(await storage.read(key, { start: 1000, end: 199_999 })),
        bytes.subarray(1000, 200_000),
      ),
    ).toBe(0)
    expect((await collect(await storage.read(key, { start: 299_990, end: 10_000_000 }))).length).toBe(10)
    await expect(storage.read(key, { start: 300_000, end: 300_001 })).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    await expect(storage.read(key, { start: 5, end: 4 })).rejects.toMatchObject({ code: 'BAD_REQUEST' })
  })

  it('uploads ~20 MiB in 5 MiB parts and reads it back byte-equal, also through localPath', async () => {
    const bytes = randomBytes(20 * MiB + 12_345)
    const staged = await storage.stage(chunks(bytes, 1_000_003))
    const key = await staged.commit()
    expect(await storage.size(key)).toBe(bytes.length)
    const head = await client.send(
      new HeadObjectCommand({ Bucket: bucket, Key: `studio/artifacts/objects/${sha(bytes)}` }),
    )
    expect(head.ContentLength).toBe(bytes.length)
    expect(Buffer.compare(await collect(await storage.read(key)), bytes)).toBe(0)
    const range = await collect(await storage.read(key, { start: 5 * MiB - 10, end: 10 * MiB + 9 }))
    expect(Buffer.compare(range, bytes.subarray(5 * MiB - 10, 10 * MiB + 10))).toBe(0)

    const [a, b] = await Promise.all([storage.localPath(key, 'parquet'), storage.localPath(key, 'parquet')])
    expect(a).toBe(join(cache.path, `${sha(bytes)}.parquet`))
    expect(b).toBe(a)
    expect(Buffer.compare(await readFile(a), bytes)).toBe(0)
    expect(await readdir(cache.path)).toEqual([`${sha(bytes)}.parquet`])
    expect(await storage.localPath(key, 'parquet')).toBe(a)
    await storage.delete(key)
    expect(await readdir(cache.path)).toEqual([])
    expect(await bucketContents()).toEqual({ objects: [], uploads: [] })
  })

  it('commits a big object by multipart copy (UploadPartCopy) when over the copy threshold', async () => {
    const big = new S3ArtifactStorage({
      bucket,
      client,
      partSize: 5 * MiB,
      multipartCopyAbove: 6 * MiB,
      cacheDir: cache.path,
    })
    const bytes = randomBytes(12 * MiB + 7)
    const key = await (await big.stage(chunks(bytes))).commit()
    expect(Buffer.compare(await collect(await big.read(key)), bytes)).toBe(0)
    expect(await big.list()).toEqual({ keys: [key], staging: [] })
    await big.close()
  })

  it('reuses an identical object and deletes the second staged copy', async () => {
    const bytes = Buffer.from('a,b\n1,2\n')
    const first = await (await storage.stage(chunks(bytes))).commit()
    const again = await storage.stage(chunks(bytes, 3))
    expect(await again.commit()).toBe(first)
    expect(await storage.list()).toEqual({ keys: [first], staging: [] })
  })

  it('discards a staged object, small or multipart, without a trace', async () => {
    await (await storage.stage(chunks(Buffer.from('x\n')))).discard()
    await (await storage.stage(chunks(randomBytes(11 * MiB)))).discard()
    expect(await storage.list()).toEqual({ keys: [], staging: [] })
    expect(await bucketContents()).toEqual({ objects: [], uploads: [] })
  })

  it('leaves no object and no multipart upload when the source throws after two parts', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield* chunks(randomBytes(11 * MiB))
      throw new Error('client went away')
    }
    await expect(storage.stage(failing())).rejects.toThrow('client went away')
    expect(await storage.list()).toEqual({ keys: [], staging: [] })
    expect(await bucketContents()).toEqual({ objects: [], uploads: [] })
  })

  it('leaves nothing when the signal aborts a stalled multipart upload', async () => {
    const controller = new AbortController()
    let n = 0
    const stalled: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]() {
        return {
          next: () => {
            n++
            if (n <= 6) return Promise.resolve({ done: false, value: randomBytes(MiB) })
            setTimeout(() => controller.abort(new Error('upload cancelled')), 50)
            return new Promise<IteratorResult<Uint8Array>>(() => {})
          },
        }
      },
    }
    await expect(storage.stage(stalled, { signal: controller.signal })).rejects.toThrow('upload cancelled')
    expect(await bucketContents()).toEqual({ objects: [], uploads: [] })
  })

  it('answers NOT_FOUND for absent keys and BAD_REQUEST for invalid ones', async () => {
    const absent = `sha256:${'0'.repeat(64)}`
    await expect(storage.read(absent)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(storage.size(absent)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(storage.localPath(absent, 'csv')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    expect(await readdir(cache.path)).toEqual([])
    for (const key of ['sha256:../../x', `sha256:${'a'.repeat(63)}`, 'objects/x', '']) {
      await expect(storage.read(key)).rejects.toMatchObject({ code: 'BAD_REQUEST' })
      await expect(storage.delete(key)).rejects.toMatchObject({ code: 'BAD_REQUEST' })
      await expect(storage.localPath(key, 'csv')).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    }
    expect(() => new S3ArtifactStorage({ bucket, client, partSize: MiB, cacheDir: cache.path })).toThrow(/5 MiB/)
  })
})
