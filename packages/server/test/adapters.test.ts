// One studio served through each adapter (Express, node:http, fetch): the typed client gets the same answers from
// all three, bad input gets the same typed errors, roles are checked, and the event stream ends with the run.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ApiConflictError, ApiError, createStudioClient, type StudioClient } from '@sparkle-studio/client'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createLogger,
  createStudio,
  type Principal,
  type Studio,
  studioFetchHandler,
  studioNodeHandler,
  studioRouter,
} from '../src/index.ts'

/** The test's authenticator: the role comes from a header; `none` is anonymous. */
function principalFrom(role: string | undefined): Principal | null {
  if (role === 'none') return null
  const r = role === 'viewer' || role === 'editor' ? role : 'admin'
  return { id: `test-${r}`, name: `test ${r}`, role: r, via: 'host' }
}

interface Mounted {
  readonly name: string
  /** Base URL of the API (…/api/v1 is added by the client). */
  readonly baseUrl: string
  readonly fetch: typeof globalThis.fetch
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('the studio through Express, node:http and fetch', () => {
  let dir: TempDir
  let studio: Studio
  const servers: Server[] = []
  const mounts: Mounted[] = []

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-adapters-')
    studio = await createStudio({
      dataDir: dir.path,
      logger: createLogger({ level: 'error' }),
      authenticate: (req) => principalFrom(req.header('x-test-role')),
    })
    const app = express()
    app.use('/api/v1', studioRouter(studio, { bodyLimit: 64 * 1024 }))
    const expressServer = createServer(app)
    const nodeServer = createServer(studioNodeHandler(studio, { bodyLimit: 64 * 1024 }))
    servers.push(expressServer, nodeServer)
    mounts.push({ name: 'express', baseUrl: await listen(expressServer), fetch: globalThis.fetch })
    mounts.push({ name: 'node:http', baseUrl: await listen(nodeServer), fetch: globalThis.fetch })
    const handle = studioFetchHandler(studio, { bodyLimit: 64 * 1024, allowedHosts: ['studio.test'] })
    mounts.push({
      name: 'fetch',
      baseUrl: 'http://studio.test',
      fetch: (input, init) => handle(new Request(input, init)),
    })
  })

