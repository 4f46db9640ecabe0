import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { isStudioError } from '@sparkle-studio/core'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ContentCheckOptions, type ContentFacts, createContentCheck } from './content-check.ts'

const here = dirname(fileURLToPath(import.meta.url))
const enc = new TextEncoder()

/** Splits `bytes` into chunks: 'one' byte at a time, 'whole', or random sizes from a seeded generator. */
function chunked(bytes: Uint8Array, how: 'one' | 'whole' | number): Uint8Array[] {
  if (how === 'whole') return [bytes]
  const out: Uint8Array[] = []
  let seed = typeof how === 'number' ? how : 0
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed
  }
  for (let i = 0; i < bytes.length; ) {
    const n = how === 'one' ? 1 : 1 + (rand() % 9000)
    out.push(bytes.slice(i, i + n))
    i += n
  }
  return out
}

async function* from(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c
}

/** Runs a check over the chunks; returns the facts and the bytes that came through. */
async function run(
  chunks: readonly Uint8Array[],
  options: Partial<ContentCheckOptions> = {},
): Promise<{ facts: ContentFacts; out: Uint8Array }> {
  const check = createContentCheck({ maxBytes: 1024 ** 3, ...options })
  const parts: Uint8Array[] = []
  for await (const c of check.pipe(from(chunks))) parts.push(c)
  return { facts: check.result(), out: Buffer.concat(parts) }
}

/** The facts for every chunking of `bytes` (whole, 1-byte, random); asserts they agree and bytes pass unchanged. */
async function facts(bytes: Uint8Array | string, options: Partial<ContentCheckOptions> = {}): Promise<ContentFacts> {
  const b = typeof bytes === 'string' ? enc.encode(bytes) : bytes
  const ways: ('one' | 'whole' | number)[] = b.length <= 200_000 ? ['whole', 'one', 7, 42] : ['whole', 7, 42]
  let first: ContentFacts | undefined
  for (const how of ways) {
    const { facts: f, out } = await run(chunked(b, how), options)
    expect(Buffer.compare(out, b), `bytes changed (chunking ${how})`).toBe(0)
    if (first === undefined) first = f
    else expect(f, `chunking ${how}`).toEqual(first)
  }
  expect(first?.sha256).toBe(createHash('sha256').update(b).digest('hex'))
  expect(first?.size).toBe(b.length)
  return first as ContentFacts
}

/** The error for every chunking of `bytes`; asserts code and details agree across chunkings. */
async function refusal(
  bytes: Uint8Array | string,
  options: Partial<ContentCheckOptions> = {},
): Promise<{ code: string; details: unknown; message: string }> {
  const b = typeof bytes === 'string' ? enc.encode(bytes) : bytes
  const ways: ('one' | 'whole' | number)[] = b.length <= 200_000 ? ['whole', 'one', 7, 42] : ['whole', 7, 42]
  let first: { code: string; details: unknown; message: string } | undefined
  for (const how of ways) {
    let error: unknown
    try {
      await run(chunked(b, how), options)
    } catch (e) {
      error = e
    }
    if (!isStudioError(error)) throw new Error(`expected a StudioError (chunking ${how}), got ${String(error)}`)
    const got = { code: error.code, details: error.details, message: error.message }
    if (first === undefined) first = got
    else expect(got, `chunking ${how}`).toEqual(first)
  }
  return first as { code: string; details: unknown; message: string }
}

