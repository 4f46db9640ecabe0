import { describe, expect, it } from 'vitest'
import { customerOrders, dailyRevenue, doc } from '../test/fixtures.ts'
import { createDefaultRegistry } from './components/index.ts'
import { validatePipeline } from './validate-pipeline.ts'

const registry = createDefaultRegistry()
const codes = (input: unknown, mode: 'run' | 'preview' = 'run') => {
  const r = validatePipeline(input, registry, { mode })
  return r.ok ? [] : r.issues.map((i) => `${i.code}${i.nodeId ? `@${i.nodeId}` : ''}`)
}

describe('validatePipeline', () => {
  it('accepts realistic pipelines and returns parsed configs with defaults', () => {
    const r = validatePipeline(dailyRevenue, registry)
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.configs.get('orders')).toMatchObject({ header: true, delimiter: ',' })
    expect(validatePipeline(customerOrders, registry).ok).toBe(true)
  })

  it('reports every problem at once, each with a path and node id', () => {
    const broken = doc(
      'broken',
      [
        ['a', 'ingestor/csv@1', { path: '/x.csv' }],
        ['a', 'ingestor/csv@1', { path: '/y.csv' }],
        ['f', 'transformer/filter@1', { condition: 'x > {{nope}}' }],
        ['g', 'transformer/filter@9', { condition: 'x' }],
        ['h', 'transformer/teleport@1', {}],
        ['j', 'transformer/join@1', { keys: [{ left: 'id', right: 'id' }] }],
        ['c1', 'transformer/limit@1', { count: 1 }],
        ['c2', 'transformer/limit@1', { count: 1 }],
        ['bad-sql', 'transformer/filter@1', { condition: '1=1) UNION SELECT * FROM secrets --' }],
        ['cfg', 'transformer/sample@1', { fraction: 2 }],
        ['lonely', 'transformer/sort@1', { orderBy: [{ column: 'x' }] }],
      ],
      [
        ['a', 'f'],
        ['a', 'zzz'],
        ['a', 'j', 'left'],
        ['f', 'j', 'left'],
        ['c1', 'c2'],
        ['c2', 'c1'],
        ['a', 'bad-sql'],
        ['a', 'cfg'],
        ['a', 'a'],
      ],
    )
    const found = codes(broken)
    expect(found).toEqual(
      expect.arrayContaining([
        'duplicate_id@a',
        'unknown_param@f',
        'unknown_component_version@g',
        'unknown_component@h',
        'dangling_edge',
        'too_many_inputs@j',
        'missing_input@j',
        'cycle@c1',
        'cycle@c2',
        'sql_unbalanced_parentheses@bad-sql',
        'too_big@cfg',
        'missing_input@lonely',
        'no_sink',
        'cycle@a',
      ]),
    )
    const r = validatePipeline(broken, registry)
    if (r.ok) throw new Error('expected issues')
    expect(r.issues.find((i) => i.code === 'sql_unbalanced_parentheses')?.path).toBe('/nodes/8/data/config/condition')
    expect(r.issues.find((i) => i.code === 'too_big')?.path).toBe('/nodes/9/data/config/fraction')
  })

  it('checks ports: sinks have no outputs, sources no inputs, handles must exist', () => {
    const d = doc(
      'ports',
      [
        ['src', 'ingestor/csv@1', { path: '/x' }],
        ['out', 'sink/csv@1', { path: '/o' }],
        ['src2', 'ingestor/csv@1', { path: '/y' }],
        ['j', 'transformer/join@1', { keys: [{ left: 'id', right: 'id' }] }],
        ['out2', 'sink/csv@1', { path: '/o2' }],
      ],
      [
        ['src', 'out'],
        ['out', 'src2'],
        ['src', 'j', 'middle'],
        ['src2', 'j', 'right'],
        ['j', 'out2'],
      ],
    )
    expect(codes(d)).toEqual(
      expect.arrayContaining(['invalid_port@out', 'invalid_port@src2', 'invalid_port@j', 'missing_input@j']),
    )
  })

  it('reports nodes that lead to no sink in run mode, but not in preview mode', () => {
    const d = doc(
      'dead-branch',
      [
        ['src', 'ingestor/csv@1', { path: '/x' }],
        ['dead', 'transformer/limit@1', { count: 5 }],
        ['out', 'sink/csv@1', { path: '/o' }],
      ],
      [
        ['src', 'dead'],
        ['src', 'out'],
      ],
    )
    expect(codes(d)).toEqual(['unreachable@dead'])
    expect(codes(d, 'preview')).toEqual([])
    const noSink = doc('draft', [['src', 'ingestor/csv@1', { path: '/x' }]], [])
    expect(codes(noSink)).toEqual(['no_sink'])
    expect(codes(noSink, 'preview')).toEqual([])
  })

  it('checks connection references and plaintext secrets', () => {
    const d = doc(
      'conn',
      [
        ['db', 'connection/jdbc@1', { url: 'jdbc:postgresql://h/db', password: 'plain' }],
        ['src', 'ingestor/jdbc@1', { connection: 'nowhere', table: 't' }],
        ['out', 'sink/csv@1', { path: '/o' }],
      ],
      [['src', 'out']],
    )
    const r = validatePipeline(d, registry)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.issues.map((i) => i.code).sort()).toEqual(['secret_in_plaintext', 'unknown_connection'])
    expect(JSON.stringify(r.issues)).not.toContain('plain"')
  })

  it('rejects structural garbage with pointers instead of throwing', () => {
    expect(codes(null)).toEqual(['invalid_type'])
    expect(codes({ schemaVersion: 2, name: '../etc', nodes: 'x', edges: [] })).toEqual(
      expect.arrayContaining(['invalid_format', 'invalid_type']),
    )
    expect(codes({ schemaVersion: 2, name: 'ok', nodes: [], edges: [], surprise: true })).toEqual(['unknown_field'])
  })
})
