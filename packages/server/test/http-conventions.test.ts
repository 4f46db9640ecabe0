// The HTTP conventions of the API through the real handler on loopback: entity tags on pipelines (ETag, If-Match
// strong and weak, 428 without a precondition, force, If-None-Match), 405 with Allow, 431 in the envelope, and the
// typed answers of a repository without a remote.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ApiConflictError, createStudioClient, type StudioClient } from '@sparkle-studio/client'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answerClientErrors, createLogger, createStudio, type Studio, studioNodeHandler } from '../src/index.ts'

describe('HTTP conventions of the API', () => {
  let dir: TempDir
  let studio: Studio
  let server: Server
  let base: string
  let token: string
  let client: StudioClient

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-http-conventions-')
    studio = await createStudio({
      dataDir: dir.path,
      logger: createLogger({ level: 'error' }),
      authentication: { bootstrap: false },
    })
    token = (await studio.keys.create({ name: 'admin', role: 'admin', createdBy: 'test' })).secret
    server = createServer(studioNodeHandler(studio, { rateLimit: false }))
    answerClientErrors(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`
    client = createStudioClient({ baseUrl: base.replace(/\/api\/v1$/, ''), token, retries: 0 })
  })

  afterAll(async () => {
    await new Promise<void>((r) => server?.close(() => r()))
    await studio?.close()
    await dir?.remove()
  })

  const send = (path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) =>
    fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    })
  const codeOf = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code

  it('sends the blob as a strong ETag; a save with it succeeds and answers the new one; a stale one is 409', async () => {
    await client.createPipeline({ body: { name: 'orders', template: 'daily-revenue' } })
    const got = await send('/pipelines/orders')
    const etag = got.headers.get('etag')
    const { data } = (await got.json()) as { data: { document: Record<string, unknown>; blob: string } }
    expect(etag).toBe(`"${data.blob}"`)
    // The caller's own cache may keep it and revalidate; answers without a version stay out of every cache.
    expect(got.headers.get('cache-control')).toBe('private, no-cache')
    expect((await send('/pipelines')).headers.get('cache-control')).toBe('no-store')

    const saved = await send('/pipelines/orders', {
      method: 'PUT',
      headers: { 'if-match': etag ?? '' },
      body: { document: { ...data.document, description: 'v2' } },
    })
    expect(saved.status).toBe(200)
    const next = ((await saved.json()) as { data: { blob: string } }).data.blob
    expect(saved.headers.get('etag')).toBe(`"${next}"`)
    expect(next).not.toBe(data.blob)

    const stale = await send('/pipelines/orders', {
      method: 'PUT',
      headers: { 'if-match': etag ?? '' },
      body: { document: { ...data.document, description: 'lost update' } },
    })
    expect(stale.status).toBe(409)
    expect(await codeOf(stale)).toBe('CONFLICT')
    expect((await client.getPipeline({ params: { name: 'orders' } })).blob).toBe(next)
  })

  it('refuses a blind PUT over an existing pipeline with 428, creates a new one, and overwrites with force=true', async () => {
    const { document, blob } = await client.getPipeline({ params: { name: 'orders' } })
    const blind = await send('/pipelines/orders', { method: 'PUT', body: { document: { ...document, tags: ['x'] } } })
    expect(blind.status).toBe(428)
    const body = (await blind.json()) as { success: boolean; error: { code: string; details: { currentBlob: string } } }
    expect(body).toMatchObject({
      success: false,
      error: { code: 'PRECONDITION_REQUIRED', details: { currentBlob: blob } },
    })
    expect((await client.getPipeline({ params: { name: 'orders' } })).blob).toBe(blob)

    const created = await send('/pipelines/fresh', {
      method: 'PUT',
      body: { document: { ...document, name: 'fresh' } },
    })
    expect(created.status).toBe(200)
    // Create only: a second create-only PUT finds it there.
    const again = await send('/pipelines/fresh', {
      method: 'PUT',
      headers: { 'if-none-match': '*' },
      body: { document: { ...document, name: 'fresh' } },
    })
    expect(again.status).toBe(409)

    const forced = await send('/pipelines/orders?force=true', {
      method: 'PUT',
      body: { document: { ...document, tags: ['forced'] } },
    })
    expect(forced.status).toBe(200)
    expect((await client.getPipeline({ params: { name: 'orders' } })).document['tags']).toEqual(['forced'])

    // The typed client: a blind save is an ApiConflictError with the code; force is an explicit option.
    const refused = await client
      .savePipeline({ params: { name: 'orders' }, body: { document } })
      .catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(ApiConflictError)
    expect(refused).toMatchObject({ status: 428, code: 'PRECONDITION_REQUIRED' })
    const forcedSave = await client.savePipeline({
      params: { name: 'orders' },
      query: { force: true },
      body: { document },
    })
    // The revision of a read names the version as well as its blob does.
    await client.savePipeline({
      params: { name: 'orders' },
      headers: { 'if-match': forcedSave.revision },
      body: { document: { ...document, description: 'by revision' } },
    })
  })

  it('takes the weak form W/"<blob>" on PUT and DELETE alike; DELETE without If-Match is 428, with force it deletes', async () => {
    const read = await client.getPipeline({ params: { name: 'orders' } })
    const weakPut = await send('/pipelines/orders', {
      method: 'PUT',
      headers: { 'if-match': `W/"${read.blob}"` },
      body: { document: { ...read.document, description: 'weak' } },
    })
    expect(weakPut.status).toBe(200)
    const now = ((await weakPut.json()) as { data: { blob: string } }).data.blob

    const blindDelete = await send('/pipelines/orders', { method: 'DELETE' })
    expect(blindDelete.status).toBe(428)
    expect(await codeOf(blindDelete)).toBe('PRECONDITION_REQUIRED')
    const staleDelete = await send('/pipelines/orders', {
      method: 'DELETE',
      headers: { 'if-match': `W/"${read.blob}"` },
    })
    expect(staleDelete.status).toBe(409)
    const weakDelete = await send('/pipelines/orders', { method: 'DELETE', headers: { 'if-match': `W/"${now}"` } })
    expect(weakDelete.status).toBe(200)
    expect((await send('/pipelines/orders')).status).toBe(404)
    // A missing pipeline stays a 404, with or without a precondition.
    expect((await send('/pipelines/orders', { method: 'DELETE' })).status).toBe(404)

    const forced = await send('/pipelines/fresh?force=true', { method: 'DELETE' })
    expect(forced.status).toBe(200)
    // Something that is not an entity tag is refused before the store sees it.
    const garbage = await send('/pipelines/fresh', { method: 'DELETE', headers: { 'if-match': 'nope' } })
    expect(garbage.status).toBe(400)
  })

  it('answers If-None-Match with the current ETag with 304 and the ETag, and a changed one with 200', async () => {
    const created = await client.createPipeline({ body: { name: 'cached', template: 'customer-orders' } })
    const etag = `"${created.blob}"`
    for (const header of [etag, `W/${etag}`, `"0000", ${etag}`, '*']) {
      const response = await send('/pipelines/cached', { headers: { 'if-none-match': header } })
      expect(response.status, header).toBe(304)
      expect(response.headers.get('etag')).toBe(etag)
      expect(await response.text()).toBe('')
    }
    const other = await send('/pipelines/cached', { headers: { 'if-none-match': `"${'0'.repeat(40)}"` } })
    expect(other.status).toBe(200)
    expect(other.headers.get('etag')).toBe(etag)
  })

  it('answers an unknown method on a known path with 405 and Allow, an unknown path with 404', async () => {
    const patch = await send('/pipelines/cached', { method: 'PATCH' })
    expect(patch.status).toBe(405)
    expect(patch.headers.get('allow')).toBe('GET, PUT, DELETE')
    expect(await codeOf(patch)).toBe('METHOD_NOT_ALLOWED')
    expect((await send('/nothing-here')).status).toBe(404)
  })

  it('answers a URL past the header limit with 431 in the error envelope', async () => {
    const response = await send(`/executions?cursor=${'a'.repeat(20_000)}`)
    expect(response.status).toBe(431)
    expect(await response.json()).toMatchObject({ success: false, error: { code: 'HEADERS_TOO_LARGE' } })
  })

  it('reports no remote when none is configured, and a pull or push without one is 409 GIT_NO_REMOTE', async () => {
    const status = await client.gitStatus()
    expect(status).not.toHaveProperty('remote')
    expect(status.ahead).toBeGreaterThan(0)
    for (const path of ['/git/pull', '/git/push']) {
      const response = await send(path, { method: 'POST' })
      expect(response.status, path).toBe(409)
      expect(await response.json()).toMatchObject({ error: { code: 'GIT_NO_REMOTE', details: { remote: 'origin' } } })
    }
  })

  it('refuses an API key that would expire in the past with 400 and leaves the key list readable', async () => {
    const response = await send('/keys', {
      method: 'POST',
      body: { name: 'old', role: 'viewer', expiresAt: '0020-02-29T00:00:00Z' },
    })
    expect(response.status).toBe(400)
    expect((await send('/keys')).status).toBe(200)
  })
  it('asks a commit for the blob of each pipeline it changes: 428 without it (nothing written), 201 with it or force', async () => {
    await client.createPipeline({ body: { name: 'batch-a', template: 'daily-revenue' } })
    const { document, blob } = await client.getPipeline({ params: { name: 'batch-a' } })
    const head = (await client.gitStatus()).commit
    const commit = (changes: unknown[], force?: boolean) =>
      send('/git/commit', {
        method: 'POST',
        body: { message: 'batch', changes, ...(force !== undefined ? { force } : {}) },
      })

    const blind = await commit([{ name: 'batch-a', document: { ...document, description: 'blind' } }])
    expect(blind.status).toBe(428)
    expect(await blind.json()).toMatchObject({
      error: { code: 'PRECONDITION_REQUIRED', details: { name: 'batch-a', currentBlob: blob } },
    })
    const blindDelete = await commit([{ name: 'batch-a', document: null }])
    expect(blindDelete.status).toBe(428)
    expect((await client.gitStatus()).commit).toBe(head)

    const missingDelete = await commit([{ name: 'no-such-pipeline', document: null }])
    expect(missingDelete.status).toBe(404)

    const checked = await commit([
      { name: 'batch-a', document: { ...document, description: 'checked' }, expected: blob },
      { name: 'batch-b', document: { ...document, name: 'batch-b' } },
    ])
    expect(checked.status).toBe(201)
    const forced = await commit([{ name: 'batch-a', document: { ...document, description: 'forced' } }], true)
    expect(forced.status).toBe(201)
    expect((await client.getPipeline({ params: { name: 'batch-a' } })).document['description']).toBe('forced')
  })
})
