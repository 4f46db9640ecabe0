import type { ExecutionPlan } from '../plan.ts'
import { type DatasetId, datasetOf } from './dataset.ts'
import { columnLineageFacet, type OpenLineageInputField, schemaFacet } from './facets.ts'
import type { OpenLineageDataset } from './run-event.ts'
import type { FieldDependency, PipelineColumnLineage, Transformation } from './types.ts'

const RANK: Readonly<Record<string, number>> = { IDENTITY: 0, TRANSFORMATION: 1, AGGREGATION: 2 }

/**
 * The transformation of a field through two steps: `outer` applied to what `inner` produced. An indirect step stays
 * indirect; two direct ones give the stronger subtype (identity < transformation < aggregation), masking if either masks.
 */
export function composeTransformations(outer: Transformation, inner: Transformation): Transformation {
  if (outer.type === 'INDIRECT') return outer
  if (inner.type === 'INDIRECT') return inner
  const strongest = (RANK[outer.subtype] ?? 0) >= (RANK[inner.subtype] ?? 0) ? outer : inner
  const masking = outer.masking || inner.masking
  return strongest.description === undefined
    ? { type: 'DIRECT', subtype: strongest.subtype, masking }
    : { type: 'DIRECT', subtype: strongest.subtype, description: strongest.description, masking }
}

interface Traced {
  readonly dataset: DatasetId
  readonly field: string
  readonly transformation: Transformation
}

const IDENTITY: Transformation = { type: 'DIRECT', subtype: 'IDENTITY', masking: false }

/** Merges traced fields into OpenLineage input fields: one per dataset field, sorted, transformations deduplicated. */
function toInputFields(traced: readonly Traced[]): OpenLineageInputField[] {
  const byKey = new Map<string, { dataset: DatasetId; field: string; transformations: Map<string, Transformation> }>()
  for (const t of traced) {
    const key = JSON.stringify([t.dataset.namespace, t.dataset.name, t.field])
    const entry = byKey.get(key) ?? { dataset: t.dataset, field: t.field, transformations: new Map() }
    entry.transformations.set(
      JSON.stringify([t.transformation.type, t.transformation.subtype, t.transformation.description ?? '']),
      t.transformation,
    )
    byKey.set(key, entry)
  }
  return [...byKey.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, e]) => ({
      namespace: e.dataset.namespace,
      name: e.dataset.name,
      field: e.field,
      transformations: [...e.transformations.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, t]) => ({
          type: t.type,
          subtype: t.subtype,
          ...(t.description === undefined ? {} : { description: t.description }),
          masking: t.masking,
        })),
    }))
}

/** Options of {@link openLineageDatasets}. */
export interface OpenLineageDatasetsOptions {
  /** The `_producer` of the facets. */
  readonly producer: string
}

/**
 * The input and output datasets of a compiled run plan as OpenLineage datasets: every `read` step's source and every
 * `write` step's target that names a dataset ({@link datasetOf}), each with a schema facet, and each output with a
 * column lineage facet that traces its columns through the pipeline's {@link PipelineColumnLineage} back to the input
 * datasets' fields. Direct lineage goes in `fields`; what affects the whole output (join keys, filters, group-by,
 * sort and window columns anywhere upstream) goes in `dataset`. Fields of sources that are no dataset (inline rows, a
 * JDBC query) do not appear.
 *
 * @example
 * ```ts
 * import { columnLineage, compilePipeline, createDefaultRegistry, openLineageDatasets } from '@sparkle-studio/core'
 *
 * const registry = createDefaultRegistry()
 * const plan = compilePipeline(document, registry, { params: { ds: '2026-11-01' } })
 * const lineage = columnLineage(document, registry, { sourceColumns })
 * const { inputs, outputs } = openLineageDatasets(plan, lineage, { producer: 'https://example.com/sparkle-studio' })
 * ```
 */
export function openLineageDatasets(
  plan: ExecutionPlan,
  lineage: PipelineColumnLineage,
  options: OpenLineageDatasetsOptions,
): { inputs: OpenLineageDataset[]; outputs: OpenLineageDataset[] } {
  const sources = new Map<string, DatasetId>()
  const targets: { nodeId: string; dataset: DatasetId }[] = []
  for (const step of plan.steps) {
    const dataset =
      step.kind === 'read' ? datasetOf(step.source) : step.kind === 'write' ? datasetOf(step.target) : undefined
    if (dataset === undefined) continue
    if (step.kind === 'read') sources.set(step.nodeId, dataset)
    else targets.push({ nodeId: step.nodeId, dataset })
  }
  const memo = new Map<string, readonly Traced[]>()
  const trace = (nodeId: string, field: string): readonly Traced[] => {
    const key = JSON.stringify([nodeId, field.toLowerCase()])
    const known = memo.get(key)
    if (known !== undefined) return known
    memo.set(key, [])
    const source = sources.get(nodeId)
    const node = lineage.nodes.get(nodeId)
    const column = node?.columns.find((c) => c.name.toLowerCase() === field.toLowerCase())
    let result: Traced[] = []
    if (source !== undefined) result = [{ dataset: source, field: column?.name ?? field, transformation: IDENTITY }]
    else if (column !== undefined) result = column.inputs.flatMap((d) => traceDependency(d))
    memo.set(key, result)
    return result
  }
  const traceDependency = (d: FieldDependency): Traced[] =>
    trace(d.nodeId, d.field).map((t) => ({
      ...t,
      transformation: composeTransformations(d.transformation, t.transformation),
    }))
  const ancestors = (nodeId: string): string[] => {
    const seen = new Set<string>()
    const walk = (id: string) => {
      if (seen.has(id)) return
      seen.add(id)
      for (const i of lineage.inputs.get(id) ?? []) walk(i)
    }
    walk(nodeId)
    return [...seen]
  }
  const producer = options.producer
  const inputs = [...sources.entries()].map(([nodeId, d]) => ({
    namespace: d.namespace,
    name: d.name,
    facets: { schema: schemaFacet(producer, lineage.nodes.get(nodeId)?.columns ?? []) },
  }))
  const outputs = targets.map(({ nodeId, dataset: d }) => {
    const columns = lineage.nodes.get(nodeId)?.columns ?? []
    const fields = Object.fromEntries(
      columns.map((c) => [c.name, { inputFields: toInputFields(trace(nodeId, c.name)) }]),
    )
    const indirect = ancestors(nodeId).flatMap((id) => (lineage.nodes.get(id)?.dataset ?? []).flatMap(traceDependency))
    return {
      namespace: d.namespace,
      name: d.name,
      facets: {
        schema: schemaFacet(producer, columns),
        columnLineage: columnLineageFacet(producer, { fields, dataset: toInputFields(indirect) }),
      },
    }
  })
  return { inputs, outputs }
}
