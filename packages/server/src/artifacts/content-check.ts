import { createHash } from 'node:crypto'
import type { ArtifactFormat } from '@sparkle-studio/core'
import { StudioError } from '@sparkle-studio/core'
import { MAX_PARQUET_FOOTER_BYTES, PARQUET_MAGIC, parquetDamaged, parseParquetFooter } from './parquet-footer.ts'

/** Options of {@link createContentCheck}. */
export interface ContentCheckOptions {
  /** The largest size accepted, in bytes; one byte more is `PAYLOAD_TOO_LARGE`. */
  readonly maxBytes: number
  /** The request's content type (parameters allowed); undefined or `application/octet-stream` means "detect". */
  readonly declaredType?: string | undefined
  /** The format the caller says the file has; checked against the content. */
  readonly declaredFormat?: ArtifactFormat | undefined
  /**
   * Whether a CSV file's first record is a header (not counted in `rowCount`).
   * @default true
   */
  readonly csvHeader?: boolean
}

/** What a complete, valid artifact is. */
export interface ContentFacts {
  readonly format: ArtifactFormat
  /** Bytes. */
  readonly size: number
  /** SHA-256 of the bytes, lowercase hex. */
  readonly sha256: string
  /** Data rows: CSV records (less the header), JSON lines, or the Parquet footer's `num_rows`. */
  readonly rowCount: number
  /** The canonical content type: `text/csv; charset=utf-8`, `application/jsonl` or `application/vnd.apache.parquet`. */
  readonly contentType: string
}

/** A streaming check of one upload: bytes pass through unchanged while the rules are checked. */
export interface ContentCheck {
  /**
   * Passes chunks through; throws a {@link StudioError} as soon as a rule is broken, also at the end of the stream
   * for what only the end shows (an empty file, an unterminated CSV quote, a truncated Parquet file).
   */
  pipe(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>
  /** After the stream ended: the facts, or throws for what can only be known at the end (truncated Parquet, empty file). */
  result(): ContentFacts
}

/** The canonical content type of each format. */
export const artifactContentTypes: Readonly<Record<ArtifactFormat, string>> = Object.freeze({
  csv: 'text/csv; charset=utf-8',
  jsonl: 'application/jsonl',
  parquet: 'application/vnd.apache.parquet',
})

const formatNames: Readonly<Record<ArtifactFormat, string>> = { csv: 'CSV', jsonl: 'JSON lines', parquet: 'Parquet' }

/** Content types accepted on upload and the formats each may carry; absent from here means refused. */
const declaredTypes: Readonly<Record<string, readonly ArtifactFormat[]>> = {
  'text/csv': ['csv'],
  'application/csv': ['csv'],
  'text/plain': ['csv', 'jsonl'],
  // What browsers on Windows with Excel installed report for a .csv file: the content decides (an old .xls is binary,
  // refused as such).
  'application/vnd.ms-excel': ['csv'],
  'application/jsonl': ['jsonl'],
  'application/x-ndjson': ['jsonl'],
  'application/x-jsonlines': ['jsonl'],
  'application/json': ['jsonl'],
  'application/vnd.apache.parquet': ['parquet'],
  'application/x-parquet': ['parquet'],
  'application/octet-stream': ['csv', 'jsonl', 'parquet'],
}

const ACCEPTED =
  'CSV (text/csv), JSON lines (application/jsonl) or Parquet (application/vnd.apache.parquet), as UTF-8 text for CSV and JSON lines'

/** Bytes scanned for NUL (a sign of a binary file) and for the first non-blank character. */
const SNIFF_BYTES = 64 * 1024
/** The longest JSON line accepted. */
const MAX_JSONL_LINE_BYTES = 16 * 1024 * 1024
/** The tail kept of a Parquet file: footer, its length and the magic. */
const PARQUET_TAIL_BYTES = MAX_PARQUET_FOOTER_BYTES + 8

const CR = 0x0d
const LF = 0x0a
const QUOTE = 0x22

function unsupported(message: string, details?: unknown): StudioError {
  return new StudioError('UNSUPPORTED_MEDIA_TYPE', message, details)
}

/** The formats a declared content type allows, or throws when it is not one this upload accepts. */
function allowedByType(declaredType: string | undefined): readonly ArtifactFormat[] | undefined {
  if (declaredType === undefined || declaredType.trim() === '') return undefined
  const [essence = '', ...params] = declaredType.toLowerCase().split(';')
  const formats = declaredTypes[essence.trim()]
  if (formats === undefined) {
    throw unsupported(
      `Content type ${essence.trim()} is not accepted: send ${ACCEPTED}, or application/octet-stream to have the format detected.`,
      {
        declaredType,
      },
    )
  }
  for (const param of params) {
    const [name = '', value = ''] = param.split('=').map((s) => s.trim().replace(/^"|"$/g, ''))
    if (name === 'charset' && value !== 'utf-8' && value !== 'utf8' && value !== 'us-ascii') {
      throw unsupported(
        `Charset ${value} is not accepted: save the file as UTF-8 and send it with charset=utf-8 (or none).`,
        {
          declaredType,
        },
      )
    }
  }
  return formats
}

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  if (bytes.length < at + prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false
  return true
}

/** Whether a byte sequence starts with a prefix of `prefix` (so more bytes could still make it a match). */
function couldStartWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  for (let i = 0; i < Math.min(bytes.length, prefix.length); i++) if (bytes[i] !== prefix[i]) return false
  return true
}

