// Runs and previews over Spark Connect against a real Spark Connect server started from the installed Spark: the
// SparkConnectSubmitter (events, rows, checks, sinks, failures naming their node, cancellation, the policy before
// sending and on the server's plan) and the ConnectPreviewSession (the same answers as the local warm driver).
import { spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { defaultExecutionPolicy, type ExecutionPlan, type ExecutionPolicy, type PlanStep } from '@sparkle-studio/core'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ConnectPreviewSession,
  SparkConnectClient,
  type SparkConnectServer,
  SparkConnectSubmitter,
  startSparkConnectServer,
  stepOperationId,
} from '../src/connect/index.ts'
import type { RunnerEvent } from '../src/events.ts'
import { PreviewSession } from '../src/preview-session.ts'
import { findSparkRuntime, type SparkRuntime } from '../src/runtime.ts'

let runtime: SparkRuntime
let server: SparkConnectServer
let dir: TempDir
let csv: string

const ORDERS = [
  'id,customer,amount,status,day',
  '1,7,10.50,paid,2026-11-02',
  '2,7,4.25,refunded,2026-11-02',
  '3,9,99.99,paid,2026-11-03',
  '4,11,0.01,paid,2026-11-03',
]

function policy(): ExecutionPolicy {
  return defaultExecutionPolicy({ readRoots: [dir.path], writeRoots: [join(dir.path, 'out')] })
}

beforeAll(async () => {
  runtime = await findSparkRuntime()
  dir = await makeTempDir('sparkle-connect-runs-')
  csv = join(dir.path, 'orders.csv')
  writeFileSync(csv, `${ORDERS.join('\n')}\n`)
  server = await startSparkConnectServer({ runtime, conf: { 'spark.sql.session.timeZone': 'UTC' } })
})

afterAll(async () => {
  await server?.stop()
  await dir?.remove()
})

/** The step that reads the orders CSV into `sparkle_orders`. */
function ordersRead(): PlanStep {
  return {
    nodeId: 'orders',
    kind: 'read',
    view: '`sparkle_orders`',
    source: { format: 'csv', path: csv, options: { header: 'true', inferSchema: 'true' } },
  }
}

function ordersPlan(out: string): ExecutionPlan {
  return {
    pipeline: 'orders',
    mode: 'run',
    steps: [
      ordersRead(),
      {
        nodeId: 'paid',
        kind: 'view',
        view: '`sparkle_paid`',
        sql: "SELECT id, customer, amount FROM `sparkle_orders` WHERE status = 'paid'",
      },
      {
        nodeId: 'positive',
        kind: 'check',
        sql: 'SELECT count(*) AS failed_rows FROM `sparkle_paid` WHERE amount <= 0',
        severity: 'error',
        description: 'amounts are positive',
      },
      {
        nodeId: 'out',
        kind: 'write',
        sql: 'SELECT * FROM `sparkle_paid`',
        target: { format: 'parquet', path: out, mode: 'overwrite' },
      },
      { nodeId: 'top', kind: 'query', sql: 'SELECT * FROM `sparkle_paid` ORDER BY amount DESC', limit: 2 },
    ],
  }
}

async function runToEnd(submitter: SparkConnectSubmitter, plan: ExecutionPlan) {
  const events: RunnerEvent[] = []
  const { id, backend } = await submitter.submit({ jobId: 'job-1', plan })
  expect(backend).toBe('connect')
  const status = await submitter.wait(id, { onEvent: (e) => events.push(e) })
  return { id, status, events }
}

