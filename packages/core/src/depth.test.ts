import { describe, expect, it } from 'vitest'
import { dailyRevenue } from '../test/fixtures.ts'
import { compilePipeline } from './compiler.ts'
import { createDefaultRegistry } from './components/index.ts'
import { findTooDeep, MAX_NESTING_DEPTH } from './depth.ts'
import { isStudioError } from './errors.ts'
import { migratePipeline } from './migrations.ts'
import { findParamReferences } from './params.ts'
import { validatePipeline } from './validate-pipeline.ts'

const registry = createDefaultRegistry()
const LEVELS = 150_000

/** 150,000 nested arrays, built without recursion. */
function nested(levels = LEVELS): unknown[] {
  let value: unknown[] = ['{{ds}}']
  for (let i = 0; i < levels; i++) value = [value]
  return value
}

function deepDocument() {
  const d = structuredClone(dailyRevenue) as unknown as { nodes: { data: { config: Record<string, unknown> } }[] }
  ;(d.nodes[1] as { data: { config: Record<string, unknown> } }).data.config['extra'] = nested()
  return d
}

function typedError(run: () => unknown): { code: string; issues: { code: string; path: string }[] } {
  try {
    run()
  } catch (error) {
    // A RangeError (stack overflow) would fail here: only the typed validation error is expected.
    expect(isStudioError(error), String(error)).toBe(true)
    const e = error as { code: string; details: { issues: { code: string; path: string }[] } }
    return { code: e.code, issues: e.details.issues }
  }
  throw new Error('expected a validation error')
}

describe(`input nested ${LEVELS.toLocaleString('en')} levels deep gets a typed error, never a stack overflow`, () => {
  it('validatePipeline: one too_deep issue where the limit is crossed', () => {
    const result = validatePipeline(deepDocument(), registry)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.issues.map((i) => i.code)).toEqual(['too_deep'])
    expect(result.issues[0]?.path.startsWith('/nodes/1/data/config/extra/0/0/')).toBe(true)
  })

  it('compilePipeline: VALIDATION_FAILED, also for deep run params', () => {
    const compiled = typedError(() => compilePipeline(deepDocument(), registry))
    expect(compiled.code).toBe('VALIDATION_FAILED')
    expect(compiled.issues.map((i) => i.code)).toEqual(['too_deep'])
    const params = typedError(() => compilePipeline(dailyRevenue, registry, { params: { ds: nested() } }))
    expect(params.issues.map((i) => i.code)).toEqual(['invalid_param'])
  })

  it('migratePipeline, findParamReferences and config validation', () => {
    const doc = { schemaVersion: 1, name: 'deep', nodes: [{ id: 'a', config: { x: nested() } }], edges: [] }
    expect(typedError(() => migratePipeline(doc, registry)).issues.map((i) => i.code)).toEqual(['too_deep'])
    expect(typedError(() => findParamReferences(nested())).issues.map((i) => i.code)).toEqual(['too_deep'])
    const config = registry.validateConfig('transformer/filter@1', { condition: 'a', x: nested() })
    expect(config.ok ? [] : config.issues.map((i) => i.code)).toEqual(['too_deep'])
  })

  it('walks up to the limit', () => {
    expect(findTooDeep(nested(MAX_NESTING_DEPTH - 2))).toBeUndefined()
    expect(findTooDeep(nested(MAX_NESTING_DEPTH))).toBe(`/0`.repeat(MAX_NESTING_DEPTH))
    expect(findParamReferences({ a: [{ b: 'x {{ds}} {{ end }}' }] })).toEqual([
      { pointer: '/a/0/b', name: 'ds' },
      { pointer: '/a/0/b', name: 'end' },
    ])
  })
})
