import { createHash, randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import { StudioError } from '@sparkle-studio/core'
import {
  type ArtifactStorage,
  checkExtension,
  checkRange,
  drainHashed,
  keyDigest,
  objectNotFound,
  type StagedObject,
} from './storage.ts'

const MiB = 1024 * 1024
/** S3's smallest part of a multipart upload (but the last). */
const MIN_PART_SIZE = 5 * MiB
/** S3's most parts in one multipart upload. */
const MAX_PARTS = 10_000
/** S3's largest object a single CopyObject copies. */
const MAX_SINGLE_COPY = 5 * 1024 * MiB

/** Options of {@link S3ArtifactStorage}. */
export interface S3ArtifactStorageOptions {
  /** The bucket objects are written to; it must exist. */
  readonly bucket: string
  /**
   * Prepended to every object key, e.g. `sparkle/artifacts/` (a missing trailing slash is added).
   * @default ''
   */
  readonly prefix?: string
  /** The client to use (it is not destroyed by `close()`); otherwise one is made from `clientConfig`. */
  readonly client?: S3Client
  /** The configuration of the client made when none is given. */
  readonly clientConfig?: S3ClientConfig
  /**
   * Bytes per part of a multipart upload; at most two parts are in memory per upload.
   * @default 8 MiB (at least 5 MiB, S3's minimum)
   */
  readonly partSize?: number
  /**
   * Committed objects larger than this are copied with UploadPartCopy instead of one CopyObject.
   * @default 5 GiB (S3's limit of CopyObject)
   */
  readonly multipartCopyAbove?: number
  /** A local folder for the copies Spark reads ({@link ArtifactStorage.localPath}). */
  readonly cacheDir: string
}

function s3Status(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode
}

function isMissing(e: unknown): boolean {
  const name = (e as { name?: unknown } | undefined)?.name
  return name === 'NoSuchKey' || name === 'NotFound' || s3Status(e) === 404
}

/** Encodes an object key for `CopySource` (`bucket/key`, URL-encoded but for the slashes). */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`
}

/**
 * Artifact storage in an S3 bucket (or an S3-compatible store), content-addressed: uploads stream as multipart uploads
 * to `<prefix>staging/<uuid>`, commits copy them to `<prefix>objects/<sha256>`. Spark reads local copies downloaded
 * once into `cacheDir`. Uses `@aws-sdk/client-s3` only.
 *
 * @example
 * ```ts
 * import { S3ArtifactStorage } from '@sparkle-studio/server'
 *
 * const storage = new S3ArtifactStorage({ bucket: 'acme-data', prefix: 'sparkle/', cacheDir: '/var/cache/sparkle', clientConfig: { region: 'eu-west-1' } })
 * const key = await (await storage.stage(fileStream)).commit()
 * ```
 */
export class S3ArtifactStorage implements ArtifactStorage {
  /** Always `'s3'`. */
  readonly kind = 's3' as const
  readonly #client: S3Client
  readonly #ownsClient: boolean
  readonly #bucket: string
  readonly #prefix: string
  readonly #partSize: number
  readonly #multipartCopyAbove: number
  readonly #cacheDir: string
  readonly #downloads = new Map<string, Promise<string>>()

  constructor(options: S3ArtifactStorageOptions) {
    const partSize = options.partSize ?? 8 * MiB
    if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE) {
      throw new StudioError(
        'BAD_REQUEST',
        `partSize ${partSize} is below S3's minimum part size: use at least ${MIN_PART_SIZE} bytes (5 MiB).`,
      )
    }
    const prefix = options.prefix ?? ''
    if (prefix.startsWith('/') || prefix.split('/').some((s) => s === '..' || s === '.')) {
      throw new StudioError(
        'BAD_REQUEST',
        `S3 prefix ${JSON.stringify(prefix)} is not valid: use a relative key prefix such as sparkle/artifacts/, without a leading slash or . and .. segments.`,
      )
    }
    this.#prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`
    this.#bucket = options.bucket
    this.#partSize = partSize
    this.#multipartCopyAbove = options.multipartCopyAbove ?? MAX_SINGLE_COPY
    this.#cacheDir = options.cacheDir
    this.#ownsClient = options.client === undefined
    this.#client = options.client ?? new S3Client(options.clientConfig ?? {})
  }

  #objectKey(hex: string): string {
    return `${this.#prefix}objects/${hex}`
  }

  /** {@inheritDoc ArtifactStorage.stage} */
  async stage(
    source: AsyncIterable<Uint8Array>,
    options?: { readonly signal?: AbortSignal | undefined },
  ): Promise<StagedObject> {
    const signal = options?.signal
    signal?.throwIfAborted()
    const send = signal === undefined ? {} : { abortSignal: signal }
    const Bucket = this.#bucket
    const Key = `${this.#prefix}staging/${randomUUID()}`
    const partSize = this.#partSize
    let uploadId: string | undefined
    let putStarted = false
    const parts: CompletedPart[] = []
    let buffer = Buffer.allocUnsafe(partSize)
    let filled = 0
    let inflight: Promise<void> | undefined

    const uploadPart = async (body: Buffer, PartNumber: number): Promise<void> => {
      const res = await this.#client.send(
        new UploadPartCommand({ Bucket, Key, UploadId: uploadId, PartNumber, Body: body }),
        send,
      )
      const part: CompletedPart = { PartNumber, ETag: res.ETag }
      for (const name of [
        'ChecksumCRC32',
        'ChecksumCRC32C',
        'ChecksumCRC64NVME',
        'ChecksumSHA1',
        'ChecksumSHA256',
      ] as const) {
        if (res[name] !== undefined) part[name] = res[name]
      }
      parts[PartNumber - 1] = part
    }
    // One part uploads while the next fills: at most two parts in memory.
    const flushPart = async (): Promise<void> => {
      if (uploadId === undefined) {
        uploadId = (await this.#client.send(new CreateMultipartUploadCommand({ Bucket, Key }), send)).UploadId
        if (uploadId === undefined)
          throw new StudioError('INTERNAL', 'S3 started a multipart upload without an upload id.')
      }
      if (inflight !== undefined) await inflight
      const partNumber = parts.length + 1
      parts.length = partNumber
      if (partNumber > MAX_PARTS) {
        throw new StudioError(
          'PAYLOAD_TOO_LARGE',
          `The upload needs more than ${MAX_PARTS} parts of ${partSize} bytes: configure a larger partSize.`,
          {
            limitBytes: MAX_PARTS * partSize,
          },
        )
      }
      const p = uploadPart(buffer.subarray(0, filled), partNumber)
      p.catch(() => {})
      inflight = p
      buffer = Buffer.allocUnsafe(partSize)
      filled = 0
    }

    let drained: { readonly size: number; readonly sha256: string }
    try {
      drained = await drainHashed(source, signal, async (chunk) => {
        let at = 0
        while (at < chunk.length) {
          const n = Math.min(chunk.length - at, partSize - filled)
          buffer.set(chunk.subarray(at, at + n), filled)
          filled += n
          at += n
          if (filled === partSize) await flushPart()
        }
      })
      if (uploadId === undefined) {
        putStarted = true
        await this.#client.send(
          new PutObjectCommand({ Bucket, Key, Body: buffer.subarray(0, filled), ContentLength: filled }),
          send,
        )
      } else {
        if (filled > 0) await flushPart()
        await inflight
        await this.#client.send(
          new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
          send,
        )
      }
    } catch (e) {
      await inflight?.catch(() => {})
      if (uploadId !== undefined) {
        await this.#client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId })).catch(() => {})
      }
      if (putStarted || uploadId !== undefined) {
        await this.#client.send(new DeleteObjectCommand({ Bucket, Key })).catch(() => {})
      }
      throw e
    }
    const { size, sha256 } = drained
    let committed: string | undefined
    return {
      size,
      sha256,
      commit: async () => {
        if (committed !== undefined) return committed
        const target = this.#objectKey(sha256)
        if (!(await this.#exists(target))) await this.#copy(Key, target, size)
        await this.#client.send(new DeleteObjectCommand({ Bucket, Key }))
        committed = `sha256:${sha256}`
        return committed
      },
      discard: async () => {
        if (committed === undefined) await this.#client.send(new DeleteObjectCommand({ Bucket, Key }))
      },
    }
  }

  async #exists(key: string): Promise<boolean> {
    try {
      await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }))
      return true
    } catch (e) {
      if (isMissing(e)) return false
      throw e
    }
  }

  async #copy(from: string, to: string, size: number): Promise<void> {
    const Bucket = this.#bucket
    const CopySource = copySource(Bucket, from)
    if (size <= this.#multipartCopyAbove) {
      await this.#client.send(new CopyObjectCommand({ Bucket, Key: to, CopySource }))
      return
    }
    const partSize = Math.max(this.#partSize, Math.ceil(size / MAX_PARTS))
    const { UploadId } = await this.#client.send(new CreateMultipartUploadCommand({ Bucket, Key: to }))
    try {
      const Parts: CompletedPart[] = []
      for (let start = 0, PartNumber = 1; start < size; start += partSize, PartNumber++) {
        const end = Math.min(size, start + partSize) - 1
        const res = await this.#client.send(
          new UploadPartCopyCommand({
            Bucket,
            Key: to,
            UploadId,
            PartNumber,
            CopySource,
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        )
        Parts.push({ PartNumber, ETag: res.CopyPartResult?.ETag })
      }
      await this.#client.send(
        new CompleteMultipartUploadCommand({ Bucket, Key: to, UploadId, MultipartUpload: { Parts } }),
      )
    } catch (e) {
      await this.#client.send(new AbortMultipartUploadCommand({ Bucket, Key: to, UploadId })).catch(() => {})
      throw e
    }
  }

  /** {@inheritDoc ArtifactStorage.read} */
  async read(
    key: string,
    range?: { readonly start: number; readonly end: number },
  ): Promise<AsyncIterable<Uint8Array>> {
    const hex = keyDigest(key)
    const r = range === undefined ? undefined : checkRange(range)
    try {
      const res = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: this.#objectKey(hex),
          ...(r === undefined ? {} : { Range: `bytes=${r.start}-${r.end}` }),
        }),
      )
      return res.Body as unknown as AsyncIterable<Uint8Array>
    } catch (e) {
      if (isMissing(e)) throw objectNotFound(key)
      if (s3Status(e) === 416 && r !== undefined) {
        throw new StudioError(
          'BAD_REQUEST',
          `Byte range ${r.start}-${r.end} starts past the end of ${key}: start below its size.`,
          {
            start: r.start,
            end: r.end,
          },
        )
      }
      throw e
    }
  }

  /** {@inheritDoc ArtifactStorage.size} */
  async size(key: string): Promise<number> {
    const hex = keyDigest(key)
    try {
      const res = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#objectKey(hex) }))
      return res.ContentLength ?? 0
    } catch (e) {
      if (isMissing(e)) throw objectNotFound(key)
      throw e
    }
  }

  /** {@inheritDoc ArtifactStorage.delete} */
  async delete(key: string): Promise<void> {
    const hex = keyDigest(key)
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#objectKey(hex) }))
    for (const ext of await this.#cachedExtensions(hex))
      await rm(join(this.#cacheDir, `${hex}.${ext}`), { force: true })
  }

  async #cachedExtensions(hex: string): Promise<string[]> {
    try {
      return (await readdir(this.#cacheDir))
        .filter((n) => n.startsWith(`${hex}.`) && !n.endsWith('.tmp'))
        .map((n) => n.slice(hex.length + 1))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw e
    }
  }

  /** {@inheritDoc ArtifactStorage.localPath} */
  async localPath(key: string, extension: string): Promise<string> {
    const hex = keyDigest(key)
    checkExtension(extension)
    const path = join(this.#cacheDir, `${hex}.${extension}`)
    let pending = this.#downloads.get(path)
    if (pending === undefined) {
      pending = this.#download(key, hex, path).finally(() => this.#downloads.delete(path))
      this.#downloads.set(path, pending)
    }
    return pending
  }

  async #download(key: string, hex: string, path: string): Promise<string> {
    try {
      await stat(path)
      return path
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    }
    await mkdir(this.#cacheDir, { recursive: true })
    const body = await this.read(key)
    const tmp = join(this.#cacheDir, `.${hex}.${randomUUID()}.tmp`)
    const hash = createHash('sha256')
    try {
      await pipeline(
        body,
        async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            hash.update(chunk)
            yield chunk
          }
        },
        createWriteStream(tmp, { flags: 'wx', mode: 0o600 }),
      )
      const got = hash.digest('hex')
      if (got !== hex) {
        throw new StudioError(
          'INTERNAL',
          `The S3 object ${key} has SHA-256 ${got}, not its key's: the stored object is damaged; upload the file again.`,
          {
            key,
          },
        )
      }
      await rename(tmp, path)
    } catch (e) {
      await rm(tmp, { force: true })
      throw e
    }
    return path
  }

  /** {@inheritDoc ArtifactStorage.list} */
  async list(): Promise<{ readonly keys: readonly string[]; readonly staging: readonly string[] }> {
    const objects = `${this.#prefix}objects/`
    const stagingPrefix = `${this.#prefix}staging/`
    const keys: string[] = []
    const staging = new Set<string>()
    let token: string | undefined
    do {
      const res = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: this.#prefix,
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      )
      for (const o of res.Contents ?? []) {
        const k = o.Key ?? ''
        if (k.startsWith(objects)) keys.push(`sha256:${k.slice(objects.length)}`)
        else if (k.startsWith(stagingPrefix)) staging.add(k.slice(stagingPrefix.length))
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined
    } while (token !== undefined)
    let keyMarker: string | undefined
    let uploadIdMarker: string | undefined
    for (;;) {
      const res = await this.#client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.#bucket,
          Prefix: this.#prefix,
          ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
          ...(uploadIdMarker === undefined ? {} : { UploadIdMarker: uploadIdMarker }),
        }),
      )
      for (const u of res.Uploads ?? []) {
        const k = u.Key ?? ''
        // In-progress uploads to any key under the prefix count: a commit's multipart copy too.
        staging.add(k.startsWith(stagingPrefix) ? k.slice(stagingPrefix.length) : k.slice(this.#prefix.length))
      }
      if (!res.IsTruncated) break
      keyMarker = res.NextKeyMarker
      uploadIdMarker = res.NextUploadIdMarker
    }
    return { keys: keys.sort(), staging: [...staging].sort() }
  }

  /** Destroys the client when this storage made it. */
  async close(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy()
  }
}
