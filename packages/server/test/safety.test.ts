// Request safety over real HTTP on a studio with PostgreSQL: foreign hosts (421), cross-site origins (403) and
// anything but JSON on a mutating route (415) are refused before anything is written; rate limits answer 429 and
// recover; the caps, the headers and the environment settings.
import { execFileSync } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { isStudioError } from '@sparkle-studio/core'
import { type AnyRoute, api } from '@sparkle-studio/core/contract'
import { createTestDatabase, makeTempDir, type TempDir, type TestDatabase } from '@sparkle-studio/test-utils'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handlerOptions, loadServerConfig } from '../src/env.ts'
import { addressKey, createRequestSafety } from '../src/http/safety.ts'
import {
  createLogger,
  createStudio,
  type NodeHandlerOptions,
  type Principal,
  type Studio,
  studioNodeHandler,
} from '../src/index.ts'
import { send, testPrincipal } from './safety-http.ts'

const PIPELINE = 'safety-orders'
const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain'] as const

/** A concrete path of a contract route (every parameter `x`, except pipeline names: the test's pipeline). */
function pathOf(route: AnyRoute): string {
  return `/api/v1${route.path.replace(/\{name\}/g, PIPELINE).replace(/\{[A-Za-z0-9_]+\}/g, 'x')}`
}

const principal = (id: string): Principal => ({ id, name: id, role: 'admin', via: 'host' })

