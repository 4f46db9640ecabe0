import { StudioError } from '@sparkle-studio/core'

/** The four bytes a Parquet file starts and ends with. */
export const PARQUET_MAGIC: readonly number[] = Object.freeze([0x50, 0x41, 0x52, 0x31])

/** The largest footer (FileMetaData) accepted, so the tail a check keeps in memory stays bounded. */
export const MAX_PARQUET_FOOTER_BYTES = 16 * 1024 * 1024

/** Nesting deeper than this in a footer is refused rather than recursed into (a crafted footer must not blow the stack). */
const MAX_DEPTH = 64

// Thrift compact protocol type ids (thrift's doc/specs/thrift-compact-protocol.md).
const BOOLEAN_TRUE = 1
const BOOLEAN_FALSE = 2
const I8 = 3
const I16 = 4
const I32 = 5
const I64 = 6
const DOUBLE = 7
const BINARY = 8
const LIST = 9
const SET = 10
const MAP = 11
const STRUCT = 12
const UUID = 13

/** What the footer says that the artifact checks use. */
export interface ParquetFooterFacts {
  readonly version: number
  readonly rowCount: number
  /** Schema elements, the root included. */
  readonly schemaElements: number
  readonly rowGroups: number
}

class FooterError extends Error {}

/** A reader of the Thrift compact protocol over one buffer: just enough to read FileMetaData and skip the rest. */
class CompactReader {
  #buf: Uint8Array
  #pos = 0

  constructor(buf: Uint8Array) {
    this.#buf = buf
  }

  get remaining(): number {
    return this.#buf.length - this.#pos
  }

  byte(): number {
    const b = this.#buf[this.#pos]
    if (b === undefined) throw new FooterError(`it ends in the middle of a value (byte ${this.#pos})`)
    this.#pos++
    return b
  }

  /** An unsigned varint of up to 64 bits. */
  varint(): bigint {
    let result = 0n
    let shift = 0n
    for (let i = 0; i < 10; i++) {
      const b = this.byte()
      result |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return result
      shift += 7n
    }
    throw new FooterError('a varint is longer than 10 bytes')
  }

  /** A varint that is a length or a count: it must fit in what is left of the buffer. */
  length(what: string): number {
    const n = this.varint()
    if (n > BigInt(this.remaining)) throw new FooterError(`a ${what} of ${n} is longer than the footer`)
    return Number(n)
  }

  zigzag(): bigint {
    const n = this.varint()
    return (n >> 1n) ^ -(n & 1n)
  }

  skipBytes(n: number): void {
    if (n > this.remaining) throw new FooterError(`it ends in the middle of a value (byte ${this.#pos})`)
    this.#pos += n
  }

  /** Skips one value of `type`; `inCollection` because booleans there take a byte, in a field header none. */
  skip(type: number, depth: number, inCollection: boolean): void {
    if (depth > MAX_DEPTH) throw new FooterError(`it nests deeper than ${MAX_DEPTH} levels`)
    switch (type) {
      case BOOLEAN_TRUE:
      case BOOLEAN_FALSE:
        if (inCollection) this.byte()
        return
      case I8:
        this.byte()
        return
      case I16:
      case I32:
      case I64:
        this.varint()
        return
      case DOUBLE:
        this.skipBytes(8)
        return
      case UUID:
        this.skipBytes(16)
        return
      case BINARY:
        this.skipBytes(this.length('binary value'))
        return
      case LIST:
      case SET: {
        const { size, elementType } = this.listHeader()
        for (let i = 0; i < size; i++) this.skip(elementType, depth + 1, true)
        return
      }
      case MAP: {
        const size = this.length('map')
        if (size === 0) return
        const kv = this.byte()
        for (let i = 0; i < size; i++) {
          this.skip(kv >> 4, depth + 1, true)
          this.skip(kv & 0x0f, depth + 1, true)
        }
        return
      }
      case STRUCT:
        this.struct(depth + 1, (_id, fieldType) => this.skip(fieldType, depth + 1, false))
        return
      default:
        throw new FooterError(`unknown Thrift type ${type}`)
    }
  }

