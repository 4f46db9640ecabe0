// Validate + compile of a 500-node pipeline, and catalog schema generation, each beside an anchor in the same run.
import {
  builtinComponents,
  compilePipeline,
  createDefaultRegistry,
  type PipelineDocument,
  PipelineDocumentSchema,
  validatePipeline,
} from '@sparkle-studio/core'
import { z } from 'zod'
import { type BenchResult, quantile, round, runIfMain, sample, timeRow } from './lib.ts'

/** 100 branches of csv -> filter -> derive -> aggregate -> parquet: 500 nodes, 400 edges. */
export function bigPipeline(branches = 100): PipelineDocument {
  const nodes: PipelineDocument['nodes'] = []
  const edges: PipelineDocument['edges'] = []
  for (let b = 0; b < branches; b++) {
    const id = (s: string) => `${s}-${b}`
    const add = (name: string, component: string, config: Record<string, unknown>) =>
      nodes.push({ id: id(name), position: { x: nodes.length * 10, y: b * 100 }, data: { component, config } })
    add('src', 'ingestor/csv@1', { path: `/data/${b}/{{ds}}/*.csv` })
    add('keep', 'transformer/filter@1', { condition: `amount > ${b} AND order_date = {{ds}}` })
    add('calc', 'transformer/derive@1', { columns: [{ name: 'net', expression: 'amount * 0.8' }] })
    add('agg', 'transformer/aggregate@1', {
      groupBy: ['customer_id'],
      aggregations: [{ function: 'sum', column: 'net', alias: 'total' }],
    })
    add('out', 'sink/parquet@1', { path: `/out/${b}`, mode: 'overwrite' })
    for (const [s, t] of [
      ['src', 'keep'],
      ['keep', 'calc'],
      ['calc', 'agg'],
      ['agg', 'out'],
    ] as const) {
      edges.push({ id: `${id(s)}-${t}`, source: id(s), target: id(t) })
    }
  }
  return { schemaVersion: 2, name: 'big', params: [{ name: 'ds', type: 'date', default: '2026-11-01' }], nodes, edges }
}

/** Runs the benchmark. */
export async function run(): Promise<BenchResult> {
  const registry = createDefaultRegistry()
  const doc = bigPipeline()
  const compile = await sample(() => compilePipeline(doc, registry), 50)
  const validate = await sample(() => validatePipeline(doc, registry), 50)
  const parseOnly = await sample(() => PipelineDocumentSchema.parse(doc), 50)
  const catalog = await sample(() => createDefaultRegistry().catalog(), 20)
  const rawSchemas = await sample(
    () => builtinComponents.map((c) => z.toJSONSchema(c.config, { target: 'draft-07', io: 'input' })),
    20,
  )
  const warmCatalog = await sample(() => registry.catalog(), 50)
  const steps = compilePipeline(doc, registry).steps.length
  return {
    name: 'core: validate + compile, catalog',
    rows: [
      timeRow(
        'validate + compile 500 nodes (p50)',
        quantile(compile, 0.5),
        'zod parse of the document only',
        quantile(parseOnly, 0.5),
        '< 50 ms',
      ),
      timeRow(
        'validate + compile 500 nodes (p95)',
        quantile(compile, 0.95),
        'zod parse of the document only (p95)',
        quantile(parseOnly, 0.95),
      ),
      timeRow(
        'validate only 500 nodes (p50)',
        quantile(validate, 0.5),
        'zod parse of the document only',
        quantile(parseOnly, 0.5),
      ),
      timeRow(
        `catalog, cold (${builtinComponents.length} components, schemas + uiSchemas) (p50)`,
        quantile(catalog, 0.5),
        'bare z.toJSONSchema of every config',
        quantile(rawSchemas, 0.5),
      ),
      timeRow(
        'catalog, warm registry (cached) (p50)',
        quantile(warmCatalog, 0.5),
        'bare z.toJSONSchema of every config',
        quantile(rawSchemas, 0.5),
      ),
    ],
    notes: [
      `The 500-node plan has ${steps} steps; the anchors do less work (parse only, no graph checks or SQL).`,
      `Iterations: 50 (compile), 20 (catalog). ${round(quantile(compile, 0.5) / 500)} ms per node.`,
    ],
  }
}

await runIfMain(import.meta.url, run)
