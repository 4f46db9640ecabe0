// Data artifacts: upload (checked while it streams), metadata, inspection by Spark, sample, download, delete, and the
// locations pipelines that reference artifacts are compiled with.
import { randomUUID } from 'node:crypto'
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type ArtifactLocation,
  artifactRefs,
  type ComponentRegistry,
  compilePipeline,
  type ExecutionPolicy,
  StudioError,
} from '@sparkle-studio/core'
import { ArtifactNameSchema } from '@sparkle-studio/core/contract'
import type { Previewer } from '@sparkle-studio/spark'
import type { Logger } from '../logger.ts'
import { createContentCheck } from './content-check.ts'
import type { ArtifactFormat, ArtifactQuery, ArtifactRecord, ArtifactRecords } from './records.ts'
import type { ArtifactStorage } from './storage.ts'

/** The file of an upload, as the HTTP layer (or a host calling the use case) hands it over. */
export interface ArtifactContent {
  /** The bytes, streamed. */
  readonly stream: AsyncIterable<Uint8Array>
  /** The content type the file was sent with. */
  readonly contentType?: string | undefined
  /** The file name a form gave. */
  readonly filename?: string | undefined
  /** The `Content-Length` of a raw body, when sent (an upload declared larger than the limit is refused unread). */
  readonly declaredSize?: number | undefined
  /** Fields of a multipart form (`name`, `description`, `format`, `header`). */
  readonly fields?: Readonly<Record<string, string>> | undefined
}

/** What an upload says about its file besides the bytes. */
export interface ArtifactUploadOptions {
  readonly name?: string | undefined
  readonly description?: string | undefined
  readonly format?: ArtifactFormat | undefined
  /** CSV: whether the first row is a header. @default true */
  readonly header?: boolean | undefined
  readonly createdBy: string
  readonly signal?: AbortSignal | undefined
}

/** A download's answer: the record, the range sent (inclusive), and the bytes. */
export interface ArtifactDownload {
  readonly artifact: ArtifactRecord
  /** `partial` for an answer to a `Range` request. */
  readonly partial: boolean
  readonly start: number
  readonly end: number
  readonly body: AsyncIterable<Uint8Array>
}

/** Options of {@link ArtifactService}. */
export interface ArtifactServiceOptions {
  readonly records: ArtifactRecords
  readonly storage: ArtifactStorage
  /** The largest upload, in bytes. */
  readonly maxBytes: number
  /** A folder inside the policy's read roots where the service writes the heads of large files for Spark to sample. */
  readonly headsDir: string
  /** The components the inspection compiles with (its ingestors read the files). */
  readonly registry: ComponentRegistry
  /** The policy inspections compile under: the artifacts' folder is among its read roots. */
  readonly policy: ExecutionPolicy
  /** What reads files for their columns and first rows: the studio's warm preview session. */
  readonly previewSession: () => Promise<Previewer>
  readonly log: Logger
  /** Above this size a text file's columns are inferred from its first `headBytes` only. @default 32 MiB */
  readonly sampleAbove?: number | undefined
  /** @default 8 MiB */
  readonly headBytes?: number | undefined
}

/** The rows kept per artifact for the sample route (and the most it shows). */
export const ARTIFACT_SAMPLE_ROWS = 1000
/** The most bytes of sample rows kept per artifact: wide rows keep fewer. */
const SAMPLE_BYTES = 2 * 1024 * 1024

const INGESTOR: Readonly<Record<ArtifactFormat, string>> = {
  csv: 'ingestor/csv@1',
  jsonl: 'ingestor/json@1',
  parquet: 'ingestor/parquet@1',
}

/**
 * The one byte range of a `Range` header, or `undefined` to answer the whole file: no header, several ranges, another
 * unit, or a range that does not parse (RFC 9110 lets a server ignore those, and every client understands a 200).
 * @throws `RANGE_NOT_SATISFIABLE` for a range that parses but lies outside the file.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (header === undefined) return undefined
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (!match) return undefined
  const [, first = '', last = ''] = match
  const unsatisfiable = () =>
    new StudioError('RANGE_NOT_SATISFIABLE', `The range ${header.trim()} is outside the file's ${size} bytes`, {
      size,
    })
  if (first === '') {
    if (last === '') return undefined
    const length = Number(last)
    if (length === 0 || size === 0) throw unsatisfiable()
    return { start: Math.max(0, size - length), end: size - 1 }
  }
  const start = Number(first)
  if (last !== '' && Number(last) < start) return undefined
  if (start >= size) throw unsatisfiable()
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) }
}

/**
 * Data artifacts: uploads checked while they stream (format, encoding, size) and stored content-addressed, their
 * metadata in the run store's database, their columns and first rows read by Spark on the preview session (once,
 * kept), downloads with byte ranges, and deletes refused while a saved pipeline reads the artifact.
 */
