// GET /metrics scraped over node:http and read by an independent Prometheus text-format parser, on PGlite and on
// PostgreSQL: the families and their types, the naming conventions (units, `_total`, bounded labels, no run ids), the
// figures (runs by status, queue depth, last success, run durations, requests by route, git writes, previews), and who
// may scrape (a metrics token, or any API key; nobody anonymous).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { StudioError } from '@sparkle-studio/core'
import { api } from '@sparkle-studio/core/contract'
import { createTestDatabase, makeTempDir, type TempDir, type TestDatabase } from '@sparkle-studio/test-utils'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger, createStudio, type Studio, studioMetricsHandler, studioNodeHandler } from '../src/index.ts'

/** One sample of a family as the parser answers it (histograms carry buckets, a count and a sum). */
interface ParsedSample {
  readonly labels?: Record<string, string>
  readonly value?: string
  readonly buckets?: Record<string, string>
  readonly count?: string
  readonly sum?: string
}

/** One metric family as the parser answers it. */
interface ParsedFamily {
  readonly name: string
  readonly help: string
  readonly type: string
  readonly metrics: readonly ParsedSample[]
}

const METRICS_TOKEN = 'metrics-token-0123456789abcdefghijklmnopqrstuvwxyz'

/** What each family must be: its type and the only label names it may carry. */
const EXPECTED: Readonly<Record<string, { readonly type: string; readonly labels: readonly string[] }>> = {
  sparkle_http_request_duration_seconds: { type: 'HISTOGRAM', labels: ['route', 'method', 'status'] },
  sparkle_preview_duration_seconds: { type: 'HISTOGRAM', labels: ['outcome'] },
  sparkle_git_write_duration_seconds: { type: 'HISTOGRAM', labels: ['operation', 'outcome'] },
  sparkle_run_store_query_failures_total: { type: 'COUNTER', labels: [] },
  sparkle_runs: { type: 'GAUGE', labels: ['pipeline', 'status'] },
  sparkle_runs_finished_total: { type: 'COUNTER', labels: ['pipeline', 'status'] },
  sparkle_queue_depth: { type: 'GAUGE', labels: [] },
  sparkle_queue_oldest_age_seconds: { type: 'GAUGE', labels: [] },
  sparkle_pipeline_last_success_timestamp_seconds: { type: 'GAUGE', labels: ['pipeline'] },
  sparkle_run_duration_seconds: { type: 'HISTOGRAM', labels: ['pipeline', 'status'] },
}

/** One sample line of the text format: `name{label="value",...} value [timestamp]`, read strictly. */
function sampleLine(line: string): { name: string; labels: Record<string, string>; value: number } {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)
  if (!head?.[1]) throw new Error(`not a sample line: ${line}`)
  const labels: Record<string, string> = {}
  let rest = line.slice(head[1].length)
  if (rest.startsWith('{')) {
    rest = rest.slice(1)
    for (;;) {
      if (rest.startsWith('}')) break
      const pair = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,?)/.exec(rest)
      if (!pair?.[1] || pair[2] === undefined) throw new Error(`bad label in: ${line}`)
      if (pair[1] in labels) throw new Error(`label ${pair[1]} twice in: ${line}`)
      labels[pair[1]] = pair[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
      rest = rest.slice(pair[0].length)
      if (!pair[3] && !rest.startsWith('}')) throw new Error(`labels not separated in: ${line}`)
    }
    rest = rest.slice(1)
  }
  const tail = /^ ([-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|Inf|NaN))(?: -?\d+)?$/.exec(rest)
  if (!tail?.[1]) throw new Error(`bad value in: ${line}`)
  return { name: head[1], labels, value: Number(tail[1].replace('Inf', 'Infinity')) }
}

/**
 * The text read by the package's parser (which checks every line and answers families, types and the samples of
 * counters and gauges), with each histogram's series read strictly here: the package folds a histogram's labelled
 * series into one.
 */
