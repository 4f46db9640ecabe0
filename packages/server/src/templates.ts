// Pipeline templates offered by POST /pipelines { template }, and the sample data they read.
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { PipelineDocument } from '@sparkle-studio/core'

/** A template: a named, ready-to-save pipeline document. */
export interface PipelineTemplate {
  readonly name: string
  readonly title: string
  readonly description: string
  /** The document; `name` is replaced by the new pipeline's name. */
  readonly document: PipelineDocument
}

/** Days the sample data covers. */
export const SAMPLE_DAYS = [
  '2026-11-01',
  '2026-11-02',
  '2026-11-03',
  '2026-11-04',
  '2026-11-05',
  '2026-11-06',
  '2026-11-07',
] as const

const CUSTOMERS = [
  [1, 'Ada', 'FR'],
  [2, 'Grace', 'US'],
  [3, 'Linus', 'FI'],
  [4, 'Barbara', 'US'],
  [5, 'Edsger', 'NL'],
] as const

/** The sample orders of one day: deterministic, 8 + day-of-month orders, about one in five refunded. */
export function sampleOrders(
  day: string,
): { order_id: number; customer_id: number; order_date: string; amount: number; status: string }[] {
  const d = Number(day.slice(8, 10))
  return Array.from({ length: 8 + d }, (_, i) => ({
    order_id: d * 1000 + i,
    customer_id: (i % CUSTOMERS.length) + 1,
    order_date: day,
    amount: Math.round(((i * 37 + d * 11) % 200) * 100 + 999) / 100,
    status: (i + d) % 5 === 0 ? 'refunded' : 'paid',
  }))
}

/** Writes the sample dataset (customers.csv, orders/<day>.csv) into `dir` unless it is there already. */
export async function ensureSampleData(dir: string): Promise<string> {
  if (existsSync(join(dir, 'customers.csv'))) return dir
  await mkdir(join(dir, 'orders'), { recursive: true })
  await writeFile(
    join(dir, 'customers.csv'),
    `customer_id,name,country\n${CUSTOMERS.map((c) => c.join(',')).join('\n')}\n`,
  )
  for (const day of SAMPLE_DAYS) {
    const rows = sampleOrders(day).map(
      (o) => `${o.order_id},${o.customer_id},${o.order_date},${o.amount.toFixed(2)},${o.status}`,
    )
    await writeFile(
      join(dir, 'orders', `${day}.csv`),
      `order_id,customer_id,order_date,amount,status\n${rows.join('\n')}\n`,
    )
  }
  return dir
}

const at = (x: number, y = 0) => ({ x: x * 260, y: y * 140 })

/** The templates, reading the sample data in `sampleDir` and writing under `outDir`. */
export function pipelineTemplates(sampleDir: string, outDir: string): PipelineTemplate[] {
  const params = [
    { name: 'ds', type: 'date' as const, default: SAMPLE_DAYS[0], description: 'The day to process' },
    { name: 'sample_dir', type: 'string' as const, default: sampleDir },
    { name: 'out_dir', type: 'string' as const, default: outDir },
  ]
  return [
    {
      name: 'daily-revenue',
      title: 'Daily revenue',
      description: 'Paid orders of a day, checked, summed per customer, written as Parquet partitioned by day.',
      document: {
        schemaVersion: 2,
        name: 'daily-revenue',
        description: 'Revenue per customer for one day of orders',
        tags: ['demo', 'orders'],
        params,
        nodes: [
          {
            id: 'orders',
            position: at(0),
            data: {
              component: 'ingestor/csv@1',
              label: 'Orders',
              config: { path: '{{sample_dir}}/orders/{{ds}}.csv' },
            },
          },
          {
            id: 'paid',
            position: at(1),
            data: { component: 'transformer/filter@1', label: 'Paid only', config: { condition: "status = 'paid'" } },
          },
          {
            id: 'ids-present',
            position: at(2),
            data: {
              component: 'quality/not-null@1',
              label: 'Ids present',
              config: { columns: ['order_id', 'customer_id'] },
            },
          },
          {
            id: 'revenue',
            position: at(3),
            data: {
              component: 'transformer/aggregate@1',
              label: 'Revenue per customer',
              config: {
                groupBy: ['order_date', 'customer_id'],
                aggregations: [
                  { function: 'count', alias: 'orders' },
                  { function: 'sum', column: 'amount', alias: 'revenue' },
                ],
              },
            },
          },
          {
            id: 'by-customer',
            position: at(4),
            data: {
              component: 'transformer/sort@1',
              label: 'By customer',
              config: { orderBy: [{ column: 'customer_id', direction: 'asc' }] },
            },
          },
          {
            id: 'out',
            position: at(5),
            data: {
              component: 'sink/parquet@1',
              label: 'Revenue (Parquet)',
              config: { path: '{{out_dir}}/daily_revenue/ds={{ds}}', mode: 'overwrite' },
            },
          },
        ],
        edges: [
          { id: 'e1', source: 'orders', target: 'paid' },
          { id: 'e2', source: 'paid', target: 'ids-present' },
          { id: 'e3', source: 'ids-present', target: 'revenue' },
          { id: 'e4', source: 'revenue', target: 'by-customer' },
          { id: 'e5', source: 'by-customer', target: 'out' },
        ],
      },
    },
    {
      name: 'customer-orders',
      title: 'Orders by country',
      description: 'Orders of a day joined to customers, counted and summed per country, written as CSV.',
      document: {
        schemaVersion: 2,
        name: 'customer-orders',
        tags: ['demo', 'orders', 'join'],
        params,
        nodes: [
          {
            id: 'orders',
            position: at(0),
            data: { component: 'ingestor/csv@1', config: { path: '{{sample_dir}}/orders/{{ds}}.csv' } },
          },
          {
            id: 'customers',
            position: at(0, 1),
            data: { component: 'ingestor/csv@1', config: { path: '{{sample_dir}}/customers.csv' } },
          },
          {
            id: 'joined',
            position: at(1),
            data: {
              component: 'transformer/join@1',
              config: { type: 'inner', keys: [{ left: 'customer_id', right: 'customer_id' }] },
            },
          },
          {
            id: 'per-country',
            position: at(2),
            data: {
              component: 'transformer/aggregate@1',
              config: {
                groupBy: ['country'],
                aggregations: [
                  { function: 'count', alias: 'orders' },
                  { function: 'sum', column: 'amount', alias: 'amount' },
                ],
              },
            },
          },
          {
            id: 'out',
            position: at(3),
            data: {
              component: 'sink/csv@1',
              config: { path: '{{out_dir}}/orders_by_country/ds={{ds}}', mode: 'overwrite' },
            },
          },
        ],
        edges: [
          { id: 'e1', source: 'orders', target: 'joined', targetHandle: 'left' },
          { id: 'e2', source: 'customers', target: 'joined', targetHandle: 'right' },
          { id: 'e3', source: 'joined', target: 'per-country' },
          { id: 'e4', source: 'per-country', target: 'out' },
        ],
      },
    },
  ]
}

/**
 * The sample templates, with their sample data written into `sampleDir` (once) and their output under `outDir`:
 * what a studio offers when its host names no templates.
 */
export async function sampleTemplates(sampleDir: string, outDir: string): Promise<PipelineTemplate[]> {
  return pipelineTemplates(await ensureSampleData(sampleDir), outDir)
}
