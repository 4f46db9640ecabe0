// Data and plans shared by this package's Spark tests. Not exported from the package.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ExecutionPlan, PlanStep } from '@sparkle-studio/core'

/** One input row of the test pipeline. */
export interface Order {
  readonly order_id: number
  readonly customer: string
  readonly country: string
  readonly amount_cents: number
  readonly status: 'paid' | 'open' | 'void'
}

/** Deterministic orders (a small linear congruential generator, so every run sees the same data). */
export function makeOrders(count = 500): Order[] {
  let seed = 42
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed % n
  }
  const countries = ['DE', 'FR', 'JP', 'US']
  const statuses = ['paid', 'open', 'void'] as const
  return Array.from({ length: count }, (_, i) => ({
    order_id: i + 1,
    customer: `c${next(40)}`,
    country: countries[next(countries.length)] as string,
    amount_cents: 100 + next(50_000),
    status: statuses[next(statuses.length)] as Order['status'],
  }))
}

/** Writes `orders` as a CSV file with a header line; returns its absolute path. */
export async function writeOrdersCsv(dir: string, orders: readonly Order[], name = 'orders.csv'): Promise<string> {
  const path = join(dir, name)
  const lines = ['order_id,customer,country,amount_cents,status']
  for (const o of orders) lines.push(`${o.order_id},${o.customer},${o.country},${o.amount_cents},${o.status}`)
  await writeFile(path, `${lines.join('\n')}\n`)
  return path
}

/** The expected output of the test pipeline, computed in JavaScript from the same input: paid orders by country. */
export function expectedRevenue(
  orders: readonly Order[],
): { country: string; orders: number; revenue_cents: number }[] {
  const by = new Map<string, { orders: number; revenue_cents: number }>()
  for (const o of orders) {
    if (o.status !== 'paid') continue
    const row = by.get(o.country) ?? { orders: 0, revenue_cents: 0 }
    row.orders += 1
    row.revenue_cents += o.amount_cents
    by.set(o.country, row)
  }
  return [...by.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([country, r]) => ({ country, ...r }))
}

const ORDERS_SCHEMA = 'order_id INT, customer STRING, country STRING, amount_cents BIGINT, status STRING'

/** The csv ingest step of the test pipeline. */
export function readOrdersStep(csv: string, nodeId = 'orders'): PlanStep {
  return {
    nodeId,
    kind: 'read',
    view: `\`sparkle_${nodeId}\``,
    source: { format: 'csv', path: csv, options: { header: 'true' }, schema: ORDERS_SCHEMA },
  }
}

/**
 * csv ingest -> filter -> aggregate -> parquet sink, then the parquet output read back by a second reader
 * (`readback` node) and reported in full, sorted.
 */
export function pipelinePlan(csv: string, out: string): ExecutionPlan {
  return {
    pipeline: 'orders-by-country',
    mode: 'run',
    steps: [
      readOrdersStep(csv),
      {
        nodeId: 'paid',
        kind: 'view',
        view: '`sparkle_paid`',
        sql: "SELECT * FROM `sparkle_orders` WHERE status = 'paid'",
      },
      {
        nodeId: 'by_country',
        kind: 'view',
        view: '`sparkle_by_country`',
        sql: 'SELECT country, count(*) AS orders, sum(amount_cents) AS revenue_cents FROM `sparkle_paid` GROUP BY country',
      },
      {
        nodeId: 'sink',
        kind: 'write',
        sql: 'SELECT * FROM `sparkle_by_country`',
        target: { format: 'parquet', mode: 'overwrite', path: out },
      },
      { nodeId: 'readback', kind: 'read', view: '`sparkle_readback`', source: { format: 'parquet', path: out } },
      {
        nodeId: 'readback',
        kind: 'query',
        sql: 'SELECT country, orders, revenue_cents FROM `sparkle_readback` ORDER BY country',
        limit: 1000,
      },
    ],
  }
}

/**
 * SQL that keeps the CPU busy for roughly `seconds` seconds on two threads, in many tasks of about a second (so that
 * progress moves); Spark stops its tasks when their job is cancelled.
 */
export function slowQuery(seconds = 60): string {
  const tasks = Math.max(2, seconds * 2)
  return `SELECT count(*) AS x FROM range(0, ${tasks * 300_000_000}, 1, ${tasks}) WHERE hash(id) = 42`
}

/** A plan whose `slow` node runs for about `seconds` seconds on two threads, in many short tasks ({@link slowQuery}). */
export function slowPlan(seconds = 60): ExecutionPlan {
  return {
    pipeline: 'slow',
    mode: 'run',
    steps: [
      { nodeId: 'fast', kind: 'view', view: '`sparkle_fast`', sql: 'SELECT id FROM range(0, 10)' },
      { nodeId: 'slow', kind: 'query', sql: slowQuery(seconds), limit: 1 },
    ],
  }
}
