// GET /pipelines under load (autocannon) while the cap's worth of event streams (SSE) are open on queued runs,
// beside the same load with no stream open, in the same run, on PostgreSQL and on the embedded database.

import { mkdtemp, rm } from 'node:fs/promises'
import { Agent, type ClientRequest, createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger, createStudio, type Principal, studioNodeHandler } from '@sparkle-studio/server'
import autocannon from 'autocannon'
import { type BenchResult, type BenchRow, round, runIfMain, withDatabase } from './lib.ts'

const DURATION_S = 5
const CONNECTIONS = 10
/** The default caps: 1,000 streams in total, 20 per caller (so 50 callers hold them). */
const STREAMS = 1000
const PER_CALLER = 20

async function load(url: string): Promise<{ p99: number; p50: number; rps: number; bad: number }> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, pipelining: 1 })
  return {
    p99: result.latency.p99,
    p50: result.latency.p50,
    rps: result.requests.average,
    bad: result.errors + result.non2xx,
  }
}

const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY })

/** Opens one event stream; resolves with the request (to close it) once the answer's headers are in. */
function openStream(base: string, runId: string, caller: string): Promise<{ status: number; req: ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/api/v1/executions/${runId}/events`, { agent, headers: { 'x-bench-caller': caller } })
    req.on('response', (res) => {
      res.on('error', () => {})
      res.resume()
      resolve({ status: res.statusCode ?? 0, req })
    })
    req.on('error', reject)
    req.end()
  })
}

interface Figures {
  readonly idle: Awaited<ReturnType<typeof load>>
  readonly busy: Awaited<ReturnType<typeof load>>
  readonly open: number
}

/** One studio: the load with no stream open, then with `count` streams open. */
async function measure(databaseUrl: string | undefined, count: number): Promise<Figures> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sparkle-bench-sse-'))
  const studio = await createStudio({
    dataDir,
    ...(databaseUrl ? { databaseUrl } : {}),
    logger: createLogger({ level: 'error' }),
    // One principal per caller header, so that the per-caller cap lets the total cap fill.
    authenticate: (req): Principal => ({
      id: req.header('x-bench-caller') ?? 'bench',
      name: 'bench',
      role: 'admin',
      via: 'host',
    }),
  })
  // The default caps, and a rate limit too high to refuse anything (its bookkeeping stays in the figures).
  const server: Server = createServer(studioNodeHandler(studio, { rateLimit: { requests: 1_000_000_000 } }))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', 2048, () => r()))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const streams: ClientRequest[] = []
  try {
    const post = (path: string, body: unknown) =>
      fetch(`${base}/api/v1${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    for (let i = 0; i < 20; i++) {
      await post('/pipelines', { name: `pipeline-${i}`, template: i % 2 ? 'daily-revenue' : 'customer-orders' })
    }
    // No worker: the run stays queued, and its streams stay open (each polls the run store every 250 ms).
    const run = (await (
      await post('/execute/run', { pipeline: 'pipeline-0', params: { ds: '2026-11-01' } })
    ).json()) as {
      data: { id: string }
    }
    const url = `${base}/api/v1/pipelines`
    await load(url) // warm-up
    const idle = await load(url)
    for (let start = 0; start < count; start += 100) {
      const batch = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          openStream(base, run.data.id, `caller-${Math.floor((start + i) / PER_CALLER)}`),
        ),
      )
      for (const s of batch) {
        if (s.status === 200) streams.push(s.req)
        else s.req.destroy()
      }
    }
    await new Promise((r) => setTimeout(r, 1000))
    const busy = await load(url)
    return { idle, busy, open: streams.length }
  } finally {
    for (const s of streams) s.destroy()
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
    await studio.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}

/** Runs the benchmark. */
export async function run(): Promise<BenchResult> {
  const rows: BenchRow[] = []
  const notes: string[] = []
  const setups: [string, () => Promise<Figures>][] = [
    ['PostgreSQL', () => withDatabase('sparkle_bench_sse', (url) => measure(url, STREAMS))],
    ['embedded PGlite', () => measure(undefined, STREAMS)],
    // A tenth of the cap, to show what the embedded database takes.
    ['embedded PGlite', () => measure(undefined, STREAMS / 10)],
  ]
  for (const [label, setup] of setups) {
    const f = await setup()
    if (f.idle.bad + f.busy.bad > 0) {
      throw new Error(`${label}: ${f.idle.bad} + ${f.busy.bad} failed or non-2xx answers`)
    }
    rows.push({
      metric: `GET /pipelines p99 latency, ${f.open} SSE streams open (${label})`,
      value: f.busy.p99,
      unit: 'ms',
      anchor: 'same studio, no stream open',
      anchorValue: f.idle.p99,
      ratio: round(f.busy.p99 / Math.max(f.idle.p99, 1)),
      ratioLabel: 'x the anchor',
    })
    rows.push({
      metric: `GET /pipelines throughput, ${f.open} SSE streams open (${label})`,
      value: round(f.busy.rps),
      unit: 'req/s',
      anchor: 'same studio, no stream open',
      anchorValue: round(f.idle.rps),
      ratio: round(f.busy.rps / f.idle.rps),
      ratioLabel: 'of the anchor',
    })
    notes.push(`${label}: p50 ${f.idle.p50} ms idle, ${f.busy.p50} ms with ${f.open} streams open.`)
  }
  return {
    name: 'api: GET /pipelines while the cap of SSE streams is open',
    rows,
    notes: [
      `autocannon, ${CONNECTIONS} connections, ${DURATION_S} s per figure; ${STREAMS} streams (the default cap, ${PER_CALLER} per caller; also a tenth of it on the embedded database) on a queued run, each polling the run store every 250 ms; the stream clients, autocannon and the server share one process.`,
      ...notes,
    ],
  }
}

await runIfMain(import.meta.url, run)
