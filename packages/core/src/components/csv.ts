// The CSV dialect of the csv ingestor and sink: RFC 4180 by default (what Python's csv module, Excel and most tools
// write), mapped onto Spark's CSV options. Spark's own defaults are not RFC 4180: it escapes quotes with a backslash
// (so `"say ""hi"""` comes back with every quote still in it), reads one record per line, reads `""` as null, and
// trims leading and trailing spaces when writing.
import { z } from 'zod'
import { field } from '../field.ts'

const dialect = 'CSV dialect'

/** The field delimiter (Spark's `sep`). */
export const csvDelimiter = field(z.string().min(1).max(4).default(','), {
  title: 'Delimiter',
  description: 'Separates the fields of a record, e.g. "," or ";"; \\t is a tab.',
})

/** The quote character; empty turns quoting off. */
export const csvQuote = field(z.string().max(1).default('"'), {
  title: 'Quote character',
  description: 'Encloses fields that hold the delimiter, a quote or a line break. Empty: no quoting.',
  group: dialect,
})

/** The character that escapes a quote inside a quoted field. */
export const csvEscape = field(z.string().length(1).default('"'), {
  title: 'Escape character',
  description:
    'Escapes a quote inside a quoted field. The quote itself (the default) means a doubled quote, as RFC 4180, ' +
    'Excel and Python write "say ""hi"""; a backslash reads and writes \\" instead.',
  group: dialect,
})

/** The encoding of the files. */
export const csvEncoding = field(
  z
    .string()
    .min(1)
    .max(40)
    .regex(/^[A-Za-z0-9._:-]+$/, 'must be a charset name, e.g. UTF-8')
    .default('UTF-8'),
  { title: 'Encoding', description: 'Character set of the files, e.g. UTF-8, ISO-8859-1, UTF-16.', group: dialect },
)

/** Line separators offered when reading, by name; `auto` detects LF, CRLF or CR from the first line. */
export const CSV_READ_LINE_SEPARATORS = ['auto', 'lf', 'crlf', 'cr'] as const

/** Line separators offered when writing, by name. */
export const CSV_WRITE_LINE_SEPARATORS = ['lf', 'crlf'] as const

const LINE_SEPARATORS = { lf: '\n', crlf: '\r\n', cr: '\r' } as const

/** The line separator of files read. */
export const csvReadLineSeparator = field(z.enum(CSV_READ_LINE_SEPARATORS).default('auto'), {
  title: 'Line separator',
  description:
    'auto reads LF, CRLF and CR files alike, but turns a CRLF inside a quoted field of a CRLF file into LF (Spark ' +
    'normalizes it). Name the separator to keep line breaks inside quoted fields exactly as they are.',
  group: dialect,
})

/** The line separator of files written. */
export const csvWriteLineSeparator = field(z.enum(CSV_WRITE_LINE_SEPARATORS).default('lf'), {
  title: 'Line separator',
  description:
    'Ends each record. With CRLF, Spark also writes a line feed inside a quoted value as CRLF: keep LF (the ' +
    'default) when values may hold line breaks.',
  group: dialect,
})

/** Whether quoted fields may span lines when reading. */
export const csvMultiLine = field(z.boolean().default(true), {
  title: 'Quoted fields may span lines',
  description:
    'RFC 4180 allows line breaks inside quoted fields. Turn off to split large files across tasks, when no field ' +
    'holds a line break.',
  group: dialect,
})

/** The text read as null. */
export const csvReadNullValue = field(z.string().max(100).default(''), {
  title: 'Null value',
  description:
    'An unquoted empty field is always null and a quoted empty field ("") is the empty string; a text given here ' +
    'is read as null too, e.g. NULL or \\N.',
  group: dialect,
})

/** The text written for null. */
export const csvWriteNullValue = field(z.string().max(100).default(''), {
  title: 'Null value',
  description:
    'Written for null. Empty (the default): an unquoted empty field, while the empty string is written as "".',
  group: dialect,
})