const UTF8_BOM = [0xef, 0xbb, 0xbf]
const BINARY_SIGNATURES: readonly { readonly bytes: readonly number[]; readonly what: string }[] = [
  { bytes: [0x50, 0x4b, 0x03, 0x04], what: 'a zip archive (an Excel .xlsx file is one)' },
  { bytes: [0x50, 0x4b, 0x05, 0x06], what: 'a zip archive' },
  { bytes: [0x1f, 0x8b], what: 'a gzip archive' },
  { bytes: [0xd0, 0xcf, 0x11, 0xe0], what: 'an Office document (an Excel .xls file is one)' },
  { bytes: [0x00, 0x00, 0xfe, 0xff], what: 'UTF-32 text' },
  { bytes: [0xff, 0xfe, 0x00, 0x00], what: 'UTF-32 text' },
  { bytes: [0xff, 0xfe], what: 'UTF-16 text' },
  { bytes: [0xfe, 0xff], what: 'UTF-16 text' },
]

type Sniffed = { readonly format: ArtifactFormat } | { readonly binary: string } | undefined

/** Decides the format from the first bytes, or undefined when more bytes are needed (`final`: there are no more). */
function sniff(head: Uint8Array, final: boolean): Sniffed {
  if (startsWith(head, PARQUET_MAGIC)) return { format: 'parquet' }
  for (const sig of BINARY_SIGNATURES) {
    if (startsWith(head, sig.bytes)) {
      // FF FE is UTF-16 unless followed by 00 00 (UTF-32): wait for the bytes that decide.
      if (sig.what === 'UTF-16 text' && head[0] === 0xff && head.length < 4 && !final) return undefined
      return { binary: sig.what }
    }
  }
  if (
    !final &&
    head.length < 4 &&
    [PARQUET_MAGIC, ...BINARY_SIGNATURES.map((s) => s.bytes)].some((p) => couldStartWith(head, p))
  )
    return undefined
  let i = startsWith(head, UTF8_BOM) ? 3 : 0
  if (!final && head.length < 3 && couldStartWith(head, UTF8_BOM)) return undefined
  for (; i < head.length && i < SNIFF_BYTES; i++) {
    const b = head[i]
    if (b === 0x20 || b === 0x09 || b === CR || b === LF) continue
    return { format: b === 0x7b ? 'jsonl' : 'csv' }
  }
  return final || head.length >= SNIFF_BYTES ? { format: 'csv' } : undefined
}

/** How many bytes at the end of `bytes` are the start of a UTF-8 sequence that the next chunk completes. */
function incompleteTail(bytes: Uint8Array): number {
  for (let back = 1; back <= 3 && back <= bytes.length; back++) {
    const b = bytes[bytes.length - back] as number
    if ((b & 0xc0) === 0x80) continue // a continuation byte: look further back for its lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1
    return need > back ? back : 0
  }
  return 0
}

/** The index of the first byte of the first invalid UTF-8 sequence in `bytes` (WHATWG rules), or -1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0
  while (i < bytes.length) {
    const b = bytes[i] as number
    if (b < 0x80) {
      i++
      continue
    }
    let need: number
    let lo = 0x80
    let hi = 0xbf
    if (b >= 0xc2 && b <= 0xdf) need = 1
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2
      if (b === 0xe0) lo = 0xa0
      if (b === 0xed) hi = 0x9f
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3
      if (b === 0xf0) lo = 0x90
      if (b === 0xf4) hi = 0x8f
    } else return i
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k]
      if (c === undefined) return i
      if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i
    }
    i += need + 1
  }
  return -1
}

function encodingError(offset: number): StudioError {
  return new StudioError(
    'VALIDATION_FAILED',
    `The file is not valid UTF-8 at byte ${offset}: save the file as UTF-8 (in Excel: "CSV UTF-8"), then upload it again.`,
    { rule: 'encoding', offset },
  )
}

/** The part of a check that knows one format's rules. */
interface FormatChecker {
  update(bytes: Uint8Array): void
  /** At the end of the stream: the row count, or throws. */
  finish(): number
}

