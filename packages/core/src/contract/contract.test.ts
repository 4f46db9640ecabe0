import SwaggerParser from '@apidevtools/swagger-parser'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { buildPath, isIdempotent, type RouteName, routes } from '../routes/index.ts'
import { generateOpenApi } from './openapi.ts'
import type { AnyRoute, RouteInput, RouteOutput } from './route.ts'
import { api } from './routes.ts'

describe('API contract', () => {
  it('declares every route the studio needs, each with a role', () => {
    const routes = Object.values(api).map((r) => `${r.method} ${r.path}`)
    for (const expected of [
      'GET /health',
      'GET /components',
      'GET /components/categories',
      'GET /components/search',
      'GET /components/{type}/{name}',
      'POST /components/{type}/{name}/validate',
      'GET /pipelines',
      'POST /pipelines',
      'GET /pipelines/{name}',
      'PUT /pipelines/{name}',
      'DELETE /pipelines/{name}',
      'POST /pipelines/{name}/export',
      'GET /pipelines/{name}/history',
      'GET /pipelines/{name}/diff',
      'POST /pipelines/{name}/validate',
      'GET /pipelines/{name}/plan',
      'POST /execute/dry-run',
      'POST /execute/run',
      'POST /execute/backfill',
      'GET /executions',
      'GET /executions/{id}',
      'GET /executions/{id}/logs',
      'GET /executions/{id}/events',
      'POST /executions/{id}/cancel',
      'POST /executions/{id}/retry',
      'GET /backfills/{id}',
      'GET /git/status',
      'GET /git/branches',
      'POST /git/branches',
      'POST /git/commit',
      'POST /git/pull',
      'POST /git/push',
      'POST /git/create-pr',
    ]) {
      expect(routes).toContain(expected)
    }
    expect(new Set(routes).size).toBe(routes.length)
    expect(api.savePipeline.role).toBe('editor')
    expect(api.push.role).toBe('admin')
    expect(api.listPipelines.role).toBe('viewer')
  })

  it('takes every route method, path, role, idempotency and streaming from the zod-free route table', () => {
    expect(Object.keys(api)).toEqual(Object.keys(routes))
    for (const [name, route] of Object.entries(api) as [RouteName, AnyRoute][]) {
      const info = routes[name]
      expect(
        { name: route.name, method: route.method, path: route.path, role: route.role, idempotent: route.idempotent },
        name,
      ).toEqual({ name, method: info.method, path: info.path, role: info.role, idempotent: info.idempotent })
      expect(route.stream, name).toBe(info.stream)
    }
    expect(api.executionEvents.stream).toBe('sse')
  })

  it('names a commit id `commit` in every answer (never sha or head)', () => {
    const spec = generateOpenApi()
    const names = new Set<string>()
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk)
      else if (typeof node === 'object' && node !== null) {
        const properties = (node as { properties?: unknown }).properties
        if (typeof properties === 'object' && properties !== null) for (const k of Object.keys(properties)) names.add(k)
        Object.values(node).forEach(walk)
      }
    }
    const paths = spec['paths'] as Record<string, Record<string, { responses: unknown }>>
    for (const ops of Object.values(paths)) for (const op of Object.values(ops)) walk(op.responses)
    walk(spec['components'])
    expect(names).toContain('commit')
    expect(names).not.toContain('sha')
    expect(names).not.toContain('head')
    const schemas = (spec['components'] as { schemas: Record<string, { properties?: Record<string, unknown> }> })
      .schemas
    expect(Object.keys(schemas['Commit']?.properties ?? {})).toEqual(['commit', 'author', 'date', 'message'])
    expect(Object.keys(schemas['GitStatus']?.properties ?? {})).toEqual([
      'branch',
      'commit',
      'remote',
      'ahead',
      'behind',
    ])
    expect(Object.keys(schemas['Branch']?.properties ?? {})).toEqual(['name', 'commit', 'current'])
    expect(api.push.response.shape).toHaveProperty('commit')
    expect(api.pull.response.shape).toHaveProperty('commit')
    expect(api.exportPipeline.response.shape).toHaveProperty('commit')
    expect(api.deletePipeline.response.shape).toHaveProperty('commit')
    expect(api.commit.response.shape.commit.shape).toHaveProperty('commit')
  })

  it('generates a valid OpenAPI 3.1 document', async () => {
    const spec = generateOpenApi({ servers: ['http://127.0.0.1:3000'] })
    expect(spec['openapi']).toBe('3.1.0')
    const validated = await SwaggerParser.validate(structuredClone(spec) as never)
    expect(Object.keys(validated.paths ?? {}).length).toBeGreaterThanOrEqual(28)
    const paths = spec['paths'] as Record<
      string,
      Record<string, { 'x-required-role': string; responses: Record<string, unknown> }>
    >
    expect(paths['/api/v1/pipelines/{name}']?.['put']?.['x-required-role']).toBe('editor')
    expect(Object.keys(paths['/api/v1/pipelines/{name}']?.['put']?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '400', '409', '422']),
    )
  })

  it('fills paths, encoding values, and knows which calls may be retried', () => {
    expect(buildPath('/pipelines/{name}/diff', { name: 'a b/c' })).toBe('/pipelines/a%20b%2Fc/diff')
    expect(() => buildPath('/executions/{id}' as string, {})).toThrow(TypeError)
    expect(isIdempotent(api.getPipeline)).toBe(true)
    expect(isIdempotent(api.run)).toBe(false)
    expect(isIdempotent(api.dryRun)).toBe(true)
  })

  it('parses inputs strictly: unknown fields and bad params are rejected', () => {
    expect(api.savePipeline.body.safeParse({ document: {}, extra: 1 }).success).toBe(false)
    expect(api.getPipeline.params.safeParse({ name: '../etc' }).success).toBe(false)
    expect(api.listExecutions.query.safeParse({ limit: '50' })).toMatchObject({ success: true, data: { limit: 50 } })
    expect(api.listExecutions.query.safeParse({ limit: 'many' }).success).toBe(false)
    expect(api.listComponents.query.safeParse({ allVersions: 'false' })).toMatchObject({
      success: true,
      data: { allVersions: false },
    })
  })

  it('infers inputs and outputs for typed clients', () => {
    expectTypeOf<RouteInput<typeof api.getPipeline>['params']>().toEqualTypeOf<{ name: string }>()
    expectTypeOf<RouteInput<typeof api.getPipeline>>().not.toHaveProperty('body')
    expectTypeOf<RouteOutput<typeof api.getPipeline>['revision']>().toEqualTypeOf<string>()
    expectTypeOf<RouteInput<typeof api.run>['body']['pipeline']>().toEqualTypeOf<string>()
  })
})