function parseExposition(text: string): ParsedFamily[] {
  const families = parsePrometheusTextFormat(text) as ParsedFamily[]
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))
  return families.map((f) => {
    if (f.type !== 'HISTOGRAM') return f
    const series = new Map<
      string,
      { labels: Record<string, string>; buckets: Record<string, string>; count?: string; sum?: string }
    >()
    for (const line of lines) {
      const sample = sampleLine(line)
      const suffix = sample.name.startsWith(`${f.name}_`) ? sample.name.slice(f.name.length + 1) : undefined
      if (suffix !== 'bucket' && suffix !== 'sum' && suffix !== 'count') continue
      const { le, ...labels } = sample.labels
      const key = JSON.stringify(Object.entries(labels).sort())
      const one = series.get(key) ?? { labels, buckets: {} }
      series.set(key, one)
      if (suffix === 'bucket') {
        if (le === undefined) throw new Error(`a bucket without le: ${line}`)
        one.buckets[le] = String(sample.value)
      } else one[suffix] = String(sample.value)
    }
    return { ...f, metrics: [...series.values()] }
  })
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function family(families: readonly ParsedFamily[], name: string): ParsedFamily {
  const found = families.find((f) => f.name === name)
  if (!found) throw new Error(`no family ${name} in the scrape`)
  return found
}

const hasLabels = (sample: ParsedSample, labels: Record<string, string>) =>
  Object.entries(labels).every(([k, v]) => sample.labels?.[k] === v)

/** The value of the one sample of `name` with `labels` (a histogram's count), or 0 when there is none. */
function sampleValue(families: readonly ParsedFamily[], name: string, labels: Record<string, string> = {}): number {
  const samples = family(families, name).metrics.filter((m) => hasLabels(m, labels))
  if (samples.length > 1) throw new Error(`${samples.length} samples of ${name} match ${JSON.stringify(labels)}`)
  const sample = samples[0]
  if (!sample) return 0
  return Number(sample.count ?? sample.value)
}

