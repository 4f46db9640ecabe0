import { z } from 'zod'
import { defineComponent } from '../component.ts'
import { field } from '../field.ts'
import { quoteIdent } from '../sql.ts'
import { isHiddenToken, lexSparkSql } from '../sql-lexer.ts'
import {
  column,
  columnList,
  columnsSql,
  constant,
  orderByClause,
  orderByItem,
  sparkType,
  sqlExpression,
  valueSql,
} from './common.ts'

const one = [{ name: 'in', label: 'Rows' }] as const
const out = [{ name: 'out', label: 'Rows' }] as const

/** Keeps some columns, optionally renaming them. */
export const selectTransformer = defineComponent({
  type: 'transformer',
  name: 'select',
  version: 1,
  title: 'Select and rename columns',
  description: 'Keeps the listed columns, in order, each optionally renamed.',
  category: 'Shape',
  icon: 'columns-3',
  tags: ['select', 'rename', 'project', 'columns'],
  inputs: one,
  outputs: out,
  config: z.strictObject({
    columns: field(
      z
        .array(
          z.strictObject({
            column: column(),
            alias: field(z.string().min(1).max(256).optional(), { title: 'Rename to' }),
          }),
        )
        .min(1)
        .max(1000),
      { title: 'Columns' },
    ),
  }),
  examples: [{ title: 'Rename id', config: { columns: [{ column: 'id', alias: 'order_id' }, { column: 'amount' }] } }],
  compile: (ctx) => ({
    kind: 'relation',
    sql: `SELECT ${ctx.config.columns.map((c) => (c.alias ? `${quoteIdent(c.column)} AS ${quoteIdent(c.alias)}` : quoteIdent(c.column))).join(', ')} FROM ${ctx.input()}`,
  }),
})

/** Drops columns. */
export const dropTransformer = defineComponent({
  type: 'transformer',
  name: 'drop-columns',
  version: 1,
  title: 'Drop columns',
  description: 'Removes the listed columns and keeps all others.',
  category: 'Shape',
  icon: 'columns-2',
  tags: ['drop', 'remove', 'columns'],
  inputs: one,
  outputs: out,
  config: z.strictObject({ columns: columnList('Columns to drop') }),
  compile: (ctx) => ({
    kind: 'relation',
    sql: `SELECT * EXCEPT (${columnsSql(ctx.config.columns)}) FROM ${ctx.input()}`,
  }),
})

/** Keeps the rows that match a condition. */
export const filterTransformer = defineComponent({
  type: 'transformer',
  name: 'filter',
  version: 1,
  title: 'Filter rows',
  description: 'Keeps the rows for which a SQL condition is true.',
  category: 'Clean',
  icon: 'filter',
  tags: ['filter', 'where', 'condition'],
  inputs: one,
  outputs: out,
  config: z.strictObject({
    condition: sqlExpression(
      'Condition',
      "status = 'paid' AND amount > 0",
      'A Spark SQL boolean expression; {{param}} placeholders allowed.',
    ),
  }),
  examples: [{ title: 'Paid orders of the day', config: { condition: "status = 'paid' AND order_date = {{ds}}" } }],
  compile: (ctx) => ({
    kind: 'relation',
    sql: `SELECT * FROM ${ctx.input()} WHERE ${ctx.expr(ctx.config.condition, '/condition')}`,
  }),
})

