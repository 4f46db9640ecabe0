import { describe, expect, it } from 'vitest'
import { pipelineDoc } from '../test/helpers.ts'
import { diffJson, diffPipelineDocuments } from './pipeline-diff.ts'

describe('diffPipelineDocuments', () => {
  it('reports nothing for equal documents, whatever their key order', () => {
    const a = pipelineDoc('p')
    const b = JSON.parse(JSON.stringify(a, Object.keys(a).reverse())) as unknown
    expect(diffPipelineDocuments(a, { ...(b as object), ...a }).identical).toBe(true)
  })

  it('reports removed nodes and edges, component bumps, other node fields and re-pointed edges', () => {
    const before = pipelineDoc('p')
    const after = {
      ...before,
      schedule: { cron: '0 3 * * *', timezone: 'UTC' },
      nodes: [
        { ...before.nodes[0], width: 200, data: { ...before.nodes[0]?.data, component: 'ingestor/csv@2', note: 'x' } },
      ],
      edges: [{ id: 'e1', source: 'orders', target: 'orders', sourceHandle: 'out' }],
    }
    const diff = diffPipelineDocuments(before, after)
    expect(diff.fields).toEqual([{ path: '/schedule', kind: 'added', after: { cron: '0 3 * * *', timezone: 'UTC' } }])
    expect(diff.nodes.removed).toEqual([{ id: 'sink', component: 'sink/parquet@1', label: 'Lake' }])
    expect(diff.nodes.component).toEqual([{ id: 'orders', before: 'ingestor/csv@1', after: 'ingestor/csv@2' }])
    expect(diff.nodes.other).toEqual([
      { nodeId: 'orders', path: '/data', kind: 'added', after: { note: 'x' } },
      { nodeId: 'orders', path: '/width', kind: 'added', after: 200 },
    ])
    expect(diff.edges.changed).toEqual([
      {
        id: 'e1',
        before: { id: 'e1', source: 'orders', target: 'sink' },
        after: { id: 'e1', source: 'orders', target: 'orders', sourceHandle: 'out' },
      },
    ])
    expect(diff.identical).toBe(false)
  })

  it('treats a missing side as an empty pipeline', () => {
    const diff = diffPipelineDocuments(null, pipelineDoc('p'))
    expect(diff.nodes.added.map((n) => n.id)).toEqual(['orders', 'sink'])
    expect(diff.edges.added.map((e) => e.id)).toEqual(['e1'])
    expect(diff.fields.map((f) => f.path)).toEqual(['/description', '/name', '/schemaVersion', '/tags'])
  })
})

describe('diffJson', () => {
  it('descends into objects and equal-length arrays, and reports changed-length arrays whole', () => {
    expect(
      diffJson({ a: [1, 2], b: [1], c: { 'x/y': 1, z: 'same' } }, { a: [1, 3], b: [1, 2], c: { 'x/y': 2, z: 'same' } }),
    ).toEqual([
      { path: '/a/1', kind: 'changed', before: 2, after: 3 },
      { path: '/b', kind: 'changed', before: [1], after: [1, 2] },
      { path: '/c/x~1y', kind: 'changed', before: 1, after: 2 },
    ])
  })
})
