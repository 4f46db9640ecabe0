import { z } from 'zod'
import { pathOf } from '../artifacts.ts'
import { defineComponent } from '../component.ts'
import { field } from '../field.ts'
import type { OptionValue } from '../plan.ts'
import { quoteIdent } from '../sql.ts'
import { extraOptions, sourcePathField, sparkType, valueSql } from './common.ts'
import {
  csvDelimiter,
  csvEncoding,
  csvEscape,
  csvMultiLine,
  csvQuote,
  csvReadLineSeparator,
  csvReadNullValue,
  csvReadOptions,
} from './csv.ts'

const out = [{ name: 'out', label: 'Rows' }] as const
const ddlSchema = field(z.string().max(20_000).optional(), {
  title: 'Schema (DDL)',
  description: 'Column names and types, e.g. "id BIGINT, name STRING". Spark infers them when empty.',
  placeholder: 'id BIGINT, amount DECIMAL(18,2)',
  group: 'Advanced',
  widget: 'textarea',
})

function withSchema<T extends object>(source: T, schema: string | undefined): T & { schema?: string } {
  return schema ? { ...source, schema } : source
}

/** Reads CSV files: RFC 4180 by default (doubled quotes, quoted line breaks, `""` apart from null), other dialects by config. */
export const csvIngestor = defineComponent({
  type: 'ingestor',
  name: 'csv',
  version: 1,
  title: 'CSV files',
  description: 'Reads delimited text files, with or without a header row.',
  category: 'Sources',
  icon: 'file-spreadsheet',
  tags: ['file', 'csv', 'text', 'source'],
  docs: [
    "Reads CSV as RFC 4180 defines it, the way Python's csv module, Excel and most tools write it: a field with the",
    'delimiter, a quote or a line break is quoted, and a quote inside it is doubled (`"say ""hi"" twice"`). Quoted',
    'fields may span lines. A UTF-8 byte order mark at the start is skipped. An unquoted empty field is null; a',
    'quoted empty field (`""`) is the empty string.',
    '',
    'Other dialects: set the delimiter, the quote, the escape character (a backslash for files that write `\\"`),',
    'the line separator, a text read as null and the encoding. Extra options are passed to Spark as they are: one',
    'named like a dialect option overrides it (not the header, delimiter and type inference, which always win).',
  ].join('\n'),
  inputs: [],
  outputs: out,
  config: z.strictObject({
    path: sourcePathField('Path', '/data/orders/*.csv'),
    header: field(z.boolean().default(true), { title: 'First row is a header' }),
    delimiter: csvDelimiter,
    inferSchema: field(z.boolean().default(true), { title: 'Infer column types' }),
    schema: ddlSchema,
    quote: csvQuote,
    escape: csvEscape,
    multiLine: csvMultiLine,
    lineSeparator: csvReadLineSeparator,
    nullValue: csvReadNullValue,
    encoding: csvEncoding,
    options: extraOptions,
  }),
  examples: [
    { title: 'Orders with a header', config: { path: '/data/orders.csv' } },
    {
      title: 'Semicolons, backslash escapes, NULL for null',
      config: { path: '/data/export/*.csv', delimiter: ';', escape: '\\', nullValue: 'NULL' },
    },
  ],
  compile: ({ config }) => ({
    kind: 'read',
    source: withSchema(
      {
        format: 'csv',
        path: pathOf(config.path),
        options: { ...csvReadOptions(config, config.options), inferSchema: String(config.inferSchema) },
      },
      config.schema,
    ),
  }),
})

/** Reads JSON files. */
export const jsonIngestor = defineComponent({
  type: 'ingestor',
  name: 'json',
  version: 1,
  title: 'JSON files',
  description: 'Reads JSON Lines files (one object per line) or whole JSON documents.',
  category: 'Sources',
  icon: 'file-json',
  tags: ['file', 'json', 'jsonl', 'source'],
  inputs: [],
  outputs: out,
  config: z.strictObject({
    path: sourcePathField('Path', '/data/events/*.jsonl'),
    multiLine: field(z.boolean().default(false), { title: 'Whole-file JSON documents' }),
    schema: ddlSchema,
    options: extraOptions,
  }),
  compile: ({ config }) => ({
    kind: 'read',
    source: withSchema(
      {
        format: 'json',
        path: pathOf(config.path),
        options: { ...config.options, multiLine: String(config.multiLine) },
      },
      config.schema,
    ),
  }),
})

/** Reads Parquet files. */
export const parquetIngestor = defineComponent({
  type: 'ingestor',
  name: 'parquet',
  version: 1,
  title: 'Parquet files',
  description: 'Reads Parquet files or a partitioned Parquet folder.',
  category: 'Sources',
  icon: 'database',
  tags: ['file', 'parquet', 'columnar', 'source'],
  inputs: [],
  outputs: out,
  config: z.strictObject({
    path: sourcePathField('Path', '/data/warehouse/orders'),
    mergeSchema: field(z.boolean().default(false), { title: 'Merge schemas of all files' }),
    options: extraOptions,
  }),
  compile: ({ config }) => ({
    kind: 'read',
    source: {
      format: 'parquet',
      path: pathOf(config.path),
      options: { ...config.options, mergeSchema: String(config.mergeSchema) },
    },
  }),
})

