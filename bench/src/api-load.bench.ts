// GET /components and GET /pipelines under load (autocannon), beside a bare Express JSON endpoint in the same run.

import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger, createStudio, studioRouter } from '@sparkle-studio/server'
import autocannon from 'autocannon'
import express from 'express'
import { type BenchResult, round, runIfMain } from './lib.ts'

const DURATION_S = 8
const CONNECTIONS = 20

/** The operator's admin key: authentication is on, as in production, and every request of the load carries it. */
const ADMIN_KEY = `sk_live_bench_${'k'.repeat(40)}`
const AUTHORIZATION = { authorization: `Bearer ${ADMIN_KEY}` }

async function load(url: string): Promise<{ rps: number; p99: number; errors: number; non2xx: number }> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION_S,
    pipelining: 1,
    headers: AUTHORIZATION,
  })
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors, non2xx: result.non2xx }
}

/** Runs the benchmark. */
export async function run(): Promise<BenchResult> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sparkle-bench-api-'))
  const studio = await createStudio({
    dataDir,
    logger: createLogger({ level: 'error' }),
    authentication: { adminKey: ADMIN_KEY },
  })
  const app = express()
  // A rate limit too high to refuse anything: one caller sending thousands of requests a second is what this measures,
  // and the limiter's bookkeeping stays in the figures.
  app.use('/api/v1', studioRouter(studio, { rateLimit: { requests: 1_000_000_000 } }))
  const httpServer = await new Promise<ReturnType<typeof app.listen>>((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s))
  })
  const server = { url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}` }
  for (let i = 0; i < 20; i++) {
    await fetch(`${server.url}/api/v1/pipelines`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...AUTHORIZATION },
      body: JSON.stringify({ name: `pipeline-${i}`, template: i % 2 ? 'daily-revenue' : 'customer-orders' }),
    })
  }
  // The anchor: a bare Express app answering a JSON body of the same size as GET /components.
  const componentsBody = await (await fetch(`${server.url}/api/v1/components`, { headers: AUTHORIZATION })).text()
  const pipelinesBody = await (await fetch(`${server.url}/api/v1/pipelines`, { headers: AUTHORIZATION })).text()
  const bare = express()
  bare.get('/components', (_req, res) => {
    res.type('json').send(componentsBody)
  })
  bare.get('/pipelines', (_req, res) => {
    res.type('json').send(pipelinesBody)
  })
  const bareServer = await new Promise<ReturnType<typeof bare.listen>>((r) => {
    const s = bare.listen(0, '127.0.0.1', () => r(s))
  })
  const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}`
  try {
    const rows = []
    for (const path of ['components', 'pipelines'] as const) {
      const ours = await load(`${server.url}/api/v1/${path}`)
      const anchor = await load(`${bareUrl}/${path}`)
      rows.push({
        metric: `GET /${path} throughput (${CONNECTIONS} connections, ${DURATION_S} s)`,
        value: round(ours.rps),
        unit: 'req/s',
        anchor: 'bare Express, same JSON body',
        anchorValue: round(anchor.rps),
        ratio: round(ours.rps / anchor.rps),
        ratioLabel: 'of the anchor',
      })
      rows.push({
        metric: `GET /${path} p99 latency`,
        value: ours.p99,
        unit: 'ms',
        anchor: 'bare Express, same JSON body',
        anchorValue: anchor.p99,
        ratio: round(ours.p99 / Math.max(anchor.p99, 1)),
        ratioLabel: 'x the anchor',
      })
      if (ours.errors + ours.non2xx > 0)
        throw new Error(`GET /${path}: ${ours.errors} errors, ${ours.non2xx} non-2xx answers`)
    }
    return {
      name: 'api: GET /components and GET /pipelines under load',
      rows,
      notes: [
        `GET /components returns ${componentsBody.length} bytes (the catalog summaries); GET /pipelines ${pipelinesBody.length} bytes (20 pipelines with last commits, read from git).`,
        'The anchor serves the same bytes from memory: the ratio is what authentication (an API key on every request), validation, the registry, the git store, request ids and logging cost. The rate limit is on, set too high to refuse anything.',
      ],
    }
  } finally {
    await new Promise<void>((r) => bareServer.close(() => r()))
    await new Promise<void>((r) => httpServer.close(() => r()))
    await studio.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}

await runIfMain(import.meta.url, run)