  afterAll(async () => {
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()))
    await studio?.close()
    await dir?.remove()
  })

  const clientOf = (m: Mounted, role?: string): StudioClient =>
    createStudioClient({
      baseUrl: m.baseUrl,
      fetch: m.fetch,
      timeout: 60_000,
      ...(role ? { headers: { 'x-test-role': role } } : {}),
    })

  it.each(['express', 'node:http', 'fetch'])('serves the contract through %s', async (name) => {
    const m = mounts.find((x) => x.name === name)
    if (!m) throw new Error(`no mount ${name}`)
    const client = clientOf(m)
    const components = await client.listComponents()
    expect(components.length).toBeGreaterThanOrEqual(32)

    const pipeline = `p-${name.replace(/\W/g, '')}`
    const created = await client.createPipeline({ body: { name: pipeline, template: 'daily-revenue' } })
    expect(created.revision).toMatch(/^[0-9a-f]{40}$/)
    expect(created.commit.commit).toBe(created.revision)
    expect(created.commit.message).toBe(`Create ${pipeline} from template daily-revenue`)
    const read = await client.getPipeline({ params: { name: pipeline } })
    expect(read.blob).toBe(created.blob)

    // A save with a stale If-Match is a typed conflict; the branch does not move.
    const saved = await client.savePipeline({
      params: { name: pipeline },
      headers: { 'if-match': `"${read.blob}"` },
      body: { document: { ...read.document, description: 'changed' } },
    })
    await expect(
      client.savePipeline({
        params: { name: pipeline },
        headers: { 'if-match': read.blob },
        body: { document: { ...read.document, description: 'lost update' } },
      }),
    ).rejects.toBeInstanceOf(ApiConflictError)
    expect((await client.getPipeline({ params: { name: pipeline } })).revision).toBe(saved.revision)

    // A queued run, cancelled: the event stream ends with the run's final status.
    const run = await client.run({ body: { pipeline, params: { ds: '2026-11-01' } } })
    await client.cancelExecution({ params: { id: run.id } })
    const events: string[] = []
    let final: unknown
    for await (const e of client.streamExecutionEvents(run.id)) {
      events.push(e.event)
      if (e.event === 'end') final = e.data
    }
    expect(events.at(-1)).toBe('end')
    expect(final).toMatchObject({ status: 'cancelled' })
  })

  it.each(['express', 'node:http', 'fetch'])('answers bad requests through %s with typed envelopes', async (name) => {
    const m = mounts.find((x) => x.name === name)
    if (!m) throw new Error(`no mount ${name}`)
    const send = async (path: string, init: RequestInit = {}) => {
      const response = await m.fetch(`${m.baseUrl}${path}`, init)
      const body = (await response.json()) as { success: boolean; error: { code: string; message: string } }
      return { status: response.status, ...body }
    }
    expect(await send('/api/v1/no-such-route')).toMatchObject({ status: 404, error: { code: 'NOT_FOUND' } })
    // Outside the mount point, Express answers for the host app; the other adapters answer themselves.
    if (name !== 'express') {
      expect(await send('/elsewhere')).toMatchObject({ status: 404, error: { code: 'NOT_FOUND' } })
    }
    // A form post (what a cross-site page can send without a preflight) is refused, whatever route.
    const form = await send('/api/v1/git/push', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'branch=main',
    })
    expect(form).toMatchObject({ status: 415, error: { code: 'UNSUPPORTED_MEDIA_TYPE' } })
    expect(form.error.message).toMatch(/application\/json/)
    const notJson = await send('/api/v1/pipelines', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name": ',
    })
    expect(notJson).toMatchObject({
      status: 400,
      error: { code: 'BAD_REQUEST', message: 'The body is not valid JSON' },
    })
    const huge = await send('/api/v1/pipelines', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', document: { pad: 'x'.repeat(100 * 1024) } }),
    })
    expect(huge).toMatchObject({ status: 413, error: { code: 'PAYLOAD_TOO_LARGE' } })
    const badEncoding = await send('/api/v1/pipelines/%E0%A4%A')
    expect(badEncoding).toMatchObject({ status: 400, error: { code: 'BAD_REQUEST' } })
  })

  it.each(['express', 'node:http', 'fetch'])('checks the role each route declares through %s', async (name) => {
    const m = mounts.find((x) => x.name === name)
    if (!m) throw new Error(`no mount ${name}`)
    const viewer = clientOf(m, 'viewer')
    expect((await viewer.listPipelines()).length).toBeGreaterThanOrEqual(0)
    const refused = await viewer
      .createPipeline({ body: { name: 'by-viewer', template: 'daily-revenue' } })
      .catch((e) => e)
    expect(refused).toBeInstanceOf(ApiError)
    expect(refused).toMatchObject({ status: 403, code: 'FORBIDDEN' })
    expect(String(refused.message)).toContain('createPipeline needs the editor role')
    const anonymous = await clientOf(m, 'none')
      .listPipelines()
      .catch((e) => e)
    expect(anonymous).toMatchObject({ status: 401, code: 'UNAUTHORIZED' })
    // Nothing was written by the refused call.
    await expect(clientOf(m).getPipeline({ params: { name: 'by-viewer' } })).rejects.toMatchObject({ status: 404 })
  })

  it('gives hosts the same use cases without HTTP, roles included', async () => {
    const viewer = principalFrom('viewer') as Principal
    const list = await studio.api.listPipelines({ query: {} }, { principal: viewer })
    expect(list.map((p) => p.name)).toEqual(expect.arrayContaining(['p-express', 'p-nodehttp', 'p-fetch']))
    await expect(
      studio.api.deletePipeline({ params: { name: 'p-express' }, headers: {} }, { principal: viewer }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' })
  })
})