/** The parsed config of a JDBC connection node. */
export interface JdbcConnectionConfig {
  readonly url: string
  readonly user?: string
  readonly password?: { readonly $secret: string }
  readonly driver?: string
  readonly options: Record<string, string>
}

/** JDBC reader/writer options from a connection node's config. */
export function jdbcOptions(conn: JdbcConnectionConfig): Record<string, OptionValue> {
  const options: Record<string, OptionValue> = { ...conn.options, url: conn.url }
  if (conn.user !== undefined) options['user'] = conn.user
  if (conn.password !== undefined) options['password'] = conn.password
  if (conn.driver !== undefined) options['driver'] = conn.driver
  return options
}

/** Reads a table or query from a database over JDBC. */
export const jdbcIngestor = defineComponent({
  type: 'ingestor',
  name: 'jdbc',
  version: 1,
  title: 'Database table (JDBC)',
  description: 'Reads a table, or the result of a query, from a database through a JDBC connection.',
  category: 'Sources',
  icon: 'server',
  tags: ['database', 'jdbc', 'postgres', 'mysql', 'source', 'table'],
  inputs: [],
  outputs: out,
  config: z
    .strictObject({
      connection: field(z.string().min(1).max(64), {
        title: 'Connection',
        widget: 'connection',
        description: 'Id of a connection node.',
      }),
      table: field(z.string().min(1).max(512).optional(), {
        title: 'Table',
        placeholder: 'public.orders',
        params: 'remote-identifier',
      }),
      query: field(z.string().min(1).max(20_000).optional(), {
        title: 'Query',
        description: 'Runs on the database; used instead of a table.',
        widget: 'textarea',
        params: 'remote-sql',
      }),
      fetchSize: field(z.number().int().min(1).max(1_000_000).default(1000), {
        title: 'Fetch size',
        group: 'Advanced',
      }),
    })
    .refine((c) => (c.table === undefined) !== (c.query === undefined), {
      message: 'Give either a table or a query',
      path: ['table'],
    }),
  compile: (ctx) => {
    const conn = ctx.connection<JdbcConnectionConfig>(ctx.config.connection)
    const options: Record<string, OptionValue> = { ...jdbcOptions(conn), fetchsize: String(ctx.config.fetchSize) }
    if (ctx.config.table !== undefined) options['dbtable'] = ctx.config.table
    if (ctx.config.query !== undefined) options['query'] = ctx.config.query
    return { kind: 'read', source: { format: 'jdbc', options } }
  },
})

const cell = z.union([
  z.string().max(10_000),
  z.number().refine(Number.isFinite, 'must be finite'),
  z.boolean(),
  z.null(),
])

/** Rows typed into the pipeline itself: test data, lookup tables, seeds. */
export const inlineIngestor = defineComponent({
  type: 'ingestor',
  name: 'inline',
  version: 1,
  title: 'Inline rows',
  description: 'A small table typed into the pipeline: seeds, lookups and test data.',
  category: 'Sources',
  icon: 'table',
  tags: ['inline', 'values', 'seed', 'lookup', 'source'],
  inputs: [],
  outputs: out,
  config: z
    .strictObject({
      columns: field(
        z
          .array(z.strictObject({ name: field(z.string().min(1).max(256), { title: 'Name' }), type: sparkType() }))
          .min(1)
          .max(200),
        { title: 'Columns' },
      ),
      rows: field(z.array(z.array(cell).max(200)).max(10_000).default([]), { title: 'Rows', widget: 'grid' }),
    })
    .superRefine((c, ctx) => {
      c.rows.forEach((row, i) => {
        if (row.length !== c.columns.length) {
          ctx.addIssue({
            code: 'custom',
            message: `Row ${i + 1} has ${row.length} values for ${c.columns.length} columns`,
            path: ['rows', i],
          })
        }
      })
    }),
  examples: [
    {
      title: 'Two customers',
      config: {
        columns: [
          { name: 'id', type: 'int' },
          { name: 'name', type: 'string' },
        ],
        rows: [
          [1, 'Ada'],
          [2, 'Grace'],
        ],
      },
    },
  ],
  compile: ({ config }) => {
    const casts = config.columns.map(
      (c, i) => `CAST(${quoteIdent(`c${i}`)} AS ${c.type.toUpperCase()}) AS ${quoteIdent(c.name)}`,
    )
    if (config.rows.length === 0) {
      const nulls = config.columns.map((c) => `CAST(NULL AS ${c.type.toUpperCase()}) AS ${quoteIdent(c.name)}`)
      return { kind: 'relation', sql: `SELECT ${nulls.join(', ')} WHERE FALSE` }
    }
    const values = config.rows.map((r) => `(${r.map((v) => (v === null ? 'NULL' : valueSql(v))).join(', ')})`)
    const aliases = config.columns.map((_, i) => quoteIdent(`c${i}`)).join(', ')
    return { kind: 'relation', sql: `SELECT ${casts.join(', ')} FROM VALUES ${values.join(', ')} AS t(${aliases})` }
  },
})
