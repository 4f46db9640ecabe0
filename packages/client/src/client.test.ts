import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { api } from '@sparkle-studio/core/contract'
import { formatRunStreamEvent, routes, toRunStreamEvent } from '@sparkle-studio/core/routes'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createStudioClient } from './client.ts'
import {
  ApiAuthError,
  ApiConflictError,
  ApiError,
  ApiNetworkError,
  ApiNotFoundError,
  ApiRateLimitError,
  ApiValidationError,
  isApiError,
  parseRetryAfter,
  toApiError,
} from './errors.ts'

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void
let handler: Handler
let server: Server
let baseUrl: string
const seen: {
  method?: string | undefined
  url?: string | undefined
  headers?: IncomingMessage['headers']
  body?: string
}[] = []

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.statusCode = status
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v)
  res.setHeader('content-type', 'application/json')
  res.setHeader('x-request-id', 'req-1')
  res.end(JSON.stringify(body))
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => {
      body += c
    })
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body })
      handler(req, body, res)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))
beforeEach(() => {
  seen.length = 0
})

describe('routes', () => {
  it('has one method per route of the contract, plus streamExecutionEvents', () => {
    const client = createStudioClient({ baseUrl: 'http://127.0.0.1:1' })
    expect(Object.keys(client).sort()).toEqual([...Object.keys(api), 'streamExecutionEvents'].sort())
    expect(Object.keys(routes)).toEqual(Object.keys(api))
  })
})

