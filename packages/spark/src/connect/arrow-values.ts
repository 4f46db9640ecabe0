import { type Data, DataType, DateUnit, type Field, makeVector, type Schema, TimeUnit, Type } from 'apache-arrow'

/**
 * A value of a Spark Connect result row, as the client hands it out. The mapping from Spark (Arrow) types is exact:
 *
 * | Spark type | JavaScript |
 * |---|---|
 * | `tinyint`, `smallint`, `int` | `number` |
 * | `bigint` | `bigint` |
 * | `float`, `double` | `number` (`NaN` and infinities kept) |
 * | `decimal(p,s)` | `string`, exact, with `s` decimals: `'12.34'`, `'-0.50'` |
 * | `string` | `string` |
 * | `binary` | `Uint8Array` |
 * | `boolean` | `boolean` |
 * | `date` | `string` `'YYYY-MM-DD'` |
 * | `timestamp` | `string`, ISO 8601 in UTC with microseconds: `'2024-01-02T03:04:05.123456Z'` (a `Date` would drop the micros) |
 * | `timestamp_ntz` | `string`, ISO 8601 without zone: `'2024-01-02T03:04:05.123456'` |
 * | `void` / any null | `null` |
 * | `array<T>` | `T[]` |
 * | `map<string,V>` | a plain object (null prototype) |
 * | `map<K,V>`, K not string | a `Map<K, V>` |
 * | `struct<...>` | a plain object with the fields in order |
 *
 * Types outside this table (intervals, `time`, `variant`) are returned as apache-arrow decodes them.
 */
export type SparkValue =
  | null
  | number
  | bigint
  | string
  | boolean
  | Uint8Array
  | SparkValue[]
  | Map<SparkValue, SparkValue>
  | { [field: string]: SparkValue }

/** One column of a result: its name, its Spark type name (`'bigint'`, `'decimal(10,2)'`, `'array<string>'`) and nullability. */
export interface SparkColumn {
  /** The column name as Spark reports it. */
  readonly name: string
  /** The Spark SQL type, written as Spark's `simpleString` would (`'map<string,int>'`). */
  readonly type: string
  /** Whether the column may hold nulls. */
  readonly nullable: boolean
}

/** A result row: column name to value, in column order. */
export type SparkRow = Readonly<Record<string, SparkValue>>

/** The Spark type name of an Arrow type as Spark Connect sends it. */
export function sparkTypeName(type: DataType): string {
  if (DataType.isNull(type)) return 'void'
  if (DataType.isInt(type)) return ({ 8: 'tinyint', 16: 'smallint', 32: 'int', 64: 'bigint' } as const)[type.bitWidth]
  if (DataType.isFloat(type)) return type.precision === 1 ? 'float' : 'double'
  if (DataType.isDecimal(type)) return `decimal(${type.precision},${type.scale})`
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) return 'string'
  if (DataType.isBinary(type) || DataType.isLargeBinary(type)) return 'binary'
  if (DataType.isBool(type)) return 'boolean'
  if (DataType.isDate(type)) return 'date'
  if (DataType.isTimestamp(type)) return type.timezone ? 'timestamp' : 'timestamp_ntz'
  if (DataType.isList(type)) return `array<${sparkTypeName(childType(type, 0))}>`
  if (DataType.isMap(type)) {
    const entry = childType(type, 0)
    return `map<${sparkTypeName(childType(entry, 0))},${sparkTypeName(childType(entry, 1))}>`
  }
  if (DataType.isStruct(type))
    return `struct<${type.children.map((f) => `${f.name}:${sparkTypeName(f.type)}`).join(',')}>`
  return String(type).toLowerCase()
}

/** The columns of an Arrow schema, with Spark type names. */
export function sparkColumns(schema: Schema): SparkColumn[] {
  return schema.fields.map((f: Field) => ({ name: f.name, type: sparkTypeName(f.type), nullable: f.nullable }))
}

/** Reads the rows of a record batch's columns (one `Data` per column) as {@link SparkRow}s. */
export function rowsOf(schema: Schema, columns: readonly Data[], length: number): SparkRow[] {
  const names = schema.fields.map((f) => f.name)
  const readers = columns.map(valueReader)
  const rows: SparkRow[] = []
  for (let i = 0; i < length; i++) {
    const row: Record<string, SparkValue> = {}
    for (let c = 0; c < readers.length; c++) row[names[c] as string] = (readers[c] as Reader)(i)
    rows.push(row)
  }
  return rows
}

type Reader = (index: number) => SparkValue

function childType(type: DataType, index: number): DataType {
  const child = type.children[index]
  if (!child) throw new TypeError(`arrow type ${String(type)} has no child ${index}`)
  return child.type
}

function childData(data: Data, index: number): Data {
  const child = data.children[index]
  if (!child) throw new TypeError(`arrow data of ${String(data.type)} has no child ${index}`)
  return child
}

const pad = (n: number | bigint, width: number): string => String(n).padStart(width, '0')

