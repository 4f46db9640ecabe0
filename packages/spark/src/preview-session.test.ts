import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { ExecutionPlan, PlanStep } from '@sparkle-studio/core'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NodePreview, PreviewSession } from './preview-session.ts'
import { groupMembers, waitGroupGone } from './process.ts'
import { findSparkRuntime, type SparkRuntime } from './runtime.ts'
import { expectedRevenue, makeOrders, readOrdersStep, slowQuery, writeOrdersCsv } from './testing/fixtures.ts'

const orders = makeOrders(300)
const view = (nodeId: string) => `\`sparkle_${nodeId}\``
const show = (nodeId: string, limit = 100): PlanStep => ({
  nodeId,
  kind: 'query',
  sql: `SELECT * FROM ${view(nodeId)}`,
  limit,
})
const slowStep = (nodeId: string): PlanStep => ({ nodeId, kind: 'query', sql: slowQuery(100), limit: 1 })
const byId = (nodes: readonly NodePreview[]) => new Map(nodes.map((n) => [n.nodeId, n]))

describe('PreviewSession (a real warm Spark driver)', () => {
  let runtime: SparkRuntime
  let tmp: TempDir
  let csv: string
  let session: PreviewSession

  beforeAll(async () => {
    runtime = await findSparkRuntime()
    tmp = await makeTempDir('sparkle-preview-test-')
    csv = await writeOrdersCsv(tmp.path, orders)
    session = new PreviewSession({ runtime, concurrency: 2, cancelGraceMs: 10_000 })
    await session.start()
  })
  afterAll(async () => {
    await session?.close()
    await tmp?.remove()
  })

  it('answers every node of a pipeline: rows and schema, failing nodes (at analysis or at run time), the nodes below them, and a sink never written', async () => {
    const sinkPath = join(tmp.path, 'never-written.parquet')
    const plan: ExecutionPlan = {
      pipeline: 'preview-5',
      mode: 'preview',
      steps: [
        readOrdersStep(csv),
        show('orders', 5),
        {
          nodeId: 'paid',
          kind: 'view',
          view: view('paid'),
          sql: `SELECT * FROM ${view('orders')} WHERE status = 'paid'`,
        },
        show('paid'),
        {
          nodeId: 'by_country',
          kind: 'view',
          view: view('by_country'),
          sql: `SELECT country, count(*) AS orders, sum(amount_cents) AS revenue_cents FROM ${view('paid')} GROUP BY country`,
        },
        {
          nodeId: 'by_country',
          kind: 'query',
          sql: `SELECT * FROM ${view('by_country')} ORDER BY country`,
          limit: 100,
        },
        { nodeId: 'bad', kind: 'view', view: view('bad'), sql: `SELECT amount FROM ${view('paid')}` },
        show('bad'),
        { nodeId: 'below_bad', kind: 'view', view: view('below_bad'), sql: `SELECT * FROM ${view('bad')}` },
        show('below_bad'),
        // Fails only when rows are computed (ANSI cast of 'c12' to INT), not at analysis.
        {
          nodeId: 'bad_cast',
          kind: 'view',
          view: view('bad_cast'),
          sql: `SELECT CAST(customer AS INT) AS n FROM ${view('paid')}`,
        },
        show('bad_cast'),
        {
          nodeId: 'below_cast',
          kind: 'view',
          view: view('below_cast'),
          sql: `SELECT n + 1 AS m FROM ${view('bad_cast')}`,
        },
        show('below_cast'),
        {
          nodeId: 'sink',
          kind: 'write',
          sql: `SELECT * FROM ${view('by_country')}`,
          target: { format: 'parquet', mode: 'overwrite', path: sinkPath },
        },
      ],
    }
    const result = await session.preview(plan)
    expect(result.nodes.map((n) => n.nodeId)).toEqual([
      'orders',
      'paid',
      'by_country',
      'bad',
      'below_bad',
      'bad_cast',
      'below_cast',
      'sink',
    ])
    const nodes = byId(result.nodes)

    const ordersNode = nodes.get('orders')
    expect(ordersNode?.ok && ordersNode.rows).toEqual(orders.slice(0, 5))
    expect(ordersNode?.ok && ordersNode.truncated).toBe(true)
    expect(ordersNode?.ok && ordersNode.schema.map((c) => `${c.name}:${c.type}`)).toEqual([
      'order_id:int',
      'customer:string',
      'country:string',
      'amount_cents:bigint',
      'status:string',
    ])
    const paid = nodes.get('paid')
    const paidOrders = orders.filter((o) => o.status === 'paid')
    expect(paid?.ok && paid.rows).toEqual(paidOrders.slice(0, 100))
    expect(paid?.ok && paid.truncated).toBe(paidOrders.length > 100)
    const byCountry = nodes.get('by_country')
    expect(byCountry?.ok && byCountry.rows).toEqual(expectedRevenue(orders))
    expect(byCountry?.ok && byCountry.truncated).toBe(false)

    expect(nodes.get('bad')).toMatchObject({
      ok: false,
      error: { errorClass: expect.stringMatching(/^UNRESOLVED_COLUMN/) },
    })
    const bad = nodes.get('bad')
    expect(!bad?.ok && bad?.error.message).toContain('`amount`')
    expect(nodes.get('below_bad')).toMatchObject({
      ok: false,
      error: { errorClass: 'UPSTREAM_FAILED', upstreamNodeId: 'bad' },
    })
    expect(nodes.get('bad_cast')).toMatchObject({ ok: false, error: { errorClass: 'CAST_INVALID_INPUT' } })
    expect(nodes.get('below_cast')).toMatchObject({
      ok: false,
      error: { errorClass: 'UPSTREAM_FAILED', upstreamNodeId: 'bad_cast' },
    })
    const sink = nodes.get('sink')
    expect(sink?.ok && sink.rows).toEqual(expectedRevenue(orders))
    expect(existsSync(sinkPath)).toBe(false)
  })

  it('reads a source again once its file changed (samples are kept between requests only while it does not)', async () => {
    const small = await writeOrdersCsv(tmp.path, orders.slice(0, 3), 'small.csv')
    const plan: ExecutionPlan = {
      pipeline: 'sampled',
      mode: 'preview',
      steps: [readOrdersStep(small), show('orders')],
    }
    const first = await session.preview(plan)
    expect(first.nodes[0]?.ok && first.nodes[0].rows).toEqual(orders.slice(0, 3))
    const again = await session.preview(plan)
    expect(again.nodes[0]?.ok && again.nodes[0].rows).toEqual(orders.slice(0, 3))
    await writeOrdersCsv(tmp.path, orders.slice(3, 5), 'small.csv')
    const changed = await session.preview(plan)
    expect(changed.nodes[0]?.ok && changed.nodes[0].rows).toEqual(orders.slice(3, 5))
  })

  it('keeps temporary views from leaking between requests', async () => {
    await session.preview({
      pipeline: 'a',
      mode: 'preview',
      steps: [{ nodeId: 'a', kind: 'view', view: view('only_here'), sql: 'SELECT 1 AS one' }, show('only_here')],
    })
    const later = await session.preview({
      pipeline: 'b',
      mode: 'preview',
      steps: [{ nodeId: 'b', kind: 'query', sql: `SELECT * FROM ${view('only_here')}`, limit: 10 }],
    })
    expect(later.nodes[0]).toMatchObject({ nodeId: 'b', ok: false, error: { errorClass: 'TABLE_OR_VIEW_NOT_FOUND' } })
  })

  it('shows the requested number of rows, at most 1,000', async () => {
    const plan: ExecutionPlan = {
      pipeline: 'many',
      mode: 'preview',
      steps: [{ nodeId: 'n', kind: 'query', sql: 'SELECT id FROM range(0, 5000)', limit: 5000 }],
    }
    const shown = await session.preview(plan)
    expect(shown.nodes[0]?.ok && shown.nodes[0].rows.length).toBe(100)
    const most = await session.preview(plan, { limit: 1000 })
    expect(most.nodes[0]?.ok && most.nodes[0].rows.length).toBe(1000)
    expect(most.nodes[0]?.ok && most.nodes[0].truncated).toBe(true)
    await expect(session.preview(plan, { limit: 1001 })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' })
  })

  it('serves concurrent requests, each with its own answer', async () => {
    const plans = [3, 5, 7, 11].map(
      (n): ExecutionPlan => ({
        pipeline: `c${n}`,
        mode: 'preview',
        steps: [
          { nodeId: 'v', kind: 'view', view: view('v'), sql: `SELECT id * ${n} AS x FROM range(0, 4)` },
          show('v'),
        ],
      }),
    )
    const results = await Promise.all(plans.map((p) => session.preview(p)))
    expect(results.map((r) => (r.nodes[0]?.ok ? r.nodes[0].rows.map((row) => row['x']) : null))).toEqual(
      [3, 5, 7, 11].map((n) => [0, n, 2 * n, 3 * n]),
    )
  })

  it('fails a request past its deadline with JOB_TIMEOUT, cancels its Spark jobs and stays usable', async () => {
    const before = session.info()
    const slow: ExecutionPlan = { pipeline: 'slow', mode: 'preview', steps: [slowStep('slow')] }
    await expect(session.preview(slow, { deadlineMs: 3_000 })).rejects.toMatchObject({ code: 'JOB_TIMEOUT' })
    const next = await session.preview(
      {
        pipeline: 'quick',
        mode: 'preview',
        steps: [{ nodeId: 'q', kind: 'query', sql: 'SELECT 42 AS answer', limit: 1 }],
      },
      { deadlineMs: 60_000 },
    )
    expect(next.nodes[0]?.ok && next.nodes[0].rows).toEqual([{ answer: 42 }])
    expect(session.info()).toMatchObject({ state: 'ready', appId: before.appId, starts: before.starts })
  })

  it('restarts the driver on the next request after it was killed', async () => {
    const before = session.info()
    expect(before.state).toBe('ready')
    const inFlight = session.preview({ pipeline: 'slow', mode: 'preview', steps: [slowStep('slow')] })
    await new Promise((r) => setTimeout(r, 1_000))
    process.kill(before.pid as number, 'SIGKILL')
    await expect(inFlight).rejects.toMatchObject({ code: 'SPARK_JOB_FAILED' })
    const after = await session.preview(
      { pipeline: 'quick', mode: 'preview', steps: [{ nodeId: 'q', kind: 'query', sql: 'SELECT 1 AS one', limit: 1 }] },
      { deadlineMs: 170_000 },
    )
    expect(after.nodes[0]?.ok && after.nodes[0].rows).toEqual([{ one: 1 }])
    expect(session.info().starts).toBe(before.starts + 1)
    expect(after.appId).not.toBe(before.appId)
    expect(await groupMembers(before.pid as number)).toEqual([])
  })
})

describe('PreviewSession lifecycle', () => {
  it('stops its driver after the idle time, and refuses requests once closed', async () => {
    const runtime = await findSparkRuntime()
    const session = new PreviewSession({ runtime, idleTimeoutMs: 500, warmUp: false })
    expect(session.info()).toEqual({ state: 'stopped', starts: 0 })
    await session.start()
    const { pid } = session.info()
    expect(session.info().state).toBe('ready')
    while (session.info().state !== 'stopped') await new Promise((r) => setTimeout(r, 100))
    expect(await waitGroupGone(pid as number, 30_000)).toBe(true)
    await session.close()
    expect(session.info().state).toBe('closed')
    await expect(session.preview({ pipeline: 'x', mode: 'preview', steps: [] })).rejects.toThrow(/closed/)
  })
})
