// End to end through the typed client: the real server (Express), its embedded worker, Spark, a git repository,
// PostgreSQL, and a GitHub API stand-in for the pull request. Twice: with runs through spark-submit on this machine
// (local), and with SPARK_REMOTE pointing at a Spark Connect server (started from the installed Spark, with a token).
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ApiConflictError, createStudioClient, type StudioClient } from '@sparkle-studio/client'
import { sampleOrders } from '@sparkle-studio/server'
import { findSparkRuntime } from '@sparkle-studio/spark'
import { type SparkConnectServer, startSparkConnectServer } from '@sparkle-studio/spark/connect'
import { createTestDatabase, makeTempDir, type TempDir, type TestDatabase } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GitHubStandIn, startGitHubStandIn } from '../../../packages/git/test/github-stand-in.ts'
import { type RunningServer, startServer } from '../src/main.ts'

/** The operator's admin key (SPARKLE_ADMIN_KEY): authentication is on, as in production. */
const ADMIN_KEY = `sk_live_e2e_${'k'.repeat(40)}`

/** What the daily-revenue template must write for a day: paid orders summed per customer. */
function expectedRevenue(day: string) {
  const per = new Map<number, { orders: number; revenue: number }>()
  for (const o of sampleOrders(day)) {
    if (o.status !== 'paid') continue
    const c = per.get(o.customer_id) ?? { orders: 0, revenue: 0 }
    c.orders++
    c.revenue += o.amount
    per.set(o.customer_id, c)
  }
  return [...per.entries()]
    .sort(([a], [b]) => a - b)
    .map(([customer_id, c]) => ({ customer_id, orders: c.orders, revenue: Math.round(c.revenue * 100) / 100 }))
}

