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

/** Every built-in component, in catalog order. */
export const builtinComponents: readonly ComponentDefinition[] = Object.freeze([
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
] as ComponentDefinition[])

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
