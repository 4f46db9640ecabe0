// Authentication and roles, walked over every route of the contract: anonymous, viewer, editor and admin callers,
// and revoked, expired, malformed and wrong keys, each answered exactly as the route's declared role says. Keys are
// kept only hashed; a revoked key is refused at once; git history names the caller; the audit log has every write.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { StudioError } from '@sparkle-studio/core'
import { type AnyRoute, api, type RouteName } from '@sparkle-studio/core/contract'
import { runGit } from '@sparkle-studio/git'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger, createStudio, hashSecret, hasRole, type Studio, studioNodeHandler } from '../src/index.ts'

const routes = Object.entries(api) as [RouteName, AnyRoute][]
const ROLES = ['viewer', 'editor', 'admin'] as const

/** A body each route accepts, so that only the caller decides the answer. */
const bodies: Partial<Record<RouteName, unknown>> = {
  validateComponentConfig: { config: { condition: 'a > 1' } },
  createPipeline: { name: 'walked', template: 'daily-revenue' },
  savePipeline: { document: { schemaVersion: 2, name: 'seeded', nodes: [], edges: [] } },
  exportPipeline: {},
  validatePipeline: {},
  dryRun: { pipeline: 'seeded' },
  run: { pipeline: 'seeded' },
  backfill: { pipeline: 'seeded', start: '2026-11-01', end: '2026-11-02' },
  createBranch: { name: 'topic' },
  commit: { message: 'm', changes: [{ name: 'other', document: null }] },
  pull: {},
  push: {},
  createPullRequest: { head: 'topic', title: 't' },
  createKey: { name: 'walked', role: 'viewer' },
}
const params: Record<string, string> = { name: 'seeded', type: 'transformer', id: 'missing-id' }
const fill = (path: string) => path.replace(/\{([A-Za-z0-9_]+)\}/g, (_, k: string) => params[k] ?? 'x')
const query: Partial<Record<RouteName, string>> = { searchComponents: '?q=filter', pipelineDiff: '?from=main' }

