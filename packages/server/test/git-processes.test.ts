// Saving through the API starts no more git processes than the store's own save: the use case answers with the
// commit summary the store returns, and reads nothing back from history.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createStudioClient } from '@sparkle-studio/client'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger, createStudio, type Studio, studioNodeHandler } from '../src/index.ts'

describe('git processes of a save through the API', () => {
  let dir: TempDir
  let studio: Studio
  let server: Server
  let started: string[] = []

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-git-processes-')
    studio = await createStudio({
      dataDir: dir.path,
      logger: createLogger({ level: 'error' }),
      repository: { onGitProcess: (args) => started.push(args[0] ?? '') },
      authentication: { bootstrap: false },
    })
    server = createServer(studioNodeHandler(studio))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  })

  afterAll(async () => {
    await new Promise<void>((r) => server?.close(() => r()))
    await studio?.close()
    await dir?.remove()
  })

  async function processesOf(fn: () => Promise<unknown>): Promise<string[]> {
    started = []
    await fn()
    return started.sort()
  }

  it('starts the same git processes as the store save, and answers the commit it made', async () => {
    const { secret } = await studio.keys.create({ name: 'test', role: 'editor', createdBy: 'test' })
    const client = createStudioClient({
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      headers: { authorization: `Bearer ${secret}` },
    })
    // Warm up: the first write starts the store's long-lived reader.
    await client.createPipeline({ body: { name: 'orders', template: 'daily-revenue' } })
    await client.createPipeline({ body: { name: 'refunds', template: 'customer-orders' } })

    const direct = await studio.pipelines.get('refunds')
    const store = await processesOf(() =>
      studio.pipelines.save('refunds', { ...direct.document, description: 'v2' }, { expected: direct.blob }),
    )

    const read = await client.getPipeline({ params: { name: 'orders' } })
    let saved: Awaited<ReturnType<typeof client.savePipeline>> | undefined
    const api = await processesOf(async () => {
      saved = await client.savePipeline({
        params: { name: 'orders' },
        headers: { 'if-match': read.blob },
        body: { document: { ...read.document, description: 'v2' }, message: 'Describe orders' },
      })
    })
    console.log(`git processes: store save ${store.length} (${store.join(', ')}), API save ${api.length}`)
    expect(store).toHaveLength(5)
    expect(api).toEqual(store)
    expect(saved?.commit).toMatchObject({ commit: saved?.revision, message: 'Describe orders' })

    // What the API answered is what git's own tools say about the branch head.
    const [head] = await studio.pipelines.history('orders', { limit: 1 })
    expect(head).toMatchObject({ commit: saved?.revision, message: 'Describe orders' })
    expect(saved?.commit.date).toBe(head?.date)
  })
})
