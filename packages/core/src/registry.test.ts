import { Ajv } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineComponent } from './component.ts'
import { builtinComponents, createDefaultRegistry } from './components/index.ts'
import { field, secretRef } from './field.ts'

const registry = createDefaultRegistry()

describe('built-in catalog', () => {
  it('has at least 25 components across every type that has built-ins', () => {
    const list = registry.list()
    expect(list.length).toBeGreaterThanOrEqual(25)
    expect(new Set(list.map((c) => c.type))).toEqual(
      new Set(['ingestor', 'transformer', 'quality', 'sink', 'connection']),
    )
  })

  it('every config schema passes the draft-07 meta-schema and compiles with Ajv (strict)', () => {
    const ajv = new Ajv({ strict: true, discriminator: true, allErrors: true })
    for (const c of builtinComponents) {
      const schema = registry.jsonSchema(c.ref)
      expect(schema['$schema']).toBe('http://json-schema.org/draft-07/schema#')
      expect(ajv.validateSchema(schema), `${c.ref}: ${ajv.errorsText(ajv.errors)}`).toBe(true)
      const validate = ajv.compile(schema)
      for (const example of c.examples ?? [])
        expect(validate(example.config), `${c.ref} example: ${ajv.errorsText(validate.errors)}`).toBe(true)
    }
  })

  it('every config schema also passes the 2020-12 meta-schema', () => {
    const ajv = new Ajv2020({ strict: true, discriminator: true })
    for (const c of builtinComponents) {
      const schema = registry.jsonSchema(c.ref, { draft: '2020-12' })
      expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema')
      expect(ajv.validateSchema(schema), `${c.ref}: ${ajv.errorsText(ajv.errors)}`).toBe(true)
      ajv.compile(schema)
    }
  })

  it('describes input (defaulted fields optional), secrets as writeOnly, and annotations', () => {
    const csv = registry.jsonSchema('ingestor/csv@1') as {
      required?: string[]
      properties: Record<string, Record<string, unknown>>
    }
    expect(csv.required).toEqual(['path'])
    expect(csv.properties['header']?.['default']).toBe(true)
    expect(csv.properties['path']?.['title']).toBe('Path')
    const conn = registry.jsonSchema('connection/jdbc@1') as { properties: Record<string, Record<string, unknown>> }
    expect(conn.properties['password']?.['writeOnly']).toBe(true)
    // The secret's name is required by minProperties, not `required`, so forms do not block an empty optional secret.
    expect(conn.properties['password']).toMatchObject({
      type: 'object',
      properties: { $secret: { type: 'string', title: 'Secret name' } },
      additionalProperties: false,
      minProperties: 1,
    })
    expect(conn.properties['password']).not.toHaveProperty('required')
  })

  it('every example config validates and compiles', () => {
    for (const c of builtinComponents) {
      for (const example of c.examples ?? [])
        expect(registry.validateConfig(c.ref, example.config).ok, c.ref).toBe(true)
    }
  })
})

