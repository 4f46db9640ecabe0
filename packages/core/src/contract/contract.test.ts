import SwaggerParser from '@apidevtools/swagger-parser'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { defaultExecutionPolicy, type ExecutionPolicy, type SparkConfRule } from '../policy.ts'
import { buildPath, isIdempotent, type RouteName, routes } from '../routes/index.ts'
import { generateOpenApi } from './openapi.ts'
import type { AnyRoute, RouteInput, RouteOutput } from './route.ts'
import { api } from './routes.ts'

describe('API contract', () => {
  it('declares every route the studio needs, each with a role', () => {
    const routes = Object.values(api).map((r) => `${r.method} ${r.path}`)
    for (const expected of [
      'GET /health',
      'GET /policy',
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
      'POST /keys',
      'GET /keys',
      'DELETE /keys/{id}',
      'GET /audit',
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
      expect(route.public, name).toBe(info.public)
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

  it('documents the pipeline entity tags: ETag on reads and saves, 304 on GET, 428 and force on writes', () => {
    const spec = generateOpenApi()
    type Param = { name: string; in: string; schema: Record<string, unknown> }
    type Op = { parameters: Param[]; responses: Record<string, { description: string; headers?: object }> }
    const item = (spec['paths'] as Record<string, Record<string, Op>>)['/api/v1/pipelines/{name}']
    const [get, put, del] = [item?.['get'], item?.['put'], item?.['delete']]
    expect(Object.keys(get?.responses['200']?.headers ?? {})).toEqual(['ETag'])
    expect(Object.keys(get?.responses['304']?.headers ?? {})).toEqual(['ETag'])
    expect(Object.keys(put?.responses['200']?.headers ?? {})).toEqual(['ETag'])
    expect(get?.parameters.map((p) => `${p.in}:${p.name}`)).toContain('header:if-none-match')
    for (const op of [put, del]) {
      expect(op?.responses['428']?.description).toContain('PRECONDITION_REQUIRED')
      expect(op?.parameters.find((p) => p.name === 'force')).toMatchObject({ in: 'query', schema: { type: 'boolean' } })
      const pattern = new RegExp(String(op?.parameters.find((p) => p.name === 'if-match')?.schema['pattern']))
      const blob = 'a'.repeat(40)
      for (const ok of [`"${blob}"`, `W/"${blob}"`, blob, '*']) expect(pattern.test(ok), ok).toBe(true)
      for (const bad of ['"x"', `W/${blob}`, `"${blob}`, '']) expect(pattern.test(bad), bad).toBe(false)
    }
  })

  it('keeps ErrorBody a schema (not a reference to itself), and integer query parameters with their bounds', () => {
    const spec = generateOpenApi()
    const schemas = (spec['components'] as { schemas: Record<string, Record<string, unknown>> }).schemas
    expect(schemas['ErrorBody']).toMatchObject({ type: 'object', required: expect.arrayContaining(['error']) })
    expect(JSON.stringify(schemas['ErrorBody'])).not.toContain('$ref')
    const listExecutions = (spec['paths'] as Record<string, Record<string, { parameters: { name: string }[] }>>)[
      '/api/v1/executions'
    ]?.['get']
    expect(listExecutions?.parameters.find((p) => p.name === 'limit')).toMatchObject({
      schema: { type: 'integer', minimum: 1, maximum: 500 },
    })
    expect(Object.keys((spec['info'] as { license?: object }).license ?? {})).toContain('name')
  })

  it('requires bearer credentials on every operation but health, and documents 401, 403, 421 and 429 on each', () => {
    const spec = generateOpenApi()
    expect(spec['security']).toEqual([{ bearerAuth: [] }])
    const components = spec['components'] as { securitySchemes: Record<string, Record<string, unknown>> }
    expect(components.securitySchemes['bearerAuth']).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(String(components.securitySchemes['bearerAuth']?.['description'])).toMatch(/sk_live_.*JWT/)
    type Op = {
      operationId: string
      security?: unknown
      requestBody?: unknown
      'x-required-role': string
      responses: Record<string, { description: string; headers?: Record<string, { description?: string }> }>
    }
    const ops = Object.values(spec['paths'] as Record<string, Record<string, Op>>).flatMap((p) => Object.values(p))
    expect(ops.length).toBe(Object.keys(api).length)
    for (const op of ops) {
      const id = op.operationId
      expect(op.security, id).toEqual(id === 'health' ? [{}, { bearerAuth: [] }] : [{ bearerAuth: [] }])
      expect(op['x-required-role'], id).toBe(routes[id as RouteName].role)
      expect(op.responses['401']?.description, id).toContain('UNAUTHORIZED')
      expect(op.responses['403']?.description, id).toContain('FORBIDDEN')
      expect(op.responses['421']?.description, id).toContain('MISDIRECTED_REQUEST')
      expect(op.responses['429']?.description, id).toContain('RATE_LIMITED')
      expect(op.responses['429']?.headers?.['Retry-After']?.description, id).toMatch(/seconds/i)
      expect(Object.keys(op.responses), id).toEqual(expect.arrayContaining(['400', '413', '431', '500', '504']))
      expect('415' in op.responses, id).toBe(op.requestBody !== undefined)
      if (op.requestBody) expect(op.responses['415']?.description, id).toContain('UNSUPPORTED_MEDIA_TYPE')
    }
  })

  it('manages API keys and reads the audit log as an admin, under the access tag', () => {
    const spec = generateOpenApi()
    const schemas = (spec['components'] as { schemas: Record<string, { properties?: Record<string, unknown> }> })
      .schemas
    expect(Object.keys(schemas['ApiKey']?.properties ?? {})).toEqual([
      'id',
      'name',
      'role',
      'prefix',
      'createdBy',
      'createdAt',
      'expiresAt',
      'lastUsedAt',
      'revokedAt',
    ])
    expect(Object.keys(schemas['AuditEntry']?.properties ?? {})).toEqual([
      'id',
      'at',
      'principal',
      'route',
      'method',
      'target',
      'status',
      'code',
      'requestId',
    ])
    expect(Object.keys(schemas['CreatedApiKey']?.properties ?? {})).toEqual(['key', 'secret'])
    expect(schemas['Run']?.properties).toHaveProperty('requestedBy')
    expect(schemas['Run']?.properties).toHaveProperty('cancelledBy')
    const paths = spec['paths'] as Record<
      string,
      Record<string, { tags: string[]; responses: Record<string, unknown> }>
    >
    expect(Object.keys(paths['/api/v1/keys']?.['post']?.responses ?? {})).toContain('201')
    expect(Object.keys(paths['/api/v1/keys/{id}']?.['delete']?.responses ?? {})).toContain('404')
    expect(paths['/api/v1/audit']?.['get']?.tags).toEqual(['access'])
    for (const r of [api.createKey, api.listKeys, api.revokeKey, api.listAudit]) expect(r.role).toBe('admin')
    expect(api.executionLogs.role).toBe('editor')

    expect(api.createKey.body.safeParse({ name: 'ci', role: 'editor' }).success).toBe(true)
    expect(api.createKey.body.safeParse({ name: 'ci', role: 'owner' }).success).toBe(false)
    expect(api.createKey.body.safeParse({ name: '', role: 'viewer' }).success).toBe(false)
    expect(api.createKey.body.safeParse({ name: 'ci', role: 'viewer', secret: 'x' }).success).toBe(false)
    expect(api.createKey.body.safeParse({ name: 'ci', role: 'viewer', expiresAt: 'tomorrow' }).success).toBe(false)
    expect(
      api.createKey.body.safeParse({ name: 'ci', role: 'viewer', expiresAt: '2027-01-01T00:00:00Z' }).success,
    ).toBe(true)
    expect(api.listKeys.query.safeParse({ includeRevoked: 'true' })).toMatchObject({
      success: true,
      data: { includeRevoked: true },
    })
    expect(api.listAudit.query.safeParse({ limit: '500', route: 'savePipeline' }).success).toBe(true)
    expect(api.listAudit.query.safeParse({ limit: '501' }).success).toBe(false)
    expect(api.listAudit.query.safeParse({ since: 'yesterday' }).success).toBe(false)
    expect(api.listAudit.query.safeParse({ who: 'x' }).success).toBe(false)
  })

  it('answers the execution policy to editors under the system tag, as the shared ExecutionPolicy schema', () => {
    const spec = generateOpenApi()
    const paths = spec['paths'] as Record<
      string,
      Record<string, { tags: string[]; 'x-required-role': string; responses: Record<string, unknown> }>
    >
    const op = paths['/api/v1/policy']?.['get']
    expect(op?.tags).toEqual(['system'])
    expect(op?.['x-required-role']).toBe('editor')
    expect(JSON.stringify(op?.responses['200'])).toContain('#/components/schemas/ExecutionPolicy')
    const schemas = (spec['components'] as { schemas: Record<string, { properties?: Record<string, unknown> }> })
      .schemas
    expect(Object.keys(schemas['ExecutionPolicy']?.properties ?? {})).toEqual([
      'sparkConf',
      'readRoots',
      'writeRoots',
      'jdbcUrlPatterns',
      'deniedFunctions',
      'defaultRunTimeMs',
      'maxRunTimeMs',
      'maxBackfillPartitions',
      'minScheduleIntervalMinutes',
    ])
    expect(schemas).toHaveProperty('SparkConfRule')
    const policy = defaultExecutionPolicy({ readRoots: ['/srv/data'], writeRoots: ['/srv/data/out'] })
    expect(api.getPolicy.response.parse(policy)).toEqual(policy)
    expect(api.getPolicy.response.safeParse({ ...policy, sparkConf: { a: { kind: 'int' } } }).success).toBe(false)
    expect(api.getPolicy.role).toBe('editor')
    expectTypeOf<RouteOutput<typeof api.getPolicy>>().toExtend<ExecutionPolicy>()
    expectTypeOf<keyof RouteOutput<typeof api.getPolicy>>().toEqualTypeOf<keyof ExecutionPolicy>()
    expectTypeOf<RouteOutput<typeof api.getPolicy>['sparkConf'][string]['kind']>().toEqualTypeOf<
      SparkConfRule['kind']
    >()
  })

  it('tells anonymous callers of health only that the server is up', () => {
    expect(api.health.response.safeParse({ status: 'ok', version: '0.1.0' }).success).toBe(true)
    expect(api.health.public).toBe(true)
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
    expectTypeOf<RouteInput<typeof api.createKey>['body']['role']>().toEqualTypeOf<'viewer' | 'editor' | 'admin'>()
    expectTypeOf<RouteOutput<typeof api.createKey>['secret']>().toEqualTypeOf<string>()
    expectTypeOf<RouteOutput<typeof api.revokeKey>['revokedAt']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<RouteOutput<typeof api.listAudit>['items'][number]['principal']['via']>().toEqualTypeOf<
      'key' | 'jwt' | 'host'
    >()
    expectTypeOf<RouteOutput<typeof api.getExecution>['requestedBy']>().toEqualTypeOf<string | undefined>()
  })
})
