import { compilePipeline, validatePipeline } from '@sparkle-studio/core'
import { describe, expect, it } from 'vitest'
import { studioAuthoring } from './authoring.ts'
import { createStudioRegistry } from './registry.ts'

describe('studioAuthoring', () => {
  it('writes a pipeline with the custom component that validates and compiles with the studio registry', () => {
    const { definePipeline, pipelineNode } = studioAuthoring
    const document = definePipeline({
      name: 'customers-masked',
      nodes: [
        pipelineNode('customers', 'ingestor/parquet@1', { path: '/data/customers' }),
        pipelineNode('mask', 'transformer/mask-pii@2', {
          columns: [{ column: 'email' }, { column: 'phone', method: 'last4' }],
        }),
        pipelineNode('out', 'sink/parquet@1', { path: '/data/customers-masked', mode: 'overwrite' }),
      ],
      edges: [
        { source: 'customers', target: 'mask' },
        { source: 'mask', target: 'out' },
      ],
    })
    const registry = createStudioRegistry()
    expect(validatePipeline(document, registry).ok).toBe(true)
    const step = compilePipeline(document, registry).steps.find((s) => s.nodeId === 'mask')
    expect(step).toMatchObject({ sql: expect.stringContaining('sha2(') })
  })
})
