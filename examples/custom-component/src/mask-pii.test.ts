import { createHash } from 'node:crypto'
import { compilePipeline, migratePipeline, type PipelineDocument, validatePipeline } from '@sparkle-studio/core'
import { findSparkRuntime, runPlan } from '@sparkle-studio/spark'
import { Ajv } from 'ajv'
import { describe, expect, it } from 'vitest'
import { maskPii, maskPiiV1 } from './mask-pii.ts'
import { createStudioRegistry } from './registry.ts'

const registry = createStudioRegistry()

const customers = {
  id: 'customers',
  position: { x: 0, y: 0 },
  data: {
    component: 'ingestor/inline@1',
    config: {
      columns: [
        { name: 'id', type: 'int' },
        { name: 'email', type: 'string' },
        { name: 'phone', type: 'string' },
        { name: 'name', type: 'string' },
      ],
      rows: [
        [1, ' Ann@Example.com ', '+44 20 7946 0958', 'Ann'],
        [2, 'bob@example.com', '555', 'Bob'],
        [3, null, null, null],
      ],
    },
  },
}

/** inline rows -> mask -> parquet: the pipeline every test compiles. */
function pipeline(mask: Record<string, unknown>, component: string = maskPii.ref): PipelineDocument {
  return {
    schemaVersion: 2,
    name: 'customers-masked',
    nodes: [
      customers,
      { id: 'mask', position: { x: 240, y: 0 }, data: { component, config: mask } },
      {
        id: 'out',
        position: { x: 480, y: 0 },
        data: { component: 'sink/parquet@1', config: { path: '/data/out/customers', mode: 'overwrite' } },
      },
    ],
    edges: [
      { id: 'e1', source: 'customers', target: 'mask' },
      { id: 'e2', source: 'mask', target: 'out' },
    ],
  }
}