describe('request safety over HTTP', () => {
  let dir: TempDir
  let database: TestDatabase
  let studio: Studio
  const servers: Server[] = []
  let plain: string
  let limited: string
  let cors: string
  let port: { plain: number; cors: number }

  async function mount(options: NodeHandlerOptions): Promise<string> {
    const server = createServer(studioNodeHandler(studio, options))
    servers.push(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  /** What a refused request must not have changed: the repository's refs and objects, and the runs. */
  async function snapshot() {
    const git = (...args: string[]) =>
      execFileSync('git', ['--git-dir', join(dir.path, 'repo.git'), ...args], { encoding: 'utf8' })
    const client = new pg.Client({ connectionString: database.url })
    await client.connect()
    try {
      const runs = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM runs')
      const artifacts = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM artifacts')
      return {
        refs: git('for-each-ref'),
        objects: git('count-objects', '-v'),
        runs: runs.rows[0]?.n ?? -1,
        artifacts: artifacts.rows[0]?.n ?? -1,
      }
    } finally {
      await client.end()
    }
  }

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-safety-')
    database = await createTestDatabase('sparkle_safety')
    studio = await createStudio({
      dataDir: dir.path,
      databaseUrl: database.url,
      logger: createLogger({ level: 'error' }),
      authenticate: (req) => testPrincipal((h) => req.header(h)),
    })
    plain = await mount({})
    limited = await mount({ rateLimit: { requests: 3, windowS: 2, anonymousRequests: 2 } })
    cors = await mount({
      corsOrigins: ['https://app.example'],
      allowedHosts: ['studio.example', 'api.example:8443'],
    })
    port = { plain: Number(new URL(plain).port), cors: Number(new URL(cors).port) }
    const json = { 'content-type': 'application/json' }
    const created = await send(plain, '/api/v1/pipelines', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: PIPELINE, template: 'daily-revenue' }),
    })
    expect(created.status).toBe(201)
    // A queued run (no worker here), so that a run written by mistake would show in the count.
    const run = await send(plain, '/api/v1/execute/run', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ pipeline: PIPELINE, params: { ds: '2026-11-01' } }),
    })
    expect(run.status).toBeLessThan(300)
  })

  afterAll(async () => {
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()))
    await studio?.close()
    await database?.drop()
    await dir?.remove()
  })

  it('refuses form posts on every mutating route (415), foreign hosts (421) and cross-site origins (403), writing nothing', async () => {
    const mutating = (Object.entries(api) as [string, AnyRoute][]).filter(([, r]) => r.method !== 'GET')
    expect(mutating.length).toBeGreaterThanOrEqual(15)
    const before = await snapshot()
    const jsonBody = (name: string) =>
      name === 'createPipeline'
        ? { name: 'written-by-mistake', template: 'daily-revenue' }
        : name === 'run'
          ? { pipeline: PIPELINE, params: { ds: '2026-11-02' } }
          : {}
    let refused = 0
    for (const [name, route] of mutating) {
      for (const type of FORM_TYPES) {
        // text/plain is a file type the upload takes (any text is a CSV): from a cross-site page it is refused by its
        // Origin, below.
        if (route.upload && type === 'text/plain') continue
        const answer = await send(plain, pathOf(route), {
          method: route.method,
          headers: { 'content-type': type },
          body: type.startsWith('multipart')
            ? '--x\r\ncontent-disposition: form-data; name="name"\r\n\r\nwritten-by-mistake\r\n--x--\r\n'
            : 'name=written-by-mistake&template=daily-revenue&pipeline=safety-orders',
        })
        refused++
        if (route.upload) {
          // A file upload takes a form or a file's own type by design (cross-site pages are refused by their Origin,
          // below): a urlencoded form is refused, a multipart form without a file too, and nothing is stored.
          expect({ name, type, status: answer.status }).toEqual({
            name,
            type,
            status: type.startsWith('application/x-www-form') ? 415 : 400,
          })
          continue
        }
        expect({ name, type, status: answer.status, code: answer.json?.error?.code }).toEqual({
          name,
          type,
          status: 415,
          code: 'UNSUPPORTED_MEDIA_TYPE',
        })
        expect(answer.json?.error?.message).toContain('application/json')
      }
      const body = route.upload ? 'a,b\n1,2\n' : JSON.stringify(jsonBody(name))
      const json = { 'content-type': route.upload ? 'text/csv' : 'application/json' }
      const foreignHost = await send(plain, pathOf(route), {
        method: route.method,
        headers: { ...json, host: `evil.example:${port.plain}` },
        body,
      })
      expect({ name, status: foreignHost.status, code: foreignHost.json?.error?.code }).toEqual({
        name,
        status: 421,
        code: 'MISDIRECTED_REQUEST',
      })
      const crossSite = await send(plain, pathOf(route), {
        method: route.method,
        headers: { ...json, origin: 'https://evil.example' },
        body,
      })
      expect({ name, status: crossSite.status, code: crossSite.json?.error?.code }).toEqual({
        name,
        status: 403,
        code: 'FORBIDDEN',
      })
      refused += 2
    }
    const after = await snapshot()
    console.log(
      `safety: ${mutating.length} mutating routes, ${refused} refused requests; runs ${before.runs} -> ${after.runs}; ` +
        `refs ${before.refs.trim().split('\n').length} -> ${after.refs.trim().split('\n').length}; ` +
        `objects ${before.objects.replace(/\n/g, ' ').trim()} -> ${after.objects.replace(/\n/g, ' ').trim()}`,
    )
    expect(after).toEqual(before)
    expect(before.runs).toBe(1)
  })

  it('lets JSON, bodiless posts on optional-body routes and same-origin browsers through', async () => {
    const validate = `/api/v1/pipelines/${PIPELINE}/validate`
    // No body and no content type, on a route whose body is optional.
    expect((await send(plain, validate, { method: 'POST' })).status).toBe(200)
    expect(
      (await send(plain, validate, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' } }))
        .status,
    ).toBe(200)
    // A body without a content type on a route that reads one is not guessed at.
    const untyped = await send(plain, validate, { method: 'POST', body: '{}' })
    expect(untyped).toMatchObject({ status: 415, json: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } })
    // application/*+json is JSON.
    const vendor = await send(plain, validate, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.sparkle+json' },
      body: '{}',
    })
    expect(vendor.status).toBe(200)
    // The page the API is served from is not cross-site; reads carry an Origin freely.
    const sameOrigin = await send(plain, validate, {
      method: 'POST',
      headers: { origin: plain, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(sameOrigin.status).toBe(200)
    const read = await send(plain, '/api/v1/pipelines', { headers: { origin: 'https://evil.example' } })
    expect(read.status).toBe(200)
  })

  it('answers only for allowed hosts, without echoing a long header', async () => {
    for (const host of ['localhost', `localhost:${port.plain}`, '127.0.0.1', `[::1]:${port.plain}`]) {
      expect({ host, status: (await send(plain, '/api/v1/pipelines', { headers: { host } })).status }).toEqual({
        host,
        status: 200,
      })
    }
    for (const host of [
      'evil.example',
      'localhost.evil.example',
      '127.0.0.1.nip.io:80',
      'a b',
      `${'x'.repeat(300)}.example`,
    ]) {
      const answer = await send(plain, '/api/v1/health', { headers: { host } })
      expect({ host, status: answer.status }).toEqual({ host, status: 421 })
      expect(answer.json?.error?.message).toContain('allowedHosts')
      expect(answer.json?.error?.message?.length).toBeLessThan(400)
    }
    // allowedHosts: a name on any port, name:port on that port only.
    const at = async (host: string) => (await send(cors, '/api/v1/health', { headers: { host } })).status
    expect(await at('studio.example')).toBe(200)
    expect(await at('STUDIO.example:9999')).toBe(200)
    expect(await at('api.example:8443')).toBe(200)
    expect(await at('api.example')).toBe(421)
    expect(await at('sub.studio.example')).toBe(421)
  })

  it('checks browser origins against corsOrigins when set', async () => {
    const post = (origin: string) =>
      send(cors, `/api/v1/pipelines/${PIPELINE}/validate`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/json' },
        body: '{}',
      })
    expect((await post('https://app.example')).status).toBe(200)
    expect(await post('https://other.example')).toMatchObject({ status: 403, json: { error: { code: 'FORBIDDEN' } } })
    expect((await post('null')).status).toBe(403)
  })

  it('sends the security headers on every answer', async () => {
    const ok = await send(plain, '/api/v1/pipelines')
    const refused = await send(plain, '/api/v1/pipelines', { headers: { host: 'evil.example' } })
    for (const answer of [ok, refused]) {
      expect(answer.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'cross-origin-resource-policy': 'same-origin',
        'content-security-policy': "default-src 'none';frame-ancestors 'none'",
        'cache-control': 'no-store',
      })
      expect(answer.headers['strict-transport-security']).toBeUndefined()
    }
    expect(createRequestSafety({ hsts: true, rateLimit: false }).headers['strict-transport-security']).toBe(
      'max-age=31536000; includeSubDomains',
    )
  })

  it('limits requests per caller and per anonymous address, then recovers after the window', async () => {
    // Anonymous callers may read the liveness route; everything else would be a 401.
    const get = (caller: string) =>
      send(limited, caller === 'none' ? '/api/v1/health' : '/api/v1/pipelines', {
        headers: { 'x-test-caller': caller },
      })
    const answers = [await get('rl-a'), await get('rl-a'), await get('rl-a')]
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200])
    expect(answers.map((a) => a.headers['ratelimit-remaining'])).toEqual(['2', '1', '0'])
    for (const a of answers) {
      expect(a.headers['ratelimit-limit']).toBe('3')
      expect(a.headers['ratelimit-policy']).toBe('3;w=2')
      expect(Number(a.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(0)
      expect(Number(a.headers['ratelimit-reset'])).toBeLessThanOrEqual(2)
    }
    const over = await get('rl-a')
    expect(over).toMatchObject({ status: 429, json: { error: { code: 'RATE_LIMITED' } } })
    const retryAfter = Number(over.headers['retry-after'])
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(2)
    expect(over.json?.error?.details).toMatchObject({ retryAfterS: retryAfter, limit: 3, remaining: 0, windowS: 2 })
    // Another caller has its own budget.
    expect((await get('rl-b')).status).toBe(200)
    // Anonymous callers count by address (anonymousRequests: 2).
    const anonymous = [await get('none'), await get('none'), await get('none')]
    expect(anonymous.map((a) => a.status)).toEqual([200, 200, 429])
    expect(anonymous[0]?.headers['ratelimit-limit']).toBe('2')
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 200))
    const recovered = await get('rl-a')
    expect(recovered.status).toBe(200)
    expect(recovered.headers['ratelimit-remaining']).toBe('2')
    console.log(`safety: rate limit 3 per 2 s: 3 x 200, then 429 with Retry-After ${retryAfter}; 200 again after it`)
  })
})

