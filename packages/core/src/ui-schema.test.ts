import { Ajv } from 'ajv'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { doc } from '../test/fixtures.ts'
import { compilePipeline } from './compiler.ts'
import { createDefaultRegistry } from './components/index.ts'
import { joinTransformer } from './components/transformers.ts'
import { isStudioError } from './errors.ts'
import { field, secretRef } from './field.ts'
import { toJsonSchema } from './json-schema.ts'
import { defaultExecutionPolicy } from './policy.ts'
import { paramKindPaths, secretPaths, sqlExpressionPaths, sqlPaths, toUiSchema } from './ui-schema.ts'

describe('toUiSchema', () => {
  it('puts required fields first, then ungrouped optional fields, then each group together', () => {
    const ui = toUiSchema(
      z.strictObject({
        mode: field(z.enum(['a', 'b']).default('a'), { title: 'Mode', order: 1 }),
        driver: field(z.string().optional(), { title: 'Driver', group: 'Advanced' }),
        path: field(z.string(), { title: 'Path', group: 'Location', order: 0 }),
        size: field(z.number().default(1), { title: 'Size', group: 'Location' }),
        note: z.string().optional(),
        fetch: field(z.number().default(5), { title: 'Fetch', group: 'Advanced', order: 0 }),
        name: z.string(),
      }),
    )
    expect(ui['ui:order']).toEqual(['path', 'name', 'mode', 'note', 'fetch', 'driver', 'size'])
  })

  it('orders the fields of array items and nested objects the same way', () => {
    const ui = toUiSchema(
      z.strictObject({
        items: z.array(z.strictObject({ alias: z.string().optional(), column: z.string() })),
        nested: z.strictObject({ flag: z.boolean().default(false), key: z.string() }),
      }),
    )
    expect(ui).toEqual({
      'ui:order': ['items', 'nested'],
      items: { items: { 'ui:order': ['column', 'alias'] } },
      nested: { 'ui:order': ['key', 'flag'] },
    })
  })

  it('names only stock RJSF widgets in ui:widget and puts Sparkle widgets in ui:options.sparkleWidget', () => {
    const ui = toUiSchema(
      z.strictObject({
        notes: field(z.string(), { widget: 'textarea' }),
        query: field(z.string(), { widget: 'sql', placeholder: 'SELECT 1' }),
        condition: field(z.string(), { widget: 'sql-expression' }),
        columns: field(z.array(z.string()), { widget: 'columns' }),
        // `textarea` is no stock widget for an array: RJSF would throw "No widget", so it is only a hint.
        lines: field(z.array(z.string()), { widget: 'textarea' }),
        count: field(z.number(), { widget: 'updown' }),
      }),
    )
    expect(ui).toMatchObject({
      notes: { 'ui:widget': 'textarea' },
      query: { 'ui:widget': 'textarea', 'ui:options': { sparkleWidget: 'sql' }, 'ui:placeholder': 'SELECT 1' },
      condition: { 'ui:options': { sparkleWidget: 'sql-expression' } },
      columns: { 'ui:options': { sparkleWidget: 'columns' } },
      lines: { 'ui:options': { sparkleWidget: 'textarea' } },
      count: { 'ui:widget': 'updown' },
    })
    expect(ui['condition']).not.toHaveProperty('ui:widget')
    expect(ui['columns']).not.toHaveProperty('ui:widget')
    expect(ui['lines']).not.toHaveProperty('ui:widget')
  })

  it('shows a secret reference as one password input for its name, with its placeholder and group', () => {
    const ui = toUiSchema(
      z.strictObject({
        password: secretRef({ title: 'Password', placeholder: 'DB_PASSWORD', group: 'Auth' }).optional(),
      }),
    )
    expect(ui['password']).toEqual({
      'ui:options': { sparkleWidget: 'secret', sparkleGroup: 'Auth' },
      $secret: { 'ui:widget': 'password', 'ui:autocomplete': 'off', 'ui:placeholder': 'DB_PASSWORD' },
    })
  })

  it("puts every built-in quality check's On failure last", () => {
    const registry = createDefaultRegistry()
    const checks = registry.list({ type: 'quality', allVersions: true })
    expect(checks.length).toBeGreaterThan(0)
    for (const check of checks) expect((registry.uiSchema(check.ref)['ui:order'] as string[]).at(-1)).toBe('onFail')
  })

  it('keeps the hints that validation and the compiler read', () => {
    const schema = z.strictObject({
      condition: field(z.string(), { widget: 'sql-expression' }),
      query: field(z.string().optional(), { widget: 'sql' }),
      token: secretRef().optional(),
    })
    expect(sqlPaths(schema)).toEqual(['/condition', '/query'])
    expect(secretPaths(schema)).toEqual(['/token'])
  })
})

