import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { backfillParams, customerOrders } from '../test/fixtures.ts'
import { definePipeline, pipelineAuthoring, pipelineNode } from './authoring.ts'
import { compilePipeline } from './compiler.ts'
import { defineComponent } from './component.ts'
import { createDefaultRegistry } from './components/index.ts'
import { PipelineDocumentSchema } from './document.ts'
import { validatePipeline } from './validate-pipeline.ts'

const registry = createDefaultRegistry()

/** The golden `customer-orders` fixture, written with the typed helpers. */
const typedCustomerOrders = () =>
  definePipeline({
    name: 'customer-orders',
    nodes: [
      pipelineNode('warehouse', 'connection/jdbc@1', {
        url: 'jdbc:postgresql://db:5432/dw',
        user: 'etl',
        password: { $secret: 'DW_PASSWORD' },
      }),
      pipelineNode('orders', 'ingestor/parquet@1', { path: '/lake/orders' }),
      pipelineNode('customers', 'ingestor/jdbc@1', { connection: 'warehouse', table: 'public.customers' }),
      pipelineNode('latest', 'transformer/deduplicate@1', {
        keys: ['order_id'],
        orderBy: [{ column: 'updated_at', direction: 'asc' }],
        keep: 'last',
      }),
      pipelineNode('joined', 'transformer/join@1', {
        type: 'left',
        keys: [{ left: 'customer_id', right: 'customer_id' }],
      }),
      pipelineNode('ranked', 'transformer/window-rank@1', {
        partitionBy: ['customer_id'],
        orderBy: [{ column: 'amount', direction: 'desc' }],
        alias: 'rank_in_customer',
      }),
      pipelineNode('unique-orders', 'quality/unique@1', { columns: ['order_id'], onFail: 'warn' }),
      pipelineNode('to-dw', 'sink/jdbc@1', {
        connection: 'warehouse',
        table: 'mart.customer_orders',
        mode: 'overwrite',
      }),
    ],
    edges: [
      { source: 'orders', target: 'latest' },
      { source: 'latest', target: 'joined', targetHandle: 'left' },
      { source: 'customers', target: 'joined', targetHandle: 'right' },
      { source: 'joined', target: 'ranked' },
      { source: 'ranked', target: 'unique-orders' },
      { source: 'unique-orders', target: 'to-dw' },
    ],
  })