describe('format detection and declared types', () => {
  it('detects CSV and JSON lines from the content, after a BOM and blank space', async () => {
    expect(await facts('a,b\n1,2\n')).toMatchObject({
      format: 'csv',
      rowCount: 1,
      contentType: 'text/csv; charset=utf-8',
    })
    expect(await facts('\uFEFF{"a":1}\n{"a":2}\n')).toMatchObject({
      format: 'jsonl',
      rowCount: 2,
      contentType: 'application/jsonl',
    })
    expect(await facts(' \n\t {"a":1}')).toMatchObject({ format: 'jsonl', rowCount: 1 })
    expect(await facts('\uFEFFa\n1\n')).toMatchObject({ format: 'csv', rowCount: 1 })
    // Shorter than any magic number: still text.
    expect(await facts('P', { csvHeader: false })).toMatchObject({ format: 'csv', rowCount: 1 })
  })

  it('refuses zip (xlsx), gzip, UTF-16/32 and NUL-bearing files, naming the accepted formats', async () => {
    const cases: [string, number[]][] = [
      ['zip', [0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00]],
      ['gzip', [0x1f, 0x8b, 0x08, 0x00]],
      ['UTF-16', [0xff, 0xfe, 0x61, 0x00, 0x2c, 0x00]],
      ['UTF-16', [0xfe, 0xff, 0x00, 0x61]],
      ['UTF-32', [0xff, 0xfe, 0x00, 0x00, 0x61, 0x00, 0x00, 0x00]],
    ]
    for (const [what, bytes] of cases) {
      const e = await refusal(new Uint8Array(bytes))
      expect(e.code, what).toBe('UNSUPPORTED_MEDIA_TYPE')
      expect(e.message).toContain(what === 'zip' ? 'xlsx' : what)
      expect(e.message).toMatch(/CSV .*JSON lines .*Parquet/)
    }
    const nul = await refusal(`a,b\n1,2\n${'x'.repeat(1000)}\u0000\n`)
    expect(nul.code).toBe('UNSUPPORTED_MEDIA_TYPE')
    expect(nul.message).toContain('binary')
    // A NUL past the first 64 KiB is just a character.
    const late = `a\n${'x'.repeat(70_000)}\u0000\n`
    expect(await facts(late)).toMatchObject({ format: 'csv', rowCount: 1 })
  })

  it('accepts the declared types that agree with the content', async () => {
    const csv = 'a,b\n1,2\n'
    for (const t of [
      'text/csv',
      'application/csv',
      'text/plain',
      'text/csv; charset=UTF-8',
      'application/vnd.ms-excel',
      'application/octet-stream',
      undefined,
    ]) {
      expect((await facts(csv, { declaredType: t })).format).toBe('csv')
    }
    const jsonl = '{"a":1}\n'
    for (const t of [
      'application/jsonl',
      'application/x-ndjson',
      'application/x-jsonlines',
      'application/json',
      'text/plain',
      '',
    ]) {
      expect((await facts(jsonl, { declaredType: t })).format).toBe('jsonl')
    }
    expect((await facts(csv, { declaredFormat: 'csv', declaredType: 'text/csv' })).format).toBe('csv')
  })

  it('refuses a declared type or format that the content contradicts, saying what the content is', async () => {
    const e1 = await refusal('{"a":1}\n', { declaredType: 'text/csv' })
    expect(e1).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', details: { detected: 'jsonl' } })
    expect(e1.message).toContain('content is JSON lines')
    const e2 = await refusal('a,b\n1,2\n', { declaredFormat: 'parquet' })
    expect(e2).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      details: { detected: 'csv', declaredFormat: 'parquet' },
    })
    const e3 = await refusal('a,b\n', { declaredType: 'application/x-parquet' })
    expect(e3.message).toContain('content is CSV')
    const e4 = await refusal('[{"a":1}]', { declaredType: 'application/json' })
    expect(e4.code).toBe('UNSUPPORTED_MEDIA_TYPE')
    expect(() => createContentCheck({ maxBytes: 10, declaredType: 'application/vnd.ms-word' })).toThrow(/not accepted/)
    // What Windows browsers with Excel report for .csv files: read as CSV when the content is CSV, refused otherwise.
    const xlsAsCsv = await refusal('PK\u0003\u0004 zip', { declaredType: 'application/vnd.ms-excel' })
    expect(xlsAsCsv.code).toBe('UNSUPPORTED_MEDIA_TYPE')
    expect(() => createContentCheck({ maxBytes: 10, declaredType: 'text/csv; charset=utf-16' })).toThrow(/UTF-8/)
  })
})

describe('size', () => {
  it('refuses a file over maxBytes as soon as the count passes it, before passing the chunk on', async () => {
    const check = createContentCheck({ maxBytes: 10 })
    const seen: number[] = []
    let pulled = 0
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 100; i++) {
        pulled++
        yield enc.encode('abcd\n')
      }
    }
    let error: unknown
    try {
      for await (const c of check.pipe(source())) seen.push(c.length)
    } catch (e) {
      error = e
    }
    expect(error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limitBytes: 10 } })
    expect(pulled).toBe(3)
    expect(seen.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(10)
    expect(() => check.result()).toThrow(/larger than the 10 bytes/)
    // Exactly at the limit is fine.
    expect((await facts('abcd\nabcd\n', { maxBytes: 10, csvHeader: false })).rowCount).toBe(2)
  })

  it('refuses an empty file, and a text file with no records', async () => {
    expect(await refusal(new Uint8Array(0))).toMatchObject({ code: 'VALIDATION_FAILED', details: { rule: 'empty' } })
    expect(await refusal('\n\r\n\n')).toMatchObject({ code: 'VALIDATION_FAILED', details: { rule: 'empty' } })
    expect(await refusal('\uFEFF')).toMatchObject({ details: { rule: 'empty' } })
  })

  it('has no result before the stream ended', () => {
    const check = createContentCheck({ maxBytes: 10 })
    expect(() => check.result()).toThrow(/before its stream ended/)
  })
})