/** Adds computed columns. */
export const deriveTransformer = defineComponent({
  type: 'transformer',
  name: 'derive',
  version: 1,
  title: 'Derive columns',
  description: 'Adds columns computed from SQL expressions (or replaces columns of the same name, in place).',
  category: 'Shape',
  icon: 'sigma',
  tags: ['derive', 'compute', 'expression', 'with column'],
  inputs: one,
  outputs: out,
  config: z.strictObject({
    columns: field(
      z
        .array(
          z.strictObject({
            name: field(z.string().min(1).max(256), { title: 'Name' }),
            expression: sqlExpression('Expression', 'amount * 1.2'),
          }),
        )
        .min(1)
        .max(500),
      { title: 'Columns' },
    ),
    replace: field(z.boolean().default(false), {
      title: 'Replace existing columns',
      description: 'When true, each column must exist already and is replaced in place.',
    }),
  }),
  compile: (ctx) => {
    const items = ctx.config.columns.map(
      (c, i) => `${ctx.expr(c.expression, `/columns/${i}/expression`)} AS ${quoteIdent(c.name)}`,
    )
    if (ctx.config.replace) {
      const sets = ctx.config.columns.map(
        (c, i) => `${quoteIdent(c.name)} = ${ctx.expr(c.expression, `/columns/${i}/expression`)}`,
      )
      return { kind: 'relation', sql: `SELECT * FROM ${ctx.input()} |> SET ${sets.join(', ')}` }
    }
    return { kind: 'relation', sql: `SELECT *, ${items.join(', ')} FROM ${ctx.input()}` }
  },
})

/** Changes column types in place. */
export const castTransformer = defineComponent({
  type: 'transformer',
  name: 'cast',
  version: 1,
  title: 'Cast column types',
  description: 'Converts columns to other types, in place; values that do not convert become null (try_cast).',
  category: 'Clean',
  icon: 'replace',
  tags: ['cast', 'convert', 'type'],
  inputs: one,
  outputs: out,
  config: z.strictObject({
    casts: field(
      z
        .array(z.strictObject({ column: column(), type: sparkType() }))
        .min(1)
        .max(500),
      { title: 'Casts' },
    ),
    strict: field(z.boolean().default(false), { title: 'Fail on values that do not convert' }),
  }),
  compile: (ctx) => {
    const fn = ctx.config.strict ? 'CAST' : 'TRY_CAST'
    const sets = ctx.config.casts.map(
      (c) => `${quoteIdent(c.column)} = ${fn}(${quoteIdent(c.column)} AS ${c.type.toUpperCase()})`,
    )
    return { kind: 'relation', sql: `SELECT * FROM ${ctx.input()} |> SET ${sets.join(', ')}` }
  },
})

const JOIN_SQL = {
  inner: 'INNER JOIN',
  left: 'LEFT OUTER JOIN',
  right: 'RIGHT OUTER JOIN',
  full: 'FULL OUTER JOIN',
  semi: 'LEFT SEMI JOIN',
  anti: 'LEFT ANTI JOIN',
  cross: 'CROSS JOIN',
} as const

/** Joins two inputs. */
export const joinTransformer = defineComponent({
  type: 'transformer',
  name: 'join',
  version: 1,
  title: 'Join',
  description:
    'Joins the left and right inputs: inner, left, right, full outer, semi, anti or cross. Key columns with the same name on both sides appear once.',
  category: 'Combine',
  icon: 'merge',
  tags: ['join', 'merge', 'lookup', 'combine'],
  inputs: [
    { name: 'left', label: 'Left' },
    { name: 'right', label: 'Right' },
  ],
  outputs: out,
  config: z
    .strictObject({
      type: field(z.enum(['inner', 'left', 'right', 'full', 'semi', 'anti', 'cross']).default('inner'), {
        title: 'Join type',
        order: 0,
      }),
      keys: field(
        z
          .array(z.strictObject({ left: column('Left column'), right: column('Right column') }))
          .max(50)
          .default([]),
        { title: 'Key columns', order: 1 },
      ),
      condition: field(sqlExpression('Extra condition', 'l.amount > r.min_amount').optional(), {
        title: 'Extra condition',
        description: 'A SQL condition over `l` (left) and `r` (right), added to the keys.',
        order: 2,
      }),
    })
    .refine((c) => c.type === 'cross' || c.keys.length > 0 || c.condition !== undefined, {
      message: 'A join needs key columns or a condition (or type cross)',
      path: ['keys'],
    })
    .refine((c) => c.type !== 'cross' || (c.keys.length === 0 && c.condition === undefined), {
      message: 'A cross join takes no keys or condition',
      path: ['type'],
    }),
  compile: (ctx) => {
    const { type, keys, condition } = ctx.config
    const left = ctx.input('left')
    const right = ctx.input('right')
    const sameNames = keys.length > 0 && keys.every((k) => k.left === k.right) && condition === undefined
    const join = `${left} AS l ${JOIN_SQL[type]} ${right} AS r`
    if (type === 'cross') return { kind: 'relation', sql: `SELECT * FROM ${join}` }
    if (sameNames)
      return { kind: 'relation', sql: `SELECT * FROM ${join} USING (${columnsSql(keys.map((k) => k.left))})` }
    const on = keys.map((k) => `l.${quoteIdent(k.left)} = r.${quoteIdent(k.right)}`)
    if (condition !== undefined) on.push(ctx.expr(condition, '/condition'))
    const select = type === 'semi' || type === 'anti' ? 'l.*' : '*'
    return { kind: 'relation', sql: `SELECT ${select} FROM ${join} ON ${on.join(' AND ')}` }
  },
})