describe.each([{ backend: 'spark-submit' as const }, { backend: 'connect' as const }])(
  'Sparkle Studio end to end (real server, worker, Spark through $backend, git, PostgreSQL)',
  ({ backend }) => {
    let connect: SparkConnectServer | undefined
    let dir: TempDir
    let db: TestDatabase
    let github: GitHubStandIn
    let server: RunningServer
    let client: StudioClient

    beforeAll(async () => {
      dir = await makeTempDir('sparkle-e2e-')
      const token = `e2e-${'t'.repeat(24)}`
      if (backend === 'connect') connect = await startSparkConnectServer({ runtime: await findSparkRuntime(), token })
      db = await createTestDatabase(`sparkle_e2e_${backend.replace('-', '_')}`)
      github = await startGitHubStandIn({ token: 'gh-test-token', owner: 'acme', repo: 'pipelines' })
      server = await startServer({
        ...process.env,
        PORT: '0',
        SPARKLE_DATA_DIR: dir.path,
        DATABASE_URL: db.url,
        SPARKLE_WORKER: 'embedded',
        SPARKLE_LOG_LEVEL: 'warn',
        SPARKLE_PR_PROVIDER: 'github',
        SPARKLE_PR_REPO: 'acme/pipelines',
        SPARKLE_PR_TOKEN: 'gh-test-token',
        SPARKLE_PR_API_URL: github.apiUrl,
        SPARKLE_ADMIN_KEY: ADMIN_KEY,
        SPARKLE_PIPELINE_BUDGETS: 'revenue=100000',
        ...(connect ? { SPARK_REMOTE: `${connect.url}/;token=${token}` } : {}),
      })
      client = createStudioClient({ baseUrl: server.url, timeout: 120_000, token: ADMIN_KEY })
    })

    afterAll(async () => {
      await server?.stop()
      await connect?.stop()
      await github?.close()
      await db?.drop()
      await dir?.remove()
    })

    /** Reads the run's SSE stream to its end and returns the final status. */
    async function follow(runId: string): Promise<{ final: string; events: string[] }> {
      const events: string[] = []
      let final = ''
      for await (const e of client.streamExecutionEvents(runId)) {
        events.push(e.event)
        if (e.event === 'end') final = String((e.data as { status: string }).status)
      }
      return { final, events }
    }

    it('creates, validates, previews, saves, runs, backfills and opens a pull request', async () => {
      const health = await client.health()
      expect(health.checks).toMatchObject({
        spark: { ok: true, backend },
        git: { ok: true },
        database: { ok: true, dialect: 'postgres' },
      })

      // Create from a template, validate.
      const created = await client.createPipeline({ body: { name: 'revenue', template: 'daily-revenue' } })
      expect(created.revision).toMatch(/^[0-9a-f]{40}$/)
      expect(await client.validatePipeline({ params: { name: 'revenue' } })).toEqual({ valid: true, issues: [] })

      // Dry-run: rows per node on the warm preview session.
      const preview = await client.dryRun({ body: { pipeline: 'revenue', params: { ds: '2026-11-02' }, limit: 50 } })
      const byNode = new Map(preview.nodes.map((n) => [n.nodeId, n]))
      expect(byNode.get('orders')?.rows).toHaveLength(sampleOrders('2026-11-02').length)
      expect(byNode.get('paid')?.rows).toHaveLength(
        sampleOrders('2026-11-02').filter((o) => o.status === 'paid').length,
      )
      expect(byNode.get('revenue')?.schema?.map((c) => c.name)).toEqual([
        'order_date',
        'customer_id',
        'orders',
        'revenue',
      ])
      expect(byNode.has('out')).toBe(false)

      // Save twice; a stale If-Match is a 409.
      const first = await client.getPipeline({ params: { name: 'revenue' } })
      const doc = first.document as { description?: string }
      const save1 = await client.savePipeline({
        params: { name: 'revenue' },
        headers: { 'if-match': first.blob },
        body: { document: { ...doc, description: 'Revenue, first edit' }, message: 'First edit' },
      })
      await client.savePipeline({
        params: { name: 'revenue' },
        headers: { 'if-match': save1.blob },
        body: { document: { ...doc, description: 'Revenue, second edit' }, message: 'Second edit' },
      })
      const history = await client.pipelineHistory({ params: { name: 'revenue' } })
      expect(history.map((c) => c.message)).toEqual([
        'Second edit',
        'First edit',
        'Create revenue from template daily-revenue',
      ])
      const stale = await client
        .savePipeline({
          params: { name: 'revenue' },
          headers: { 'if-match': first.blob },
          body: { document: { ...doc, description: 'lost update' } },
        })
        .catch((e: unknown) => e)
      expect(stale).toBeInstanceOf(ApiConflictError)
      expect((await client.pipelineHistory({ params: { name: 'revenue' } })).length).toBe(3)
      const diff = await client.pipelineDiff({ params: { name: 'revenue' }, query: { from: created.revision } })
      expect(JSON.stringify(diff)).toContain('Revenue, second edit')

      // Run, follow the live stream to the end, and read what the sink wrote.
      const run = await client.run({ body: { pipeline: 'revenue', params: { ds: '2026-11-02' } } })
      expect(run.status).toBe('queued')
      const followed = await follow(run.id)
      expect(followed.final).toBe('succeeded')
      expect(followed.events).toContain('status')
      const finished = await client.getExecution({ params: { id: run.id } })
      expect(finished).toMatchObject({ status: 'succeeded', attempt: 1 })
      expect(finished.appId).toMatch(/^local-/)
      const logs = await client.executionLogs({ params: { id: run.id }, query: { limit: 65_536 } })
      expect(logs.text.length).toBeGreaterThan(0)

      const output = await client.dryRun({
        body: {
          document: {
            schemaVersion: 2,
            name: 'check-output',
            nodes: [
              {
                id: 'written',
                position: { x: 0, y: 0 },
                data: {
                  component: 'ingestor/parquet@1',
                  config: { path: join(dir.path, 'output', 'daily_revenue', 'ds=2026-11-02') },
                },
              },
              {
                id: 'rounded',
                position: { x: 1, y: 0 },
                data: {
                  component: 'transformer/select@1',
                  config: { columns: [{ column: 'customer_id' }, { column: 'orders' }, { column: 'revenue' }] },
                },
              },
            ],
            edges: [{ id: 'e1', source: 'written', target: 'rounded' }],
          },
        },
      })
      const written = output.nodes.find((n) => n.nodeId === 'rounded')?.rows ?? []
      expect(
        written.map((r) => ({
          customer_id: Number(r['customer_id']),
          orders: Number(r['orders']),
          revenue: Math.round(Number(r['revenue']) * 100) / 100,
        })),
      ).toEqual(expectedRevenue('2026-11-02'))

      // The run's steps: every node in plan order, succeeded. Through spark-submit, the sink's counts are Spark's own
      // and equal what is on disk: the rows just read back, the bytes of its data files, the records read.
      const { steps, usage, attempt } = await client.executionSteps({ params: { id: run.id } })
      expect(attempt).toBe(1)
      // Every node of the document has its step(s) (a check runs as one more step), in plan order, all succeeded.
      const nodeIds = (first.document as { nodes: { id: string }[] }).nodes.map((n) => n.id)
      expect(new Set(steps.map((s) => s.nodeId))).toEqual(new Set(nodeIds))
      expect(steps.map((s) => s.index)).toEqual(steps.map((_, i) => i))
      expect(steps.filter((s) => s.status !== 'succeeded')).toEqual([])
      expect(steps.at(-1)?.nodeId).toBe('out')
      const sink = steps.find((s) => s.nodeId === 'out')
      if (backend === 'spark-submit') {
        const outDir = join(dir.path, 'output', 'daily_revenue', 'ds=2026-11-02')
        const parts = (await readdir(outDir)).filter((f) => f.startsWith('part-'))
        const onDisk = (await Promise.all(parts.map((f) => stat(join(outDir, f))))).reduce((n, s) => n + s.size, 0)
        expect(sink).toMatchObject({ rowsOut: written.length, bytesWritten: onDisk, jobs: expect.any(Number) })
        // Records Spark read for the sink: the filter on status is pushed into the CSV reader, so only paid orders.
        expect(sink?.rowsIn).toBe(sampleOrders('2026-11-02').filter((o) => o.status === 'paid').length)
        // What the attempt used: plausible against its wall time on local[2]'s two cores.
        const wallSeconds =
          (Date.parse(finished.attempts?.[0]?.finishedAt ?? '') - Date.parse(finished.attempts?.[0]?.startedAt ?? '')) /
          1000
        expect(usage?.cores).toBe(2)
        expect(usage?.taskSeconds).toBeGreaterThan(0)
        expect(usage?.taskSeconds).toBeLessThanOrEqual(usage?.coreSeconds ?? 0)
        expect(usage?.coreSeconds).toBeLessThanOrEqual(wallSeconds * 2)
        expect(finished.attempts?.[0]?.usage).toEqual(usage)
        // The pipeline's day: this run's usage, beside the budget the operator set.
        const day = await client.pipelineUsage({ params: { name: 'revenue' }, query: { days: 1 } })
        expect(day.budget).toEqual({ coreSecondsPerDay: 100_000 })
        expect(day.days).toEqual([
          expect.objectContaining({
            day: new Date().toISOString().slice(0, 10),
            attempts: 1,
            coreSeconds: usage?.coreSeconds,
          }),
        ])
      } else {
        // Spark Connect answers a write with no metrics: the steps have their times, not Spark's counts.
        expect(sink?.durationMs).toBeGreaterThanOrEqual(0)
        expect(usage).toBeUndefined()
      }

      // Backfill three days: three runs, all succeed.
      const backfill = await client.backfill({
        body: { pipeline: 'revenue', start: '2026-11-03', end: '2026-11-05', grain: 'day' },
      })
      if (!('id' in backfill)) throw new Error('expected a backfill, got a dry run')
      expect(backfill.partitions).toBe(3)
      let summary = await client.getBackfill({ params: { id: backfill.id } })
      const deadline = Date.now() + 240_000
      while ((summary.counts['succeeded'] ?? 0) + (summary.counts['failed'] ?? 0) < 3 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000))
        summary = await client.getBackfill({ params: { id: backfill.id } })
      }
      expect(summary.counts['succeeded']).toBe(3)
      const runs = await client.listExecutions({ query: { backfill: backfill.id } })
      expect(runs.items.map((r) => r.params['ds']).sort()).toEqual(['2026-11-03', '2026-11-04', '2026-11-05'])

      // Promote through a pull request (GitHub API stand-in).
      await client.createBranch({ body: { name: 'feature/revenue-edit' } })
      const pr = await client.createPullRequest({
        body: { head: 'feature/revenue-edit', title: 'Revenue edits', body: 'Two edits' },
      })
      expect(pr.url).toContain('/acme/pipelines/pull/')
      expect(github.violations).toEqual([])
      expect(github.requests.at(-1)?.body).toMatchObject({
        head: 'feature/revenue-edit',
        base: 'main',
        title: 'Revenue edits',
      })
    }, 600_000)
  },
)