describe('UTF-8', () => {
  it('accepts multi-byte characters split across chunks (1-byte chunks split every one)', async () => {
    const text = 'name,city\n"Zoë","Zürich"\nNaïve,東京\n😀,𝄞\n'
    expect(await facts(text)).toMatchObject({ format: 'csv', rowCount: 3 })
    expect(await facts('{"emoji":"😀","jp":"東京"}\n{"x":"é"}\n')).toMatchObject({ format: 'jsonl', rowCount: 2 })
  })

  it('refuses invalid UTF-8 with the offset of the bad byte, also when it is split across chunks', async () => {
    const latin1 = Buffer.concat([enc.encode('name\nZo'), Buffer.from([0xeb]), enc.encode('\n')])
    const e = await refusal(latin1)
    expect(e).toMatchObject({ code: 'VALIDATION_FAILED', details: { rule: 'encoding', offset: 7 } })
    expect(e.message).toContain('save the file as UTF-8')
    const cases: [number[], number][] = [
      [[0x61, 0x0a, 0xe2, 0x82, 0x41], 2], // a 3-byte sequence cut by an ASCII byte
      [[0x61, 0x0a, 0xc0, 0xaf], 2], // overlong
      [[0x61, 0x0a, 0xed, 0xa0, 0x80], 2], // a surrogate
      [[0x61, 0x0a, 0xf4, 0x90, 0x80, 0x80], 2], // past U+10FFFF
      [[0x61, 0x0a, 0x62, 0x80], 3], // a lone continuation byte
      [[0x61, 0x0a, 0xf0, 0x9f, 0x98], 2], // cut at the end of the file
    ]
    for (const [bytes, offset] of cases) {
      expect(await refusal(new Uint8Array(bytes)), String(bytes)).toMatchObject({
        details: { rule: 'encoding', offset },
      })
    }
    const jsonl = Buffer.concat([enc.encode('{"a":"é"}\n{"b":"'), Buffer.from([0xff]), enc.encode('"}\n')])
    expect(await refusal(jsonl)).toMatchObject({ details: { rule: 'encoding', offset: 17 } })
    // Far into a big file.
    const big = Buffer.concat([enc.encode(`a\n${'é,x\n'.repeat(50_000)}`), Buffer.from([0xc3, 0x28])])
    expect(await refusal(big)).toMatchObject({ details: { rule: 'encoding', offset: big.length - 2 } })
  })
})

describe('CSV records (RFC 4180)', () => {
  it('counts records, not lines: quoted newlines, CRLF, LF, CR, blank lines, no final newline', async () => {
    const count = async (text: string, csvHeader = true) => (await facts(text, { csvHeader })).rowCount
    expect(await count('a,b\n1,2\n3,4\n')).toBe(2)
    expect(await count('a,b\r\n1,2\r\n3,4\r\n')).toBe(2)
    expect(await count('a,b\r1,2\r3,4\r')).toBe(2)
    expect(await count('a,b\n1,2\n3,4')).toBe(2)
    expect(await count('a,b\n1,"two\nlines"\n3,"and\r\nthree\rkinds"\n')).toBe(2)
    expect(await count('a,b\n1,"say ""hi""\nthere"\n2,""\n')).toBe(2)
    expect(await count('\n\na,b\n\n1,2\r\n\r\n\r\n3,4\n\n')).toBe(2)
    expect(await count('a,b\n1,2\n', false)).toBe(2)
    expect(await count('only,a,header\n')).toBe(0)
    expect(await count('"a\n\nb"\n')).toBe(0)
  })

  it('refuses a quote never closed, naming the line it opened on', async () => {
    const e = await refusal('a,b\n1,2\n3,"four\n5,6\n')
    expect(e).toMatchObject({ code: 'VALIDATION_FAILED', details: { rule: 'csv', line: 3 } })
    expect(e.message).toContain('never closed')
    expect(await refusal('a,b\r\n1,"x""\r\n')).toMatchObject({ details: { rule: 'csv', line: 2 } })
  })
})

describe('JSON lines', () => {
  it('counts object lines, skipping blank ones and CRLF ends', async () => {
    expect((await facts('{"a":1}\r\n\r\n{"a":{"b":[1,2]}}\n  \n{}\n')).rowCount).toBe(3)
  })

  it('refuses a line that is not a JSON object, naming the line', async () => {
    const bad: [string, number][] = [
      ['{"a":1}\n{"a":\n', 2],
      ['{"a":1}\n\n[1,2]\n', 3],
      ['{"a":1}\n42\n', 2],
      ['{"a":1}\nnull', 2],
      ['{"a":1} {"b":2}\n', 1],
      ['{"a":1}\n"text"\n', 2],
    ]
    for (const [text, line] of bad) {
      const e = await refusal(text)
      expect(e, text).toMatchObject({ code: 'VALIDATION_FAILED', details: { rule: 'jsonl', line } })
      expect(e.message).toContain('one JSON object per line')
    }
  })

  it('refuses a line over 16 MiB without waiting for its end', async () => {
    const check = createContentCheck({ maxBytes: 1024 ** 3 })
    let pulled = 0
    async function* source(): AsyncGenerator<Uint8Array> {
      yield enc.encode('{"a":"')
      const block = enc.encode('x'.repeat(1024 * 1024))
      for (let i = 0; i < 64; i++) {
        pulled++
        yield block
      }
    }
    await expect(async () => {
      for await (const _ of check.pipe(source())) {
        // drain
      }
    }).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: { rule: 'jsonl', line: 1 } })
    // 6 bytes of the line, then 16 blocks of 1 MiB: the 16th passes the limit.
    expect(pulled).toBe(16)
  })
})