/** Stacks inputs with the same columns. */
export const unionTransformer = defineComponent({
  type: 'transformer',
  name: 'union',
  version: 1,
  title: 'Union',
  description: 'Stacks the rows of two or more inputs whose columns match by position.',
  category: 'Combine',
  icon: 'layers',
  tags: ['union', 'append', 'stack', 'combine'],
  inputs: [{ name: 'in', label: 'Inputs', multiple: true }],
  outputs: out,
  config: z.strictObject({ distinct: field(z.boolean().default(false), { title: 'Remove duplicate rows' }) }),
  compile: (ctx) => {
    const inputs = ctx.inputs()
    const op = ctx.config.distinct ? ' UNION ' : ' UNION ALL '
    return { kind: 'relation', sql: inputs.map((v) => `SELECT * FROM ${v}`).join(op) }
  },
})

const AGGREGATES = [
  'count',
  'count_distinct',
  'sum',
  'avg',
  'min',
  'max',
  'first',
  'last',
  'collect_list',
  'collect_set',
] as const

/** Groups rows and computes aggregates. */
export const aggregateTransformer = defineComponent({
  type: 'transformer',
  name: 'aggregate',
  version: 1,
  title: 'Aggregate',
  description: 'Groups rows by columns and computes counts, sums, averages, minima, maxima and more.',
  category: 'Summarize',
  icon: 'group',
  tags: ['aggregate', 'group by', 'sum', 'count', 'summarize'],
  inputs: one,
  outputs: out,
  config: z.strictObject({
    groupBy: field(z.array(z.string().min(1).max(256)).max(100).default([]), { title: 'Group by', widget: 'columns' }),
    aggregations: field(
      z
        .array(
          z.strictObject({
            function: field(z.enum(AGGREGATES), { title: 'Function' }),
            column: field(z.string().min(1).max(256).optional(), {
              title: 'Column',
              widget: 'column',
              description: 'Empty for count(*).',
            }),
            alias: field(z.string().min(1).max(256), { title: 'Output name' }),
          }),
        )
        .min(1)
        .max(200),
      { title: 'Aggregations' },
    ),
  }),
  examples: [
    {
      title: 'Revenue per day',
      config: {
        groupBy: ['order_date'],
        aggregations: [
          { function: 'sum', column: 'amount', alias: 'revenue' },
          { function: 'count', alias: 'orders' },
        ],
      },
    },
  ],
  compile: (ctx) => {
    const aggs = ctx.config.aggregations.map((a) => {
      const col = a.column === undefined ? '*' : quoteIdent(a.column)
      if (a.function !== 'count' && a.column === undefined) {
        throw new TypeError(`aggregation ${a.function} needs a column`)
      }
      const expr = a.function === 'count_distinct' ? `count(DISTINCT ${col})` : `${a.function}(${col})`
      return `${expr} AS ${quoteIdent(a.alias)}`
    })
    const groups = ctx.config.groupBy
    const select = [...groups.map(quoteIdent), ...aggs].join(', ')
    return {
      kind: 'relation',
      sql: `SELECT ${select} FROM ${ctx.input()}${groups.length > 0 ? ` GROUP BY ${columnsSql(groups)}` : ''}`,
    }
  },
})