describe('SparkConnectSubmitter against a real Spark Connect server', () => {
  it('runs every step kind in one session: events, rows, checks, the sink written', async () => {
    const out = join(dir.path, 'out', 'paid')
    const submitter = new SparkConnectSubmitter({ remote: server.url, policy: policy() })
    const { id, status, events } = await runToEnd(submitter, ordersPlan(out))
    expect(status.error).toBeUndefined()
    expect(status.state).toBe('succeeded')
    expect(status.appId).toMatch(/^local-/)
    expect(status.progress?.totalTasks).toBeGreaterThan(0)
    expect(status.progress?.completedTasks).toBe(status.progress?.totalTasks)
    expect(events.map((e) => e.type)).toEqual([
      'started',
      ...['orders', 'paid'].flatMap(() => ['step_started', 'step_finished']),
      'step_started',
      'check',
      'step_finished',
      'step_started',
      'step_finished',
      'step_started',
      'rows',
      'step_finished',
      'succeeded',
    ])
    const check = events.find((e) => e.type === 'check')
    expect(check).toMatchObject({ nodeId: 'positive', failedRows: 0, severity: 'error' })
    const rows = events.find((e) => e.type === 'rows')
    expect(rows).toMatchObject({
      nodeId: 'top',
      truncated: true,
      rows: [
        { id: 3, customer: 9, amount: 99.99 },
        { id: 1, customer: 7, amount: 10.5 },
      ],
    })
    // What the sink wrote, read back in another session.
    const reader = new SparkConnectClient({ host: '127.0.0.1', port: server.port })
    try {
      const written = await reader.executeSql(`SELECT id FROM parquet.\`${out}\` ORDER BY id`)
      expect(written.rows.map((r) => r['id'])).toEqual([1, 3, 4])
    } finally {
      await reader.close()
    }
    expect((await submitter.logs(id)).text).toContain('succeeded')
  })

  it('fails a run at the node whose step failed, with Spark error class, and runs nothing after it', async () => {
    const out = join(dir.path, 'out', 'never')
    const plan = ordersPlan(out)
    const broken: ExecutionPlan = {
      ...plan,
      steps: plan.steps.map((s) =>
        s.nodeId === 'paid' && s.kind === 'view' ? { ...s, sql: 'SELECT no_such_column FROM `sparkle_orders`' } : s,
      ),
    }
    const submitter = new SparkConnectSubmitter({ remote: server.url, policy: policy() })
    const { status, events } = await runToEnd(submitter, broken)
    expect(status.state).toBe('failed')
    expect(status.error).toMatchObject({ nodeId: 'paid', errorClass: 'UNRESOLVED_COLUMN.WITH_SUGGESTION' })
    expect(events.filter((e) => e.type === 'step_started').map((e) => e.nodeId)).toEqual(['orders', 'paid'])
    expect(existsSync(out)).toBe(false)
  })

  it('fails a quality check with error severity', async () => {
    const plan = ordersPlan(join(dir.path, 'out', 'checked'))
    const strict: ExecutionPlan = {
      ...plan,
      steps: plan.steps.map((s) =>
        s.kind === 'check' ? { ...s, sql: 'SELECT count(*) AS failed_rows FROM `sparkle_paid` WHERE amount < 1' } : s,
      ),
    }
    const { status } = await runToEnd(new SparkConnectSubmitter({ remote: server.url }), strict)
    expect(status.error).toMatchObject({ nodeId: 'positive', errorClass: 'QUALITY_CHECK_FAILED' })
    expect(status.error?.message).toContain('1 rows failed the check')
  })

  it('refuses, before anything is sent, a sink outside the write roots, and on the server plan a file read outside the read roots', async () => {
    const outside = join(dir.path, 'elsewhere')
    const submitter = new SparkConnectSubmitter({ remote: server.url, policy: policy() })
    const { status } = await runToEnd(submitter, ordersPlan(outside))
    expect(status.error).toMatchObject({ nodeId: 'out', errorClass: 'POLICY_PATH', rule: 'write-roots' })
    expect(existsSync(outside)).toBe(false)

    // A view that reads a file by path (the compiler refuses this; a plan made by hand reaches the server's plan check).
    const secret = join(dir.path, '..', `${dir.path.split('/').pop()}-secret.csv`)
    writeFileSync(secret, 'token\nhunter2\n')
    try {
      const sneaky: ExecutionPlan = {
        pipeline: 'sneaky',
        mode: 'run',
        steps: [
          { nodeId: 'peek', kind: 'view', view: '`peek`', sql: `SELECT * FROM csv.\`${secret}\`` },
          { nodeId: 'show', kind: 'query', sql: 'SELECT * FROM `peek`', limit: 10 },
        ],
      }
      const { status: refused, events } = await runToEnd(submitter, sneaky)
      expect(refused.error).toMatchObject({ nodeId: 'peek', errorClass: 'POLICY_PATH', rule: 'read-roots' })
      expect(JSON.stringify(events)).not.toContain('hunter2')
    } finally {
      writeFileSync(secret, '')
    }
  })

  it('cancels a running job: the server interrupts its operation and no later step runs', async () => {
    const submitter = new SparkConnectSubmitter({ remote: server.url })
    const plan: ExecutionPlan = {
      pipeline: 'slow',
      mode: 'run',
      steps: [
        { nodeId: 'slow', kind: 'query', sql: 'SELECT count(*) AS n FROM range(0, 100000000000, 1, 2)', limit: 1 },
        { nodeId: 'after', kind: 'query', sql: 'SELECT 1 AS one', limit: 1 },
      ],
    }
    const events: RunnerEvent[] = []
    const { id } = await submitter.submit({ jobId: 'slow-1', plan })
    const waiting = submitter.wait(id, { onEvent: (e) => events.push(e) })
    while (!events.some((e) => e.type === 'step_started')) await new Promise((r) => setTimeout(r, 50))
    await new Promise((r) => setTimeout(r, 1_000))
    const asked = Date.now()
    await submitter.cancel(id)
    const status = await waiting
    expect(status.state).toBe('cancelled')
    expect(Date.now() - asked).toBeLessThan(15_000)
    expect(events.some((e) => e.type === 'step_started' && e.nodeId === 'after')).toBe(false)
  })
})

