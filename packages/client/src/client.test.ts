import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiError, createStudioClient } from './client.ts'

describe('createStudioClient against a loopback server', () => {
  let server: Server
  let baseUrl: string
  const seen: { url?: string | undefined; auth?: string | undefined } = {}
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.url = req.url
      seen.auth = req.headers.authorization
      res.setHeader('content-type', 'application/json')
      if (req.headers.authorization === 'Bearer bad') {
        res.statusCode = 401
        res.end(JSON.stringify({ success: false, error: { code: 'UNAUTHORIZED', message: 'bad token' } }))
        return
      }
      res.end(JSON.stringify({ success: true, data: { version: '0.1.0', checks: { git: { ok: true } } } }))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((r) => server.close(() => r())))

  it('unwraps the success envelope', async () => {
    const client = createStudioClient({ baseUrl, headers: { authorization: 'Bearer good' } })
    const health = await client.health()
    expect(health.version).toBe('0.1.0')
    expect(seen.url).toBe('/api/v1/health')
    expect(seen.auth).toBe('Bearer good')
  })

  it('rebuilds API errors from the error envelope', async () => {
    const client = createStudioClient({ baseUrl, headers: { authorization: 'Bearer bad' } })
    const error = await client.health().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', status: 401, message: 'bad token' })
  })
})