describe('typed authoring', () => {
  it('builds a plain document that validates and compiles to the same plan as the hand-written one', () => {
    const document = typedCustomerOrders()
    expect(PipelineDocumentSchema.safeParse(document).success).toBe(true)
    expect(validatePipeline(document, registry)).toMatchObject({ ok: true })
    expect(compilePipeline(document, registry)).toEqual(compilePipeline(customerOrders, registry))
    // Plain JSON: nothing but data, the same after a round trip.
    expect(JSON.parse(JSON.stringify(document))).toEqual(document)
    expect(document.edges.map((e) => e.id)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6'])
    expect(document.edges[1]).toEqual({ id: 'e2', source: 'latest', target: 'joined', targetHandle: 'left' })
  })

  it('sets the current schema version, places nodes without a position and keeps given ones', () => {
    const document = definePipeline({
      name: 'placed',
      description: 'd',
      params: [{ name: 'ds', type: 'date' }],
      nodes: [
        pipelineNode('a', 'ingestor/csv@1', { path: '/in/{{ds}}.csv' }, { label: 'A', type: 'source' }),
        pipelineNode('u', 'transformer/union@1'),
        pipelineNode('z', 'sink/csv@1', { path: '/out' }, { position: { x: 5, y: -7 } }),
      ],
      edges: [
        { source: 'a', target: 'u' },
        { source: 'u', target: 'z' },
      ],
    })
    expect(document.schemaVersion).toBe(2)
    expect(document.params).toEqual([{ name: 'ds', type: 'date' }])
    expect(document.nodes).toEqual([
      {
        id: 'a',
        type: 'source',
        position: { x: 0, y: 0 },
        data: { component: 'ingestor/csv@1', label: 'A', config: { path: '/in/{{ds}}.csv' } },
      },
      { id: 'u', position: { x: 260, y: 0 }, data: { component: 'transformer/union@1', config: {} } },
      { id: 'z', position: { x: 5, y: -7 }, data: { component: 'sink/csv@1', config: { path: '/out' } } },
    ])
    expect(validatePipeline(document, registry).ok).toBe(true)
  })

  it('generates edge ids that never collide with given ones, and shares no object with its input', () => {
    const config = { condition: 'x > 1' }
    const paid = pipelineNode('paid', 'transformer/filter@1', config)
    config.condition = 'changed'
    const nodes = [
      pipelineNode('in', 'ingestor/parquet@1', { path: '/in' }),
      paid,
      pipelineNode('out', 'sink/parquet@1', { path: '/out' }),
    ] as const
    const document = definePipeline({
      name: 'ids',
      nodes,
      edges: [
        { source: 'in', target: 'paid' },
        { id: 'e1', source: 'paid', target: 'out' },
      ],
    })
    expect(document.edges.map((e) => e.id)).toEqual(['e2', 'e1'])
    expect(document.nodes[1]?.data.config).toEqual({ condition: 'x > 1' })
    expect(document.nodes[1]?.data.config).not.toBe(paid.data.config)
    expect(validatePipeline(document, registry).ok).toBe(true)
  })

  it('is typed only: a config the types would refuse (through a cast) is caught by validatePipeline', () => {
    const document = definePipeline({
      name: 'bad',
      nodes: [
        pipelineNode('in', 'ingestor/parquet@1', { path: '/in' }),
        pipelineNode('top', 'transformer/limit@1', { count: 'ten' as unknown as number }),
        pipelineNode('out', 'sink/parquet@1', { path: '/out' }),
      ],
      edges: [
        { source: 'in', target: 'top' },
        { source: 'top', target: 'out' },
      ],
    })
    const result = validatePipeline(document, registry)
    expect(result.ok).toBe(false)
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toContain('/nodes/1/data/config/count')
  })

  it('lets custom components join, and the document validates with a registry that has them', () => {
    const discount = defineComponent({
      type: 'transformer',
      name: 'discount',
      version: 1,
      title: 'Discount',
      description: 'Applies a discount rate.',
      category: 'Custom',
      icon: 'percent',
      inputs: [{ name: 'in' }],
      outputs: [{ name: 'out' }],
      config: z.strictObject({ rate: z.number().min(0).max(1) }),
      compile: (ctx) => ({
        kind: 'relation',
        sql: `SELECT *, amount * ${1 - ctx.config.rate} AS net FROM ${ctx.input()}`,
      }),
    })
    const { definePipeline: define, pipelineNode: node } = pipelineAuthoring(discount)
    const document = define({
      name: 'discounted',
      nodes: [
        node('orders', 'ingestor/parquet@1', { path: '/data/orders' }),
        node('net', 'transformer/discount@1', { rate: 0.25 }),
        node('out', 'sink/parquet@1', { path: '/data/net', mode: 'overwrite' }),
      ],
      edges: [
        { source: 'orders', target: 'net' },
        { source: 'net', target: 'out' },
      ],
    })
    expect(validatePipeline(document, registry).ok).toBe(false)
    const withDiscount = createDefaultRegistry().register(discount)
    const plan = compilePipeline(document, withDiscount)
    expect(plan.steps.find((s) => s.nodeId === 'net')).toMatchObject({ sql: expect.stringContaining('amount * 0.75') })
  })

  it('refuses what is not a defined component', () => {
    expect(() => pipelineAuthoring({} as never)).toThrow(TypeError)
  })

  it('writes the backfill fixture too (union without a config, casts, checks)', () => {
    const document = definePipeline({
      name: 'backfill-params',
      params: backfillParams.params ?? [],
      nodes: [
        pipelineNode('eu', 'ingestor/csv@1', { path: '/raw/eu/{{ds}}.csv', delimiter: ';' }),
        pipelineNode('us', 'ingestor/csv@1', { path: '/raw/us/{{ds}}.csv' }),
        pipelineNode('all', 'transformer/union@1'),
        pipelineNode('window', 'transformer/filter@1', {
          condition: 'event_time >= {{start}} AND event_time < {{end}} AND region <> {{excluded}}',
        }),
        pipelineNode('typed', 'transformer/cast@1', { casts: [{ column: 'amount', type: 'decimal(18,2)' }] }),
        pipelineNode('filled', 'transformer/fill-nulls@1', { values: [{ column: 'region', value: 'unknown' }] }),
        pipelineNode('volume', 'quality/row-count@1', { min: 1, max: 10_000_000 }),
        pipelineNode('sane', 'quality/range@1', { column: 'amount', min: 0 }),
        pipelineNode('out', 'sink/parquet@1', { path: '/lake/events', mode: 'append', partitionBy: ['region'] }),
      ],
      edges: [
        { source: 'eu', target: 'all' },
        { source: 'us', target: 'all' },
        { source: 'all', target: 'window' },
        { source: 'window', target: 'typed' },
        { source: 'typed', target: 'filled' },
        { source: 'filled', target: 'volume' },
        { source: 'volume', target: 'sane' },
        { source: 'sane', target: 'out' },
      ],
    })
    const params = { ds: '2026-11-02', start: '2026-11-02T00:00:00Z', end: '2026-11-03T00:00:00Z' }
    expect(compilePipeline(document, registry, { params })).toEqual(
      compilePipeline(backfillParams, registry, { params }),
    )
  })
})