describe('a Spark Connect job whose driving process was killed', () => {
  it('is taken over by another process: it re-attaches to the running step by operation id and runs the rest', async () => {
    const out = join(dir.path, 'out', 'taken-over')
    const plan: ExecutionPlan = {
      pipeline: 'takeover',
      mode: 'run',
      steps: [
        {
          nodeId: 'orders',
          kind: 'read',
          view: '`sparkle_orders`',
          source: { format: 'csv', path: csv, options: { header: 'true', inferSchema: 'true' } },
        },
        // About ten seconds of work on local[2]: the driver is killed while it runs.
        {
          nodeId: 'slow',
          kind: 'query',
          sql: 'SELECT count(*) AS n FROM range(0, 4000000000, 1, 2) WHERE id % 3 = 0',
          limit: 1,
        },
        {
          nodeId: 'out',
          kind: 'write',
          sql: 'SELECT * FROM `sparkle_orders`',
          target: { format: 'parquet', path: out, mode: 'overwrite' },
        },
      ],
    }
    const child = spawn(
      process.execPath,
      ['--conditions=@sparkle-studio/source', 'fixtures/connect-driver.ts', server.url, JSON.stringify(plan)],
      { cwd: import.meta.dirname, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const lines: Record<string, unknown>[] = []
    let buffered = ''
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const parts = buffered.split('\n')
      buffered = parts.pop() ?? ''
      for (const part of parts) if (part.trim()) lines.push(JSON.parse(part) as Record<string, unknown>)
    })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    const deadline = Date.now() + 120_000
    while (!lines.some((l) => l['event'] === 'step_started' && l['nodeId'] === 'slow') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50))
    }
    await new Promise((r) => setTimeout(r, 1_500))
    child.kill('SIGKILL')
    await exited
    const id = String(lines.find((l) => typeof l['id'] === 'string')?.['id'])
    expect(lines.some((l) => l['final'] !== undefined)).toBe(false)
    expect(existsSync(out)).toBe(false)

    // Another process (this one), with only the job id: status reads without taking over; wait takes over.
    const successor = new SparkConnectSubmitter({ remote: server.url })
    expect((await successor.status(id)).state).toBe('running')
    const events: RunnerEvent[] = []
    const status = await successor.wait(id, { onEvent: (e) => events.push(e) })
    expect(status.error).toBeUndefined()
    expect(status.state).toBe('succeeded')
    const log = (await successor.logs(id)).text
    expect(log).toContain(`re-attached to operation ${stepOperationId(id, 1)} of step 1 (query of node slow)`)
    expect(events.filter((e) => e.type === 'step_started').map((e) => e.nodeId)).toEqual(['slow', 'out'])
    expect(events.find((e) => e.type === 'rows')).toMatchObject({ nodeId: 'slow', rows: [{ n: 1333333334 }] })
    expect(existsSync(out)).toBe(true)
    // Finished: its session is released, and a late reader finds no job there.
    expect((await new SparkConnectSubmitter({ remote: server.url }).status(id)).state).toBe('lost')
  })
})

