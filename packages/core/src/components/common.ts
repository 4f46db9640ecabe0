import { z } from 'zod'
import { ArtifactRefSchema } from '../artifacts.ts'
import { field } from '../field.ts'
import { quoteIdent, sqlString } from '../sql.ts'

/** A column name field (a form renders a column picker). */
export const column = (title = 'Column', description?: string) =>
  field(z.string().min(1).max(256), { title, widget: 'column', ...(description ? { description } : {}) })

/** A non-empty list of column names. */
export const columnList = (title = 'Columns', description?: string) =>
  field(z.array(z.string().min(1).max(256)).min(1).max(500), {
    title,
    widget: 'columns',
    ...(description ? { description } : {}),
  })

/** A single SQL expression field, checked by the compiler so it cannot break out of its parentheses. */
export const sqlExpression = (title: string, placeholder: string, description?: string) =>
  field(z.string().min(1).max(20_000), {
    title,
    widget: 'sql-expression',
    placeholder,
    ...(description ? { description } : {}),
  })

/** A file or folder path (local, hdfs://, s3a://, ...); `{{param}}` placeholders allowed. */
export const pathField = (title = 'Path', placeholder = '/data/orders/*.csv') =>
  field(z.string().min(1).max(4096), { title, widget: 'path', placeholder, group: 'Location', order: 0 })

/**
 * The path field of a source that reads files: a path as the sinks' path field takes (the `path` widget, `{{param}}`
 * placeholders allowed), or a reference to an uploaded data artifact, `{ "$artifact": "<uuid>" }`. `compilePipeline`
 * replaces a reference with the artifact's path before `compile` runs (and, in previews, the field with the node's
 * `previewSample`), so `compile` gets a string: read it with `pathOf(config.path)`. Only for what a component reads,
 * never for what a sink writes.
 *
 * @example
 * ```ts
 * import { pathOf, sourcePathField } from '@sparkle-studio/core'
 * import { z } from 'zod'
 *
 * const config = z.strictObject({ path: sourcePathField('Log files', '/data/logs/*.txt') })
 * const pathIn = (c: z.output<typeof config>): string => pathOf(c.path)
 * ```
 */
export const sourcePathField = (title = 'Path', placeholder = '/data/orders/*.csv') =>
  field(z.union([z.string().min(1).max(4096).meta({ title: 'File path' }), ArtifactRefSchema]), {
    title,
    widget: 'path',
    placeholder,
    group: 'Location',
    order: 0,
  })

/** Sort direction of one column. */
export const orderByItem = z.strictObject({
  column: column(),
  direction: field(z.enum(['asc', 'desc']).default('asc'), { title: 'Direction' }),
  nulls: field(z.enum(['first', 'last']).optional(), { title: 'Nulls' }),
})

/** `ORDER BY` clause items from order-by configs. */
export function orderByClause(
  items: readonly { column: string; direction: 'asc' | 'desc'; nulls?: 'first' | 'last' | undefined }[],
): string {
  return items
    .map(
      (o) => `${quoteIdent(o.column)} ${o.direction.toUpperCase()}${o.nulls ? ` NULLS ${o.nulls.toUpperCase()}` : ''}`,
    )
    .join(', ')
}

/** Quoted, comma-separated column names. */
export function columnsSql(columns: readonly string[]): string {
  return columns.map(quoteIdent).join(', ')
}

/** Extra data source options: string keys and values. */
export const extraOptions = field(z.record(z.string().min(1).max(200), z.string().max(10_000)).default({}), {
  title: 'Extra options',
  description: 'Spark data source options passed as they are.',
  group: 'Advanced',
  widget: 'key-value',
})

/** The save modes of Spark's DataFrame writer. */
export const saveMode = field(z.enum(['overwrite', 'append', 'errorifexists', 'ignore']).default('errorifexists'), {
  title: 'Save mode',
  description: 'What to do when the output exists already.',
  order: 1,
})

/** Spark SQL types offered for casts and inline data. */
export const SPARK_TYPES = [
  'string',
  'int',
  'bigint',
  'double',
  'boolean',
  'date',
  'timestamp',
  'decimal(18,2)',
  'decimal(38,10)',
] as const

/** A Spark SQL type field. */
export const sparkType = (title = 'Type') => field(z.enum(SPARK_TYPES), { title })

/** Literal of a constant config value (string, number, boolean). */
export function valueSql(value: string | number | boolean): string {
  if (typeof value === 'string') return sqlString(value)
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE'
  return Number.isFinite(value) ? String(value) : 'NULL'
}

/** A constant value field: text, number or boolean. */
export const constant = (title = 'Value') =>
  field(z.union([z.string().max(10_000), z.number().refine(Number.isFinite, 'must be finite'), z.boolean()]), { title })

/** Whether a failing check fails the run or only warns. */
export const onFail = field(z.enum(['fail', 'warn']).default('fail'), {
  title: 'On failure',
  description: 'fail stops the run with an error; warn reports the failed rows and goes on.',
  order: 100,
})