/** The date `days` after 1970-01-01, as 'YYYY-MM-DD' (proleptic Gregorian, as Spark 3+ uses). */
function isoDate(days: number): string {
  const d = new Date(days * 86_400_000)
  const year = d.getUTCFullYear()
  const y = year < 0 ? `-${pad(-year, 6)}` : year > 9999 ? `+${year}` : pad(year, 4)
  return `${y}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`
}

const MICROS_PER_DAY = 86_400_000_000n

/** A timestamp in microseconds since the epoch as ISO 8601 with six fraction digits (no zone suffix). */
function isoMicros(micros: bigint): string {
  let days = micros / MICROS_PER_DAY
  let rest = micros % MICROS_PER_DAY
  if (rest < 0n) {
    rest += MICROS_PER_DAY
    days -= 1n
  }
  const seconds = rest / 1_000_000n
  const fraction = rest % 1_000_000n
  const h = seconds / 3600n
  const m = (seconds / 60n) % 60n
  const s = seconds % 60n
  return `${isoDate(Number(days))}T${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}.${pad(fraction, 6)}`
}

const unitToMicros = (value: bigint, unit: TimeUnit): bigint => {
  switch (unit) {
    case TimeUnit.SECOND:
      return value * 1_000_000n
    case TimeUnit.MILLISECOND:
      return value * 1000n
    case TimeUnit.MICROSECOND:
      return value
    default:
      // Nanoseconds: Spark never sends them; truncating toward the past keeps the calendar second right.
      return value >= 0n ? value / 1000n : (value - 999n) / 1000n
  }
}

/** An exact decimal string from a little-endian two's complement integer in 32-bit words, and a scale. */
function decimalString(words: Uint32Array, start: number, stride: number, scale: number): string {
  let unscaled = 0n
  for (let w = stride - 1; w >= 0; w--) unscaled = (unscaled << 32n) | BigInt(words[start + w] as number)
  const bits = BigInt(stride * 32)
  if (unscaled >> (bits - 1n) === 1n) unscaled -= 1n << bits
  const negative = unscaled < 0n
  const digits = (negative ? -unscaled : unscaled).toString()
  if (scale <= 0) return (negative ? '-' : '') + digits + '0'.repeat(-scale)
  const whole = digits.length > scale ? digits.slice(0, -scale) : '0'
  const fraction = digits.padStart(scale, '0').slice(-scale)
  return `${negative ? '-' : ''}${whole}.${fraction}`
}

function valueReader(data: Data): Reader {
  const vector = makeVector(data)
  const type = data.type as DataType
  const nullable =
    (read: Reader): Reader =>
    (i) =>
      vector.isValid(i) ? read(i) : null

  if (DataType.isNull(type)) return () => null
  if (DataType.isDecimal(type)) {
    const words = data.values as Uint32Array
    const stride = type.bitWidth / 32
    return nullable((i) => decimalString(words, i * stride, stride, type.scale))
  }
  if (DataType.isDate(type)) {
    if (type.unit === DateUnit.DAY) {
      const days = data.values as Int32Array
      return nullable((i) => isoDate(days[i] as number))
    }
    const millis = data.values as BigInt64Array
    return nullable((i) => isoMicros((millis[i] as bigint) * 1000n).slice(0, 10))
  }
  if (DataType.isTimestamp(type)) {
    const values = data.values as BigInt64Array
    const zone = type.timezone ? 'Z' : ''
    return nullable((i) => isoMicros(unitToMicros(values[i] as bigint, type.unit)) + zone)
  }
  if (DataType.isList(type) || DataType.isMap(type)) {
    const offsets = data.valueOffsets as Int32Array
    const child = childData(data, 0)
    if (DataType.isList(type)) {
      const item = valueReader(child)
      return nullable((i) => {
        const out: SparkValue[] = []
        for (let k = offsets[i] as number; k < (offsets[i + 1] as number); k++) out.push(item(k))
        return out
      })
    }
    const key = valueReader(childData(child, 0))
    const value = valueReader(childData(child, 1))
    const stringKeys = DataType.isUtf8(childType(child.type, 0)) || DataType.isLargeUtf8(childType(child.type, 0))
    return nullable((i) => {
      const start = offsets[i] as number
      const end = offsets[i + 1] as number
      if (stringKeys) {
        const out: Record<string, SparkValue> = Object.create(null)
        for (let k = start; k < end; k++) out[key(k) as string] = value(k)
        return out
      }
      const out = new Map<SparkValue, SparkValue>()
      for (let k = start; k < end; k++) out.set(key(k), value(k))
      return out
    })
  }
  if (DataType.isStruct(type)) {
    const fields = type.children.map((f, c) => [f.name, valueReader(childData(data, c))] as const)
    return nullable((i) => {
      const out: Record<string, SparkValue> = {}
      for (const [name, read] of fields) out[name] = read(i)
      return out
    })
  }
  if (type.typeId === Type.Float16) return nullable((i) => Number(vector.get(i)))
  return nullable((i) => vector.get(i) as SparkValue)
}