describe.each(['pglite', 'postgres'] as const)('GET /metrics on %s', (dialect) => {
  let dir: TempDir
  let database: TestDatabase | undefined
  let studio: Studio
  let other: Studio | undefined
  let apiUrl: string
  let metricsUrl: string
  let adminKey: string
  let viewerKey: string
  const servers: Server[] = []
  const opened = new Date()

  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${apiUrl}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })

  const scrape = async (authorization?: string) =>
    fetch(metricsUrl, authorization ? { headers: { authorization } } : {})

  const families = async (): Promise<ParsedFamily[]> => {
    const res = await scrape(`Bearer ${viewerKey}`)
    expect(res.status).toBe(200)
    return parseExposition(await res.text())
  }

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-metrics-')
    database = dialect === 'postgres' ? await createTestDatabase('sparkle_metrics') : undefined
    studio = await createStudio({
      dataDir: dir.path,
      logger: createLogger({ level: 'error' }),
      ...(database ? { databaseUrl: database.url } : {}),
      authentication: { bootstrap: false },
      // No Spark in this test: previews fail at once, and are counted as failed.
      spark: { runtime: () => Promise.reject(new StudioError('SPARK_UNAVAILABLE', 'no Spark in this test')) },
    })
    adminKey = (await studio.keys.create({ name: 'admin', role: 'admin', createdBy: 'test' })).secret
    viewerKey = (await studio.keys.create({ name: 'prometheus', role: 'viewer', createdBy: 'test' })).secret
    const apiServer = createServer(studioNodeHandler(studio))
    const metricsServer = createServer(studioMetricsHandler(studio, { token: METRICS_TOKEN }))
    servers.push(apiServer, metricsServer)
    apiUrl = await listen(apiServer)
    metricsUrl = `${await listen(metricsServer)}/metrics`

    // Two pipelines (two git saves), three reads of the list, a path no route has, a preview, four runs.
    for (const name of ['orders', 'users']) {
      const res = await call('POST', '/pipelines', { name, template: 'daily-revenue' })
      expect(res.status).toBe(201)
    }
    for (let i = 0; i < 3; i++) expect((await call('GET', '/pipelines')).status).toBe(200)
    expect((await call('GET', '/no-such-route/123')).status).toBe(404)
    expect((await call('POST', '/execute/dry-run', { pipeline: 'orders' })).status).toBeGreaterThanOrEqual(500)
    const runIds: string[] = []
    for (const pipeline of ['orders', 'orders', 'orders', 'users']) {
      const res = await call('POST', '/execute/run', { pipeline })
      expect(res.status).toBe(202)
      runIds.push(((await res.json()) as { data: { id: string } }).data.id)
    }
    expect((await call('POST', `/executions/${runIds[0]}/cancel`)).status).toBe(200)
    // A worker's part, through the queue's protocol: one orders run claimed and finished.
    const [claim] = await studio.queue.claim({ workerId: 'test-worker', limit: 1, leaseMs: 60_000 })
    if (!claim) throw new Error('nothing to claim')
    await studio.queue.finishAttempt(
      { runId: claim.run.id, attempt: claim.run.attempt, workerId: 'test-worker' },
      { status: 'succeeded' },
    )
  })

  afterAll(async () => {
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()))
    await other?.close()
    await studio?.close()
    await database?.drop()
    await dir?.remove()
  })

  it('refuses anonymous callers, a wrong token and a wrong key; takes the metrics token or any API key', async () => {
    const anonymous = await scrape()
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer')
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED')
    expect((await scrape(`Bearer ${METRICS_TOKEN}x`)).status).toBe(401)
    expect((await scrape(`Bearer wrong`)).status).toBe(401)
    expect((await scrape(`Bearer sk_live_${'x'.repeat(43)}`)).status).toBe(401)
    expect((await scrape(`Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}`)).status).toBe(401)
    for (const credential of [METRICS_TOKEN, viewerKey, adminKey]) {
      const res = await scrape(`Bearer ${credential}`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(await res.text()).toContain('# TYPE sparkle_queue_depth gauge')
    }
    // The token opens the metrics, never the API.
    const api = await fetch(`${apiUrl}/api/v1/pipelines`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    expect(api.status).toBe(401)
    const post = await fetch(metricsUrl, { method: 'POST', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
  })

  it('answers every family with its type, its unit in the name, counters in _total and bounded labels', async () => {
    const parsed = await families()
    for (const [name, { type }] of Object.entries(EXPECTED)) expect(family(parsed, name).type).toBe(type)
    const routeNames = new Set([...Object.keys(api), 'unmatched'])
    for (const f of parsed) {
      expect(f.name).toMatch(/^sparkle_[a-z][a-z0-9_]*[a-z0-9]$/)
      expect(f.help.length).toBeGreaterThan(10)
      if (f.type === 'COUNTER') expect(f.name).toMatch(/_total$/)
      else expect(f.name).not.toMatch(/_total$/)
      if (f.type === 'HISTOGRAM') expect(f.name).toMatch(/_seconds$/)
      if (f.name.includes('age') || f.name.includes('timestamp')) expect(f.name).toMatch(/_seconds$/)
      const allowed = new Set([...(EXPECTED[f.name]?.labels ?? []), ...(f.type === 'HISTOGRAM' ? ['le'] : [])])
      for (const sample of f.metrics) {
        for (const label of Object.keys(sample.labels ?? {})) {
          expect(label).not.toMatch(/(^|_)id$|run/i)
          expect(allowed.has(label), `${f.name} has label ${label}`).toBe(true)
        }
        // No label value is a run id (UUIDs): runs are counted, never named.
        for (const value of Object.values(sample.labels ?? {})) expect(value).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/i)
        if (f.name === 'sparkle_http_request_duration_seconds') {
          expect(routeNames.has(sample.labels?.['route'] ?? '')).toBe(true)
          expect(sample.labels?.['status']).toMatch(/^\d{3}$/)
        }
        if (f.type === 'HISTOGRAM') {
          const counts = Object.entries(sample.buckets ?? {})
            .map(([le, n]) => [le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), Number(n)] as const)
            .sort((a, b) => a[0] - b[0])
          expect(counts.at(-1)?.[0]).toBe(Number.POSITIVE_INFINITY)
          expect(counts.at(-1)?.[1]).toBe(Number(sample.count))
          for (let i = 1; i < counts.length; i++) expect(counts[i]?.[1]).toBeGreaterThanOrEqual(counts[i - 1]?.[1] ?? 0)
        }
      }
    }
  })

  it('counts the runs by pipeline and status as the run store holds them, and the queue', async () => {
    const parsed = await families()
    const queued = await studio.runs.list({ status: ['queued', 'retrying'], limit: 500 })
    expect(queued.runs.length).toBe(2)
    expect(sampleValue(parsed, 'sparkle_queue_depth')).toBe(queued.runs.length)
    expect(sampleValue(parsed, 'sparkle_runs', { pipeline: 'orders', status: 'queued' })).toBe(1)
    expect(sampleValue(parsed, 'sparkle_runs', { pipeline: 'users', status: 'queued' })).toBe(1)
    expect(family(parsed, 'sparkle_runs').metrics.length).toBe(2)
    expect(sampleValue(parsed, 'sparkle_runs_finished_total', { pipeline: 'orders', status: 'cancelled' })).toBe(1)
    expect(sampleValue(parsed, 'sparkle_runs_finished_total', { pipeline: 'orders', status: 'succeeded' })).toBe(1)
    expect(family(parsed, 'sparkle_runs_finished_total').metrics.length).toBe(2)
    const age = sampleValue(parsed, 'sparkle_queue_oldest_age_seconds')
    expect(age).toBeGreaterThan(0)
    expect(age).toBeLessThanOrEqual((Date.now() - opened.getTime()) / 1000 + 1)
    const succeeded = (await studio.runs.list({ pipeline: 'orders', status: 'succeeded' })).runs[0]
    expect(sampleValue(parsed, 'sparkle_pipeline_last_success_timestamp_seconds', { pipeline: 'orders' })).toBeCloseTo(
      (succeeded?.finishedAt?.getTime() ?? 0) / 1000,
      2,
    )
    expect(family(parsed, 'sparkle_pipeline_last_success_timestamp_seconds').metrics.length).toBe(1)
    // The cancelled run never started: only the finished run that ran has a duration.
    expect(sampleValue(parsed, 'sparkle_run_duration_seconds', { pipeline: 'orders', status: 'succeeded' })).toBe(1)
    expect(family(parsed, 'sparkle_run_duration_seconds').metrics.length).toBe(1)
    expect(sampleValue(parsed, 'sparkle_run_store_query_failures_total')).toBe(0)
  })

  it('times API requests by route name, git writes and previews where they happen', async () => {
    const parsed = await families()
    const requests = 'sparkle_http_request_duration_seconds'
    expect(sampleValue(parsed, requests, { route: 'listPipelines', method: 'GET', status: '200' })).toBe(3)
    expect(sampleValue(parsed, requests, { route: 'createPipeline', method: 'POST', status: '201' })).toBe(2)
    expect(sampleValue(parsed, requests, { route: 'run', method: 'POST', status: '202' })).toBe(4)
    expect(sampleValue(parsed, requests, { route: 'cancelExecution', method: 'POST', status: '200' })).toBe(1)
    expect(sampleValue(parsed, requests, { route: 'unmatched', method: 'GET', status: '404' })).toBe(1)
    expect(sampleValue(parsed, 'sparkle_git_write_duration_seconds', { operation: 'save', outcome: 'committed' })).toBe(
      2,
    )
    expect(sampleValue(parsed, 'sparkle_preview_duration_seconds', { outcome: 'error' })).toBe(1)
    expect(sampleValue(parsed, 'sparkle_preview_duration_seconds', { outcome: 'ok' })).toBe(0)

    // Another save through the API is one more git write and one more request of its route.
    const current = (await (await call('GET', '/pipelines/users')).json()) as {
      data: { document: object; blob: string }
    }
    const saved = await fetch(`${apiUrl}/api/v1/pipelines/users`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${adminKey}`,
        'content-type': 'application/json',
        'if-match': `"${current.data.blob}"`,
      },
      body: JSON.stringify({ document: { ...current.data.document, description: 'Users, daily' } }),
    })
    expect(saved.status).toBe(200)
    const after = await families()
    expect(sampleValue(after, 'sparkle_git_write_duration_seconds', { operation: 'save', outcome: 'committed' })).toBe(
      3,
    )
    expect(sampleValue(after, requests, { route: 'savePipeline', method: 'PUT', status: '200' })).toBe(1)
  })

  // The other studio is on PGlite in both passes: its registry is the studio's, whatever the run store.
  it('keeps each studio in a registry of its own', async () => {
    const otherDir = await makeTempDir('sparkle-metrics-other-')
    try {
      other = await createStudio({
        dataDir: otherDir.path,
        logger: createLogger({ level: 'error' }),
        authentication: { bootstrap: false },
        metrics: { processMetrics: true },
      })
      const text = (await other.metrics.scrape()).text
      const parsed = parseExposition(text)
      expect(sampleValue(parsed, 'sparkle_queue_depth')).toBe(0)
      expect(family(parsed, 'sparkle_http_request_duration_seconds').metrics).toEqual([])
      expect(family(parsed, 'process_cpu_user_seconds_total').type).toBe('COUNTER')
      expect(studio.metrics.registry).not.toBe(other.metrics.registry)
      expect((await studio.metrics.scrape()).text).not.toContain('process_cpu_user_seconds_total')
    } finally {
      await other?.close()
      other = undefined
      await otherDir.remove()
    }
  })
})