  listHeader(): { size: number; elementType: number } {
    const b = this.byte()
    const short = b >> 4
    // Every element takes at least one byte, so a size past the end is damage, not a reason to loop.
    const size = short === 15 ? this.length('list') : short
    if (size > this.remaining) throw new FooterError(`a list of ${size} is longer than the footer`)
    return { size, elementType: b & 0x0f }
  }

  /** Reads a struct's fields up to its stop byte, handing each field's id and type to `field` (which must consume it). */
  struct(depth: number, field: (id: number, type: number) => void): void {
    if (depth > MAX_DEPTH) throw new FooterError(`it nests deeper than ${MAX_DEPTH} levels`)
    let last = 0
    for (;;) {
      const header = this.byte()
      if (header === 0) return
      const type = header & 0x0f
      const delta = header >> 4
      const id = delta === 0 ? Number(this.zigzag()) : last + delta
      last = id
      field(id, type)
    }
  }
}

/**
 * Parses a Parquet footer (parquet-format's `FileMetaData`, Thrift compact protocol): field 1 `version` (i32),
 * 2 `schema` (list<SchemaElement>), 3 `num_rows` (i64), 4 `row_groups` (list<RowGroup>), all required; the other
 * fields are skipped. Throws a `VALIDATION_FAILED` {@link StudioError} (`{ rule: 'parquet' }`) when it does not parse.
 */
export function parseParquetFooter(footer: Uint8Array): ParquetFooterFacts {
  const r = new CompactReader(footer)
  let version: number | undefined
  let rowCount: number | undefined
  let schemaElements: number | undefined
  let rowGroups: number | undefined
  const expect = (id: number, type: number, wanted: number, name: string): void => {
    if (type !== wanted)
      throw new FooterError(`FileMetaData field ${id} (${name}) has Thrift type ${type}, not ${wanted}`)
  }
  try {
    r.struct(0, (id, type) => {
      if (id === 1) {
        expect(id, type, I32, 'version')
        version = Number(r.zigzag())
      } else if (id === 2 || id === 4) {
        expect(id, type, LIST, id === 2 ? 'schema' : 'row_groups')
        const { size, elementType } = r.listHeader()
        if (elementType !== STRUCT) throw new FooterError(`FileMetaData field ${id} is not a list of structs`)
        for (let i = 0; i < size; i++) r.skip(STRUCT, 1, true)
        if (id === 2) schemaElements = size
        else rowGroups = size
      } else if (id === 3) {
        expect(id, type, I64, 'num_rows')
        const n = r.zigzag()
        if (n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER)) throw new FooterError(`num_rows is ${n}`)
        rowCount = Number(n)
      } else {
        r.skip(type, 1, false)
      }
    })
    if (r.remaining !== 0) throw new FooterError(`${r.remaining} bytes follow the end of FileMetaData`)
    if (version === undefined) throw new FooterError('FileMetaData has no version')
    if (schemaElements === undefined || schemaElements === 0) throw new FooterError('FileMetaData has no schema')
    if (rowCount === undefined) throw new FooterError('FileMetaData has no num_rows')
    if (rowGroups === undefined) throw new FooterError('FileMetaData has no row_groups')
  } catch (e) {
    if (!(e instanceof FooterError)) throw e
    throw parquetDamaged(`its footer does not parse: ${e.message}`)
  }
  return { version, rowCount, schemaElements, rowGroups }
}

/** The one error of a truncated or damaged Parquet file. */
export function parquetDamaged(why: string): StudioError {
  return new StudioError(
    'VALIDATION_FAILED',
    `The Parquet file is truncated or damaged: ${why}. Upload the complete file as written by Spark, pandas or another Parquet writer.`,
    { rule: 'parquet' },
  )
}