/** Keeps one row per key. */
export const deduplicateTransformer = defineComponent({
  type: 'transformer',
  name: 'deduplicate',
  version: 1,
  title: 'Deduplicate',
  description: 'Keeps one row per key: the first or the last by an order, or any when no order is given.',
  category: 'Clean',
  icon: 'copy-minus',
  tags: ['deduplicate', 'distinct', 'unique', 'latest'],
  inputs: one,
  outputs: out,
  config: z.strictObject({
    keys: columnList('Key columns'),
    orderBy: field(z.array(orderByItem).max(20).default([]), { title: 'Order by' }),
    keep: field(z.enum(['first', 'last']).default('first'), {
      title: 'Keep',
      description: 'Which row of each key to keep, by the order.',
    }),
  }),
  compile: (ctx) => {
    const { keys, orderBy, keep } = ctx.config
    const order =
      orderBy.length === 0
        ? columnsSql(keys)
        : orderByClause(
            keep === 'first'
              ? orderBy
              : orderBy.map((o) => ({ ...o, direction: o.direction === 'asc' ? ('desc' as const) : ('asc' as const) })),
          )
    return {
      kind: 'relation',
      sql: `SELECT * FROM ${ctx.input()} QUALIFY row_number() OVER (PARTITION BY ${columnsSql(keys)} ORDER BY ${order}) = 1`,
    }
  },
})

/** Sorts rows. */
export const sortTransformer = defineComponent({
  type: 'transformer',
  name: 'sort',
  version: 1,
  title: 'Sort',
  description: 'Orders rows by one or more columns.',
  category: 'Shape',
  icon: 'arrow-down-wide-narrow',
  tags: ['sort', 'order by'],
  inputs: one,
  outputs: out,
  config: z.strictObject({ orderBy: field(z.array(orderByItem).min(1).max(50), { title: 'Order by' }) }),
  compile: (ctx) => ({
    kind: 'relation',
    sql: `SELECT * FROM ${ctx.input()} ORDER BY ${orderByClause(ctx.config.orderBy)}`,
  }),
})

/** Keeps the first N rows. */
export const limitTransformer = defineComponent({
  type: 'transformer',
  name: 'limit',
  version: 1,
  title: 'Limit',
  description: 'Keeps at most N rows (the first N when the input is sorted).',
  category: 'Shape',
  icon: 'list-end',
  tags: ['limit', 'top', 'head'],
  inputs: one,
  outputs: out,
  config: z.strictObject({ count: field(z.number().int().min(0).max(2_000_000_000), { title: 'Rows' }) }),
  compile: (ctx) => ({ kind: 'relation', sql: `SELECT * FROM ${ctx.input()} LIMIT ${ctx.config.count}` }),
})

/** Keeps a random fraction of rows. */
export const sampleTransformer = defineComponent({
  type: 'transformer',
  name: 'sample',
  version: 1,
  title: 'Sample',
  description: 'Keeps a random fraction of rows; the same seed gives the same sample of the same data.',
  category: 'Shape',
  icon: 'dice-5',
  tags: ['sample', 'random', 'subset'],
  inputs: one,
  outputs: out,
  config: z.strictObject({
    fraction: field(z.number().gt(0).max(1), { title: 'Fraction', examples: [0.1] }),
    seed: field(z.number().int().min(0).max(2_147_483_647).default(42), { title: 'Seed' }),
  }),
  compile: (ctx) => ({
    kind: 'relation',
    sql: `SELECT * FROM ${ctx.input()} WHERE rand(${ctx.config.seed}) < ${ctx.config.fraction}`,
  }),
})