/** Whether every field is quoted when writing. */
export const csvQuoteAll = field(z.boolean().default(false), {
  title: 'Quote every field',
  description: 'Off: only fields that need it are quoted (those with the delimiter, a quote or a line break).',
  group: dialect,
})

/**
 * Spark's `nullValue` when nothing but an unquoted empty field means null. Spark turns a field equal to `nullValue`
 * into null after the CSV parser has replaced an unquoted empty field by `nullValue` and a quoted empty one by
 * `emptyValue` (""). With `nullValue` "" both would be null; with this marker only the unquoted empty field is (and
 * a field holding exactly this text, which CSV files do not).
 */
const UNQUOTED_EMPTY_ONLY = '\u0000'

/** The comment character of writes: one no text starts with. */
const NO_COMMENT = '\uffff'

/** The dialect fields of the csv ingestor, parsed. */
export interface CsvReadDialect {
  readonly header: boolean
  readonly delimiter: string
  readonly quote: string
  readonly escape: string
  readonly multiLine: boolean
  readonly lineSeparator: (typeof CSV_READ_LINE_SEPARATORS)[number]
  readonly nullValue: string
  readonly encoding: string
}

/** The dialect fields of the csv sink, parsed. */
export interface CsvWriteDialect {
  readonly header: boolean
  readonly delimiter: string
  readonly quote: string
  readonly escape: string
  readonly quoteAll: boolean
  readonly lineSeparator: (typeof CSV_WRITE_LINE_SEPARATORS)[number]
  readonly nullValue: string
  readonly encoding: string
}

/**
 * Extra options over dialect options: an extra option overrides the dialect option of the same name whatever its
 * case (Spark's option names are case-insensitive), as extra options overrode Spark's defaults before the dialect
 * fields existed, so saved documents keep their meaning.
 */
function under(
  dialectOptions: Record<string, string>,
  extra: Readonly<Record<string, string>>,
): Record<string, string> {
  const given = new Set(Object.keys(extra).map((k) => k.toLowerCase()))
  const kept = Object.entries(dialectOptions).filter(([k]) => !given.has(k.toLowerCase()))
  return { ...Object.fromEntries(kept), ...extra }
}

/** Spark reader options of a csv dialect; `extra` (the config's extra options) override the dialect's. */
export function csvReadOptions(d: CsvReadDialect, extra: Readonly<Record<string, string>>): Record<string, string> {
  const options: Record<string, string> = {
    quote: d.quote,
    escape: d.escape,
    multiLine: String(d.multiLine),
    nullValue: d.nullValue === '' ? UNQUOTED_EMPTY_ONLY : d.nullValue,
    emptyValue: '',
    encoding: d.encoding,
  }
  if (d.lineSeparator !== 'auto') options['lineSep'] = LINE_SEPARATORS[d.lineSeparator]
  // header and sep were fields before the dialect: they have always won over extra options.
  return { ...under(options, extra), header: String(d.header), sep: d.delimiter }
}

/** Spark writer options of a csv dialect; `extra` (the config's extra options) override the dialect's. */
export function csvWriteOptions(d: CsvWriteDialect, extra: Readonly<Record<string, string>>): Record<string, string> {
  const options: Record<string, string> = {
    sep: d.delimiter,
    quote: d.quote,
    escape: d.escape,
    // Quote a value holding a quote (and double the quote): RFC 4180.
    escapeQuotes: 'true',
    quoteAll: String(d.quoteAll),
    lineSep: LINE_SEPARATORS[d.lineSeparator],
    nullValue: d.nullValue,
    // The empty string, told apart from null: a quoted empty field.
    emptyValue: d.quote + d.quote,
    encoding: d.encoding,
    // Spark trims values when writing unless told not to.
    ignoreLeadingWhiteSpace: 'false',
    ignoreTrailingWhiteSpace: 'false',
    // The writer quotes a value that starts with the comment character, '#' unless set (Spark cannot turn it off):
    // U+FFFF is a noncharacter, so values are quoted only when they need it, as Python's csv module does.
    comment: NO_COMMENT,
  }
  // header was a field before the dialect: it has always won over extra options.
  return { ...under(options, extra), header: String(d.header) }
}
