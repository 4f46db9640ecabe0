import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineComponent } from './component.ts'
import { createDefaultRegistry } from './components/index.ts'
import { migratePipeline } from './migrations.ts'
import { validatePipeline } from './validate-pipeline.ts'

const v1Document = {
  schemaVersion: 1,
  name: 'legacy-orders',
  params: { ds: { type: 'date', default: '2026-01-01' } },
  schedule: '0 3 * * *',
  timezone: 'Europe/Paris',
  sparkConf: { 'spark.sql.shuffle.partitions': '8' },
  nodes: [
    { id: 'orders', component: 'ingestor/csv@1', config: { path: '/data/{{ds}}.csv' } },
    { id: 'paid', component: 'transformer/filter@1', label: 'Paid', config: { condition: "status = 'paid'" } },
    { id: 'out', component: 'sink/parquet@1', config: { path: '/out' } },
  ],
  edges: [
    { from: 'orders', to: 'paid' },
    { id: 'x', from: 'paid', to: 'out', port: 'in' },
  ],
}

describe('migratePipeline', () => {
  const registry = createDefaultRegistry()

  it('upgrades a version 1 document to a valid current document, listing the changes', () => {
    const input = structuredClone(v1Document)
    const result = migratePipeline(input, registry)
    expect(input).toEqual(v1Document)
    expect(result.fromVersion).toBe(1)
    expect(result.toVersion).toBe(2)
    expect(result.changed).toBe(true)
    expect(result.changes.map((c) => c.path)).toEqual(['/nodes', '/edges', '/params', '/schedule', '/spark'])
    expect(result.document.nodes[1]).toEqual({
      id: 'paid',
      position: { x: 240, y: 0 },
      data: { component: 'transformer/filter@1', config: { condition: "status = 'paid'" }, label: 'Paid' },
    })
    expect(result.document.edges).toEqual([
      { id: 'e1', source: 'orders', target: 'paid' },
      { id: 'x', source: 'paid', target: 'out', targetHandle: 'in' },
    ])
    expect(result.document.schedule).toEqual({ cron: '0 3 * * *', timezone: 'Europe/Paris' })
    expect(validatePipeline(result.document, registry).ok).toBe(true)
  })

  it('is a no-op on a current document and pure (same input, same output)', () => {
    const current = migratePipeline(v1Document, registry).document
    const again = migratePipeline(current, registry)
    expect(again.changed).toBe(false)
    expect(again.changes).toEqual([])
    expect(JSON.stringify(migratePipeline(v1Document, registry))).toBe(
      JSON.stringify(migratePipeline(v1Document, registry)),
    )
  })

  it('upgrades node configs through each component version', () => {
    const base = {
      type: 'transformer',
      name: 'discount',
      title: 'Discount',
      description: 'd',
      category: 'Custom',
      icon: 'percent',
      inputs: [{ name: 'in' }],
      outputs: [{ name: 'out' }],
    } as const
    const v1 = defineComponent({
      ...base,
      version: 1,
      config: z.strictObject({ rate: z.number() }),
      compile: () => ({ kind: 'relation', sql: 'SELECT 1' }),
    })
    const v2 = defineComponent({
      ...base,
      version: 2,
      config: z.strictObject({ percent: z.number() }),
      upgrade: (c) => ({ percent: Number(c['rate']) * 100 }),
      compile: () => ({ kind: 'relation', sql: 'SELECT 1' }),
    })
    const v3 = defineComponent({
      ...base,
      version: 3,
      config: z.strictObject({ percent: z.number(), roundTo: z.number() }),
      upgrade: (c) => ({ ...c, roundTo: 2 }),
      compile: () => ({ kind: 'relation', sql: 'SELECT 1' }),
    })
    const r = createDefaultRegistry().register(v1, v2, v3)
    const doc = structuredClone(v1Document)
    doc.nodes.splice(2, 0, { id: 'disc', component: 'transformer/discount@1', config: { rate: 0.25 } as never })
    const result = migratePipeline(doc, r)
    const node = result.document.nodes.find((n) => n.id === 'disc')
    expect(node?.data).toEqual({ component: 'transformer/discount@3', config: { percent: 25, roundTo: 2 } })
    expect(result.changes.at(-1)).toEqual({
      kind: 'component',
      path: '/nodes/2/data/component',
      message: 'disc: transformer/discount@1 -> @3',
      nodeId: 'disc',
    })
  })

  it('refuses documents it cannot read, with typed errors', () => {
    expect(() => migratePipeline({ ...v1Document, schemaVersion: 99 }, registry)).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    )
    expect(() => migratePipeline({ name: 'x' }, registry)).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    )
    expect(() => migratePipeline('nope', registry)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }))
  })
})