describe('createRequestSafety', () => {
  it('caps event streams per caller and in total, and previews per caller; releases once', () => {
    const safety = createRequestSafety({
      maxStreams: 3,
      maxStreamsPerCaller: 2,
      maxPreviewsPerCaller: 1,
      rateLimit: false,
    })
    const a = principal('a')
    const releaseA1 = safety.reserve('stream', a)
    safety.reserve('stream', a)
    const refused = (() => {
      try {
        safety.reserve('stream', a)
        return undefined
      } catch (error) {
        return error
      }
    })()
    expect(isStudioError(refused) && refused.code).toBe('RATE_LIMITED')
    const retry = (refused as { details: { retryAfterS: number } }).details.retryAfterS
    expect(retry).toBeGreaterThanOrEqual(1)
    expect(retry).toBeLessThanOrEqual(5)
    safety.reserve('stream', principal('b'))
    expect(() => safety.reserve('stream', principal('c'))).toThrow(/event streams open on this server/)
    releaseA1()
    releaseA1()
    const releaseC = safety.reserve('stream', principal('c'))
    expect(() => safety.reserve('stream', principal('d'))).toThrow(/limit is 3/)
    releaseC()
    const preview = safety.reserve('preview', a)
    expect(() => safety.reserve('preview', a)).toThrow(/previews running for this caller/)
    safety.reserve('preview', principal('b'))
    preview()
    safety.reserve('preview', a)
  })

  it('gives the RateLimit headers of a refusal, validates its options and exposes the time limit', async () => {
    const safety = createRequestSafety({ rateLimit: { requests: 1, windowS: 60 } })
    const request = {
      method: 'GET',
      path: '/pipelines',
      query: new URLSearchParams(),
      header: () => undefined,
      body: { kind: 'parsed', value: undefined },
      signal: new AbortController().signal,
    } as const
    expect(await safety.rateLimit(request, principal('x'))).toMatchObject({ 'ratelimit-remaining': '0' })
    const error = await safety.rateLimit(request, principal('x')).catch((e: unknown) => e)
    expect(safety.errorHeaders(error)).toMatchObject({
      'ratelimit-limit': '1',
      'ratelimit-remaining': '0',
      'ratelimit-policy': '1;w=60',
    })
    expect(safety.errorHeaders(new Error('other'))).toEqual({})
    expect(safety.requestTimeoutMs).toBe(120_000)
    // The embedded database takes fewer open streams (each polls it in this process).
    const embedded = createRequestSafety({ rateLimit: false }, { databaseDialect: 'pglite' })
    const held = Array.from({ length: 100 }, (_, i) => embedded.reserve('stream', principal(`e${i}`)))
    expect(() => embedded.reserve('stream', principal('e-last'))).toThrow(/limit is 100/)
    for (const release of held) release()
    expect(createRequestSafety({ requestTimeoutMs: false }).requestTimeoutMs).toBeUndefined()
    expect(() => createRequestSafety({ maxStreams: 0 })).toThrow(/maxStreams/)
    expect(() => createRequestSafety({ allowedHosts: ['bad host'] })).toThrow(/allowedHosts/)
    // '*' lets any host through (documented as unsafe); a leading dot covers subdomains.
    const any = createRequestSafety({ allowedHosts: ['*'], rateLimit: false })
    expect(() => any.checkHost({ ...request, header: () => 'anything.example' })).not.toThrow()
    const sub = createRequestSafety({ allowedHosts: ['.example.com'], rateLimit: false })
    expect(() => sub.checkHost({ ...request, header: () => 'a.b.example.com:443' })).not.toThrow()
    expect(() => sub.checkHost({ ...request, header: () => 'example.com' })).not.toThrow()
    expect(() => sub.checkHost({ ...request, header: () => 'badexample.com' })).toThrow(/allowedHosts/)
    expect(() => sub.checkHost(request)).toThrow(/no Host header/)
  })

  it('counts anonymous callers by address, IPv6 by /64', () => {
    expect(addressKey('::ffff:10.0.0.7')).toBe('10.0.0.7')
    expect(addressKey('10.0.0.7')).toBe('10.0.0.7')
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64')
    expect(addressKey('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64')
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(addressKey('::1')).toBe('0:0:0:0::/64')
    expect(addressKey(undefined)).toBe('unknown')
  })

  it('keeps limiting in memory when the PostgreSQL store cannot be reached, and says so', async () => {
    const lines: string[] = []
    const log = createLogger({ level: 'warn', write: (line) => lines.push(line) })
    const safety = createRequestSafety(
      { rateLimit: { requests: 2, windowS: 60, store: { postgresUrl: 'postgres://postgres@127.0.0.1:1/none' } } },
      { log },
    )
    const request = {
      method: 'GET',
      path: '/pipelines',
      query: new URLSearchParams(),
      header: () => undefined,
      body: { kind: 'parsed', value: undefined },
      signal: new AbortController().signal,
    } as const
    await safety.rateLimit(request, principal('p'))
    await safety.rateLimit(request, principal('p'))
    await expect(safety.rateLimit(request, principal('p'))).rejects.toMatchObject({ code: 'RATE_LIMITED' })
    expect(lines.join('\n')).toMatch(/rate-limit (store unavailable|table not ready)/)
    await safety.close()
  })
})

describe('handlerOptions', () => {
  it('reads the safety settings from the environment', () => {
    const config = loadServerConfig({
      HOST: '10.1.2.3',
      DATABASE_URL: 'postgres://studio@db.internal:5432/studio',
      SPARKLE_CORS_ORIGINS: 'https://app.example',
      SPARKLE_ALLOWED_HOSTS: 'studio.example, api.example:8443',
      SPARKLE_RATE_LIMIT: '100/2m',
      SPARKLE_MAX_STREAMS: '50',
      SPARKLE_MAX_STREAMS_PER_CALLER: '5',
      SPARKLE_MAX_PREVIEWS_PER_CALLER: '1',
      SPARKLE_REQUEST_TIMEOUT_MS: '0',
    })
    expect(handlerOptions(config)).toEqual({
      bodyLimit: 1024 * 1024,
      corsOrigins: ['https://app.example'],
      allowedHosts: ['studio.example', 'api.example:8443', '10.1.2.3'],
      rateLimit: {
        requests: 100,
        windowS: 120,
        store: { postgresUrl: 'postgres://studio@db.internal:5432/studio' },
      },
      maxStreams: 50,
      maxStreamsPerCaller: 5,
      maxPreviewsPerCaller: 1,
      requestTimeoutMs: false,
    })
    const defaults = handlerOptions(loadServerConfig({ HOST: '0.0.0.0' }))
    expect(defaults).toMatchObject({
      allowedHosts: [],
      rateLimit: { requests: 600, windowS: 60 },
      // The embedded database: each open stream polls it in the server's process.
      maxStreams: 100,
      maxStreamsPerCaller: 20,
      maxPreviewsPerCaller: 2,
      requestTimeoutMs: 120_000,
    })
    expect(defaults.rateLimit).not.toHaveProperty('store')
    expect(handlerOptions(loadServerConfig({ DATABASE_URL: 'postgres://h/db' })).maxStreams).toBe(1000)
    expect(handlerOptions(loadServerConfig({ SPARKLE_RATE_LIMIT: 'off' })).rateLimit).toBe(false)
    expect(handlerOptions(loadServerConfig({ HOST: '::1' })).allowedHosts).toEqual([])
    expect(handlerOptions(loadServerConfig({ HOST: 'fd00::5' })).allowedHosts).toEqual(['[fd00::5]'])
    expect(() => loadServerConfig({ SPARKLE_RATE_LIMIT: '10 per minute' })).toThrow(/SPARKLE_RATE_LIMIT/)
  })
})
