import { createHash, randomUUID } from 'node:crypto'
import { link, mkdir, open, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { StudioError } from '@sparkle-studio/core'

/** An upload written to a temporary place: nothing is visible under a key until {@link StagedObject.commit}. */
export interface StagedObject {
  /** Bytes written. */
  readonly size: number
  /** SHA-256 of the bytes, lowercase hex. */
  readonly sha256: string
  /** Makes it permanent, content-addressed; returns its key (`sha256:<hex>`). A second call returns the same key. */
  commit(): Promise<string>
  /** Removes every trace of the staged bytes; after a commit it does nothing (delete the key instead). */
  discard(): Promise<void>
}

/** Where artifact bytes live: the local file system or an S3 bucket, behind one interface. */
export interface ArtifactStorage {
  /** Which backend this is. */
  readonly kind: 'local' | 's3'
  /** Streams bytes to a temporary place (nothing visible under a key yet). If the source throws or the signal aborts, everything written is removed and the error rethrown. */
  stage(
    source: AsyncIterable<Uint8Array>,
    options?: { readonly signal?: AbortSignal | undefined },
  ): Promise<StagedObject>
  /** The object's bytes, whole or a byte range [start, end] inclusive (an end past the object is clamped). NOT_FOUND when absent. */
  read(key: string, range?: { readonly start: number; readonly end: number }): Promise<AsyncIterable<Uint8Array>>
  /** The object's size. NOT_FOUND when absent. */
  size(key: string): Promise<number>
  /** Removes the object and any local copy of it; absent is fine. */
  delete(key: string): Promise<void>
  /** A path on this machine's file system that Spark can read, with the given file extension (`csv`, `jsonl`, `parquet`): the file itself for local storage; for S3 a copy downloaded once into a local cache folder (atomic: temp file + rename). */
  localPath(key: string, extension: string): Promise<string>
  /** Every key and every temporary object, for tests and operators to see that nothing is left behind. */
  list(): Promise<{ readonly keys: readonly string[]; readonly staging: readonly string[] }>
  /** Releases what the storage holds open (an S3 client it made); objects stay. */
  close(): Promise<void>
}

const KEY = /^sha256:([0-9a-f]{64})$/
const EXTENSION = /^[a-z0-9]{1,10}$/

/** The hex digest of a storage key; throws `BAD_REQUEST` for anything but `sha256:<64 lowercase hex>`. */
export function keyDigest(key: string): string {
  const m = typeof key === 'string' ? KEY.exec(key) : null
  if (m === null) {
    throw new StudioError(
      'BAD_REQUEST',
      `Storage key ${JSON.stringify(String(key)).slice(0, 100)} is not valid: a key is sha256:<64 lowercase hex digits>, as stage().commit() returned it.`,
      {
        key: String(key).slice(0, 100),
      },
    )
  }
  return m[1] as string
}

/** Checks a file extension for {@link ArtifactStorage.localPath}: 1 to 10 lowercase letters or digits. */
export function checkExtension(extension: string): string {
  if (!EXTENSION.test(extension)) {
    throw new StudioError(
      'BAD_REQUEST',
      `File extension ${JSON.stringify(extension).slice(0, 40)} is not valid: use 1 to 10 lowercase letters or digits, such as csv, jsonl or parquet.`,
    )
  }
  return extension
}

/** Checks a read range and returns it, or throws `BAD_REQUEST` naming the rule. */
export function checkRange(range: { readonly start: number; readonly end: number }): { start: number; end: number } {
  const { start, end } = range
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new StudioError(
      'BAD_REQUEST',
      `Byte range ${start}-${end} is not valid: give whole numbers with 0 <= start <= end (both inclusive).`,
      {
        start,
        end,
      },
    )
  }
  return { start, end }
}

/** A `NOT_FOUND` error for a key. */
export function objectNotFound(key: string): StudioError {
  return new StudioError('NOT_FOUND', `No artifact object is stored under ${key}: it was deleted or never committed.`, {
    key,
  })
}

