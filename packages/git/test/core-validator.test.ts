import { createDefaultRegistry, isStudioError, validatePipeline } from '@sparkle-studio/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bareStore, snapshot } from './helpers.ts'

const registry = createDefaultRegistry()

function pipeline(name: string, connection: Record<string, unknown>) {
  return {
    schemaVersion: 2,
    name,
    nodes: [
      { id: 'db', position: { x: 0, y: 0 }, data: { component: 'connection/jdbc@1', config: connection } },
      {
        id: 'src',
        position: { x: 0, y: 200 },
        data: { component: 'ingestor/jdbc@1', config: { connection: 'db', table: 'orders' } },
      },
      {
        id: 'out',
        position: { x: 300, y: 200 },
        data: { component: 'sink/parquet@1', config: { path: '/lake/orders' } },
      },
    ],
    edges: [{ id: 'e1', source: 'src', target: 'out' }],
  }
}

describe("GitPipelineStore wired to core's registry validator", () => {
  let ctx: Awaited<ReturnType<typeof bareStore>>
  beforeEach(async () => {
    ctx = await bareStore({ validate: (document) => validatePipeline(document, registry) })
  })
  afterEach(async () => {
    await ctx.cleanup()
  })

  it('saves a valid pipeline whose secret field holds a reference', async () => {
    const doc = pipeline('orders', {
      url: 'jdbc:postgresql://db/sales',
      user: 'etl',
      password: { $secret: 'SALES_DB' },
    })
    const saved = await ctx.store.save('orders', doc, { expected: null })
    expect(saved.changed).toBe(true)
    const got = await ctx.store.get('orders')
    expect(got.document.nodes[0]?.data.config['password']).toEqual({ $secret: 'SALES_DB' })
  })

  it('refuses a plaintext password with SECRET_IN_PLAINTEXT, never echoing it, and writes nothing', async () => {
    const before = await snapshot(ctx.repo)
    const doc = pipeline('orders', { url: 'jdbc:postgresql://db/sales', user: 'etl', password: 'Tr0ub4dor&3-plain' })
    let error: unknown
    try {
      await ctx.store.save('orders', doc, { expected: null })
    } catch (e) {
      error = e
    }
    expect(isStudioError(error) && error.code).toBe('SECRET_IN_PLAINTEXT')
    expect(JSON.stringify((error as { toJSON(): unknown }).toJSON())).not.toContain('Tr0ub4dor')
    expect((error as Error).message).toContain('/nodes/0/data/config/password')
    expect(await snapshot(ctx.repo)).toBe(before)
  })

  it("refuses a pipeline the registry rejects with core's issues", async () => {
    const doc = pipeline('orders', { url: 'jdbc:postgresql://db/sales', password: { $secret: 'X' } })
    doc.nodes[2] = {
      id: 'out',
      position: { x: 0, y: 0 },
      data: { component: 'sink/teleport@1', config: { path: '/x' } },
    }
    let error: unknown
    try {
      await ctx.store.save('orders', doc)
    } catch (e) {
      error = e
    }
    expect(isStudioError(error) && error.code).toBe('VALIDATION_FAILED')
    expect((error as { issues: { code: string }[] }).issues.map((i) => i.code)).toContain('unknown_component')
  })
})
