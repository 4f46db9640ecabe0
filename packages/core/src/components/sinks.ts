import { z } from 'zod'
import { defineComponent } from '../component.ts'
import { field } from '../field.ts'
import { extraOptions, pathField, saveMode } from './common.ts'
import {
  type CsvWriteDialect,
  csvDelimiter,
  csvEncoding,
  csvEscape,
  csvQuote,
  csvQuoteAll,
  csvWriteLineSeparator,
  csvWriteNullValue,
  csvWriteOptions,
} from './csv.ts'
import { type JdbcConnectionConfig, jdbcOptions } from './ingestors.ts'

const one = [{ name: 'in', label: 'Rows' }] as const
const partitionBy = field(z.array(z.string().min(1).max(256)).max(20).default([]), {
  title: 'Partition by',
  description: 'Writes one folder per value of these columns (column=value/).',
  widget: 'columns',
  order: 2,
})

function fileSink(
  format: 'parquet' | 'csv' | 'json',
  title: string,
  icon: string,
  extra: Record<string, z.ZodType> = {},
) {
  return defineComponent({
    type: 'sink',
    name: format,
    version: 1,
    title,
    description: `Writes the rows as ${format.toUpperCase()} files to a folder, optionally partitioned by columns.`,
    category: 'Destinations',
    icon,
    tags: ['file', format, 'sink', 'write', 'output'],
    inputs: one,
    outputs: [],
    config: z.strictObject({
      path: pathField('Output folder', `/data/out/${format}`),
      mode: saveMode,
      partitionBy,
      ...extra,
      options: extraOptions,
    }),
    examples: [
      {
        title: 'Daily partitions',
        config: { path: `/data/out/orders_${format}`, mode: 'overwrite', partitionBy: ['order_date'] },
      },
    ],
    compile: ({ config }) => {
      const extra = config['options'] as Record<string, string>
      const options = format === 'csv' ? csvWriteOptions(config as unknown as CsvWriteDialect, extra) : { ...extra }
      return {
        kind: 'write',
        target: {
          format,
          mode: config.mode,
          path: config.path,
          ...(config.partitionBy.length > 0 ? { partitionBy: config.partitionBy } : {}),
          ...(Object.keys(options).length > 0 ? { options } : {}),
        },
      }
    },
  })
}

/** Writes Parquet files. */
export const parquetSink = fileSink('parquet', 'Parquet files', 'database')
/**
 * Writes CSV files as RFC 4180 and Python's csv module (`QUOTE_MINIMAL`) do: only fields with the delimiter, a quote
 * or a line break are quoted, a quote is doubled, null is an unquoted empty field and the empty string `""`; values
 * are written as they are (Spark's default trims their spaces). Other dialects by config.
 */
export const csvSink = fileSink('csv', 'CSV files', 'file-spreadsheet', {
  header: field(z.boolean().default(true), { title: 'Write a header row' }),
  delimiter: csvDelimiter,
  quote: csvQuote,
  escape: csvEscape,
  quoteAll: csvQuoteAll,
  lineSeparator: csvWriteLineSeparator,
  nullValue: csvWriteNullValue,
  encoding: csvEncoding,
})
/** Writes JSON Lines files. */
export const jsonSink = fileSink('json', 'JSON files', 'file-json')

/** Writes to a database table over JDBC. */
export const jdbcSink = defineComponent({
  type: 'sink',
  name: 'jdbc',
  version: 1,
  title: 'Database table (JDBC)',
  description: 'Writes the rows to a database table through a JDBC connection.',
  category: 'Destinations',
  icon: 'server',
  tags: ['database', 'jdbc', 'postgres', 'table', 'sink', 'write'],
  inputs: one,
  outputs: [],
  config: z.strictObject({
    connection: field(z.string().min(1).max(64), {
      title: 'Connection',
      widget: 'connection',
      description: 'Id of a connection node.',
    }),
    table: field(z.string().min(1).max(512), {
      title: 'Table',
      placeholder: 'analytics.daily_revenue',
      params: 'remote-identifier',
    }),
    mode: saveMode,
    batchSize: field(z.number().int().min(1).max(1_000_000).default(1000), { title: 'Batch size', group: 'Advanced' }),
    truncate: field(z.boolean().default(false), {
      title: 'Truncate instead of drop on overwrite',
      description: 'Keeps the table definition, grants and indexes.',
      group: 'Advanced',
    }),
  }),
  compile: (ctx) => {
    const conn = ctx.connection<JdbcConnectionConfig>(ctx.config.connection)
    return {
      kind: 'write',
      target: {
        format: 'jdbc',
        mode: ctx.config.mode,
        options: {
          ...jdbcOptions(conn),
          dbtable: ctx.config.table,
          batchsize: String(ctx.config.batchSize),
          truncate: String(ctx.config.truncate),
        },
      },
    }
  },
})