/** Adds a ranking column over partitions. */
export const windowRankTransformer = defineComponent({
  type: 'transformer',
  name: 'window-rank',
  version: 1,
  title: 'Rank within groups',
  description: 'Adds row_number, rank, dense_rank or percent_rank over partitions of rows.',
  category: 'Summarize',
  icon: 'list-ordered',
  tags: ['window', 'rank', 'row_number', 'dense_rank', 'top n'],
  inputs: one,
  outputs: out,
  config: z.strictObject({
    function: field(z.enum(['row_number', 'rank', 'dense_rank', 'percent_rank']).default('row_number'), {
      title: 'Function',
    }),
    partitionBy: field(z.array(z.string().min(1).max(256)).max(50).default([]), {
      title: 'Partition by',
      widget: 'columns',
    }),
    orderBy: field(z.array(orderByItem).min(1).max(20), { title: 'Order by' }),
    alias: field(z.string().min(1).max(256).default('rank'), { title: 'Output column' }),
  }),
  compile: (ctx) => {
    const { partitionBy, orderBy, alias } = ctx.config
    const over = `${partitionBy.length > 0 ? `PARTITION BY ${columnsSql(partitionBy)} ` : ''}ORDER BY ${orderByClause(orderBy)}`
    return {
      kind: 'relation',
      sql: `SELECT *, ${ctx.config.function}() OVER (${over}) AS ${quoteIdent(alias)} FROM ${ctx.input()}`,
    }
  },
})

/** Replaces nulls with constants. */
export const fillNullsTransformer = defineComponent({
  type: 'transformer',
  name: 'fill-nulls',
  version: 1,
  title: 'Fill nulls',
  description: 'Replaces null values of columns with constants, in place.',
  category: 'Clean',
  icon: 'paint-bucket',
  tags: ['fill', 'null', 'coalesce', 'default', 'missing'],
  inputs: one,
  outputs: out,
  config: z.strictObject({
    values: field(
      z
        .array(z.strictObject({ column: column(), value: constant() }))
        .min(1)
        .max(500),
      { title: 'Values' },
    ),
  }),
  compile: (ctx) => {
    const sets = ctx.config.values.map(
      (v) => `${quoteIdent(v.column)} = coalesce(${quoteIdent(v.column)}, ${valueSql(v.value)})`,
    )
    return { kind: 'relation', sql: `SELECT * FROM ${ctx.input()} |> SET ${sets.join(', ')}` }
  },
})

const QUERY_STARTS = new Set(['select', 'with', 'values', 'from', 'table'])

/** True when the first word of `sql` (after comments, spaces and opening parentheses) starts a query. */
function startsAsQuery(sql: string): boolean {
  const { tokens } = lexSparkSql(sql, { placeholders: true })
  const first = tokens.find((t) => !isHiddenToken(t) && t.text !== '(')
  return first === undefined || QUERY_STARTS.has(first.text.toLowerCase())
}

/** A SQL query over the inputs, which it names by their node ids. */
export const sqlTransformer = defineComponent({
  type: 'transformer',
  name: 'sql',
  version: 1,
  title: 'Custom SQL',
  description: 'A Spark SQL query over the inputs; refer to each input by its node id. One query, no statements.',
  category: 'Advanced',
  icon: 'code',
  tags: ['sql', 'custom', 'query'],
  inputs: [{ name: 'in', label: 'Inputs', multiple: true }],
  outputs: out,
  config: z.strictObject({
    query: field(
      z.string().min(1).max(100_000).refine(startsAsQuery, {
        message:
          'must be one query (SELECT, WITH, VALUES, FROM or TABLE), not a statement such as SET, ADD, CREATE or INSERT. Fix: write the query that produces the rows',
      }),
      {
        title: 'Query',
        widget: 'sql',
        placeholder: 'SELECT o.*, c.name FROM orders o JOIN customers c USING (customer_id)',
      },
    ),
  }),
  compile: (ctx) => {
    const views = ctx.inputs()
    const ctes = ctx.inputIds().map((nodeId, i) => `${quoteIdent(nodeId)} AS (SELECT * FROM ${views[i]})`)
    return { kind: 'relation', sql: `WITH ${ctes.join(', ')} SELECT * FROM ${ctx.expr(ctx.config.query, '/query')}` }
  },
})