export class ArtifactService {
  readonly #o: ArtifactServiceOptions
  readonly #inspecting = new Map<string, Promise<ArtifactRecord>>()
  readonly #keyLocks = new Map<string, Promise<unknown>>()

  constructor(options: ArtifactServiceOptions) {
    this.#o = options
  }

  /** The storage the bytes are in. */
  get storage(): ArtifactStorage {
    return this.#o.storage
  }

  /** The largest upload, in bytes. */
  get maxBytes(): number {
    return this.#o.maxBytes
  }

  /** Runs `fn` alone among the calls for the same storage key (an upload committing it, a delete removing it). */
  async #underKey<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#keyLocks.get(key) ?? Promise.resolve()
    const run = before.catch(() => undefined).then(fn)
    this.#keyLocks.set(key, run)
    try {
      return await run
    } finally {
      if (this.#keyLocks.get(key) === run) this.#keyLocks.delete(key)
    }
  }

  /**
   * Stores an upload: checked while it streams (size limit, format against content type and content, UTF-8, whole
   * Parquet), then committed and recorded. A refused upload leaves nothing behind.
   *
   * @throws `VALIDATION_FAILED` (no or bad name, bad encoding, truncated Parquet, ...), `UNSUPPORTED_MEDIA_TYPE`,
   *   `PAYLOAD_TOO_LARGE`.
   */
  async upload(content: ArtifactContent, options: ArtifactUploadOptions): Promise<ArtifactRecord> {
    const fields = content.fields ?? {}
    const id = randomUUID()
    // Without a name (no ?name=, no file name in the form), the artifact is named after its id.
    const name = options.name ?? fields['name'] ?? content.filename ?? `upload-${id.slice(0, 8)}`
    const named = ArtifactNameSchema.safeParse(name)
    if (!named.success) {
      const message = named.error.issues[0]?.message ?? 'not a valid name'
      throw new StudioError('VALIDATION_FAILED', `The artifact name ${JSON.stringify(name)} is refused: ${message}`, {
        issues: [{ path: '/query/name', message, code: 'invalid_name' }],
      })
    }
    const format = options.format ?? parseFormatField(fields['format'])
    const header = options.header ?? (fields['header'] === undefined ? true : fields['header'] !== 'false')
    const description = options.description ?? fields['description']
    // A form's description skips the route's query schema: the same rule here (no NUL, at most 2,000 characters).
    if (description !== undefined && (description.length > 2000 || description.includes('\u0000'))) {
      throw new StudioError('VALIDATION_FAILED', 'description must be at most 2,000 characters, without NUL', {
        issues: [{ path: '/query/description', message: 'at most 2,000 characters, no NUL', code: 'invalid_value' }],
      })
    }
    if (content.declaredSize !== undefined && content.declaredSize > this.#o.maxBytes) {
      throw tooLarge(this.#o.maxBytes)
    }
    const check = createContentCheck({
      maxBytes: this.#o.maxBytes,
      declaredType: content.contentType,
      declaredFormat: format,
      csvHeader: header,
    })
    const staged = await this.#o.storage.stage(
      check.pipe(content.stream),
      options.signal ? { signal: options.signal } : {},
    )
    let facts: ReturnType<typeof check.result>
    try {
      facts = check.result()
    } catch (error) {
      await staged.discard()
      throw error
    }
    const key = await this.#underKey(`sha256:${facts.sha256}`, async () => {
      const committed = await staged.commit()
      await this.#o.records
        .insert({
          id,
          name: named.data,
          description,
          format: facts.format,
          contentType: facts.contentType,
          size: facts.size,
          sha256: facts.sha256,
          storageKey: committed,
          rowCount: facts.rowCount,
          csvHeader: header,
          createdBy: options.createdBy,
        })
        .catch(async (error: unknown) => {
          if ((await this.#o.records.countByStorageKey(committed)) === 0) await this.#o.storage.delete(committed)
          throw error
        })
      return committed
    })
    this.#o.log.info('artifact uploaded', { id, format: facts.format, size: facts.size, key })
    return this.require(id)
  }

  /** An artifact's record. @throws `NOT_FOUND`. */
  async require(id: string): Promise<ArtifactRecord> {
    const record = await this.#o.records.get(id)
    if (!record) throw new StudioError('NOT_FOUND', `No artifact ${id}`)
    return record
  }

  /** Artifacts, newest first. */
  list(query: ArtifactQuery): Promise<{ items: ArtifactRecord[]; nextCursor?: string }> {
    return this.#o.records.list(query)
  }