describe('createStudioClient (against a loopback HTTP server)', () => {
  it('sends params, query, headers and body, and unwraps the envelope', async () => {
    handler = (_req, _body, res) =>
      json(res, 200, {
        success: true,
        data: {
          name: 'a b',
          revision: 'c1',
          blob: 'b',
          commit: { commit: 'c1', author: { name: 'A', email: 'a@example.com' }, date: '2026-11-01', message: 'm' },
        },
      })
    const client = createStudioClient({ baseUrl: `${baseUrl}/`, headers: { authorization: 'Bearer t' } })
    const saved = await client.savePipeline({
      params: { name: 'a b' },
      headers: { 'if-match': 'blob1' },
      body: { document: { x: 1 } },
    })
    expect(saved.revision).toBe('c1')
    expect(saved.commit.author.email).toBe('a@example.com')
    expect(seen[0]).toMatchObject({ method: 'PUT', url: '/api/v1/pipelines/a%20b', body: '{"document":{"x":1}}' })
    expect(seen[0]?.headers).toMatchObject({
      authorization: 'Bearer t',
      'if-match': 'blob1',
      'content-type': 'application/json',
    })
    handler = (_req, _body, res) => json(res, 200, { success: true, data: { items: [] } })
    await client.listExecutions({ query: { pipeline: 'orders', limit: 20, status: undefined } })
    expect(seen[1]?.url).toBe('/api/v1/executions?pipeline=orders&limit=20')
  })

  it('throws the ApiError subclass of the error code, with status, details and request id', async () => {
    const client = createStudioClient({ baseUrl, retries: 0 })
    const cases = [
      [404, 'NOT_FOUND', ApiNotFoundError],
      [409, 'CONFLICT', ApiConflictError],
      [422, 'VALIDATION_FAILED', ApiValidationError],
    ] as const
    for (const [status, code, Class] of cases) {
      handler = (_req, _body, res) =>
        json(res, status, { success: false, error: { code, message: `m ${code}`, details: { issues: [] } } })
      const error = await client.getPipeline({ params: { name: 'x' } }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(Class)
      expect(error).toBeInstanceOf(ApiError)
      expect(error).toMatchObject({ status, code, message: `m ${code}`, details: { issues: [] }, requestId: 'req-1' })
      expect(isApiError(error)).toBe(true)
    }
  })

  it('retries idempotent calls after a 503, never a POST that is not idempotent', async () => {
    let calls = 0
    handler = (_req, _body, res) => {
      calls++
      if (calls < 3) json(res, 503, { success: false, error: { code: 'SPARK_UNAVAILABLE', message: 'busy' } })
      else json(res, 200, { success: true, data: { status: 'ok' } })
    }
    const client = createStudioClient({ baseUrl, retries: 2 })
    await expect(client.health()).resolves.toMatchObject({ status: 'ok' })
    expect(calls).toBe(3)
    calls = 0
    await expect(client.run({ body: { pipeline: 'orders' } })).rejects.toMatchObject({
      status: 503,
      code: 'SPARK_UNAVAILABLE',
    })
    expect(calls).toBe(1)
  }, 20_000)

  it('maps the transport and safety codes to their classes, and a 429 to ApiRateLimitError with retryAfterS', () => {
    const cases = [
      [415, 'UNSUPPORTED_MEDIA_TYPE', ApiValidationError],
      [405, 'METHOD_NOT_ALLOWED', ApiValidationError],
      [421, 'MISDIRECTED_REQUEST', ApiAuthError],
      [401, 'UNAUTHORIZED', ApiAuthError],
      [403, 'FORBIDDEN', ApiAuthError],
      [429, 'RATE_LIMITED', ApiRateLimitError],
      [428, 'PRECONDITION_REQUIRED', ApiConflictError],
      [409, 'GIT_NO_REMOTE', ApiConflictError],
      [431, 'HEADERS_TOO_LARGE', ApiValidationError],
    ] as const
    for (const [status, code, Class] of cases) {
      const error = toApiError(status, { success: false, error: { code, message: 'm' } })
      expect(error, code).toBeInstanceOf(Class)
      expect(error, code).toMatchObject({ status, code })
    }
    const limited = toApiError(429, { error: { code: 'RATE_LIMITED', message: 'slow down' } }, 'r', { retryAfter: '7' })
    expect(limited).toMatchObject({ name: 'ApiRateLimitError', retryAfterS: 7, requestId: 'r' })
    expect(isApiError(limited)).toBe(true)
    // The server's details stand in for a missing header; a proxy's bare 429 is still a rate limit.
    const fromDetails = toApiError(429, { error: { code: 'RATE_LIMITED', message: 'm', details: { retryAfterS: 12 } } })
    expect(fromDetails).toMatchObject({ retryAfterS: 12 })
    const bare = toApiError(429, undefined, undefined, { retryAfter: null })
    expect(bare).toBeInstanceOf(ApiRateLimitError)
    expect(bare).toMatchObject({ code: 'RATE_LIMITED', retryAfterS: undefined })
    expect(toApiError(401, 'Unauthorized')).toBeInstanceOf(ApiAuthError)
    expect(toApiError(404, undefined)).toMatchObject({ code: 'BAD_REQUEST' })
    // Node answers an oversized URL itself when no envelope handler is installed: still a typed error.
    expect(toApiError(431, '')).toMatchObject({ name: 'ApiValidationError', code: 'HEADERS_TOO_LARGE' })
    expect(toApiError(428, undefined)).toMatchObject({ name: 'ApiConflictError', code: 'PRECONDITION_REQUIRED' })
  })

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-10-21T07:27:30Z')
    expect(parseRetryAfter('3', now)).toBe(3)
    expect(parseRetryAfter(' 0 ', now)).toBe(0)
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:28:00 GMT', now)).toBe(30)
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:00:00 GMT', now)).toBe(0)
    for (const bad of [null, undefined, '', '-1', '1.5', 'soon', '2026-10-21'])
      expect(parseRetryAfter(bad, now)).toBe(undefined)
  })

  it('retries a 429 of an idempotent call only when Retry-After is at most 5 s, never a POST that is not idempotent', async () => {
    let calls = 0
    let retryAfter: string | undefined = '0'
    handler = (_req, _body, res) => {
      calls++
      if (calls === 1)
        json(
          res,
          429,
          { success: false, error: { code: 'RATE_LIMITED', message: 'slow down' } },
          retryAfter === undefined ? {} : { 'retry-after': retryAfter },
        )
      else json(res, 200, { success: true, data: [] })
    }
    const client = createStudioClient({ baseUrl, retries: 2 })
    await expect(client.listPipelines()).resolves.toEqual([])
    expect(calls).toBe(2)
    for (const [wait, expected] of [
      ['30', 30],
      [undefined, undefined],
    ] as const) {
      calls = 0
      retryAfter = wait
      const error = await client.listPipelines().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ApiRateLimitError)
      expect(error).toMatchObject({ status: 429, code: 'RATE_LIMITED', retryAfterS: expected })
      expect(calls).toBe(1)
    }
    calls = 0
    retryAfter = '0'
    await expect(client.createKey({ body: { name: 'ci', role: 'viewer' } })).rejects.toBeInstanceOf(ApiRateLimitError)
    expect(calls).toBe(1)
  })

  it('sends the token as a bearer credential on every call and stream, asking a token function each time', async () => {
    handler = (req, _body, res) => {
      if (req.url?.endsWith('/events')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        res.end(formatRunStreamEvent({ event: 'end', data: { status: 'succeeded' } }))
      } else json(res, 201, { success: true, data: { key: { id: 'k1' }, secret: 'sk_live_x' } })
    }
    const fixed = createStudioClient({ baseUrl, token: 'sk_live_abc', headers: { Authorization: 'Basic old' } })
    await fixed.createKey({ body: { name: 'ci', role: 'editor' } })
    for await (const _ of fixed.streamExecutionEvents('r1')) void _
    expect(seen.map((s) => s.headers?.authorization)).toEqual(['Bearer sk_live_abc', 'Bearer sk_live_abc'])
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/api/v1/keys', body: '{"name":"ci","role":"editor"}' })

    seen.length = 0
    let issued = 0
    const rotating = createStudioClient({ baseUrl, token: async () => `jwt-${++issued}` })
    await rotating.listKeys({ query: { includeRevoked: true } })
    await rotating.revokeKey({ params: { id: 'k1' } })
    for await (const _ of rotating.executionEvents({ params: { id: 'r1' } })) void _
    expect(seen.map((s) => `${s.method} ${s.url} ${s.headers?.authorization}`)).toEqual([
      'GET /api/v1/keys?includeRevoked=true Bearer jwt-1',
      'DELETE /api/v1/keys/k1 Bearer jwt-2',
      'GET /api/v1/executions/r1/events Bearer jwt-3',
    ])

    seen.length = 0
    const failing = createStudioClient({
      baseUrl,
      token: () => {
        throw new Error('not signed in')
      },
    })
    await expect(failing.listKeys()).rejects.toThrow('not signed in')
    expect(seen).toEqual([])
    await createStudioClient({ baseUrl }).listAudit({ query: { limit: 10 } })
    expect(seen[0]?.headers).not.toHaveProperty('authorization')
  })

  it('uses a custom fetch, runs hooks, and aborts with a signal', async () => {
    const used: string[] = []
    handler = (_req, _body, res) => json(res, 200, { success: true, data: [] })
    const client = createStudioClient({
      baseUrl,
      fetch: (input, init) => {
        used.push(String(input instanceof Request ? input.url : input))
        return fetch(input, init)
      },
      hooks: {
        beforeRequest: [
          ({ request, route }) =>
            route === 'listPipelines' ? new Request(request, { headers: { 'x-trace': 'abc' } }) : undefined,
        ],
      },
    })
    await client.listPipelines()
    expect(used[0]).toContain('/api/v1/pipelines')
    expect(seen[0]?.headers?.['x-trace']).toBe('abc')
    handler = () => {}
    const controller = new AbortController()
    const pending = client.listPipelines({ signal: controller.signal })
    controller.abort()
    await expect(pending).rejects.toBeInstanceOf(ApiNetworkError)
  })

  it('streams typed run events (the wire format core writes) and reconnects with Last-Event-ID', async () => {
    let connection = 0
    let resumedFrom: string | string[] | undefined
    const message = (id: number, type: string, payload: Record<string, unknown>) =>
      formatRunStreamEvent(toRunStreamEvent({ id: String(id), type, payload }))
    handler = (req, _body, res) => {
      connection++
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      if (connection === 1) {
        res.write(`: hello\n\n${message(1, 'status', { status: 'running', attempt: 1 })}`)
        res.write(message(2, 'log', { line: 'a' }))
        // An event name this client does not know (a newer server): skipped.
        res.write('id: 3\nevent: novelty\ndata: {"x":1}\n\n')
        // The connection drops after the events were sent.
        setTimeout(() => res.destroy(), 50)
        return
      }
      resumedFrom = req.headers['last-event-id']
      res.end(
        message(4, 'progress', { completedTasks: 1, totalTasks: 2 }) +
          message(5, 'status', { status: 'succeeded', attempt: 1 }) +
          formatRunStreamEvent({ event: 'end', data: { status: 'succeeded', error: null } }),
      )
    }
    const client = createStudioClient({ baseUrl })
    const events = []
    const lines: string[] = []
    for await (const e of client.streamExecutionEvents('run-1')) {
      events.push(e)
      if (e.event === 'log') lines.push(e.data.payload.line)
      if (e.event === 'status') lines.push(e.data.payload.status)
      if (e.event === 'end') lines.push(`end ${e.data.status}`)
    }
    expect(events.map((e) => `${e.id}:${e.event}`)).toEqual([
      '1:status',
      '2:log',
      '4:event',
      '5:status',
      'undefined:end',
    ])
    expect(events[2]?.data).toEqual({ id: 4, type: 'progress', payload: { completedTasks: 1, totalTasks: 2 } })
    expect(lines).toEqual(['running', 'a', 'succeeded', 'end succeeded'])
    expect(resumedFrom).toBe('3')
    expect(seen[0]?.url).toBe('/api/v1/executions/run-1/events')
  })

  it('streams the SSE route as a method too, resuming after query.after', async () => {
    handler = (req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(
        `${formatRunStreamEvent(toRunStreamEvent({ id: 8, type: 'log', payload: { line: String(req.headers['last-event-id']) } }))}` +
          formatRunStreamEvent({ event: 'end', data: { status: 'failed', error: { message: 'boom' } } }),
      )
    }
    const client = createStudioClient({ baseUrl, headers: { authorization: 'Bearer t' } })
    const events = []
    for await (const e of client.executionEvents({ params: { id: 'r 2' }, query: { after: 7 } })) events.push(e)
    expect(events).toEqual([
      { event: 'log', id: 8, data: { id: 8, type: 'log', payload: { line: '7' } } },
      { event: 'end', data: { status: 'failed', error: { message: 'boom' } } },
    ])
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/api/v1/executions/r%202/events' })
    expect(seen[0]?.headers).toMatchObject({ authorization: 'Bearer t', accept: 'text/event-stream' })
  })
})