describe('hints of a field wrapped by field() again', () => {
  it('keeps the inner hints the outer call does not override (the widget of a re-titled sql-expression)', () => {
    const inner = field(z.string(), { widget: 'sql-expression', placeholder: 'a > 0', group: 'SQL' })
    const schema = z.strictObject({ condition: field(inner.optional(), { title: 'Extra condition', order: 2 }) })
    expect(sqlExpressionPaths(schema)).toEqual(['/condition'])
    expect(toUiSchema(schema)['condition']).toEqual({
      'ui:options': { sparkleWidget: 'sql-expression', sparkleGroup: 'SQL' },
      'ui:placeholder': 'a > 0',
    })
    const regrouped = z.strictObject({ condition: field(inner, { group: 'Other' }) })
    expect(toUiSchema(regrouped)['condition']).toEqual({
      'ui:options': { sparkleWidget: 'sql-expression', sparkleGroup: 'Other' },
      'ui:placeholder': 'a > 0',
    })
    expect(sqlExpressionPaths(regrouped)).toEqual(['/condition'])
  })

  it("treats the join's extra condition as SQL: a run parameter in it becomes a literal, not SQL text", () => {
    expect(paramKindPaths(joinTransformer.config)).toContainEqual({ pattern: '/condition', kind: 'sql' })
    const document = doc(
      'join-param',
      [
        ['orders', 'ingestor/parquet@1', { path: '/data/orders' }],
        ['regions', 'ingestor/parquet@1', { path: '/data/regions' }],
        [
          'joined',
          'transformer/join@1',
          { keys: [{ left: 'id', right: 'id' }], condition: 'r.region <> {{excluded}}' },
        ],
        ['out', 'sink/parquet@1', { path: '/data/out' }],
      ],
      [
        ['orders', 'joined', 'left'],
        ['regions', 'joined', 'right'],
        ['joined', 'out'],
      ],
      { params: [{ name: 'excluded', type: 'string' }] },
    )
    const plan = compilePipeline(document, createDefaultRegistry(), { params: { excluded: "x' OR 1=1 OR 'y" } })
    const step = plan.steps.find((s) => s.nodeId === 'joined' && s.kind === 'view')
    expect(step && 'sql' in step ? step.sql : '').toContain("r.region <> 'x\\' OR 1=1 OR \\'y'")
  })
})

describe('the join condition, as SQL', () => {
  const joinWith = (condition: string) =>
    doc(
      'join-policy',
      [
        ['orders', 'ingestor/parquet@1', { path: '/data/orders' }],
        ['regions', 'ingestor/parquet@1', { path: '/data/regions' }],
        ['joined', 'transformer/join@1', { keys: [{ left: 'id', right: 'id' }], condition }],
        ['out', 'sink/parquet@1', { path: '/data/out/joined' }],
      ],
      [
        ['orders', 'joined', 'left'],
        ['regions', 'joined', 'right'],
        ['joined', 'out'],
      ],
    )

  it("is checked against the execution policy's denied functions", () => {
    const policy = defaultExecutionPolicy({ readRoots: ['/data'], writeRoots: ['/data/out'] })
    const compile = (condition: string) => () =>
      compilePipeline(joinWith(condition), createDefaultRegistry(), { policy })
    expect(compile('r.min_amount < l.amount')).not.toThrow()
    let caught: unknown
    try {
      compile("reflect('java.lang.Math', 'abs', -1) = 1")()
    } catch (error) {
      caught = error
    }
    expect(isStudioError(caught) && caught.code).toBe('VALIDATION_FAILED')
    expect(JSON.stringify((caught as { details?: unknown }).details)).toContain('/nodes/2/data/config/condition')
  })
})

describe('secret references in JSON Schema', () => {
  const schema = z.strictObject({ url: z.string(), password: secretRef({ title: 'Password' }).optional() })
  const json = toJsonSchema(schema) as { properties: Record<string, Record<string, unknown>>; required: string[] }

  it('requires the name by minProperties, so an optional secret has no required input inside it', () => {
    expect(json.required).toEqual(['url'])
    expect(json.properties['password']).toEqual({
      type: 'object',
      title: 'Password',
      writeOnly: true,
      properties: { $secret: { type: 'string', title: 'Secret name', pattern: '^[A-Z][A-Z0-9_]{0,127}$' } },
      additionalProperties: false,
      minProperties: 1,
    })
  })

  it('accepts and refuses the same configs as the zod schema', () => {
    const validate = new Ajv({ strict: false }).compile(json)
    const configs = [
      { url: 'x' },
      { url: 'x', password: { $secret: 'DB_PASSWORD' } },
      { url: 'x', password: {} },
      { url: 'x', password: { $secret: 'lower' } },
      { url: 'x', password: { $secret: 'DB', other: 1 } },
      { url: 'x', password: { other: 'DB' } },
      { url: 'x', password: 'DB_PASSWORD' },
    ]
    expect(configs.map((c) => validate(c))).toEqual(configs.map((c) => schema.safeParse(c).success))
    expect(configs.map((c) => validate(c))).toEqual([true, true, false, false, false, false, false])
  })
})
