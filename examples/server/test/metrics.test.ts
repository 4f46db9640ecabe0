// The example server serves Prometheus metrics at /metrics by default: never to anonymous callers, to the metrics
// token of SPARKLE_METRICS_TOKEN and to any API key, with the process's own metrics beside the studio's.
import { loadServerConfig } from '@sparkle-studio/server'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startServer } from '../src/main.ts'

const ADMIN_KEY = `sk_live_metrics_${'k'.repeat(40)}`
const METRICS_TOKEN = `prometheus-${'t'.repeat(40)}`

describe('the example server at /metrics', () => {
  let dir: TempDir
  let server: RunningServer

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-example-metrics-')
    server = await startServer({
      ...process.env,
      PORT: '0',
      SPARKLE_DATA_DIR: dir.path,
      SPARKLE_WORKER: 'off',
      SPARKLE_LOG_LEVEL: 'error',
      SPARKLE_ADMIN_KEY: ADMIN_KEY,
      SPARKLE_METRICS_TOKEN: METRICS_TOKEN,
    })
  })

  afterAll(async () => {
    await server?.stop()
    await dir?.remove()
  })

  const scrape = (authorization?: string, method = 'GET') =>
    fetch(`${server.url}/metrics`, { method, ...(authorization ? { headers: { authorization } } : {}) })

  it('answers the token and API keys, in the Prometheus text format, with process metrics', async () => {
    expect(
      (await fetch(`${server.url}/api/v1/pipelines`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status,
    ).toBe(200)
    for (const credential of [METRICS_TOKEN, ADMIN_KEY]) {
      const res = await scrape(`Bearer ${credential}`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
      const text = await res.text()
      expect(text).toContain('# TYPE sparkle_http_request_duration_seconds histogram')
      expect(text).toContain(
        'sparkle_http_request_duration_seconds_count{route="listPipelines",method="GET",status="200"} 1',
      )
      expect(text).toContain('# TYPE sparkle_queue_depth gauge')
      expect(text).toContain('# TYPE process_cpu_user_seconds_total counter')
    }
  })

  it('refuses anonymous callers and wrong tokens, and methods other than GET and HEAD', async () => {
    expect((await scrape()).status).toBe(401)
    expect((await scrape(`Bearer ${METRICS_TOKEN.slice(0, -1)}`)).status).toBe(401)
    expect((await scrape(`Bearer ${METRICS_TOKEN}`, 'DELETE')).status).toBe(405)
    const head = await scrape(`Bearer ${METRICS_TOKEN}`, 'HEAD')
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
  })

  it('takes SPARKLE_METRICS_TOKEN only when it is long enough', () => {
    expect(loadServerConfig({ SPARKLE_METRICS_TOKEN: METRICS_TOKEN }).metricsToken).toBe(METRICS_TOKEN)
    expect(loadServerConfig({}).metricsToken).toBeUndefined()
    expect(() => loadServerConfig({ SPARKLE_METRICS_TOKEN: 'short' })).toThrow(/SPARKLE_METRICS_TOKEN/)
  })
})
