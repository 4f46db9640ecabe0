import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineComponent } from './component.ts'
import { createDefaultRegistry } from './components/index.ts'
import type { PipelineDocument } from './document.ts'
import { migratePipeline, type PipelineChange } from './migrations.ts'
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

  it('runs changes of your own after the upgrade: a version-1 document gets a config field renamed', () => {
    const seen: unknown[] = []
    // Written against the current shape only: node.data exists, whatever version the stored document has.
    const renameSep: PipelineChange = (document, { fromVersion }) => {
      seen.push({ schemaVersion: document.schemaVersion, fromVersion })
      for (const node of document.nodes) {
        const { component, config } = node.data
        if (component === 'ingestor/csv@1' && config && 'sep' in config) {
          const { sep, ...rest } = config
          node.data.config = { ...rest, delimiter: sep }
        }
      }
    }
    const input = structuredClone(v1Document)
    input.nodes[0] = {
      id: 'orders',
      component: 'ingestor/csv@1',
      config: { path: '/data/{{ds}}.csv', sep: ';' } as never,
    }
    const before = structuredClone(input)
    const result = migratePipeline(input, registry, { changes: [renameSep] })
    expect(input).toEqual(before)
    expect(seen).toEqual([{ schemaVersion: 2, fromVersion: 1 }])
    expect(result.document.schemaVersion).toBe(2)
    expect(result.document.nodes[0]?.data).toEqual({
      component: 'ingestor/csv@1',
      config: { path: '/data/{{ds}}.csv', delimiter: ';' },
    })
    expect(result.changes.map((c) => `${c.kind} ${c.path}`)).toEqual([
      'document /nodes',
      'document /edges',
      'document /params',
      'document /schedule',
      'document /spark',
      'custom /nodes/0',
    ])
    expect(result.changes.at(-1)).toEqual({
      kind: 'custom',
      path: '/nodes/0',
      message: 'renameSep: changed node orders',
      nodeId: 'orders',
    })
    expect(validatePipeline(result.document, registry).ok).toBe(true)
    // Without the change, the old field is still there and the document does not validate.
    expect(validatePipeline(migratePipeline(input, registry).document, registry).ok).toBe(false)
  })

  it("runs the pipeline-migrations guide's own change on a version-1 document", () => {
    // The function of docs/guides/pipeline-migrations.md, "Your own changes".
    const moveRawData = (document: PipelineDocument) => {
      for (const node of document.nodes) {
        const { component, config } = node.data
        const path = config?.['path']
        if (component.startsWith('ingestor/') && typeof path === 'string' && path.startsWith('/data/raw/')) {
          node.data.config = { ...config, path: `s3a://acme-raw/${path.slice('/data/raw/'.length)}` }
        }
      }
      return document
    }
    const input = structuredClone(v1Document)
    input.nodes[0] = { id: 'orders', component: 'ingestor/csv@1', config: { path: '/data/raw/orders/{{ds}}.csv' } }
    // Applied to the stored (version-1) document directly, it cannot read node.data.
    expect(() => moveRawData(structuredClone(input) as never)).toThrow(TypeError)
    const result = migratePipeline(input, registry, { changes: [moveRawData] })
    expect(result.document.nodes[0]?.data.config).toEqual({ path: 's3a://acme-raw/orders/{{ds}}.csv' })
    expect(result.changes.filter((c) => c.kind === 'custom')).toEqual([
      { kind: 'custom', path: '/nodes/0', message: 'moveRawData: changed node orders', nodeId: 'orders' },
    ])
    expect(validatePipeline(result.document, registry).ok).toBe(true)
  })

  it('lists what changes did to nodes and fields, names unnamed changes by position, and is a no-op when nothing changes', () => {
    const current = migratePipeline(v1Document, registry).document
    const result = migratePipeline(current, registry, {
      changes: [
        () => undefined,
        (document) => ({
          ...document,
          tags: ['migrated'],
          nodes: [
            ...document.nodes.filter((n) => n.id !== 'paid'),
            {
              id: 'check',
              position: { x: 0, y: 200 },
              data: { component: 'quality/not-null@1', config: { columns: ['id'] } },
            },
          ],
          edges: [{ id: 'e1', source: 'orders', target: 'out' }],
        }),
      ],
    })
    expect(result.changed).toBe(true)
    expect(result.changes.map((c) => c.message)).toEqual([
      'change 2: added node check',
      'change 2: removed node paid',
      'change 2: changed edges',
      'change 2: changed tags',
    ])
    expect(current.tags).toBeUndefined()
    const untouched = migratePipeline(current, registry, { changes: [(d) => structuredClone(d)] })
    expect(untouched.changed).toBe(false)
    expect(untouched.changes).toEqual([])
  })

  it('turns a failing change into a typed error naming the change', () => {
    const explode: PipelineChange = () => {
      throw new Error('boom')
    }
    expect(() => migratePipeline(v1Document, registry, { changes: [explode] })).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_FAILED',
        message: 'The change "explode" failed: boom',
        issues: [{ path: '', message: 'boom', code: 'change_failed' }],
      }),
    )
    expect(() => migratePipeline(v1Document, registry, { changes: [() => 42 as never] })).toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ code: 'change_failed' })] }),
    )
  })

  it('reports nodes whose component the registry does not have, even in an otherwise current document', () => {
    const current = migratePipeline(v1Document, registry).document
    const document = {
      ...current,
      nodes: [
        ...current.nodes,
        { id: 'mask', position: { x: 0, y: 0 }, data: { component: 'transformer/mask-pii@2', config: {} } },
        { id: 'newer', position: { x: 0, y: 0 }, data: { component: 'transformer/filter@7', config: {} } },
        { id: 'odd', position: { x: 0, y: 0 }, data: { component: 'not a ref', config: {} } },
      ],
    }
    const result = migratePipeline(document, registry)
    expect(result.changed).toBe(false)
    expect(result.unknownComponents).toEqual([
      {
        nodeId: 'mask',
        component: 'transformer/mask-pii@2',
        path: '/nodes/3/data/component',
        reason: 'unknown-component',
      },
      {
        nodeId: 'newer',
        component: 'transformer/filter@7',
        path: '/nodes/4/data/component',
        reason: 'unknown-version',
      },
      { nodeId: 'odd', component: 'not a ref', path: '/nodes/5/data/component', reason: 'malformed-ref' },
    ])
    expect(migratePipeline(v1Document, registry).unknownComponents).toEqual([])
    // A version-1 document too, with the paths of the migrated document.
    const legacy = structuredClone(v1Document)
    legacy.nodes.push({ id: 'mask', component: 'transformer/mask-pii@1', config: {} as never })
    expect(migratePipeline(legacy, registry).unknownComponents).toEqual([
      {
        nodeId: 'mask',
        component: 'transformer/mask-pii@1',
        path: '/nodes/3/data/component',
        reason: 'unknown-component',
      },
    ])
  })
})