describe('ConnectPreviewSession against a real Spark Connect server', () => {
  it('answers as the local warm driver does: per node schema and rows, a failed node and its downstream', async () => {
    const plan: ExecutionPlan = {
      pipeline: 'orders',
      mode: 'preview',
      steps: [
        {
          nodeId: 'orders',
          kind: 'read',
          view: '`sparkle_orders`',
          source: { format: 'csv', path: csv, options: { header: 'true', inferSchema: 'true' } },
        },
        { nodeId: 'orders', kind: 'query', sql: 'SELECT * FROM `sparkle_orders`', limit: 3 },
        {
          nodeId: 'typed',
          kind: 'view',
          view: '`sparkle_typed`',
          sql: "SELECT id, CAST(amount AS DECIMAL(10,2)) AS amount, to_date(CAST(day AS STRING)) AS day, array(id, customer) AS pair, named_struct('s', status) AS st FROM `sparkle_orders`",
        },
        { nodeId: 'typed', kind: 'query', sql: 'SELECT * FROM `sparkle_typed`', limit: 100 },
        { nodeId: 'bad', kind: 'view', view: '`sparkle_bad`', sql: 'SELECT nope FROM `sparkle_typed`' },
        { nodeId: 'bad', kind: 'query', sql: 'SELECT * FROM `sparkle_bad`', limit: 100 },
        { nodeId: 'below', kind: 'query', sql: 'SELECT * FROM `sparkle_bad`', limit: 100 },
      ],
    }
    const remote = new ConnectPreviewSession({ remote: server.url, policy: policy() })
    const local = new PreviewSession({
      runtime,
      policy: policy(),
      deadlineMs: 120_000,
      conf: { 'spark.sql.session.timeZone': 'UTC' },
    })
    try {
      const [overConnect, onDriver] = [
        await remote.preview(plan, { limit: 50 }),
        await local.preview(plan, { limit: 50 }),
      ]
      const strip = (nodes: typeof overConnect.nodes) =>
        nodes.map((n) => (n.ok ? { ...n, durationMs: 0 } : { ...n, error: { ...n.error, message: '' } }))
      expect(strip(overConnect.nodes)).toEqual(strip(onDriver.nodes))
      expect(overConnect.nodes.map((n) => [n.nodeId, n.ok])).toEqual([
        ['orders', true],
        ['typed', true],
        ['bad', false],
        ['below', false],
      ])
      const below = overConnect.nodes[3]
      expect(below?.ok === false && below.error).toMatchObject({ errorClass: 'UPSTREAM_FAILED', upstreamNodeId: 'bad' })
      expect(overConnect.appId).toMatch(/^local-/)
    } finally {
      await remote.close()
      await local.close()
    }
  })
})
