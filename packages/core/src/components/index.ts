import type { ComponentDefinition } from '../component.ts'
import { ComponentRegistry } from '../registry.ts'
import { jdbcConnection } from './connections.ts'
import { csvIngestor, inlineIngestor, jdbcIngestor, jsonIngestor, parquetIngestor } from './ingestors.ts'
import {
  acceptedValuesCheck,
  expressionCheck,
  notNullCheck,
  rangeCheck,
  rowCountCheck,
  uniqueCheck,
} from './quality.ts'
import { csvSink, jdbcSink, jsonSink, parquetSink } from './sinks.ts'
import {
  aggregateTransformer,
  castTransformer,
  deduplicateTransformer,
  deriveTransformer,
  dropTransformer,
  fillNullsTransformer,
  filterTransformer,
  joinTransformer,
  limitTransformer,
  sampleTransformer,
  scd2Transformer,
  selectTransformer,
  sortTransformer,
  sqlTransformer,
  unionTransformer,
  windowRankTransformer,
} from './transformers.ts'

// The one list of built-ins; `as const` keeps each definition's literal ref and zod config for BuiltinComponent.
const builtins = [
  csvIngestor,
  jsonIngestor,
  parquetIngestor,
  jdbcIngestor,
  inlineIngestor,
  selectTransformer,
  dropTransformer,
  filterTransformer,
  deriveTransformer,
  castTransformer,
  joinTransformer,
  unionTransformer,
  aggregateTransformer,
  deduplicateTransformer,
  sortTransformer,
  limitTransformer,
  sampleTransformer,
  windowRankTransformer,
  fillNullsTransformer,
  sqlTransformer,
  scd2Transformer,
  notNullCheck,
  uniqueCheck,
  acceptedValuesCheck,
  rangeCheck,
  rowCountCheck,
  expressionCheck,
  parquetSink,
  csvSink,
  jsonSink,
  jdbcSink,
  jdbcConnection,
] as const

/**
 * Every built-in component definition, as a union type: each member keeps its literal `ref` and its zod config, so
 * typed authoring (`definePipeline`, `pipelineAuthoring`) can check a node's config against its component.
 *
 * @example
 * ```ts
 * import type { BuiltinComponent } from '@sparkle-studio/core'
 *
 * type Refs = BuiltinComponent['ref'] // 'ingestor/csv@1' | 'transformer/filter@1' | ...
 * const ref: Refs = 'transformer/filter@1'
 * ```
 */
export type BuiltinComponent = (typeof builtins)[number]

/** Every built-in component, in catalog order. */
export const builtinComponents: readonly ComponentDefinition[] = Object.freeze([...builtins] as ComponentDefinition[])

/**
 * A registry holding every built-in component. Register your own components on it too.
 *
 * @example
 * ```ts
 * import { createDefaultRegistry } from '@sparkle-studio/core'
 *
 * const registry = createDefaultRegistry()
 * console.log(registry.list().length)
 * ```
 */
export function createDefaultRegistry(): ComponentRegistry {
  return new ComponentRegistry().register(...builtinComponents)
}
