import { pipelineAuthoring } from '@sparkle-studio/core'
import { maskPii } from './mask-pii.ts'

/**
 * Typed authoring with this package's component: `pipelineNode` checks the config of `transformer/mask-pii@2` (and
 * of every built-in) at compile time, and `definePipeline` builds a plain document. New pipelines get the newest
 * version only: version 1 stays registered (`createStudioRegistry`) for stored documents, not for new ones.
 *
 * @example
 * ```ts
 * import { createStudioRegistry, studioAuthoring } from '@sparkle-studio/example-custom-component'
 * import { validatePipeline } from '@sparkle-studio/core'
 *
 * const { definePipeline, pipelineNode } = studioAuthoring
 * const document = definePipeline({
 *   name: 'customers-masked',
 *   nodes: [
 *     pipelineNode('customers', 'ingestor/parquet@1', { path: '/data/customers' }),
 *     pipelineNode('mask', 'transformer/mask-pii@2', { columns: [{ column: 'email' }, { column: 'phone', method: 'last4' }] }),
 *     pipelineNode('out', 'sink/parquet@1', { path: '/data/customers-masked', mode: 'overwrite' }),
 *   ],
 *   edges: [
 *     { source: 'customers', target: 'mask' },
 *     { source: 'mask', target: 'out' },
 *   ],
 * })
 * console.log(validatePipeline(document, createStudioRegistry()).ok) // true
 * ```
 */
export const studioAuthoring = pipelineAuthoring(maskPii)