/** Reads the next chunk of `it`, or rejects with the signal's reason as soon as it aborts (a stalled source must not hold an upload). */
export async function nextOrAbort<T>(
  it: AsyncIterator<T>,
  signal: AbortSignal | undefined,
): Promise<IteratorResult<T>> {
  if (signal === undefined) return it.next()
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  const next = it.next()
  // When the abort wins, a later rejection of the pending read must not surface as unhandled.
  next.catch(() => {})
  try {
    return await Promise.race([next, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort as () => void)
  }
}

/** Ends a source early without waiting for it (a stalled source may never answer). */
export function releaseSource(it: AsyncIterator<unknown>): void {
  const done = it.return?.()
  if (done !== undefined) done.catch(() => {})
}

/**
 * Reads every chunk of `source` into `write`, hashing (SHA-256) and counting them as they pass; on a failure (of the
 * source, the signal or `write`) it stops reading the source and rethrows.
 */
export async function drainHashed(
  source: AsyncIterable<Uint8Array>,
  signal: AbortSignal | undefined,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<{ readonly size: number; readonly sha256: string }> {
  const it = source[Symbol.asyncIterator]()
  const hash = createHash('sha256')
  let size = 0
  let ended = false
  try {
    for (;;) {
      const next = await nextOrAbort(it, signal)
      if (next.done) break
      hash.update(next.value)
      size += next.value.length
      await write(next.value)
    }
    ended = true
  } catch (e) {
    if (!ended) releaseSource(it)
    throw e
  }
  return { size, sha256: hash.digest('hex') }
}

function isNoEntry(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
}

/**
 * Artifact storage on the local file system, content-addressed under `root`: uploads are staged in
 * `<root>/staging/<uuid>`, committed to `<root>/objects/<aa>/<sha256>`; Spark reads hard links
 * `<root>/spark/<aa>/<sha256>.<ext>`. No client-given name is ever part of a path.
 *
 * @example
 * ```ts
 * import { LocalArtifactStorage } from '@sparkle-studio/server'
 *
 * const storage = new LocalArtifactStorage({ root: '/var/lib/sparkle/artifacts' })
 * const staged = await storage.stage(fileStream)
 * const key = await staged.commit() // 'sha256:9f86d0…'
 * const path = await storage.localPath(key, 'csv')
 * ```
 */
export class LocalArtifactStorage implements ArtifactStorage {
  /** Always `'local'`. */
  readonly kind = 'local' as const
  readonly #root: string
  #ready: Promise<void> | undefined

  constructor(options: { readonly root: string }) {
    this.#root = options.root
  }

  #dirs(): Promise<void> {
    this.#ready ??= (async () => {
      for (const d of ['staging', 'objects', 'spark']) await mkdir(join(this.#root, d), { recursive: true })
    })()
    return this.#ready
  }

  #objectPath(hex: string): string {
    return join(this.#root, 'objects', hex.slice(0, 2), hex)
  }

  /** {@inheritDoc ArtifactStorage.stage} */
  async stage(
    source: AsyncIterable<Uint8Array>,
    options?: { readonly signal?: AbortSignal | undefined },
  ): Promise<StagedObject> {
    const signal = options?.signal
    signal?.throwIfAborted()
    await this.#dirs()
    const path = join(this.#root, 'staging', randomUUID())
    const fh = await open(path, 'wx', 0o600)
    let drained: { readonly size: number; readonly sha256: string }
    try {
      drained = await drainHashed(source, signal, async (chunk) => {
        let written = 0
        while (written < chunk.length) written += (await fh.write(chunk, written)).bytesWritten
        signal?.throwIfAborted()
      })
      await fh.sync()
      await fh.close()
    } catch (e) {
      await fh.close().catch(() => {})
      await rm(path, { force: true })
      throw e
    }
    const { size, sha256 } = drained
    let key: string | undefined
    return {
      size,
      sha256,
      commit: async () => {
        if (key !== undefined) return key
        const target = this.#objectPath(sha256)
        await mkdir(join(this.#root, 'objects', sha256.slice(0, 2)), { recursive: true })
        try {
          // link() creates the object only if absent, atomically: an identical object already there is reused.
          await link(path, target)
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
        }
        await syncDir(join(this.#root, 'objects', sha256.slice(0, 2)))
        await rm(path, { force: true })
        key = `sha256:${sha256}`
        return key
      },
      discard: async () => {
        if (key === undefined) await rm(path, { force: true })
      },
    }
  }

  /** {@inheritDoc ArtifactStorage.read} */
  async read(
    key: string,
    range?: { readonly start: number; readonly end: number },
  ): Promise<AsyncIterable<Uint8Array>> {
    const hex = keyDigest(key)
    const r = range === undefined ? undefined : checkRange(range)
    let fh: Awaited<ReturnType<typeof open>>
    try {
      fh = await open(this.#objectPath(hex), 'r')
    } catch (e) {
      if (isNoEntry(e)) throw objectNotFound(key)
      throw e
    }
    if (r !== undefined) {
      const { size } = await fh.stat()
      if (r.start >= size) {
        await fh.close()
        throw new StudioError(
          'BAD_REQUEST',
          `Byte range ${r.start}-${r.end} starts past the end of ${key} (${size} bytes): start below ${size}.`,
          {
            start: r.start,
            end: r.end,
            size,
          },
        )
      }
    }
    return fh.createReadStream(r === undefined ? {} : { start: r.start, end: r.end })
  }

  /** {@inheritDoc ArtifactStorage.size} */
  async size(key: string): Promise<number> {
    const hex = keyDigest(key)
    try {
      return (await stat(this.#objectPath(hex))).size
    } catch (e) {
      if (isNoEntry(e)) throw objectNotFound(key)
      throw e
    }
  }

  /** {@inheritDoc ArtifactStorage.delete} */
  async delete(key: string): Promise<void> {
    const hex = keyDigest(key)
    const sparkDir = join(this.#root, 'spark', hex.slice(0, 2))
    let links: string[] = []
    try {
      links = (await readdir(sparkDir)).filter((name) => name.startsWith(`${hex}.`))
    } catch (e) {
      if (!isNoEntry(e)) throw e
    }
    for (const name of links) await rm(join(sparkDir, name), { force: true })
    await rm(this.#objectPath(hex), { force: true })
  }

  /** {@inheritDoc ArtifactStorage.localPath} */
  async localPath(key: string, extension: string): Promise<string> {
    const hex = keyDigest(key)
    checkExtension(extension)
    const dir = join(this.#root, 'spark', hex.slice(0, 2))
    const path = join(dir, `${hex}.${extension}`)
    await mkdir(dir, { recursive: true })
    try {
      await link(this.#objectPath(hex), path)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT') throw objectNotFound(key)
      if (code !== 'EEXIST') throw e
    }
    return path
  }

  /** {@inheritDoc ArtifactStorage.list} */
  async list(): Promise<{ readonly keys: readonly string[]; readonly staging: readonly string[] }> {
    await this.#dirs()
    const keys: string[] = []
    for (const shard of await readdir(join(this.#root, 'objects'))) {
      for (const name of await readdir(join(this.#root, 'objects', shard))) keys.push(`sha256:${name}`)
    }
    const staging = await readdir(join(this.#root, 'staging'))
    return { keys: keys.sort(), staging: staging.sort() }
  }

  /** Nothing to release: files are opened per call. */
  async close(): Promise<void> {}
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}
