// 2,000 attempts to open the event stream of a run that never finishes: the caps hold (per caller and in total),
// the rest are refused with 429, the server keeps answering other requests, and closed streams free their slots.
import { type ClientRequest, createServer, type IncomingMessage, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createTestDatabase, makeTempDir, type TempDir, type TestDatabase } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger, createStudio, type Studio, studioNodeHandler } from '../src/index.ts'
import { agent, send, testPrincipal } from './safety-http.ts'

const ATTEMPTS = 2000
const BATCH = 200
const CALLERS = 50
const MAX_STREAMS = 100
const MAX_PER_CALLER = 20

interface Attempt {
  readonly status: number
  readonly req: ClientRequest
  readonly res: IncomingMessage
  readonly body: Promise<string>
}

/** Opens the event stream; resolves when the answer's headers arrive (a 200 stays open, draining its events). */
function openStream(base: string, runId: string, caller: string): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/api/v1/executions/${runId}/events`,
      { agent, headers: { 'x-test-caller': caller, 'x-test-role': 'viewer', accept: 'text/event-stream' } },
      (res) => {
        const status = res.statusCode ?? 0
        let body: Promise<string>
        if (status === 200) {
          res.on('error', () => {})
          res.resume()
          body = Promise.resolve('')
        } else {
          body = new Promise((r) => {
            const chunks: Buffer[] = []
            res.on('data', (c: Buffer) => chunks.push(c))
            res.on('end', () => r(Buffer.concat(chunks).toString('utf8')))
          })
        }
        resolve({ status, req, res, body })
      },
    )
    req.on('error', reject)
    req.end()
  })
}

describe('caps on event streams under 2,000 connection attempts', () => {
  let dir: TempDir
  let database: TestDatabase
  let studio: Studio
  let server: Server
  let base: string
  let runId: string

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-safety-streams-')
    database = await createTestDatabase('sparkle_safety_streams')
    studio = await createStudio({
      dataDir: dir.path,
      databaseUrl: database.url,
      logger: createLogger({ level: 'error' }),
      authenticate: (req) => testPrincipal((h) => req.header(h)),
    })
    server = createServer(studioNodeHandler(studio, { maxStreams: MAX_STREAMS, maxStreamsPerCaller: MAX_PER_CALLER }))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', 1024, () => r()))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const json = { 'content-type': 'application/json' }
    const created = await send(base, '/api/v1/pipelines', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'streamed', template: 'daily-revenue' }),
    })
    expect(created.status).toBe(201)
    // No worker runs here: the run stays queued, and its stream stays open.
    const run = await send(base, '/api/v1/execute/run', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ pipeline: 'streamed', params: { ds: '2026-11-01' } }),
    })
    runId = (run.json as { data: { id: string } }).data.id
    expect(runId).toBeTruthy()
  })

  afterAll(async () => {
    server?.closeAllConnections()
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
    await studio?.close()
    await database?.drop()
    await dir?.remove()
  })

  it('keeps at most the cap open, refuses the rest with 429 and stays responsive', async () => {
    const open: Attempt[] = []
    const refused: Attempt[] = []
    const readLatencies: number[] = []
    try {
      for (let start = 0; start < ATTEMPTS; start += BATCH) {
        const batch = await Promise.all(
          // Each caller's attempts come together, so that the first ones meet the per-caller cap, the later ones the total.
          Array.from({ length: BATCH }, (_, i) =>
            openStream(base, runId, `caller-${Math.floor((start + i) / (ATTEMPTS / CALLERS))}`),
          ),
        )
        for (const a of batch) (a.status === 200 ? open : refused).push(a)
        // The server answers other requests during the load.
        const t0 = performance.now()
        const list = await send(base, '/api/v1/pipelines')
        readLatencies.push(performance.now() - t0)
        expect(list.status).toBe(200)
      }
      const codes = new Map<string, number>()
      for (const a of refused) {
        const body = JSON.parse(await a.body) as { error: { code: string } }
        codes.set(`${a.status} ${body.error.code}`, (codes.get(`${a.status} ${body.error.code}`) ?? 0) + 1)
        const retry = Number(a.res.headers['retry-after'])
        expect(retry).toBeGreaterThanOrEqual(1)
        expect(retry).toBeLessThanOrEqual(5)
      }
      const perCaller = new Map<string, number>()
      for (const a of open) {
        const caller = String(a.req.getHeader('x-test-caller'))
        perCaller.set(caller, (perCaller.get(caller) ?? 0) + 1)
      }
      readLatencies.sort((x, y) => x - y)
      console.log(
        `safety (streams): ${ATTEMPTS} attempts by ${CALLERS} callers (cap ${MAX_STREAMS} total, ${MAX_PER_CALLER} per caller): ` +
          `${open.length} open, ${refused.length} refused (${[...codes].map(([k, n]) => `${n} x ${k}`).join(', ')}); ` +
          `most per caller ${Math.max(...perCaller.values())}; GET /pipelines during the load: median ` +
          `${Math.round(readLatencies[Math.floor(readLatencies.length / 2)] ?? 0)} ms, max ${Math.round(readLatencies.at(-1) ?? 0)} ms`,
      )
      expect(open.length).toBe(MAX_STREAMS)
      expect(refused.length).toBe(ATTEMPTS - MAX_STREAMS)
      expect([...codes.keys()]).toEqual(['429 RATE_LIMITED'])
      expect(Math.max(...perCaller.values())).toBe(MAX_PER_CALLER)
      // The open streams are live: each got the stream's first comment.
      const first = open[0] as Attempt
      expect(first.res.headers['content-type']).toMatch(/^text\/event-stream/)
    } finally {
      for (const a of open) a.req.destroy()
    }
    // Closed streams give their slots back (a stream notices its client left within one poll, 250 ms).
    const deadline = Date.now() + 15_000
    let reopened: Attempt[] = []
    do {
      for (const a of reopened) a.req.destroy()
      await new Promise((r) => setTimeout(r, 1000))
      reopened = await Promise.all(
        Array.from({ length: MAX_STREAMS }, (_, i) =>
          openStream(base, runId, `again-${i % (MAX_STREAMS / MAX_PER_CALLER)}`),
        ),
      )
    } while (!reopened.every((a) => a.status === 200) && Date.now() < deadline)
    const reopenedOk = reopened.filter((a) => a.status === 200).length
    for (const a of reopened) a.req.destroy()
    console.log(`safety (streams): after closing them all, ${reopenedOk} of ${MAX_STREAMS} open again`)
    expect(reopenedOk).toBe(MAX_STREAMS)
  })
})
