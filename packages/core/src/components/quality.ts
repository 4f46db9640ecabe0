import { z } from 'zod'
import { defineComponent } from '../component.ts'
import { field } from '../field.ts'
import { quoteIdent } from '../sql.ts'
import { column, columnList, columnsSql, constant, onFail, sqlExpression, valueSql } from './common.ts'

const one = [{ name: 'in', label: 'Rows' }] as const
const out = [{ name: 'out', label: 'Rows (unchanged)' }] as const
const severity = (v: 'fail' | 'warn') => (v === 'fail' ? ('error' as const) : ('warn' as const))

/** Range-like configs need a minimum or a maximum, and the minimum may not exceed the maximum. */
function checkBounds(
  c: { readonly min?: number | undefined; readonly max?: number | undefined },
  ctx: z.RefinementCtx,
): void {
  if (c.min === undefined && c.max === undefined)
    ctx.addIssue({ code: 'custom', message: 'Give a minimum, a maximum or both', path: ['min'] })
  if (c.min !== undefined && c.max !== undefined && c.min > c.max) {
    ctx.addIssue({ code: 'custom', message: 'The minimum is above the maximum', path: ['max'] })
  }
}

/** Fails (or warns) when columns hold nulls. */
export const notNullCheck = defineComponent({
  type: 'quality',
  name: 'not-null',
  version: 1,
  title: 'Not null',
  description: 'Checks that columns hold no nulls; passes the rows on unchanged.',
  category: 'Quality',
  icon: 'shield-check',
  tags: ['quality', 'test', 'null', 'required'],
  inputs: one,
  outputs: out,
  config: z.strictObject({ columns: columnList(), onFail }),
  compile: (ctx) => ({
    kind: 'check',
    severity: severity(ctx.config.onFail),
    description: `${ctx.config.columns.join(', ')} must not be null`,
    sql: `SELECT count(*) AS failed_rows FROM ${ctx.input()} WHERE ${ctx.config.columns.map((c) => `${quoteIdent(c)} IS NULL`).join(' OR ')}`,
  }),
})

/** Fails (or warns) when a key repeats. */
export const uniqueCheck = defineComponent({
  type: 'quality',
  name: 'unique',
  version: 1,
  title: 'Unique',
  description: 'Checks that no two rows share the same values of the columns; counts the extra rows.',
  category: 'Quality',
  icon: 'fingerprint',
  tags: ['quality', 'test', 'unique', 'primary key', 'duplicates'],
  inputs: one,
  outputs: out,
  config: z.strictObject({ columns: columnList('Key columns'), onFail }),
  compile: (ctx) => ({
    kind: 'check',
    severity: severity(ctx.config.onFail),
    description: `(${ctx.config.columns.join(', ')}) must be unique`,
    sql: `SELECT coalesce(sum(n - 1), 0) AS failed_rows FROM (SELECT count(*) AS n FROM ${ctx.input()} GROUP BY ${columnsSql(ctx.config.columns)} HAVING count(*) > 1)`,
  }),
})

/** Fails (or warns) on values outside a list. */
export const acceptedValuesCheck = defineComponent({
  type: 'quality',
  name: 'accepted-values',
  version: 1,
  title: 'Accepted values',
  description: 'Checks that a column only holds values from a list (nulls are allowed).',
  category: 'Quality',
  icon: 'list-checks',
  tags: ['quality', 'test', 'enum', 'values', 'domain'],
  inputs: one,
  outputs: out,
  config: z.strictObject({
    column: column(),
    values: field(z.array(constant()).min(1).max(10_000), { title: 'Accepted values' }),
    onFail,
  }),
  compile: (ctx) => ({
    kind: 'check',
    severity: severity(ctx.config.onFail),
    description: `${ctx.config.column} must be one of ${ctx.config.values.length} values`,
    sql: `SELECT count(*) AS failed_rows FROM ${ctx.input()} WHERE ${quoteIdent(ctx.config.column)} IS NOT NULL AND ${quoteIdent(ctx.config.column)} NOT IN (${ctx.config.values.map(valueSql).join(', ')})`,
  }),
})