describe('authentication and roles on every route', () => {
  let dir: TempDir
  let studio: Studio
  let server: Server
  let base: string
  const secrets: Record<string, string> = {}

  async function call(name: RouteName, route: AnyRoute, token: string | undefined) {
    const body = bodies[name]
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    const controller = new AbortController()
    const response = await fetch(`${base}/api/v1${fill(route.path)}${query[name] ?? ''}`, {
      method: route.method,
      headers,
      signal: controller.signal,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    // Event streams stay open: the status is all this test needs.
    if (route.stream === 'sse' && response.status === 200) {
      controller.abort()
      return { status: response.status, text: '' }
    }
    const text = await response.text()
    return { status: response.status, text }
  }

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-access-')
    studio = await createStudio({
      dataDir: dir.path,
      logger: createLogger({ level: 'error' }),
      authentication: { bootstrap: false },
      // No Spark here: previews and runs answer SPARK_UNAVAILABLE to whoever may call them.
      spark: {
        runtime: async () => {
          throw new StudioError('SPARK_UNAVAILABLE', 'no Spark in this test')
        },
      },
      repository: { identity: { name: 'Sparkle Server', email: 'server@sparkle.invalid' } },
    })
    for (const role of ROLES) {
      secrets[role] = (await studio.keys.create({ name: `${role} user`, role, createdBy: 'test' })).secret
    }
    const revoked = await studio.keys.create({ name: 'revoked', role: 'admin', createdBy: 'test' })
    await studio.keys.revoke(revoked.key.id)
    secrets['revoked'] = revoked.secret
    secrets['expired'] = (
      await studio.keys.create({ name: 'expired', role: 'admin', createdBy: 'test', expiresAt: '2020-01-01T00:00:00Z' })
    ).secret
    secrets['malformed'] = 'sk_live_not-a-real-key'
    secrets['wrong'] = `sk_live_${'A'.repeat(43)}`
    // Rate limits are tested on their own; this walk sends ~300 requests from one address in a second.
    server = createServer(studioNodeHandler(studio, { rateLimit: false }))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const seeded = await call('createPipeline', api.createPipeline, secrets['admin'])
    expect(seeded.status, seeded.text).toBe(201)
    await studio.api.createPipeline(
      { body: { name: 'seeded', template: 'daily-revenue' } },
      { principal: { id: 'test', name: 'test', role: 'admin', via: 'host' } },
    )
  })

  afterAll(async () => {
    await new Promise<void>((r) => server?.close(() => r()))
    await studio?.close()
    await dir?.remove()
  })

  it('answers each caller exactly as the route’s role says', async () => {
    const counts = { unauthorized: 0, forbidden: 0, allowed: 0 }
    for (const [name, route] of routes) {
      for (const who of ['anonymous', 'revoked', 'expired', 'malformed', 'wrong'] as const) {
        const { status, text } = await call(name, route, who === 'anonymous' ? undefined : secrets[who])
        if (name === 'health') {
          expect(status, `${name} as ${who}`).toBe(200)
          expect(JSON.parse(text).data.checks, 'anonymous health has no details').toBeUndefined()
          continue
        }
        expect(status, `${name} as ${who}: ${text.slice(0, 200)}`).toBe(401)
        expect(JSON.parse(text).error.code).toBe('UNAUTHORIZED')
        counts.unauthorized++
      }
      for (const role of ROLES) {
        const { status, text } = await call(name, route, secrets[role])
        if (hasRole({ role }, route.role)) {
          // Its normal answer for this set-up (a 404 for the missing id, SPARK_UNAVAILABLE without Spark, GIT_NO_REMOTE
          // for a pull with no remote): anything but an authentication or role refusal.
          expect([401, 403], `${name} as ${role}: ${text.slice(0, 200)}`).not.toContain(status)
          counts.allowed++
        } else {
          expect(status, `${name} as ${role}: ${text.slice(0, 200)}`).toBe(403)
          expect(JSON.parse(text).error).toMatchObject({
            code: 'FORBIDDEN',
            message: expect.stringContaining(`needs the ${route.role} role`),
          })
          counts.forbidden++
        }
      }
    }
    console.log(
      `access walk: ${routes.length} routes x 8 callers: ${counts.unauthorized} unauthorized, ${counts.forbidden} forbidden, ${counts.allowed} allowed`,
    )
    expect(counts.unauthorized).toBe((routes.length - 1) * 5)
  })

  it('keeps keys only hashed, and refuses a revoked key on the next request', async () => {
    const rows = await sql<Record<string, unknown>>`SELECT * FROM api_keys`.execute(studio.database.db)
    const stored = JSON.stringify(rows.rows)
    for (const secret of Object.values(secrets)) expect(stored).not.toContain(secret)
    expect(rows.rows.map((r) => r['hash'])).toContain(hashSecret(secrets['editor'] ?? ''))
    console.log(`api_keys: ${rows.rows.length} rows, no secret in any column`)

    const created = await fetch(`${base}/api/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secrets['admin']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ci', role: 'editor' }),
    })
    expect(created.status).toBe(201)
    const { data } = (await created.json()) as { data: { key: { id: string; prefix: string }; secret: string } }
    expect(data.secret.startsWith(data.key.prefix)).toBe(true)
    const asCi = () => fetch(`${base}/api/v1/pipelines`, { headers: { authorization: `Bearer ${data.secret}` } })
    expect((await asCi()).status).toBe(200)
    const listed = await fetch(`${base}/api/v1/keys`, { headers: { authorization: `Bearer ${secrets['admin']}` } })
    expect(await listed.text()).not.toContain(data.secret)
    const revoked = await fetch(`${base}/api/v1/keys/${data.key.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${secrets['admin']}` },
    })
    expect(revoked.status).toBe(200)
    expect((await asCi()).status).toBe(401)
  })

  it('names the caller as the author of saves, and audits every write', async () => {
    await studio.api.createPipeline(
      { body: { name: 'authored', template: 'daily-revenue' } },
      { principal: { id: 'test', name: 'test', role: 'admin', via: 'host' } },
    )
    const read = await fetch(`${base}/api/v1/pipelines/authored`, {
      headers: { authorization: `Bearer ${secrets['editor']}` },
    })
    const { data } = (await read.json()) as { data: { document: Record<string, unknown>; blob: string } }
    const saved = await fetch(`${base}/api/v1/pipelines/authored`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${secrets['editor']}`,
        'content-type': 'application/json',
        'if-match': data.blob,
      },
      body: JSON.stringify({ document: { ...data.document, description: 'by the editor' }, message: 'Describe' }),
    })
    expect(saved.status).toBe(200)
    const log = await runGit(['log', '-1', '--format=%an|%ae|%cn|%s', 'main'], { cwd: `${dir.path}/repo.git` })
    const [author, email, committer, subject] = log.stdout.trim().split('|')
    expect({ author, committer, subject }).toEqual({
      author: 'editor user',
      committer: 'Sparkle Server',
      subject: 'Describe',
    })
    expect(email).toMatch(/^key\..+@principals\.sparkle\.invalid$/)

    const audit = await fetch(`${base}/api/v1/audit?route=savePipeline&limit=500`, {
      headers: { authorization: `Bearer ${secrets['admin']}` },
    })
    const entries = ((await audit.json()) as { data: { items: { principal: { name: string }; status: number }[] } })
      .data.items
    expect(entries[0]).toMatchObject({ principal: { name: 'editor user' }, status: 200, target: 'authored' })
    // Runs keep who queued and who cancelled them.
    const queued = await fetch(`${base}/api/v1/execute/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secrets['editor']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ pipeline: 'authored' }),
    })
    const run = ((await queued.json()) as { data: { id: string; requestedBy: string } }).data
    expect(run.requestedBy).toMatch(/^key:/)
    const cancelled = await fetch(`${base}/api/v1/executions/${run.id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secrets['admin']}` },
    })
    const after = ((await cancelled.json()) as { data: { cancelledBy: string; requestedBy: string } }).data
    expect(after.cancelledBy).toMatch(/^key:/)
    expect(after.cancelledBy).not.toBe(after.requestedBy)

    // An unknown method on a known path: 405 with the methods it has.
    const patched = await fetch(`${base}/api/v1/pipelines/authored`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${secrets['admin']}` },
    })
    expect(patched.status).toBe(405)
    expect(patched.headers.get('allow')).toBe('GET, PUT, DELETE')

    const all = await studio.audit.list({ limit: 500 })
    const refused = all.items.filter((e) => e.status === 403).length
    console.log(`audit log: ${all.items.length} entries, ${refused} of them refused with 403`)
    expect(refused).toBeGreaterThan(0)
  })
})
