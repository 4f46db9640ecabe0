// Every route of the contract, fed malformed JSON, wrong types, unknown fields, huge bodies and bad path or query
// parameters: each answer is a 4xx with a typed error envelope, never a 500, and the repository never changes.
import { type AnyRoute, api, type RouteName } from '@sparkle-studio/core/contract'
import { runGit } from '@sparkle-studio/git'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startServer } from '../src/main.ts'

const routes = Object.entries(api) as [RouteName, AnyRoute][]
/** Every request is an admin's: the bad input, not the caller, must be what is refused. */
const ADMIN_KEY = `sk_live_bad_input_${'k'.repeat(40)}`

/** A valid body per route with a body, so that one unknown field is the only problem. */
const validBodies: Partial<Record<RouteName, unknown>> = {
  validateComponentConfig: { config: { condition: 'a > 1' } },
  createPipeline: { name: 'another', template: 'daily-revenue' },
  savePipeline: { document: {} },
  exportPipeline: {},
  validatePipeline: {},
  dryRun: { pipeline: 'seeded' },
  run: { pipeline: 'seeded' },
  backfill: { pipeline: 'seeded', start: '2026-11-01', end: '2026-11-02' },
  createBranch: { name: 'topic' },
  commit: { message: 'm', changes: [{ name: 'seeded', document: null }] },
  pull: {},
  push: {},
  createPullRequest: { head: 'topic', title: 't' },
  createKey: { name: 'k', role: 'viewer' },
}

const goodParams: Record<string, string> = { name: 'seeded', type: 'transformer', id: 'r1' }
const badParamValues = ['..%2F..%2Fetc', '-x', '%252E%252E', 'x'.repeat(300), 'a%00b', '%E0%A4%A']

function fill(path: string, override?: { key: string; value: string }): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, (_, key: string) =>
    override?.key === key ? override.value : (goodParams[key] ?? 'x'),
  )
}

describe('bad input on every route gives a typed 4xx and changes nothing', () => {
  let dir: TempDir
  let server: RunningServer
  let before: string
  const seen: { route: string; case: string; status: number; code: string }[] = []

  const snapshot = async () => {
    const repo = `${dir.path}/repo.git`
    const refs = await runGit(['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: repo })
    const objects = await runGit(['count-objects', '-v'], { cwd: repo })
    return `${refs.stdout}\n${objects.stdout}`
  }

  async function send(name: RouteName, route: AnyRoute, label: string, path: string, init: RequestInit = {}) {
    const headers = new Headers(init.headers)
    headers.set('authorization', `Bearer ${ADMIN_KEY}`)
    const response = await fetch(`${server.url}/api/v1${path}`, { method: route.method, ...init, headers })
    const text = await response.text()
    let body: { success?: boolean; error?: { code?: unknown; message?: unknown } } = {}
    try {
      body = JSON.parse(text)
    } catch {
      throw new Error(`${name} ${label}: answer is not JSON: ${text.slice(0, 200)}`)
    }
    seen.push({ route: name, case: label, status: response.status, code: String(body.error?.code) })
    expect(response.status, `${name} ${label}: ${text.slice(0, 300)}`).toBeGreaterThanOrEqual(400)
    expect(response.status, `${name} ${label}: ${text.slice(0, 300)}`).toBeLessThan(500)
    expect(body.success).toBe(false)
    expect(typeof body.error?.code).toBe('string')
    expect(typeof body.error?.message).toBe('string')
  }

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-bad-input-')
    server = await startServer({
      ...process.env,
      PORT: '0',
      SPARKLE_DATA_DIR: dir.path,
      SPARKLE_WORKER: 'off',
      SPARKLE_LOG_LEVEL: 'error',
      SPARKLE_ADMIN_KEY: ADMIN_KEY,
      // Hundreds of requests in a few seconds from one caller: the limit would answer instead of the parser.
      SPARKLE_RATE_LIMIT: 'off',
    })
    const created = await fetch(`${server.url}/api/v1/pipelines`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify({ name: 'seeded', template: 'daily-revenue' }),
    })
    expect(created.status).toBe(201)
    before = await snapshot()
  })
  afterAll(async () => {
    await server?.stop()
    await dir?.remove()
  })

  it('bad path parameters', async () => {
    for (const [name, route] of routes) {
      for (const key of [...route.path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1] as string)) {
        for (const value of badParamValues) {
          const init: RequestInit = validBodies[name]
            ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(validBodies[name]) }
            : {}
          await send(name, route, `param ${key}=${value.slice(0, 20)}`, fill(route.path, { key, value }), init)
        }
      }
    }
  })

  it('malformed JSON, wrong types, unknown fields and huge bodies', async () => {
    const json = { 'content-type': 'application/json' }
    const huge = JSON.stringify({ document: { blob: 'x'.repeat(2 * 1024 * 1024) } })
    for (const [name, route] of routes) {
      if (route.method === 'GET' || route.method === 'DELETE') continue
      const path = fill(route.path)
      await send(name, route, 'malformed JSON', path, { headers: json, body: '{"name": "x",' })
      // A file upload takes a large body by design (a 2 MB JSON object is a one-line JSON lines file): its limit and
      // its refusals are the artifacts tests'.
      if (!route.upload) await send(name, route, 'huge body', path, { headers: json, body: huge })
      if (!route.body) continue
      await send(name, route, 'wrong type (array)', path, { headers: json, body: '[1,2,3]' })
      await send(name, route, 'wrong field types', path, {
        headers: json,
        body: JSON.stringify({
          name: 5,
          pipeline: ['x'],
          document: 'doc',
          config: undefined,
          message: 7,
          changes: 'no',
          start: 1,
          head: {},
        }),
      })
      const valid = validBodies[name]
      if (valid !== undefined) {
        await send(name, route, 'unknown field', path, {
          headers: json,
          body: JSON.stringify({ ...(valid as object), surprise: true }),
        })
      }
    }
  })

  it('unknown and malformed query parameters', async () => {
    for (const [name, route] of routes) {
      const init: RequestInit = validBodies[name]
        ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(validBodies[name]) }
        : {}
      await send(name, route, 'unknown query', `${fill(route.path)}?surprise=1`, init)
      const keys = Object.keys(route.query?.shape ?? {})
      if (keys.includes('limit')) await send(name, route, 'limit not a number', `${fill(route.path)}?limit=lots`, init)
      if (keys.includes('ref'))
        await send(name, route, 'option-like ref', `${fill(route.path)}?ref=--upload-pack%3Devil`, init)
    }
  })

  it('answers another method on the OpenAPI document or the docs page with 405 and Allow, and a URL past the header limit with a 431 envelope', async () => {
    for (const path of ['/openapi.json', '/docs']) {
      const response = await fetch(`${server.url}${path}`, { method: 'POST' })
      expect(response.status, path).toBe(405)
      expect(response.headers.get('allow')).toBe('GET, HEAD')
      expect(await response.json()).toMatchObject({ success: false, error: { code: 'METHOD_NOT_ALLOWED' } })
    }
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { servers: { url: string }[] }
    expect(doc.servers).toEqual([{ url: server.url }])
    const long = await fetch(`${server.url}/api/v1/executions?cursor=${'c'.repeat(20_000)}`)
    expect(long.status).toBe(431)
    expect(await long.json()).toMatchObject({ success: false, error: { code: 'HEADERS_TOO_LARGE' } })
  })

  it('left the repository exactly as it was', async () => {
    expect(await snapshot()).toBe(before)
    expect(seen.length).toBeGreaterThan(150)
    expect(seen.filter((s) => s.status >= 500)).toEqual([])
  })
})