/** Builds a slowly changing dimension of type 2. */
export const scd2Transformer = defineComponent({
  type: 'transformer',
  name: 'scd2',
  version: 1,
  title: 'Slowly changing dimension (type 2)',
  description:
    'Merges a new snapshot into a type 2 dimension: changed rows are closed and get a new current version, new keys are added, history is kept.',
  category: 'Advanced',
  icon: 'history',
  tags: ['scd', 'scd2', 'dimension', 'history', 'merge'],
  inputs: [
    { name: 'current', label: 'Current dimension' },
    { name: 'incoming', label: 'New snapshot' },
  ],
  outputs: out,
  config: z.strictObject({
    keys: columnList('Business keys'),
    tracked: columnList('Tracked columns', 'A change in any of these starts a new version.'),
    effectiveAt: sqlExpression(
      'Effective at',
      'current_timestamp()',
      'When the new versions start, e.g. {{ds}}.',
    ).default('current_timestamp()'),
    validFrom: field(z.string().min(1).max(256).default('valid_from'), {
      title: 'Valid-from column',
      group: 'Columns',
    }),
    validTo: field(z.string().min(1).max(256).default('valid_to'), { title: 'Valid-to column', group: 'Columns' }),
    isCurrent: field(z.string().min(1).max(256).default('is_current'), {
      title: 'Is-current column',
      group: 'Columns',
    }),
    closeMissing: field(z.boolean().default(false), { title: 'Close keys missing from the snapshot' }),
  }),
  compile: (ctx) => {
    const c = ctx.config
    const cur = ctx.input('current')
    const inc = ctx.input('incoming')
    const at = ctx.expr(c.effectiveAt, '/effectiveAt')
    const [vf, vt, ic] = [quoteIdent(c.validFrom), quoteIdent(c.validTo), quoteIdent(c.isCurrent)]
    const cols = [...c.keys, ...c.tracked.filter((t) => !c.keys.includes(t))]
    const list = (alias: string) => cols.map((k) => `${alias}.${quoteIdent(k)}`).join(', ')
    const keyMatch = c.keys.map((k) => `o.${quoteIdent(k)} = n.${quoteIdent(k)}`).join(' AND ')
    const changed = c.tracked.map((t) => `NOT (o.${quoteIdent(t)} <=> n.${quoteIdent(t)})`).join(' OR ')
    const sql = [
      `WITH o AS (SELECT * FROM ${cur}), n AS (SELECT * FROM ${inc}),`,
      `m AS (SELECT o.*, n.${quoteIdent(c.keys[0] as string)} IS NOT NULL AS __matched, coalesce(n.${quoteIdent(c.keys[0] as string)} IS NOT NULL AND (${changed}), FALSE) AS __changed`,
      `      FROM o LEFT JOIN n ON ${keyMatch} AND o.${ic})`,
      `SELECT ${list('m')}, m.${vf}, m.${vt}, m.${ic} FROM m WHERE NOT m.${ic}`,
      `UNION ALL SELECT ${list('m')}, m.${vf},`,
      `  CASE WHEN m.__changed${c.closeMissing ? ' OR NOT m.__matched' : ''} THEN CAST(${at} AS TIMESTAMP) ELSE m.${vt} END,`,
      `  NOT (m.__changed${c.closeMissing ? ' OR NOT m.__matched' : ''}) FROM m WHERE m.${ic}`,
      `UNION ALL SELECT ${list('n')}, CAST(${at} AS TIMESTAMP), CAST(NULL AS TIMESTAMP), TRUE FROM n`,
      `  LEFT JOIN (SELECT * FROM o WHERE o.${ic}) o ON ${keyMatch}`,
      `  WHERE o.${quoteIdent(c.keys[0] as string)} IS NULL OR ${changed}`,
    ].join('\n')
    return { kind: 'relation', sql }
  },
})
