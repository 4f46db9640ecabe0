import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'rolldown'
import { describe, expect, it } from 'vitest'
import {
  API_BASE_PATH,
  buildPath,
  formatRunStreamEvent,
  isFinalRunStatus,
  isIdempotent,
  ROLES,
  ROUTE_NAMES,
  routes,
  StudioError,
  toRunStreamEvent,
} from './index.ts'

describe('route table', () => {
  it('names each route by its key, with a path under the base path and one route per method and path', () => {
    expect(API_BASE_PATH).toBe('/api/v1')
    for (const name of ROUTE_NAMES) {
      expect(routes[name].name).toBe(name)
      expect(routes[name].path).toMatch(/^\/[a-z]/)
    }
    const keys = Object.values(routes).map((r) => `${r.method} ${r.path}`)
    expect(new Set(keys).size).toBe(keys.length)
    expect(Object.isFrozen(routes)).toBe(true)
    expect(Object.isFrozen(routes.getPipeline)).toBe(true)
  })

  it('knows which calls may be retried: GET, PUT, DELETE and the POSTs that say so', () => {
    expect(isIdempotent(routes.getPipeline)).toBe(true)
    expect(isIdempotent(routes.savePipeline)).toBe(true)
    expect(isIdempotent(routes.deletePipeline)).toBe(true)
    expect(isIdempotent(routes.run)).toBe(false)
    expect(isIdempotent(routes.dryRun)).toBe(true)
    expect(isIdempotent(routes.cancelExecution)).toBe(true)
    expect(routes.executionEvents.stream).toBe('sse')
    expect('stream' in routes.getExecution).toBe(false)
    expect([routes.push.role, routes.savePipeline.role, routes.health.role]).toEqual(['admin', 'editor', 'viewer'])
  })

  it('answers anonymous callers on health only, and keeps logs, the policy, keys and the audit log from viewers', () => {
    expect(ROUTE_NAMES.filter((name) => routes[name].public)).toEqual(['health'])
    expect(routes.health.public).toBe(true)
    expect('public' in routes.getPipeline).toBe(false)
    expect(ROLES).toEqual(['viewer', 'editor', 'admin'])
    expect(routes.executionLogs.role).toBe('editor')
    expect(`${routes.getPolicy.method} ${routes.getPolicy.path} ${routes.getPolicy.role}`).toBe('GET /policy editor')
    expect(
      [routes.createKey, routes.listKeys, routes.revokeKey, routes.listAudit].map(
        (r) => `${r.method} ${r.path} ${r.role} ${r.idempotent}`,
      ),
    ).toEqual([
      'POST /keys admin false',
      'GET /keys admin true',
      'DELETE /keys/{id} admin true',
      'GET /audit admin true',
    ])
  })

  it('fills paths, encoding values', () => {
    expect(buildPath('/pipelines/{name}/diff', { name: 'a b/c' })).toBe('/pipelines/a%20b%2Fc/diff')
    expect(buildPath(routes.getComponent.path, { type: 'transformer', name: 'filter' })).toBe(
      '/components/transformer/filter',
    )
    expect(buildPath(routes.health.path)).toBe('/health')
    expect(() => buildPath('/executions/{id}' as string, {})).toThrow(TypeError)
  })
})

describe('run event stream', () => {
  it('maps stored events to stream messages and writes the SSE wire format', () => {
    const status = toRunStreamEvent({ id: '7', type: 'status', payload: { status: 'running', attempt: 1 } })
    expect(status).toEqual({
      event: 'status',
      id: 7,
      data: { id: 7, type: 'status', payload: { status: 'running', attempt: 1 } },
    })
    expect(formatRunStreamEvent(status)).toBe(
      'id: 7\nevent: status\ndata: {"id":7,"type":"status","payload":{"status":"running","attempt":1}}\n\n',
    )
    expect(toRunStreamEvent({ id: 8, type: 'log', payload: { line: 'a' } }).event).toBe('log')
    const other = toRunStreamEvent({ id: 9, type: 'progress', payload: { completedTasks: 1, totalTasks: 2 } })
    expect(formatRunStreamEvent(other)).toBe(
      'id: 9\nevent: event\ndata: {"id":9,"type":"progress","payload":{"completedTasks":1,"totalTasks":2}}\n\n',
    )
    expect(formatRunStreamEvent({ event: 'end', data: { status: 'failed', error: { message: 'boom' } } })).toBe(
      'event: end\ndata: {"status":"failed","error":{"message":"boom"}}\n\n',
    )
    expect(['succeeded', 'failed', 'cancelled', 'running', 'retrying'].map(isFinalRunStatus)).toEqual([
      true,
      true,
      true,
      false,
      false,
    ])
  })
})

describe('@sparkle-studio/core/routes', () => {
  it('re-exports the error classes the main entry has', async () => {
    const main = await import('../index.ts')
    expect(StudioError).toBe(main.StudioError)
  })

  it('bundles for the browser without zod or any Node built-in', async () => {
    const imported: string[] = []
    const result = await build({
      input: join(import.meta.dirname, 'index.ts'),
      platform: 'browser',
      write: false,
      treeshake: false,
      external: (id) => {
        const bare = !id.startsWith('.') && !id.startsWith('/') && !/^[A-Za-z]:/.test(id)
        if (bare) imported.push(id)
        return bare
      },
      output: { format: 'esm', minify: true },
    })
    const code = result.output[0].code
    expect(imported).toEqual([])
    expect(code).not.toMatch(/ZodType|toJSONSchema|\$ZodType|node:/)
    // The whole entry, nothing shaken off: small enough for any page.
    expect(gzipSync(code).length).toBeLessThan(4 * 1024)
  }, 60_000)
})
