// The pipelines the Spark benchmarks share: sample orders, a 5-node preview plan and a 4-step run plan.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ExecutionPlan, PlanPolicy, PlanStep } from '@sparkle-studio/core'

/** Orders in the sample file. */
export const ORDERS = 5_000

/** The temporary view of a node. */
export const view = (id: string) => `\`sparkle_${id}\``
/** The preview query of a node's first rows. */
export const show = (id: string): PlanStep => ({
  nodeId: id,
  kind: 'query',
  sql: `SELECT * FROM ${view(id)}`,
  limit: 100,
})

/** Writes 5,000 sample orders as a CSV file into `dir`. */
export async function writeOrders(dir: string): Promise<string> {
  const path = join(dir, 'orders.csv')
  const countries = ['DE', 'FR', 'JP', 'US', 'BR']
  const statuses = ['paid', 'open', 'void']
  const lines = ['order_id,customer,country,amount_cents,status']
  for (let i = 0; i < ORDERS; i++) {
    lines.push(`${i},c${(i * 7) % 97},${countries[i % 5]},${100 + ((i * 7919) % 50_000)},${statuses[i % 3]}`)
  }
  await writeFile(path, `${lines.join('\n')}\n`)
  return path
}

/**
 * The compiler's preview shape of a 5-node pipeline: per node a view (or a sampled read) and a query of its first
 * rows; with `policy`, the plan carries it to the driver.
 */
export function previewPlan(csv: string, policy?: PlanPolicy): ExecutionPlan {
  return {
    pipeline: 'bench-preview',
    mode: 'preview',
    steps: [
      {
        nodeId: 'orders',
        kind: 'read',
        view: view('orders'),
        source: { format: 'csv', path: csv, options: { header: 'true', inferSchema: 'true' } },
        limit: 1000,
      },
      show('orders'),
      {
        nodeId: 'paid',
        kind: 'view',
        view: view('paid'),
        sql: `SELECT * FROM ${view('orders')} WHERE status = 'paid'`,
      },
      show('paid'),
      {
        nodeId: 'gross',
        kind: 'view',
        view: view('gross'),
        sql: `SELECT *, amount_cents * 1.2 AS gross_cents FROM ${view('paid')}`,
      },
      show('gross'),
      {
        nodeId: 'by_country',
        kind: 'view',
        view: view('by_country'),
        sql: `SELECT country, count(*) AS orders, sum(gross_cents) AS gross_cents FROM ${view('gross')} GROUP BY country`,
      },
      show('by_country'),
      {
        nodeId: 'top',
        kind: 'view',
        view: view('top'),
        sql: `SELECT * FROM ${view('by_country')} ORDER BY gross_cents DESC`,
      },
      show('top'),
    ],
    ...(policy ? { policy } : {}),
  }
}

/** A 4-step run of the same data, csv to parquet; with `policy`, the plan carries it to the driver. */
export function runPipeline(csv: string, out: string, policy?: PlanPolicy): ExecutionPlan {
  return {
    pipeline: 'bench-run',
    mode: 'run',
    steps: [
      {
        nodeId: 'orders',
        kind: 'read',
        view: view('orders'),
        source: { format: 'csv', path: csv, options: { header: 'true', inferSchema: 'true' } },
      },
      {
        nodeId: 'paid',
        kind: 'view',
        view: view('paid'),
        sql: `SELECT * FROM ${view('orders')} WHERE status = 'paid'`,
      },
      {
        nodeId: 'by_country',
        kind: 'view',
        view: view('by_country'),
        sql: `SELECT country, count(*) AS orders, sum(amount_cents) AS revenue FROM ${view('paid')} GROUP BY country`,
      },
      {
        nodeId: 'sink',
        kind: 'write',
        sql: `SELECT * FROM ${view('by_country')}`,
        target: { format: 'parquet', mode: 'overwrite', path: out },
      },
    ],
    ...(policy ? { policy } : {}),
  }
}
