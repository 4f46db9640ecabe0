import type { PipelineDocument } from '../src/index.ts'

/** Builds a v2 document from a compact node list; edges by [source, target, targetHandle?]. */
export function doc(
  name: string,
  nodes: readonly [id: string, component: string, config: Record<string, unknown>][],
  edges: readonly [string, string, string?][],
  extra: Partial<PipelineDocument> = {},
): PipelineDocument {
  return {
    schemaVersion: 2,
    name,
    ...extra,
    nodes: nodes.map(([id, component, config], i) => ({
      id,
      position: { x: i * 200, y: 0 },
      data: { component, config },
    })),
    edges: edges.map(([source, target, targetHandle], i) =>
      targetHandle ? { id: `e${i + 1}`, source, target, targetHandle } : { id: `e${i + 1}`, source, target },
    ),
  }
}

/** Orders csv -> paid filter -> daily revenue -> parquet, with a not-null check and a `ds` date param. */
export const dailyRevenue = doc(
  'daily-revenue',
  [
    ['orders', 'ingestor/csv@1', { path: '/data/orders/{{ds}}/*.csv' }],
    ['paid', 'transformer/filter@1', { condition: "status = 'paid' AND order_date = {{ds}}" }],
    ['ids-present', 'quality/not-null@1', { columns: ['order_id', 'customer_id'] }],
    [
      'revenue',
      'transformer/aggregate@1',
      {
        groupBy: ['order_date'],
        aggregations: [
          { function: 'sum', column: 'amount', alias: 'revenue' },
          { function: 'count', alias: 'orders' },
        ],
      },
    ],
    ['out', 'sink/parquet@1', { path: '/data/out/revenue/ds={{ds}}', mode: 'overwrite' }],
  ],
  [
    ['orders', 'paid'],
    ['paid', 'ids-present'],
    ['ids-present', 'revenue'],
    ['revenue', 'out'],
  ],
  { params: [{ name: 'ds', type: 'date', default: '2026-11-01' }] },
)

/** One source read by three consumers (fan-out), each with its own sink. */
export const fanOut = doc(
  'fan-out',
  [
    ['events', 'ingestor/json@1', { path: '/data/events' }],
    ['clicks', 'transformer/filter@1', { condition: "kind = 'click'" }],
    ['views', 'transformer/filter@1', { condition: "kind = 'view'" }],
    [
      'per-user',
      'transformer/aggregate@1',
      { groupBy: ['user_id'], aggregations: [{ function: 'count', alias: 'events' }] },
    ],
    ['clicks-out', 'sink/parquet@1', { path: '/out/clicks', mode: 'overwrite' }],
    ['views-out', 'sink/json@1', { path: '/out/views', mode: 'append' }],
    ['users-out', 'sink/csv@1', { path: '/out/users', mode: 'overwrite', partitionBy: [] }],
  ],
  [
    ['events', 'clicks'],
    ['events', 'views'],
    ['events', 'per-user'],
    ['clicks', 'clicks-out'],
    ['views', 'views-out'],
    ['per-user', 'users-out'],
  ],
)

/** Orders joined to customers (left join on a key of the same name), deduplicated, ranked and written over JDBC. */
export const customerOrders = doc(
  'customer-orders',
  [
    [
      'warehouse',
      'connection/jdbc@1',
      { url: 'jdbc:postgresql://db:5432/dw', user: 'etl', password: { $secret: 'DW_PASSWORD' } },
    ],
    ['orders', 'ingestor/parquet@1', { path: '/lake/orders' }],
    ['customers', 'ingestor/jdbc@1', { connection: 'warehouse', table: 'public.customers' }],
    [
      'latest',
      'transformer/deduplicate@1',
      { keys: ['order_id'], orderBy: [{ column: 'updated_at', direction: 'asc' }], keep: 'last' },
    ],
    ['joined', 'transformer/join@1', { type: 'left', keys: [{ left: 'customer_id', right: 'customer_id' }] }],
    [
      'ranked',
      'transformer/window-rank@1',
      { partitionBy: ['customer_id'], orderBy: [{ column: 'amount', direction: 'desc' }], alias: 'rank_in_customer' },
    ],
    ['unique-orders', 'quality/unique@1', { columns: ['order_id'], onFail: 'warn' }],
    ['to-dw', 'sink/jdbc@1', { connection: 'warehouse', table: 'mart.customer_orders', mode: 'overwrite' }],
  ],
  [
    ['orders', 'latest'],
    ['latest', 'joined', 'left'],
    ['customers', 'joined', 'right'],
    ['joined', 'ranked'],
    ['ranked', 'unique-orders'],
    ['unique-orders', 'to-dw'],
  ],
)

/** A backfill-style pipeline: a date-window filter from params, union of two sources, SCD2 and checks. */
export const backfillParams = doc(
  'backfill-params',
  [
    ['eu', 'ingestor/csv@1', { path: '/raw/eu/{{ds}}.csv', delimiter: ';' }],
    ['us', 'ingestor/csv@1', { path: '/raw/us/{{ds}}.csv' }],
    ['all', 'transformer/union@1', {}],
    [
      'window',
      'transformer/filter@1',
      { condition: 'event_time >= {{start}} AND event_time < {{end}} AND region <> {{excluded}}' },
    ],
    ['typed', 'transformer/cast@1', { casts: [{ column: 'amount', type: 'decimal(18,2)' }] }],
    ['filled', 'transformer/fill-nulls@1', { values: [{ column: 'region', value: 'unknown' }] }],
    ['volume', 'quality/row-count@1', { min: 1, max: 10_000_000 }],
    ['sane', 'quality/range@1', { column: 'amount', min: 0 }],
    ['out', 'sink/parquet@1', { path: '/lake/events', mode: 'append', partitionBy: ['region'] }],
  ],
  [
    ['eu', 'all'],
    ['us', 'all'],
    ['all', 'window'],
    ['window', 'typed'],
    ['typed', 'filled'],
    ['filled', 'volume'],
    ['volume', 'sane'],
    ['sane', 'out'],
  ],
  {
    params: [
      { name: 'ds', type: 'date' },
      { name: 'start', type: 'timestamp' },
      { name: 'end', type: 'timestamp' },
      { name: 'excluded', type: 'string', default: "o'reilly" },
    ],
  },
)