describe('registry', () => {
  const v1 = defineComponent({
    type: 'transformer',
    name: 'tax',
    version: 1,
    title: 'Add tax',
    description: 'Adds a tax column',
    category: 'Custom',
    icon: 'percent',
    inputs: [{ name: 'in' }],
    outputs: [{ name: 'out' }],
    config: z.strictObject({ rate: z.number() }),
    compile: (ctx) => ({ kind: 'relation', sql: `SELECT *, amount * ${ctx.config.rate} AS tax FROM ${ctx.input()}` }),
  })
  const v2 = defineComponent({
    ...v1,
    version: 2,
    config: z.strictObject({ percent: z.number() }),
    upgrade: (c) => ({ percent: Number(c['rate']) * 100 }),
    compile: (ctx) => ({
      kind: 'relation',
      sql: `SELECT *, amount * ${ctx.config.percent / 100} AS tax FROM ${ctx.input()}`,
    }),
  })

  it('rejects duplicates and resolves the latest version by default', () => {
    const r = createDefaultRegistry().register(v1, v2)
    expect(() => r.register(v1)).toThrow(expect.objectContaining({ code: 'CONFLICT' }))
    expect(r.get('transformer', 'tax')?.version).toBe(2)
    expect(r.get('transformer', 'tax', 1)?.version).toBe(1)
    expect(r.versions('transformer', 'tax')).toEqual([1, 2])
    expect(r.list({ category: 'Custom' }).map((c) => c.ref)).toEqual(['transformer/tax@2'])
    expect(r.list({ category: 'Custom', allVersions: true }).map((c) => c.ref)).toEqual([
      'transformer/tax@1',
      'transformer/tax@2',
    ])
    expect(() => r.require('transformer/nope@1')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }))
    expect(() => r.require('not a ref')).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }))
  })

  it('filters by type and tag and groups categories for a sidebar', () => {
    expect(registry.list({ type: 'sink' }).every((c) => c.type === 'sink')).toBe(true)
    expect(
      registry
        .list({ tag: 'jdbc' })
        .map((c) => c.ref)
        .sort(),
    ).toEqual(['connection/jdbc@1', 'ingestor/jdbc@1', 'sink/jdbc@1'])
    const categories = registry.categories()
    expect(categories[0]?.category).toBe('Sources')
    expect(categories.flatMap((c) => c.components).length).toBe(registry.list().length)
  })

  it('ranks search results: exact and prefix before description and fuzzy letters', () => {
    expect(registry.search('filter')[0]?.component.ref).toBe('transformer/filter@1')
    expect(registry.search('aggr')[0]?.component.ref).toBe('transformer/aggregate@1')
    expect(registry.search('dedup')[0]?.component.ref).toBe('transformer/deduplicate@1')
    expect(registry.search('scd')[0]?.component.ref).toBe('transformer/scd2@1')
    expect(
      registry
        .search('parquet')
        .map((h) => h.component.ref)
        .slice(0, 2)
        .sort(),
    ).toEqual(['ingestor/parquet@1', 'sink/parquet@1'])
    expect(registry.search('postgres table').every((h) => h.component.tags.includes('postgres'))).toBe(true)
    expect(registry.search('zzzz')).toEqual([])
    const scores = registry.search('join').map((h) => h.score)
    expect([...scores].sort((a, b) => b - a)).toEqual(scores)
  })

  it('builds an RJSF uiSchema from field hints', () => {
    const c = defineComponent({
      type: 'ingestor',
      name: 'hinted',
      version: 1,
      title: 'Hinted',
      description: 'x',
      category: 'Test',
      icon: 'x',
      inputs: [],
      outputs: [{ name: 'out' }],
      config: z.strictObject({
        advanced: field(z.number().optional(), { title: 'Advanced knob', group: 'Advanced' }),
        path: field(z.string(), { title: 'Path', widget: 'path', placeholder: '/data', order: 1 }),
        first: field(z.string(), { title: 'First', order: 0 }),
        token: secretRef({ title: 'Token' }),
      }),
      compile: () => ({ kind: 'relation', sql: 'SELECT 1' }),
    })
    const r = createDefaultRegistry().register(c)
    expect(r.uiSchema(c.ref)).toEqual({
      'ui:order': ['first', 'path', 'token', 'advanced'],
      path: { 'ui:options': { sparkleWidget: 'path' }, 'ui:placeholder': '/data' },
      token: {
        'ui:options': { sparkleWidget: 'secret' },
        $secret: { 'ui:widget': 'password', 'ui:autocomplete': 'off' },
      },
      advanced: { 'ui:options': { sparkleGroup: 'Advanced' } },
    })
  })

  it('validates configs with defaults, JSON pointers and codes, reporting every issue', () => {
    const ok = registry.validateConfig('ingestor/csv@1', { path: '/x.csv' })
    expect(ok).toEqual({
      ok: true,
      config: {
        path: '/x.csv',
        header: true,
        delimiter: ',',
        inferSchema: true,
        quote: '"',
        escape: '"',
        multiLine: true,
        lineSeparator: 'auto',
        nullValue: '',
        encoding: 'UTF-8',
        options: {},
      },
    })
    const bad = registry.validateConfig(
      'transformer/aggregate@1',
      { aggregations: [{ function: 'median', alias: 5 }], extra: 1 },
      { basePath: '/nodes/0/data/config', nodeId: 'agg' },
    )
    expect(bad.ok).toBe(false)
    if (bad.ok) return
    expect(bad.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: '/nodes/0/data/config/aggregations/0/function',
          code: 'invalid_value',
          nodeId: 'agg',
        }),
        expect.objectContaining({ path: '/nodes/0/data/config/aggregations/0/alias', code: 'invalid_type' }),
        expect.objectContaining({
          path: '/nodes/0/data/config',
          code: 'unknown_field',
          message: 'Unknown field: extra',
        }),
      ]),
    )
    const missing = registry.validateConfig('transformer/filter@1', {})
    expect(missing).toEqual({ ok: false, issues: [{ path: '/condition', message: 'Required', code: 'required' }] })
  })

  it('checks bounds of range-like checks', () => {
    expect(registry.validateConfig('quality/range@1', { column: 'a', min: 5, max: 1 })).toMatchObject({
      ok: false,
      issues: [{ path: '/max', message: 'The minimum is above the maximum' }],
    })
    expect(registry.validateConfig('quality/row-count@1', {})).toMatchObject({
      ok: false,
      issues: [{ path: '/min', message: 'Give a minimum, a maximum or both' }],
    })
    expect(registry.validateConfig('quality/row-count@1', { min: 1 }).ok).toBe(true)
  })

  it('refuses a plaintext secret without echoing it', () => {
    const result = registry.validateConfig('connection/jdbc@1', { url: 'jdbc:postgresql://h/db', password: 'hunter2' })
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.issues).toEqual([expect.objectContaining({ path: '/password', code: 'secret_in_plaintext' })])
    expect(JSON.stringify(result.issues)).not.toContain('hunter2')
  })

  it('exports the whole catalog with schemas and uiSchemas', () => {
    const catalog = registry.catalog()
    expect(catalog.components.length).toBe(registry.size)
    for (const c of catalog.components) {
      expect(c.schema['type']).toBe('object')
      expect(c.uiSchema['ui:order']).toBeDefined()
    }
  })

  it('rejects malformed definitions', () => {
    expect(() => defineComponent({ ...v1, name: 'Bad Name' })).toThrow(TypeError)
    expect(() => defineComponent({ ...v1, version: 0 })).toThrow(TypeError)
    expect(() => defineComponent({ ...v1, inputs: [{ name: 'a' }, { name: 'a' }] })).toThrow(TypeError)
  })
})
