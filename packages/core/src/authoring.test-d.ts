// Type tests: checked by `tsc -p tsconfig.test.json` (the typecheck step), not run.
import { expectTypeOf } from 'vitest'
import { z } from 'zod'
import {
  type AuthoredNode,
  type BuiltinComponentConfigs,
  type ComponentConfigs,
  definePipeline,
  pipelineAuthoring,
  pipelineNode,
} from './authoring.ts'
import { defineComponent } from './component.ts'
import type { BuiltinComponent } from './components/index.ts'
import { filterTransformer } from './components/transformers.ts'
import type { PipelineDocument } from './document.ts'

// defineComponent keeps the literal reference; the built-ins are keyed by it.
expectTypeOf(filterTransformer.ref).toEqualTypeOf<'transformer/filter@1'>()
expectTypeOf<'transformer/filter@1'>().toExtend<BuiltinComponent['ref']>()
expectTypeOf<'sink/parquet@1' | 'ingestor/csv@1' | 'connection/jdbc@1'>().toExtend<keyof BuiltinComponentConfigs>()
expectTypeOf<BuiltinComponentConfigs['transformer/filter@1']>().toEqualTypeOf<{ condition: string }>()
// The input side of the schema: a field with a default is optional.
expectTypeOf<BuiltinComponentConfigs['transformer/derive@1']>()
  .toHaveProperty('replace')
  .toEqualTypeOf<boolean | undefined>()

// Correct configs compile; the node keeps its id, reference and config type.
const paid = pipelineNode('paid', 'transformer/filter@1', { condition: "status = 'paid'" }, { label: 'Paid' })
expectTypeOf(paid).toEqualTypeOf<AuthoredNode<'paid', 'transformer/filter@1', { condition: string }>>()
expectTypeOf(paid.data.config.condition).toBeString()
pipelineNode('out', 'sink/parquet@1', { path: '/out', mode: 'overwrite', partitionBy: ['ds'] })
pipelineNode('db', 'connection/jdbc@1', { url: 'jdbc:postgresql://db:5432/x', password: { $secret: 'DB_PASSWORD' } })

// @ts-expect-error a typo in the reference
pipelineNode('paid', 'transformr/filter@1', { condition: 'x' })
// @ts-expect-error a version that does not exist
pipelineNode('paid', 'transformer/filter@2', { condition: 'x' })
// @ts-expect-error a typo in a field name
pipelineNode('paid', 'transformer/filter@1', { condtion: 'x' })
// @ts-expect-error an unknown field beside the right one
pipelineNode('paid', 'transformer/filter@1', { condition: 'x', extra: 1 })
// @ts-expect-error a required field missing
pipelineNode('paid', 'transformer/filter@1', {})
// @ts-expect-error the config of a component with required fields cannot be left out
pipelineNode('paid', 'transformer/filter@1')
// @ts-expect-error a wrong value type
pipelineNode('top', 'transformer/limit@1', { count: '10' })
// @ts-expect-error a value outside an enum
pipelineNode('out', 'sink/parquet@1', { path: '/out', mode: 'replace' })
// @ts-expect-error a secret field takes a reference, never a plain value
pipelineNode('db', 'connection/jdbc@1', { url: 'jdbc:postgresql://db/x', password: 'hunter2' })
// @ts-expect-error nested fields are checked too
pipelineNode('rename', 'transformer/select@1', { columns: [{ column: 'id', alais: 'order_id' }] })

// definePipeline returns a plain document; edges may only name the pipeline's nodes.
const nodes = [
  pipelineNode('orders', 'ingestor/csv@1', { path: '/data/orders.csv' }),
  pipelineNode('paid', 'transformer/filter@1', { condition: "status = 'paid'" }),
  pipelineNode('out', 'sink/parquet@1', { path: '/out' }),
] as const
expectTypeOf(
  definePipeline({
    name: 'paid-orders',
    nodes,
    edges: [
      { source: 'orders', target: 'paid' },
      { source: 'paid', target: 'out' },
    ],
  }),
).toEqualTypeOf<PipelineDocument>()
definePipeline({
  name: 'paid-orders',
  nodes,
  // @ts-expect-error an edge to a node that is not in the pipeline
  edges: [{ source: 'orders', target: 'paied' }],
})
// @ts-expect-error the document version is set by definePipeline
definePipeline({ schemaVersion: 2, name: 'x', nodes })

// Custom components join through their zod schema.
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
  config: z.strictObject({ rate: z.number().min(0).max(1), round: z.boolean().default(false) }),
  compile: (ctx) => ({ kind: 'relation', sql: `SELECT ${ctx.config.rate} FROM ${ctx.input()}` }),
})
expectTypeOf(discount.ref).toEqualTypeOf<'transformer/discount@1'>()
expectTypeOf<ComponentConfigs<typeof discount>>().toEqualTypeOf<{
  'transformer/discount@1': { rate: number; round?: boolean | undefined }
}>()
const custom = pipelineAuthoring(discount)
custom.pipelineNode('net', 'transformer/discount@1', { rate: 0.1 })
custom.pipelineNode('paid', 'transformer/filter@1', { condition: 'x' })
// @ts-expect-error a custom field's value type is checked
custom.pipelineNode('net', 'transformer/discount@1', { rate: '10%' })
// @ts-expect-error the built-in pipelineNode does not know custom components
pipelineNode('net', 'transformer/discount@1', { rate: 0.1 })
custom.pipelineNode('net', 'transformer/discount@1', { rate: 0.5, round: true })

// A component whose fields all have defaults may leave its config out.
const allDefaults = defineComponent({
  type: 'transformer',
  name: 'passthrough',
  version: 3,
  title: 'Pass',
  description: 'Passes rows through.',
  category: 'Custom',
  icon: 'arrow-right',
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  config: z.strictObject({ note: z.string().default('') }),
  compile: (ctx) => ({ kind: 'relation', sql: `SELECT * FROM ${ctx.input()}` }),
})
pipelineAuthoring(allDefaults).pipelineNode('pass', 'transformer/passthrough@3')
pipelineAuthoring(allDefaults).pipelineNode('pass', 'transformer/passthrough@3', {}, { position: { x: 1, y: 2 } })