describe('Parquet (files written by Spark)', () => {
  let dir: TempDir
  let expected: Record<string, number>
  const file = (name: string): Promise<Buffer> => readFile(join(dir.path, `${name}.parquet`))

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-parquet-')
    const repo = resolve(here, '..', '..', '..', '..')
    const python = process.env['SPARKLE_PYTHON'] || join(repo, '.tools', 'spark-venv', 'bin', 'python')
    if (!existsSync(python))
      throw new Error(`pyspark's python is missing at ${python}: run ./sparkle setup (or ./sparkle test)`)
    await promisify(execFile)(python, [join(here, 'fixtures', 'make-parquet.py'), dir.path], { timeout: 170_000 })
    expected = JSON.parse(await readFile(join(dir.path, 'expected.json'), 'utf8')) as Record<string, number>
  })
  afterAll(async () => {
    await dir?.remove()
  })

  it('reads num_rows from the footer: nested columns, several row groups, no rows', async () => {
    for (const name of ['nested', 'row_groups', 'no_rows']) {
      const f = await facts(await file(name))
      expect(f, name).toMatchObject({
        format: 'parquet',
        rowCount: expected[name],
        contentType: 'application/vnd.apache.parquet',
      })
    }
    expect(expected['row_groups']).toBe(200_000)
    for (const t of ['application/vnd.apache.parquet', 'application/x-parquet', 'application/octet-stream']) {
      expect((await facts(await file('nested'), { declaredType: t, declaredFormat: 'parquet' })).format).toBe('parquet')
    }
  })

  it('refuses Parquet sent as text, saying it is Parquet', async () => {
    const e = await refusal(await file('no_rows'), { declaredType: 'text/csv' })
    expect(e).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', details: { detected: 'parquet' } })
    expect(e.message).toContain('content is Parquet')
    expect(await refusal(await file('no_rows'), { declaredFormat: 'jsonl' })).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
    })
  })

  it('refuses truncated copies, cut at many offsets', async () => {
    for (const name of ['nested', 'no_rows']) {
      const whole = await file(name)
      const footer = whole.readUInt32LE(whole.length - 8)
      const cuts = new Set([
        4,
        5,
        11,
        12,
        100,
        Math.floor(whole.length / 2),
        whole.length - footer - 8,
        whole.length - footer,
        whole.length - 9,
        whole.length - 8,
        whole.length - 4,
        whole.length - 1,
      ])
      for (const cut of cuts) {
        if (cut <= 0 || cut >= whole.length) continue
        const e = await refusal(whole.subarray(0, cut))
        expect(e, `${name} cut at ${cut}`).toMatchObject({ code: 'VALIDATION_FAILED', details: { rule: 'parquet' } })
        expect(e.message).toContain('truncated or damaged')
      }
    }
  })

  it('refuses damaged footers: a bad length, garbage, a footer cut short but re-terminated', async () => {
    const whole = await file('nested')
    const footer = whole.readUInt32LE(whole.length - 8)
    const withLength = (n: number): Buffer => {
      const b = Buffer.from(whole)
      b.writeUInt32LE(n, b.length - 8)
      return b
    }
    expect((await refusal(withLength(whole.length))).message).toContain('more than the file holds')
    expect((await refusal(withLength(17 * 1024 * 1024))).message).toContain('16 MiB')
    expect((await refusal(withLength(footer - 3))).message).toContain('does not parse')
    const garbage = Buffer.from(whole)
    garbage.fill(0xff, whole.length - 8 - footer, whole.length - 8)
    expect(await refusal(garbage)).toMatchObject({ details: { rule: 'parquet' } })
    // The head of a file with a fake end: PAR1 + length + PAR1 but no real footer.
    const fake = Buffer.concat([whole.subarray(0, 1000), Buffer.from([0x15, 0x02, 0x00, 0x00, 0x50, 0x41, 0x52, 0x31])])
    fake.writeUInt32LE(3, fake.length - 8)
    expect(await refusal(fake)).toMatchObject({ details: { rule: 'parquet' } })
  })
})
