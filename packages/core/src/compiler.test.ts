import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { backfillParams, customerOrders, dailyRevenue, doc, fanOut } from '../test/fixtures.ts'
import type { CompileOptions } from './compiler.ts'
import { compilePipeline } from './compiler.ts'
import { createDefaultRegistry } from './components/index.ts'
import type { PipelineDocument } from './document.ts'
import { isStudioError } from './errors.ts'

const registry = createDefaultRegistry()
const goldenDir = join(import.meta.dirname, '..', 'test', 'golden')

// UPDATE_GOLDEN=1 rewrites the files; otherwise the plan must match byte for byte.
function golden(name: string, document: PipelineDocument, options: CompileOptions = {}) {
  const text = `${JSON.stringify(compilePipeline(document, registry, options), null, 2)}\n`
  const file = join(goldenDir, `${name}.golden.json`)
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, text)
  expect(text).toBe(readFileSync(file, 'utf8'))
}

const backfillDay = { ds: '2026-11-02', start: '2026-11-02T00:00:00Z', end: '2026-11-03T00:00:00Z' }

describe('compilePipeline golden plans', () => {
  it('daily revenue (params, quality check, aggregate, parquet sink)', () => golden('daily-revenue', dailyRevenue))
  it('daily revenue in preview mode (sampled source, no sink, a query per node)', () =>
    golden('daily-revenue.preview', dailyRevenue, { mode: 'preview', previewLimit: 20, sampleLimit: 500 }))
  it('fan-out (one source cached once, three sinks)', () => golden('fan-out', fanOut))
  it('customer orders (jdbc connection with secret ref, dedup, join, window, warn check)', () =>
    golden('customer-orders', customerOrders))
  it('backfill params (union, timestamp window, escaped string param, cast, fill nulls, checks)', () =>
    golden('backfill-params', backfillParams, { params: backfillDay, revision: 'abc123' }))
})

describe('compilePipeline', () => {
  it('is deterministic: the same input gives a byte-identical plan', () => {
    const a = JSON.stringify(compilePipeline(customerOrders, registry))
    const b = JSON.stringify(compilePipeline(structuredClone(customerOrders), createDefaultRegistry()))
    expect(a).toBe(b)
  })

  it('orders steps topologically and caches a node read by several consumers once', () => {
    const plan = compilePipeline(fanOut, registry)
    const cache = plan.steps.filter((s) => s.kind === 'action')
    expect(cache).toEqual([{ nodeId: 'events', kind: 'action', sql: 'CACHE LAZY TABLE `sparkle_events`' }])
    const index = (id: string) => plan.steps.findIndex((s) => s.nodeId === id)
    expect(index('events')).toBeLessThan(index('clicks'))
    expect(index('clicks')).toBeLessThan(index('clicks-out'))
  })

  it('preview mode skips sinks and checks, samples sources and previews each node', () => {
    const plan = compilePipeline(dailyRevenue, registry, { mode: 'preview' })
    expect(plan.steps.some((s) => s.kind === 'write' || s.kind === 'check')).toBe(false)
    expect(plan.steps.find((s) => s.kind === 'read')).toMatchObject({ limit: 1000 })
    expect(plan.steps.filter((s) => s.kind === 'query').map((s) => s.nodeId)).toEqual([
      'orders',
      'paid',
      'ids-present',
      'revenue',
    ])
  })

  it('quotes identifiers and escapes param literals', () => {
    const plan = compilePipeline(backfillParams, registry, { params: { ...backfillDay, excluded: "x' OR '1'='1" } })
    const window = plan.steps.find((s) => s.nodeId === 'window' && s.kind === 'view')
    expect(window && 'sql' in window ? window.sql : '').toContain("region <> 'x\\' OR \\'1\\'=\\'1'")
  })

  it('rejects bad params with typed errors listing each problem', () => {
    try {
      compilePipeline(backfillParams, registry, { params: { ds: '2026-02-30', start: 'yesterday', surprise: 1 } })
      expect.unreachable()
    } catch (error) {
      expect(isStudioError(error) && error.code).toBe('VALIDATION_FAILED')
      const codes = ((error as { details: { issues: { code: string }[] } }).details.issues ?? [])
        .map((i) => i.code)
        .sort()
      expect(codes).toEqual(['invalid_param', 'invalid_param', 'missing_param', 'unknown_param'])
    }
  })

  it('gives custom SQL its inputs by node id and refuses statements', () => {
    const d = doc(
      'custom',
      [
        ['orders', 'ingestor/csv@1', { path: '/o' }],
        ['customers', 'ingestor/csv@1', { path: '/c' }],
        ['q', 'transformer/sql@1', { query: 'SELECT o.id, c.name FROM orders o JOIN customers c ON o.cid = c.id' }],
        ['out', 'sink/json@1', { path: '/out' }],
      ],
      [
        ['orders', 'q'],
        ['customers', 'q'],
        ['q', 'out'],
      ],
    )
    const plan = compilePipeline(d, registry)
    const q = plan.steps.find((s) => s.nodeId === 'q')
    expect(q && 'sql' in q ? q.sql : '').toBe(
      'WITH `orders` AS (SELECT * FROM `sparkle_orders`), `customers` AS (SELECT * FROM `sparkle_customers`) SELECT * FROM (SELECT o.id, c.name FROM orders o JOIN customers c ON o.cid = c.id)',
    )
    const evil = structuredClone(d)
    ;(evil.nodes[2] as { data: { config: Record<string, unknown> } }).data.config = { query: 'SELECT 1; DROP TABLE x' }
    expect(() => compilePipeline(evil, registry)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }))
  })

  it('bounds preview limits', () => {
    expect(() => compilePipeline(dailyRevenue, registry, { mode: 'preview', previewLimit: 1001 })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    )
  })
})