/** Fails (or warns) on values outside a range. */
export const rangeCheck = defineComponent({
  type: 'quality',
  name: 'range',
  version: 1,
  title: 'Value range',
  description: 'Checks that a numeric column lies between a minimum and a maximum (inclusive; nulls are allowed).',
  category: 'Quality',
  icon: 'ruler',
  tags: ['quality', 'test', 'range', 'min', 'max', 'bounds'],
  inputs: one,
  outputs: out,
  config: z
    .strictObject({
      column: column(),
      min: field(z.number().refine(Number.isFinite, 'must be finite').optional(), { title: 'Minimum', order: 0 }),
      max: field(z.number().refine(Number.isFinite, 'must be finite').optional(), { title: 'Maximum', order: 1 }),
      onFail,
    })
    .superRefine(checkBounds),
  compile: (ctx) => {
    const col = quoteIdent(ctx.config.column)
    const parts: string[] = []
    if (ctx.config.min !== undefined) parts.push(`${col} < ${ctx.config.min}`)
    if (ctx.config.max !== undefined) parts.push(`${col} > ${ctx.config.max}`)
    return {
      kind: 'check',
      severity: severity(ctx.config.onFail),
      description: `${ctx.config.column} must be within [${ctx.config.min ?? '-inf'}, ${ctx.config.max ?? 'inf'}]`,
      sql: `SELECT count(*) AS failed_rows FROM ${ctx.input()} WHERE ${parts.join(' OR ')}`,
    }
  },
})

/** Fails (or warns) when the row count is out of bounds. */
export const rowCountCheck = defineComponent({
  type: 'quality',
  name: 'row-count',
  version: 1,
  title: 'Row count',
  description: 'Checks that the number of rows lies between a minimum and a maximum.',
  category: 'Quality',
  icon: 'hash',
  tags: ['quality', 'test', 'count', 'volume', 'empty'],
  inputs: one,
  outputs: out,
  config: z
    .strictObject({
      min: field(z.number().int().min(0).optional(), { title: 'At least', order: 0 }),
      max: field(z.number().int().min(0).optional(), { title: 'At most', order: 1 }),
      onFail,
    })
    .superRefine(checkBounds),
  compile: (ctx) => {
    // failed_rows is how far the count is outside the bounds: the rows missing, or the rows too many.
    const cases: string[] = []
    if (ctx.config.min !== undefined) cases.push(`WHEN n < ${ctx.config.min} THEN ${ctx.config.min} - n`)
    if (ctx.config.max !== undefined) cases.push(`WHEN n > ${ctx.config.max} THEN n - ${ctx.config.max}`)
    return {
      kind: 'check',
      severity: severity(ctx.config.onFail),
      description: `row count must be within [${ctx.config.min ?? 0}, ${ctx.config.max ?? 'inf'}]`,
      sql: `SELECT CASE ${cases.join(' ')} ELSE 0 END AS failed_rows FROM (SELECT count(*) AS n FROM ${ctx.input()})`,
    }
  },
})

/** Fails (or warns) on rows where a condition is false. */
export const expressionCheck = defineComponent({
  type: 'quality',
  name: 'expression',
  version: 1,
  title: 'Custom check',
  description: 'Checks that a SQL condition holds for every row; counts the rows where it is false or null.',
  category: 'Quality',
  icon: 'badge-check',
  tags: ['quality', 'test', 'assert', 'expression', 'custom'],
  inputs: one,
  outputs: out,
  config: z.strictObject({ condition: sqlExpression('Condition', 'amount >= 0'), onFail }),
  compile: (ctx) => ({
    kind: 'check',
    severity: severity(ctx.config.onFail),
    description: `${ctx.config.condition} must hold`,
    sql: `SELECT count(*) AS failed_rows FROM ${ctx.input()} WHERE NOT coalesce(${ctx.expr(ctx.config.condition, '/condition')}, FALSE)`,
  }),
})