/** UTF-8 validation over a stream, with the byte offset of the first bad sequence. */
class Utf8Stream {
  readonly #decoder = new TextDecoder('utf-8', { fatal: true })
  /** The bytes of a sequence split across chunks, kept to locate an error that the next chunk shows. */
  #carry: Uint8Array = new Uint8Array(0)
  #offset = 0

  /** Validates and decodes `bytes` (the BOM is dropped). */
  decode(bytes: Uint8Array): string {
    let text: string
    try {
      text = this.#decoder.decode(bytes, { stream: true })
    } catch {
      const joined = new Uint8Array(this.#carry.length + bytes.length)
      joined.set(this.#carry)
      joined.set(bytes, this.#carry.length)
      const at = firstInvalidUtf8(joined)
      throw encodingError(this.#offset - this.#carry.length + Math.max(0, at))
    }
    this.#offset += bytes.length
    // The unfinished sequence at the end of the stream (at most 3 bytes) lies within its last 3 bytes.
    const window = bytes.length >= 3 ? bytes.subarray(bytes.length - 3) : concat(this.#carry, bytes).subarray(-3)
    this.#carry = window.slice(window.length - incompleteTail(window))
    return text
  }

  end(): string {
    try {
      return this.#decoder.decode()
    } catch {
      throw encodingError(this.#offset - this.#carry.length)
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

class CsvChecker implements FormatChecker {
  readonly #utf8 = new Utf8Stream()
  readonly #header: boolean
  #inQuotes = false
  #quoteLine = 0
  #recordHasContent = false
  #afterCr = false
  #records = 0
  #line = 1
  #bomAt = 0

  constructor(header: boolean) {
    this.#header = header
  }

  update(bytes: Uint8Array): void {
    this.#utf8.decode(bytes)
    // Quotes, CR and LF are ASCII, never part of a multi-byte UTF-8 sequence, so records are counted on bytes.
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]
      if (this.#bomAt < 3) {
        // A UTF-8 BOM opens the file but is no content of the first record.
        if (b === UTF8_BOM[this.#bomAt]) {
          this.#bomAt++
          continue
        }
        if (this.#bomAt > 0) this.#recordHasContent = true
        this.#bomAt = 3
      }
      if (b === QUOTE) {
        // RFC 4180 escapes a quote by doubling it: toggling on each quote leaves "" inside a field quoted.
        this.#inQuotes = !this.#inQuotes
        if (this.#inQuotes) this.#quoteLine = this.#line
        this.#recordHasContent = true
        this.#afterCr = false
      } else if (b === LF || b === CR) {
        if (b === CR || !this.#afterCr) this.#line++
        if (!this.#inQuotes && !(b === LF && this.#afterCr)) this.#endRecord()
        this.#afterCr = b === CR
      } else {
        this.#recordHasContent = true
        this.#afterCr = false
      }
    }
  }

  #endRecord(): void {
    if (this.#recordHasContent) this.#records++
    this.#recordHasContent = false
  }

  finish(): number {
    this.#utf8.end()
    if (this.#inQuotes) {
      throw new StudioError(
        'VALIDATION_FAILED',
        `The CSV file has a quote opened on line ${this.#quoteLine} that is never closed: close the quoted field, and write a quote inside a quoted field as "".`,
        { rule: 'csv', line: this.#quoteLine },
      )
    }
    this.#endRecord()
    if (this.#records === 0) throw emptyError('The CSV file has no records')
    return Math.max(0, this.#records - (this.#header ? 1 : 0))
  }
}

class JsonlChecker implements FormatChecker {
  readonly #utf8 = new Utf8Stream()
  #partial = ''
  #lineBytes = 0
  #line = 1
  #rows = 0

  update(bytes: Uint8Array): void {
    let start = 0
    for (;;) {
      const nl = bytes.indexOf(LF, start)
      const end = nl < 0 ? bytes.length : nl
      this.#lineBytes += end - start
      if (this.#lineBytes > MAX_JSONL_LINE_BYTES) {
        throw new StudioError(
          'VALIDATION_FAILED',
          `Line ${this.#line} of the JSON lines file is longer than ${MAX_JSONL_LINE_BYTES / 1024 / 1024} MiB: split the record, or upload Parquet.`,
          { rule: 'jsonl', line: this.#line, limitBytes: MAX_JSONL_LINE_BYTES },
        )
      }
      // LF is ASCII, so a valid stream holds no partial character at a line end and each piece decodes alone.
      this.#partial += this.#utf8.decode(bytes.subarray(start, nl < 0 ? bytes.length : nl + 1))
      if (nl < 0) return
      this.#endLine()
      start = nl + 1
    }
  }

  #endLine(): void {
    const text = this.#partial.replace(/\r?\n?$/, '')
    this.#partial = ''
    this.#lineBytes = 0
    const line = this.#line++
    if (text.trim() === '') return
    let value: unknown
    let why: string
    try {
      value = JSON.parse(text)
      why = Array.isArray(value) ? 'it is an array' : value === null ? 'it is null' : `it is a ${typeof value}`
    } catch (e) {
      why = (e as Error).message
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new StudioError(
        'VALIDATION_FAILED',
        `Line ${line} of the JSON lines file is not a JSON object (${why}): write one JSON object per line.`,
        { rule: 'jsonl', line },
      )
    }
    this.#rows++
  }

  finish(): number {
    this.#partial += this.#utf8.end()
    if (this.#partial !== '') this.#endLine()
    if (this.#rows === 0) throw emptyError('The JSON lines file has no records')
    return this.#rows
  }
}

class ParquetChecker implements FormatChecker {
  /** The last chunks, at least PARQUET_TAIL_BYTES of them when the file is that long, at most one chunk more. */
  #tail: Uint8Array[] = []
  #tailBytes = 0
  #size = 0

  update(bytes: Uint8Array): void {
    this.#size += bytes.length
    // A copy: the caller may reuse its buffer once the chunk has passed on.
    this.#tail.push(bytes.slice())
    this.#tailBytes += bytes.length
    while (this.#tail.length > 1 && this.#tailBytes - (this.#tail[0] as Uint8Array).length >= PARQUET_TAIL_BYTES) {
      this.#tailBytes -= (this.#tail.shift() as Uint8Array).length
    }
  }

  /** The last `n` bytes of the file (n <= what the tail holds). */
  #last(n: number): Uint8Array {
    const out = new Uint8Array(n)
    let filled = 0
    for (let i = this.#tail.length - 1; i >= 0 && filled < n; i--) {
      const chunk = this.#tail[i] as Uint8Array
      const take = Math.min(chunk.length, n - filled)
      out.set(chunk.subarray(chunk.length - take), n - filled - take)
      filled += take
    }
    return out
  }

  finish(): number {
    const minimum = 2 * PARQUET_MAGIC.length + 4
    if (this.#size < minimum)
      throw parquetDamaged(`it is ${this.#size} bytes, shorter than the ${minimum} of an empty Parquet file`)
    const end = this.#last(8)
    if (startsWith(end, [0x50, 0x41, 0x52, 0x45], 4)) {
      throw new StudioError(
        'VALIDATION_FAILED',
        'The Parquet file has an encrypted footer, which is not supported: upload it unencrypted.',
        {
          rule: 'parquet',
        },
      )
    }
    if (!startsWith(end, PARQUET_MAGIC, 4)) throw parquetDamaged('it does not end with the Parquet magic bytes PAR1')
    const footerLength = new DataView(end.buffer, end.byteOffset, 8).getUint32(0, true)
    if (footerLength > MAX_PARQUET_FOOTER_BYTES) {
      throw parquetDamaged(
        `its footer says it is ${footerLength} bytes, more than the ${MAX_PARQUET_FOOTER_BYTES / 1024 / 1024} MiB accepted`,
      )
    }
    if (footerLength + minimum > this.#size) {
      throw parquetDamaged(`its footer says it is ${footerLength} bytes, more than the file holds`)
    }
    const footer = this.#last(footerLength + 8).subarray(0, footerLength)
    return parseParquetFooter(footer).rowCount
  }
}

function emptyError(what: string): StudioError {
  return new StudioError('VALIDATION_FAILED', `${what}: upload a file with at least one row.`, { rule: 'empty' })
}

/**
 * Creates a streaming check of one upload: it detects the format (CSV, JSON lines, Parquet) from the content,
 * refuses binary files and a declared type or format that the content contradicts, validates UTF-8, JSON lines and
 * CSV quoting as bytes pass, and reads a Parquet file's row count from its footer, holding only a bounded tail of the
 * file in memory. Throws `UNSUPPORTED_MEDIA_TYPE` at once when `declaredType` is not an accepted type.
 *
 * @example
 * ```ts
 * import { createContentCheck } from '@sparkle-studio/server'
 *
 * const check = createContentCheck({ maxBytes: 1024 ** 3, declaredType: req.headers['content-type'] })
 * const staged = await storage.stage(check.pipe(fileStream))
 * const { format, rowCount, sha256 } = check.result()
 * ```
 */
export function createContentCheck(options: ContentCheckOptions): ContentCheck {
  const { maxBytes, declaredFormat } = options
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new StudioError('BAD_REQUEST', `maxBytes must be a non-negative integer, not ${maxBytes}.`)
  }
  const byType = allowedByType(options.declaredType)
  const csvHeader = options.csvHeader ?? true
  let piped = false
  let facts: ContentFacts | undefined
  let failure: unknown

  const disagree = (format: ArtifactFormat): void => {
    if (declaredFormat !== undefined && declaredFormat !== format) {
      throw unsupported(
        `The file's content is ${formatNames[format]}, but it was declared ${formatNames[declaredFormat]}: upload a ${formatNames[declaredFormat]} file, or declare the format as ${format}.`,
        { detected: format, declaredFormat },
      )
    }
    if (byType !== undefined && !byType.includes(format)) {
      throw unsupported(
        `The file's content is ${formatNames[format]}, but it was sent as ${options.declaredType}: send it as ${artifactContentTypes[format]} (or application/octet-stream).`,
        { detected: format, declaredType: options.declaredType },
      )
    }
  }

  async function* run(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    const hash = createHash('sha256')
    let size = 0
    let format: ArtifactFormat | undefined
    let checker: FormatChecker | undefined
    let pending: Uint8Array[] = []
    // The first bytes, enough to decide the format (at most SNIFF_BYTES).
    const head = new Uint8Array(SNIFF_BYTES)
    let headBytes = 0
    let textChecked = 0

    const decide = (found: Sniffed): void => {
      if (found === undefined) return
      if ('binary' in found) {
        throw unsupported(`The file is ${found.binary}, not an accepted format: upload ${ACCEPTED}.`, {
          detected: 'binary',
        })
      }
      disagree(found.format)
      format = found.format
      checker =
        format === 'parquet'
          ? new ParquetChecker()
          : format === 'jsonl'
            ? new JsonlChecker()
            : new CsvChecker(csvHeader)
    }
    const check = (bytes: Uint8Array): void => {
      if (format !== 'parquet' && textChecked < SNIFF_BYTES) {
        const nul = bytes.subarray(0, SNIFF_BYTES - textChecked).indexOf(0)
        if (nul >= 0) {
          throw unsupported(
            `The file is binary (a NUL byte at byte ${textChecked + nul}), not an accepted format: upload ${ACCEPTED}.`,
            {
              detected: 'binary',
            },
          )
        }
        textChecked += bytes.length
      }
      checker?.update(bytes)
    }

    for await (const chunk of source) {
      if (chunk.length === 0) continue
      size += chunk.length
      if (size > maxBytes) {
        throw new StudioError(
          'PAYLOAD_TOO_LARGE',
          `The file is larger than the ${maxBytes} bytes accepted: upload a smaller file, or split it into several.`,
          { limitBytes: maxBytes },
        )
      }
      hash.update(chunk)
      if (format !== undefined) {
        check(chunk)
        yield chunk
        continue
      }
      pending.push(chunk)
      const take = Math.min(chunk.length, SNIFF_BYTES - headBytes)
      head.set(chunk.subarray(0, take), headBytes)
      headBytes += take
      decide(sniff(head.subarray(0, headBytes), false))
      if (format === undefined) continue
      const held = pending
      pending = []
      for (const c of held) check(c)
      yield* held
    }
    if (format === undefined) {
      if (size === 0) throw emptyError('The file is empty')
      decide(sniff(head.subarray(0, headBytes), true))
      for (const c of pending) check(c)
      yield* pending
      pending = []
    }
    const rowCount = (checker as FormatChecker).finish()
    const detected = format as ArtifactFormat
    facts = Object.freeze({
      format: detected,
      size,
      sha256: hash.digest('hex'),
      rowCount,
      contentType: artifactContentTypes[detected],
    })
  }

  return {
    pipe(source) {
      if (piped)
        throw new StudioError('INTERNAL', 'A content check reads one stream: create a new check for each upload.')
      piped = true
      const inner = run(source)
      return {
        async *[Symbol.asyncIterator]() {
          try {
            yield* inner
          } catch (e) {
            failure = e
            throw e
          }
        },
      }
    },
    result() {
      if (failure !== undefined) throw failure
      if (facts === undefined) {
        throw new StudioError(
          'INTERNAL',
          'The content check has no result before its stream ended: read pipe() to the end first.',
        )
      }
      return facts
    },
  }
}