const contactDetails = {
  columns: [
    { column: 'email', method: 'sha256' },
    { column: 'phone', method: 'last4' },
    { column: 'name', method: 'redact' },
  ],
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

describe('transformer/mask-pii config', () => {
  it('applies defaults (method sha256, normalize true)', () => {
    const result = registry.validateConfig(maskPii.ref, { columns: [{ column: 'email' }] })
    expect(result).toEqual({ ok: true, config: { columns: [{ column: 'email', method: 'sha256' }], normalize: true } })
  })

  it('reports every problem with a JSON pointer', () => {
    const result = registry.validateConfig(
      maskPii.ref,
      { columns: [{ column: 'email' }, { column: 'phone', method: 'rot13' }, { column: 'email' }], salt: 'x' },
      { basePath: '/nodes/1/data/config', nodeId: 'mask' },
    )
    expect(result.ok).toBe(false)
    const issues = result.ok ? [] : result.issues
    expect(issues.map((i) => [i.path, i.code])).toEqual(
      expect.arrayContaining([
        ['/nodes/1/data/config/columns/1/method', 'invalid_value'],
        ['/nodes/1/data/config', 'unknown_field'],
      ]),
    )
    expect(registry.validateConfig(maskPii.ref, { columns: [] }).ok).toBe(false)
  })

  it('refuses a column listed twice, pointing at the second one', () => {
    const result = registry.validateConfig(maskPii.ref, { columns: [{ column: 'email' }, { column: 'email' }] })
    expect(result).toEqual({
      ok: false,
      issues: [{ path: '/columns/1/column', message: 'column "email" is listed twice', code: 'custom' }],
    })
  })

  it('has a JSON Schema that passes the draft-07 meta-schema and validates configs like zod does', () => {
    const ajv = new Ajv({ strict: true, allErrors: true })
    const schema = registry.jsonSchema(maskPii.ref)
    expect(ajv.validateSchema(schema), ajv.errorsText(ajv.errors)).toBe(true)
    const validate = ajv.compile(schema)
    for (const example of maskPii.examples ?? []) expect(validate(example.config)).toBe(true)
    expect(validate({ columns: [{ column: 'email' }] })).toBe(true)
    expect(validate({ columns: [{ column: 'email', method: 'rot13' }] })).toBe(false)
    expect(validate({ columns: [] })).toBe(false)
    expect(validate({ columns: [{ column: 'email' }], salt: 'x' })).toBe(false)
    expect(ajv.compile(registry.jsonSchema(maskPiiV1.ref))({ columns: ['email'], bits: 512 })).toBe(true)
  })

  it('turns its field hints into titles and a uiSchema', () => {
    const schema = registry.jsonSchema(maskPii.ref) as { properties: Record<string, { title?: string }> }
    expect(schema.properties['columns']?.title).toBe('Columns to mask')
    expect(registry.uiSchema(maskPii.ref)).toEqual({
      'ui:order': ['columns', 'normalize'],
      columns: { items: { 'ui:order': ['column', 'method'], column: { 'ui:options': { sparkleWidget: 'column' } } } },
      normalize: { 'ui:options': { sparkleGroup: 'Advanced' } },
    })
  })
})

describe('transformer/mask-pii in a pipeline', () => {
  it('compiles to one SET over the input view, in place', () => {
    const plan = compilePipeline(pipeline(contactDetails), registry)
    expect(plan.steps.find((s) => s.nodeId === 'mask')).toEqual({
      nodeId: 'mask',
      kind: 'view',
      view: '`sparkle_mask`',
      sql:
        'SELECT * FROM `sparkle_customers` |> SET ' +
        '`email` = sha2(lower(trim(CAST(`email` AS STRING))), 256), ' +
        "`phone` = concat(repeat('*', greatest(length(CAST(`phone` AS STRING)) - 4, 0)), right(CAST(`phone` AS STRING), 4)), " +
        "`name` = CASE WHEN `name` IS NULL THEN NULL ELSE '***' END",
    })
    expect(plan.steps.map((s) => `${s.nodeId}:${s.kind}`)).toEqual(['customers:view', 'mask:view', 'out:write'])
  })

  it('quotes column names, so a name cannot change the SQL around it', () => {
    const plan = compilePipeline(pipeline({ columns: [{ column: 'e`mail', method: 'redact' }] }), registry)
    const step = plan.steps.find((s) => s.nodeId === 'mask')
    expect(step?.kind === 'view' && step.sql).toBe(
      "SELECT * FROM `sparkle_customers` |> SET `e``mail` = CASE WHEN `e``mail` IS NULL THEN NULL ELSE '***' END",
    )
  })

  it('upgrades version 1 nodes to version 2 with the same SQL (no normalization, same digest size)', () => {
    const v1 = pipeline({ columns: ['email', 'phone'], bits: 512 }, maskPiiV1.ref)
    const { document, changes } = migratePipeline(v1, registry)
    expect(changes.map((c) => c.message)).toEqual(['mask: transformer/mask-pii@1 -> @2'])
    expect(document.nodes[1]?.data).toEqual({
      component: 'transformer/mask-pii@2',
      config: {
        columns: [
          { column: 'email', method: 'sha512' },
          { column: 'phone', method: 'sha512' },
        ],
        normalize: false,
      },
    })
    expect(validatePipeline(document, registry).ok).toBe(true)
    const sqlOf = (doc: PipelineDocument) =>
      compilePipeline(doc, registry).steps.find((s) => s.nodeId === 'mask' && s.kind === 'view')
    expect(sqlOf(document)).toEqual(sqlOf(v1))
  })

  it('masks the rows on real Spark (local[1]) as the Node reference computes them', async () => {
    const runtime = await findSparkRuntime()
    const plan = compilePipeline(pipeline(contactDetails), registry, { mode: 'preview' })
    const result = await runPlan(plan, { runtime, master: 'local[1]', timeoutMs: 240_000 })
    expect(result.error).toBeUndefined()
    expect(result.status).toBe('succeeded')
    expect(result.rows['mask']?.rows).toEqual([
      { id: 1, email: sha256('ann@example.com'), phone: '************0958', name: '***' },
      { id: 2, email: sha256('bob@example.com'), phone: '555', name: '***' },
      { id: 3, email: null, phone: null, name: null },
    ])
  })
})