  /**
   * An artifact with its columns: read by Spark the first time (the start of a large text file only), kept after.
   * When Spark cannot be reached the record is answered as it is (`inspection.status: 'pending'`).
   */
  async inspected(id: string, signal?: AbortSignal): Promise<ArtifactRecord> {
    const record = await this.require(id)
    if (record.inspection.status !== 'pending') return record
    let running = this.#inspecting.get(id)
    if (!running) {
      running = this.#inspect(record).finally(() => this.#inspecting.delete(id))
      this.#inspecting.set(id, running)
    }
    return signal ? abortable(running, signal) : running
  }

  async #inspect(record: ArtifactRecord): Promise<ArtifactRecord> {
    const extension = record.format
    let path: string
    let sampled = false
    const sampleAbove = this.#o.sampleAbove ?? 32 * 1024 * 1024
    if (record.format !== 'parquet' && record.size > sampleAbove) {
      path = await this.#head(record)
      sampled = true
    } else {
      path = await this.#o.storage.localPath(record.storageKey, extension)
    }
    const document = {
      schemaVersion: 2,
      name: 'artifact',
      nodes: [
        {
          id: 'artifact',
          position: { x: 0, y: 0 },
          data: {
            component: INGESTOR[record.format],
            config:
              record.format === 'csv'
                ? { path, header: record.csvHeader, lineSeparator: await this.#lineSeparator(record) }
                : { path },
          },
        },
      ],
      edges: [],
    }
    const plan = compilePipeline(document, this.#o.registry, {
      mode: 'preview',
      previewLimit: ARTIFACT_SAMPLE_ROWS,
      sampleLimit: ARTIFACT_SAMPLE_ROWS,
      policy: this.#o.policy,
    })
    let session: Previewer
    try {
      session = await this.#o.previewSession()
    } catch (error) {
      this.#o.log.warn('artifact not inspected: Spark unavailable', { id: record.id })
      if (error instanceof StudioError && error.code === 'SPARK_UNAVAILABLE') return record
      throw error
    }
    let result: Awaited<ReturnType<Previewer['preview']>>
    try {
      result = await session.preview(plan, { limit: ARTIFACT_SAMPLE_ROWS })
    } catch (error) {
      if (error instanceof StudioError && (error.code === 'SPARK_UNAVAILABLE' || error.code === 'JOB_CANCELLED')) {
        return record
      }
      throw error
    }
    const node = result.nodes[0]
    const saved = await this.#o.records.saveInspection(
      record.id,
      node?.ok
        ? { status: 'ready', columns: node.schema, sample: keepRows(node.rows), sampled }
        : { status: 'failed', message: node ? node.error.message : 'Spark answered nothing for the file' },
    )
    return saved ?? record
  }

  /**
   * The line separator of a CSV file, from its first line break outside quotes: named, so that Spark keeps a line break
   * inside a quoted field exactly (with `auto` it turns CRLF there into LF).
   */
  async #lineSeparator(record: ArtifactRecord): Promise<'lf' | 'crlf' | 'cr' | 'auto'> {
    let quoted = false
    let previous = -1
    for await (const chunk of await this.#o.storage.read(record.storageKey, { start: 0, end: 65_535 })) {
      for (const byte of chunk) {
        if (previous === 0x0d) return byte === 0x0a ? 'crlf' : 'cr'
        if (byte === 0x22) quoted = !quoted
        else if (!quoted && byte === 0x0a) return 'lf'
        previous = !quoted && byte === 0x0d ? 0x0d : -1
      }
    }
    return previous === 0x0d ? 'cr' : 'auto'
  }

  /** The first `headBytes` of a large text file, cut after its last line break, written for Spark (once). */
  async #head(record: ArtifactRecord): Promise<string> {
    const path = join(this.#o.headsDir, `${record.sha256}.${record.format}`)
    if (await exists(path)) return path
    const headBytes = this.#o.headBytes ?? 8 * 1024 * 1024
    const chunks: Uint8Array[] = []
    let size = 0
    for await (const chunk of await this.#o.storage.read(record.storageKey, { start: 0, end: headBytes - 1 })) {
      chunks.push(chunk)
      size += chunk.length
    }
    const bytes = Buffer.concat(chunks, size)
    const cut = Math.max(bytes.lastIndexOf(0x0a), bytes.lastIndexOf(0x0d))
    await mkdir(this.#o.headsDir, { recursive: true })
    const temp = `${path}.${randomUUID()}.tmp`
    await writeFile(temp, cut > 0 ? bytes.subarray(0, cut + 1) : bytes)
    await rename(temp, path)
    return path
  }

  /**
   * The first rows of an artifact as Spark reads them.
   * @throws `NOT_FOUND`; `SPARK_UNAVAILABLE` when Spark cannot be reached; `SPARK_JOB_FAILED` when Spark could not
   *   read the file.
   */
  async sample(id: string, limit: number, signal?: AbortSignal) {
    const record = await this.inspected(id, signal)
    if (record.inspection.status === 'pending') {
      throw new StudioError('SPARK_UNAVAILABLE', 'Spark is not available to read the artifact; try again later')
    }
    if (record.inspection.status === 'failed') {
      throw new StudioError('SPARK_JOB_FAILED', `Spark could not read the artifact: ${record.inspection.message ?? ''}`)
    }
    const rows = record.sample ?? []
    return {
      id: record.id,
      schema: [...(record.columns ?? [])],
      rows: rows.slice(0, limit),
      truncated: record.rowCount > Math.min(limit, rows.length),
    }
  }

  /** The bytes of an artifact, whole or one range. @throws `NOT_FOUND`, `RANGE_NOT_SATISFIABLE`, `BAD_REQUEST`. */
  async download(id: string, range: string | undefined): Promise<ArtifactDownload> {
    const artifact = await this.require(id)
    const part = parseRange(range, artifact.size)
    const start = part?.start ?? 0
    const end = part?.end ?? artifact.size - 1
    const body =
      artifact.size === 0 ? (async function* () {})() : await this.#o.storage.read(artifact.storageKey, { start, end })
    return { artifact, partial: part !== undefined, start, end, body }
  }

  /**
   * Deletes an artifact (its bytes too, unless another artifact has the same bytes).
   * @param usedBy the pipelines that reference it: when any, the delete is refused with `CONFLICT` naming them.
   */
  async delete(id: string, usedBy: (id: string) => Promise<readonly string[]>): Promise<ArtifactRecord> {
    const record = await this.require(id)
    const pipelines = await usedBy(id)
    if (pipelines.length > 0) {
      throw new StudioError(
        'CONFLICT',
        `Artifact ${id} is read by ${pipelines.length === 1 ? 'pipeline' : 'pipelines'} ${pipelines.map((p) => `"${p}"`).join(', ')}: change ${pipelines.length === 1 ? 'it' : 'them'} to read something else first`,
        { pipelines },
      )
    }
    const deleted = await this.#underKey(record.storageKey, async () => {
      const gone = await this.#o.records.delete(id)
      if (gone && (await this.#o.records.countByStorageKey(gone.storageKey)) === 0) {
        await this.#o.storage.delete(gone.storageKey)
        await rm(join(this.#o.headsDir, `${gone.sha256}.${gone.format}`), { force: true })
      }
      return gone
    })
    if (!deleted) throw new StudioError('NOT_FOUND', `No artifact ${id}`)
    this.#o.log.info('artifact deleted', { id })
    return deleted
  }

  /**
   * Where Spark reads each artifact a document references (for `compilePipeline`'s `artifacts` option): ids that do
   * not exist are left out, so the compiler reports them.
   */
  async locations(document: unknown): Promise<Record<string, ArtifactLocation>> {
    const ids = [...new Set(artifactRefs(document).map((r) => r.id))]
    if (ids.length === 0) return {}
    const out: Record<string, ArtifactLocation> = {}
    for (const record of await this.#o.records.getMany(ids)) {
      out[record.id] = {
        path: await this.#o.storage.localPath(record.storageKey, record.format),
        format: record.format,
      }
    }
    return out
  }
}

function parseFormatField(value: string | undefined): ArtifactFormat | undefined {
  if (value === undefined) return undefined
  if (value === 'csv' || value === 'jsonl' || value === 'parquet') return value
  throw new StudioError('VALIDATION_FAILED', `format must be csv, jsonl or parquet, not ${JSON.stringify(value)}`, {
    issues: [{ path: '/query/format', message: 'must be csv, jsonl or parquet', code: 'invalid_value' }],
  })
}

function tooLarge(limit: number): StudioError {
  return new StudioError('PAYLOAD_TOO_LARGE', `The file is larger than the limit of ${limit} bytes`, {
    limitBytes: limit,
  })
}

/** The first rows, up to {@link ARTIFACT_SAMPLE_ROWS} and about 2 MiB of JSON. */
function keepRows(rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  let bytes = 0
  for (const row of rows.slice(0, ARTIFACT_SAMPLE_ROWS)) {
    bytes += JSON.stringify(row).length
    if (bytes > SAMPLE_BYTES && out.length > 0) break
    out.push(row)
  }
  return out
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

/** `promise`, or a rejection when `signal` aborts first (the work itself goes on for other callers). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    )
  })
}
