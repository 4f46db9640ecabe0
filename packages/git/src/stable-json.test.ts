import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { jsonIssues, stringifyPipeline } from './stable-json.ts'

describe('stringifyPipeline', () => {
  it('writes the conventional top-level, node, data and edge key orders and sorts every other object', () => {
    const text = stringifyPipeline({
      spark: { conf: { 'spark.b': '1', 'spark.a': '2' } },
      edges: [{ target: 'b', source: 'a', id: 'e1', custom: 1 }],
      nodes: [
        {
          data: { config: { z: 1, a: { y: 2, b: 3 } }, label: 'A', component: 'ingestor/csv@1' },
          position: { y: 2, x: 1 },
          id: 'a',
        },
      ],
      zeta: true,
      name: 'p',
      alpha: 1,
      schemaVersion: 1,
    })
    expect(text).toBe(
      [
        '{',
        '  "schemaVersion": 1,',
        '  "name": "p",',
        '  "nodes": [',
        '    {',
        '      "id": "a",',
        '      "position": {',
        '        "x": 1,',
        '        "y": 2',
        '      },',
        '      "data": {',
        '        "component": "ingestor/csv@1",',
        '        "label": "A",',
        '        "config": {',
        '          "a": {',
        '            "b": 3,',
        '            "y": 2',
        '          },',
        '          "z": 1',
        '        }',
        '      }',
        '    }',
        '  ],',
        '  "edges": [',
        '    {',
        '      "id": "e1",',
        '      "source": "a",',
        '      "target": "b",',
        '      "custom": 1',
        '    }',
        '  ],',
        '  "spark": {',
        '    "conf": {',
        '      "spark.a": "2",',
        '      "spark.b": "1"',
        '    }',
        '  },',
        '  "alpha": 1,',
        '  "zeta": true',
        '}',
        '',
      ].join('\n'),
    )
  })

  it('property: equal JSON values always give the same bytes, which parse back to the value', () => {
    const shuffle = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(shuffle)
      if (typeof v === 'object' && v !== null)
        return Object.fromEntries(
          Object.entries(v)
            .reverse()
            .map(([k, x]) => [k, shuffle(x)]),
        )
      return v
    }
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = stringifyPipeline(value)
        expect(stringifyPipeline(shuffle(value))).toBe(text)
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)))
        expect(text.endsWith('\n')).toBe(true)
      }),
      { numRuns: 300 },
    )
  })

  it('drops undefined properties like JSON does', () => {
    expect(stringifyPipeline({ name: 'a', description: undefined })).toBe('{\n  "name": "a"\n}\n')
  })
})

describe('jsonIssues', () => {
  it('reports values JSON cannot hold, with JSON pointers', () => {
    class Thing {}
    const issues = jsonIssues({
      a: Number.NaN,
      b: [1, undefined],
      'c/d': new Thing(),
      e: () => 1,
      f: { ok: [null, true, 'x', 1.5] },
      g: 10n,
      skipped: undefined,
    })
    expect(issues.map((i) => i.path)).toEqual(['/a', '/b/1', '/c~1d', '/e', '/g'])
    expect(issues.every((i) => i.code === 'not_json')).toBe(true)
    let deep: unknown = 1
    for (let i = 0; i < 100; i++) deep = { deep }
    expect(jsonIssues(deep)).toHaveLength(1)
  })
})
