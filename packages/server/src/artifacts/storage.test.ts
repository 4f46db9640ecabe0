import { createHash, randomBytes } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LocalArtifactStorage } from './storage.ts'

async function* chunks(bytes: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const c of it) parts.push(c)
  return Buffer.concat(parts)
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

describe('LocalArtifactStorage', () => {
  let dir: TempDir
  let storage: LocalArtifactStorage

  beforeEach(async () => {
    dir = await makeTempDir('sparkle-artifacts-')
    storage = new LocalArtifactStorage({ root: dir.path })
  })
  afterEach(async () => {
    await storage.close()
    await dir.remove()
  })

  it('stages out of sight, commits content-addressed, reads whole and by ranges', async () => {
    const bytes = randomBytes(300_000)
    const staged = await storage.stage(chunks(bytes))
    expect(staged).toMatchObject({ size: bytes.length, sha256: sha(bytes) })
    expect(await storage.list()).toMatchObject({ keys: [], staging: [expect.any(String)] })
    const key = await staged.commit()
    expect(key).toBe(`sha256:${sha(bytes)}`)
    expect(await staged.commit()).toBe(key)
    expect(await storage.list()).toEqual({ keys: [key], staging: [] })
    expect(await storage.size(key)).toBe(bytes.length)
    expect(Buffer.compare(await collect(await storage.read(key)), bytes)).toBe(0)
    expect(Buffer.compare(await collect(await storage.read(key, { start: 0, end: 0 })), bytes.subarray(0, 1))).toBe(0)
    expect(
      Buffer.compare(
        await collect(await storage.read(key, { start: 1000, end: 199_999 })),
        bytes.subarray(1000, 200_000),
      ),
    ).toBe(0)
    // An end past the object is clamped, as in HTTP.
    expect((await collect(await storage.read(key, { start: 299_990, end: 10_000_000 }))).length).toBe(10)
    await expect(storage.read(key, { start: 300_000, end: 300_001 })).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    await expect(storage.read(key, { start: 5, end: 4 })).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    await expect(storage.read(key, { start: -1, end: 4 })).rejects.toMatchObject({ code: 'BAD_REQUEST' })
  })

  it('reuses an identical object and removes the second staged copy', async () => {
    const bytes = Buffer.from('a,b\n1,2\n')
    const first = await (await storage.stage(chunks(bytes))).commit()
    const again = await storage.stage(chunks(bytes, 3))
    expect(await again.commit()).toBe(first)
    expect(await storage.list()).toEqual({ keys: [first], staging: [] })
    expect((await collect(await storage.read(first))).toString()).toBe('a,b\n1,2\n')
  })

  it('discards a staged object without a trace; discard after commit keeps the object', async () => {
    const staged = await storage.stage(chunks(Buffer.from('x\n')))
    await staged.discard()
    expect(await storage.list()).toEqual({ keys: [], staging: [] })
    const kept = await storage.stage(chunks(Buffer.from('y\n')))
    const key = await kept.commit()
    await kept.discard()
    expect((await storage.list()).keys).toEqual([key])
  })

  it('removes what it wrote when the source throws or the signal aborts mid-stream', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield randomBytes(100_000)
      yield randomBytes(100_000)
      throw new Error('client went away')
    }
    await expect(storage.stage(failing())).rejects.toThrow('client went away')
    expect(await storage.list()).toEqual({ keys: [], staging: [] })

    // A source that stalls forever after two chunks: the abort must not wait for it.
    const controller = new AbortController()
    let returned = false
    const stalled: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]() {
        let n = 0
        return {
          next: () => {
            n++
            if (n === 3) setTimeout(() => controller.abort(new Error('upload cancelled')), 20)
            return n <= 2
              ? Promise.resolve({ done: false, value: randomBytes(50_000) })
              : new Promise<IteratorResult<Uint8Array>>(() => {})
          },
          return: async () => {
            returned = true
            return { done: true, value: undefined }
          },
        }
      },
    }
    await expect(storage.stage(stalled, { signal: controller.signal })).rejects.toThrow('upload cancelled')
    expect(returned).toBe(true)
    expect(await storage.list()).toEqual({ keys: [], staging: [] })

    const aborted = new AbortController()
    aborted.abort(new Error('already gone'))
    await expect(storage.stage(chunks(Buffer.from('z')), { signal: aborted.signal })).rejects.toThrow('already gone')
    expect(await storage.list()).toEqual({ keys: [], staging: [] })
  })

  it('gives Spark a hard link with the extension, once; delete removes object and links', async () => {
    const bytes = Buffer.from('{"a":1}\n')
    const key = await (await storage.stage(chunks(bytes))).commit()
    const hex = key.slice('sha256:'.length)
    const path = await storage.localPath(key, 'jsonl')
    expect(path).toBe(join(dir.path, 'spark', hex.slice(0, 2), `${hex}.jsonl`))
    expect(await storage.localPath(key, 'jsonl')).toBe(path)
    expect(await readFile(path, 'utf8')).toBe('{"a":1}\n')
    expect((await stat(path)).ino).toBe((await stat(join(dir.path, 'objects', hex.slice(0, 2), hex))).ino)
    const csv = await storage.localPath(key, 'csv')
    await storage.delete(key)
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(stat(csv)).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await storage.list()).toEqual({ keys: [], staging: [] })
    await storage.delete(key)
    await expect(storage.read(key)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(storage.size(key)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(storage.localPath(key, 'jsonl')).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('refuses keys and extensions that are not strictly valid before touching the file system', async () => {
    const bad = [
      'sha256:../../x',
      `sha256:${'a'.repeat(63)}`,
      `sha256:${'A'.repeat(64)}`,
      `sha256:${'a'.repeat(64)}/../x`,
      `sha256:${'a'.repeat(64)}\n`,
      'a'.repeat(64),
      '../objects',
      '',
    ]
    for (const key of bad) {
      await expect(storage.read(key), key).rejects.toMatchObject({ code: 'BAD_REQUEST' })
      await expect(storage.size(key)).rejects.toMatchObject({ code: 'BAD_REQUEST' })
      await expect(storage.delete(key)).rejects.toMatchObject({ code: 'BAD_REQUEST' })
      await expect(storage.localPath(key, 'csv')).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    }
    const key = await (await storage.stage(chunks(Buffer.from('x\n')))).commit()
    for (const ext of ['../csv', 'csv/x', '', 'CSV', 'a.b', 'x'.repeat(11)]) {
      await expect(storage.localPath(key, ext), ext).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    }
  })
})
