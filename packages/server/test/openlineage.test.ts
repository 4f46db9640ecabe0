// OpenLineage end to end on real Spark (one studio, PGlite): a join + aggregate run sends START, RUNNING and COMPLETE
// to a loopback receiver, each accepted by the official OpenLineage Python client, with the column lineage written by
// hand; the job's Spark conf names the attempt as the parent run of a Spark listener's events; a failing run sends
// FAIL naming the node and Spark's error class; a receiver answering 500 twice gets the event a third time and keeps
// it once; with the receiver down the run still succeeds and the events are dropped with a warning. The API key is
// sent as a bearer token and found in no log line, event or API answer. Without Spark (attempts claimed and finished
// through the queue as a worker would, on PGlite and PostgreSQL): backfill partitions carry the backfill as parent and their range as nominal
// time, an attempt that is retried ends with FAIL, a cancelled one with ABORT.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { OpenLineageRunEvent } from '@sparkle-studio/core'
import {
  assertOpenLineageEvents,
  createTestDatabase,
  makeTempDir,
  type TempDir,
  type TestDatabase,
} from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Call,
  createLogger,
  createStudio,
  createStudioWorker,
  openLineageAttemptRunId,
  openLineageBackfillRunId,
  type Studio,
} from '../src/index.ts'

const API_KEY = 'ol_test_key_7f3a9c2e5b1d'
const NAMESPACE = 'studio-tests'
const call: Call = { principal: { id: 'ada', name: 'Ada', role: 'editor', via: 'host' } }

interface Received {
  readonly headers: IncomingHttpHeaders
  readonly event: OpenLineageRunEvent
  readonly answered: number
}

/** A lineage receiver on 127.0.0.1: answers the statuses it is told, then 200. */
class Receiver {
  readonly got: Received[] = []
  answers: number[] = []
  #server: Server | undefined
  port = 0

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const status = this.answers.shift() ?? 200
        this.got.push({
          headers: req.headers,
          event: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OpenLineageRunEvent,
          answered: status,
        })
        res.writeHead(status, { 'content-type': 'text/plain' }).end(`answered ${status}`)
      })
    })
    await new Promise<void>((ok) => this.#server?.listen(this.port, '127.0.0.1', ok))
    this.port = (this.#server.address() as AddressInfo).port
  }

  /** Events of one OpenLineage run that were answered 2xx, in the order received. */
  delivered(runId: string): OpenLineageRunEvent[] {
    return this.got.filter((r) => r.answered === 200 && r.event.run.runId === runId).map((r) => r.event)
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections()
    await new Promise((ok) => this.#server?.close(ok))
  }
}

async function until<T>(what: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const value = await what()
    if (value !== undefined && value !== false) return value
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((ok) => setTimeout(ok, 50))
  }
}

const node = (id: string, component: string, config: Record<string, unknown>) => ({
  id,
  position: { x: 0, y: 0 },
  data: { component, config },
})

/** Two CSV sources → join on customer_id → paid orders → revenue and order count by country → Parquet. */
function revenueDocument(name: string, dataDir: string, condition: string) {
  return {
    schemaVersion: 2,
    name,
    nodes: [
      node('orders', 'ingestor/csv@1', {
        path: join(dataDir, 'sample', 'ol', 'orders.csv'),
        schema: 'order_id BIGINT, customer_id BIGINT, amount DOUBLE, status STRING',
      }),
      node('customers', 'ingestor/csv@1', {
        path: join(dataDir, 'sample', 'ol', 'customers.csv'),
        schema: 'customer_id BIGINT, name STRING, country STRING',
      }),
      node('joined', 'transformer/join@1', { keys: [{ left: 'customer_id', right: 'customer_id' }] }),
      node('paid', 'transformer/filter@1', { condition }),
      node('by_country', 'transformer/aggregate@1', {
        groupBy: ['country'],
        aggregations: [
          { function: 'sum', column: 'amount', alias: 'revenue' },
          { function: 'count', alias: 'orders' },
        ],
      }),
      node('out', 'sink/parquet@1', { path: join(dataDir, 'output', name), mode: 'overwrite' }),
    ],
    edges: [
      { id: 'e1', source: 'orders', target: 'joined', targetHandle: 'left' },
      { id: 'e2', source: 'customers', target: 'joined', targetHandle: 'right' },
      { id: 'e3', source: 'joined', target: 'paid' },
      { id: 'e4', source: 'paid', target: 'by_country' },
      { id: 'e5', source: 'by_country', target: 'out' },
    ],
  }
}

const t = (type: 'DIRECT' | 'INDIRECT', subtype: string, description?: string) =>
  description === undefined ? { type, subtype, masking: false } : { type, subtype, description, masking: false }

/** The column lineage of the output, written by hand: each output column and what the whole output depends on. */
function expectedColumnLineage(dataDir: string) {
  const ORDERS = { namespace: 'file', name: join(dataDir, 'sample', 'ol', 'orders.csv') }
  const CUSTOMERS = { namespace: 'file', name: join(dataDir, 'sample', 'ol', 'customers.csv') }
  return {
    fields: {
      country: { inputFields: [{ ...CUSTOMERS, field: 'country', transformations: [t('DIRECT', 'IDENTITY')] }] },
      revenue: { inputFields: [{ ...ORDERS, field: 'amount', transformations: [t('DIRECT', 'AGGREGATION', 'sum')] }] },
      orders: { inputFields: [] },
    },
    dataset: [
      { ...CUSTOMERS, field: 'country', transformations: [t('INDIRECT', 'GROUP_BY')] },
      { ...CUSTOMERS, field: 'customer_id', transformations: [t('INDIRECT', 'JOIN')] },
      { ...ORDERS, field: 'customer_id', transformations: [t('INDIRECT', 'JOIN')] },
      { ...ORDERS, field: 'status', transformations: [t('INDIRECT', 'FILTER')] },
    ],
  }
}

describe('OpenLineage events of runs on Spark', () => {
  let dir: TempDir
  let dataDir: string
  let studio: Studio
  let worker: Awaited<ReturnType<typeof createStudioWorker>>
  const receiver = new Receiver()
  const logs: string[] = []
  /** Every API answer, searched for the API key at the end. */
  const answers: unknown[] = []

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-openlineage-')
    dataDir = join(dir.path, 'data')
    await receiver.start()
    studio = await createStudio({
      dataDir,
      authentication: { bootstrap: false },
      logger: createLogger({ level: 'debug', write: (line) => logs.push(line) }),
      openLineage: {
        url: `http://127.0.0.1:${receiver.port}/api/v1/lineage`,
        apiKey: API_KEY,
        namespace: NAMESPACE,
        timeoutMs: 2_000,
        maxAttempts: 3,
        retryBaseMs: 100,
        pollMs: 50,
        settleMs: 200,
      },
    })
    const sample = join(dataDir, 'sample', 'ol')
    await mkdir(sample, { recursive: true })
    await writeFile(
      join(sample, 'orders.csv'),
      'order_id,customer_id,amount,status\n1,1,10.5,paid\n2,1,4.5,open\n3,2,7,paid\n4,3,1,paid\n',
    )
    await writeFile(join(sample, 'customers.csv'), 'customer_id,name,country\n1,Ada,FR\n2,Bo,DE\n3,Cy,FR\n')
    for (const [name, condition] of [
      ['revenue', "status = 'paid'"],
      ['revenue-broken', "state = 'paid'"],
    ] as const) {
      answers.push(
        await studio.api.createPipeline({ body: { name, document: revenueDocument(name, dataDir, condition) } }, call),
      )
    }
    worker = await createStudioWorker(studio, { schedules: false, healthFile: join(dir.path, 'health.json') })
    await worker.start()
  }, 120_000)

  afterAll(async () => {
    await worker?.stop()
    await studio?.close()
    await receiver.stop()
    await dir?.remove()
  })

  async function runToEnd(pipeline: string) {
    const run = await studio.api.run({ body: { pipeline, maxAttempts: 1 } }, call)
    const ended = await until(async () => {
      const now = await studio.api.getExecution({ params: { id: run.id } }, call)
      return ['succeeded', 'failed', 'cancelled'].includes(now.status) ? now : undefined
    }, 240_000)
    answers.push(run, ended)
    return { run: ended, olRunId: openLineageAttemptRunId(`${run.id}.1`) }
  }

  it('a join + aggregate run sends START, RUNNING and COMPLETE, valid, with the column lineage written by hand', async () => {
    const { run, olRunId } = await runToEnd('revenue')
    expect(run.status, JSON.stringify(run)).toBe('succeeded')
    // A UUID v5, derived from the attempt id: every event and every retry of a delivery names the same run.
    expect(olRunId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    const events = await until(() => {
      const got = receiver.delivered(olRunId)
      return got.some((e) => e.eventType === 'COMPLETE') ? got : undefined
    })
    expect(events.map((e) => e.eventType)).toEqual(['START', 'RUNNING', 'COMPLETE'])
    const check = await assertOpenLineageEvents(events)
    for (const e of events) {
      expect(e.schemaURL).toBe(check.runEvent)
      expect(e.job).toEqual({ namespace: NAMESPACE, name: 'revenue' })
      for (const d of [...e.inputs, ...e.outputs]) {
        for (const [key, facet] of Object.entries(d.facets ?? {})) expect(facet._schemaURL, key).toBe(check.facets[key])
      }
      for (const [key, facet] of Object.entries(e.run.facets ?? {}))
        expect(facet._schemaURL, key).toBe(check.facets[key])
    }
    for (const r of receiver.got) expect(r.headers.authorization).toBe(`Bearer ${API_KEY}`)

    const running = events[1]
    expect(running?.run.facets?.['externalQuery']).toMatchObject({ source: 'spark', externalQueryId: run.appId })
    expect(running?.run.facets?.['processing_engine']).toMatchObject({ name: 'spark' })

    const complete = events[2] as OpenLineageRunEvent
    expect(complete.inputs.map((i) => [i.namespace, i.name])).toEqual([
      ['file', join(dataDir, 'sample', 'ol', 'orders.csv')],
      ['file', join(dataDir, 'sample', 'ol', 'customers.csv')],
    ])
    expect(complete.outputs.map((o) => [o.namespace, o.name])).toEqual([['file', join(dataDir, 'output', 'revenue')]])
    const output = complete.outputs[0]
    expect(output?.facets?.['schema']?.['fields']).toEqual([
      { name: 'country', type: 'string' },
      { name: 'revenue', type: 'double' },
      { name: 'orders', type: 'bigint' },
    ])
    const { _producer, _schemaURL, ...lineage } = output?.facets?.['columnLineage'] ?? {}
    const expected = expectedColumnLineage(dataDir)
    expect(lineage).toEqual(expected)
    console.log(
      `openlineage: ${events.length} events for run ${run.id}; column lineage: ${Object.keys(expected.fields).length} output columns, ${expected.dataset.length} dataset-level entries compared`,
    )

    // The job's Spark conf names this attempt as the parent run of a Spark OpenLineage listener's events.
    const jobs = await readdir(join(dataDir, 'runs'))
    const jobDir = jobs.find((d) => d.startsWith(`${run.id}.1`))
    expect(jobDir).toBeDefined()
    const properties = await readFile(join(dataDir, 'runs', jobDir as string, 'spark.properties'), 'utf8')
    expect(properties).toContain(`spark.openlineage.parentRunId=${olRunId}`)
    expect(properties).toContain('spark.openlineage.parentJobName=revenue')
    expect(properties).toContain(`spark.openlineage.parentJobNamespace=${NAMESPACE}`)
    expect(properties).toContain(`spark.openlineage.rootParentRunId=${olRunId}`)
  }, 300_000)

  it('a failing run sends FAIL naming the node and the error class; 500 twice, then delivered once', async () => {
    receiver.answers = [500, 500]
    const before = receiver.got.length
    const { run, olRunId } = await runToEnd('revenue-broken')
    expect(run.status).toBe('failed')
    const events = await until(() => {
      const got = receiver.delivered(olRunId)
      return got.some((e) => e.eventType === 'FAIL') ? got : undefined
    })
    expect(events.map((e) => e.eventType)).toEqual(['START', 'RUNNING', 'FAIL'])
    await assertOpenLineageEvents(events)
    const fail = events[2]
    const message = String(fail?.run.facets?.['errorMessage']?.['message'])
    expect(message).toContain('node "paid" failed')
    expect(message).toMatch(/\[UNRESOLVED_COLUMN[A-Z_.]*\]/)
    // The START was answered 500 twice and kept the third time: three posts, one delivery.
    const starts = receiver.got
      .slice(before)
      .filter((r) => r.event.eventType === 'START' && r.event.run.runId === olRunId)
    expect(starts.map((r) => r.answered)).toEqual([500, 500, 200])
    expect(new Set(starts.map((r) => JSON.stringify(r.event))).size).toBe(1)
    console.log(`openlineage: START retried ${starts.length - 1} times, delivered once`)
  }, 300_000)

  it('with the receiver down the run still succeeds, and its events are dropped with a warning', async () => {
    await receiver.stop()
    const { run, olRunId } = await runToEnd('revenue')
    expect(run.status).toBe('succeeded')
    await until(() => logs.filter((l) => l.includes('OpenLineage event dropped') && l.includes(olRunId)).length >= 3)
    const dropped = logs.filter((l) => l.includes('OpenLineage event dropped'))
    expect(dropped.every((l) => l.includes('"attempts":3') && l.includes('"level":"warn"'))).toBe(true)
  }, 300_000)

  it('never shows the API key in logs, events or API answers', () => {
    expect(logs.length).toBeGreaterThan(0)
    expect(logs.filter((l) => l.includes(API_KEY))).toEqual([])
    expect(receiver.got.filter((r) => JSON.stringify(r.event).includes(API_KEY))).toEqual([])
    expect(JSON.stringify(answers)).not.toContain(API_KEY)
  })
})

describe.each(['pglite', 'postgres'] as const)(
  'OpenLineage events of backfills, retries and cancels on %s (attempts ended through the queue, no Spark)',
  (dialect) => {
    let dir: TempDir
    let database: TestDatabase | undefined
    let studio: Studio
    const receiver = new Receiver()
    const worker = 'worker-1'
    const ref = (runId: string, attempt = 1) => ({ runId, attempt, workerId: worker })

    beforeAll(async () => {
      dir = await makeTempDir('sparkle-openlineage-queue-')
      if (dialect === 'postgres') database = await createTestDatabase('sparkle_openlineage')
      await receiver.start()
      const dataDir = join(dir.path, 'data')
      studio = await createStudio({
        dataDir,
        ...(database ? { databaseUrl: database.url } : {}),
        authentication: { bootstrap: false },
        logger: createLogger({ level: 'warn', write: () => {} }),
        openLineage: { url: `http://127.0.0.1:${receiver.port}/lineage`, pollMs: 50, settleMs: 200 },
      })
      // A backfill's runs get the partition's `ds`, `start` and `end` as params: the document declares them.
      const params = ['ds', 'start', 'end'].map((name) => ({ name, type: 'string' as const }))
      const document = { ...revenueDocument('revenue', dataDir, "status = 'paid'"), params }
      await studio.api.createPipeline({ body: { name: 'revenue', document } }, call)
    })

    afterAll(async () => {
      await studio?.close()
      await receiver.stop()
      await database?.drop()
      await dir?.remove()
    })

    it('backfill partitions name the backfill as parent and their range as nominal time', async () => {
      const created = await studio.runs.createBackfill({
        pipeline: 'revenue',
        start: '2026-11-01',
        end: '2026-11-03',
        grain: 'day',
        concurrency: 5,
      })
      const backfillId = created.backfill?.id as string
      const claims = await studio.queue.claim({ workerId: worker, limit: 10, leaseMs: 60_000 })
      expect(claims).toHaveLength(2)
      for (const c of claims) await studio.queue.finishAttempt(ref(c.run.id), { status: 'succeeded' })
      const parent = {
        run: { runId: openLineageBackfillRunId(backfillId) },
        job: { namespace: 'sparkle-studio', name: 'revenue.backfill' },
      }
      const ranges: string[][] = []
      for (const c of claims) {
        const olRunId = openLineageAttemptRunId(`${c.run.id}.1`)
        const events = await until(() => {
          const got = receiver.delivered(olRunId)
          return got.some((e) => e.eventType === 'COMPLETE') ? got : undefined
        })
        expect(events.map((e) => e.eventType)).toEqual(['START', 'COMPLETE'])
        await assertOpenLineageEvents(events)
        for (const e of events) {
          expect(e.run.facets?.['parent']).toMatchObject({ ...parent, root: parent })
          const nominal = e.run.facets?.['nominalTime']
          ranges.push([String(nominal?.['nominalStartTime']), String(nominal?.['nominalEndTime'])])
          // The datasets are the plan's, whatever the event.
          expect(e.outputs.map((o) => o.name)).toEqual([join(dir.path, 'data', 'output', 'revenue')])
        }
      }
      expect([...new Set(ranges.map((r) => r.join('/')))].sort()).toEqual([
        '2026-11-01T00:00:00.000Z/2026-11-02T00:00:00.000Z',
        '2026-11-02T00:00:00.000Z/2026-11-03T00:00:00.000Z',
      ])
    })

    it('an attempt that is retried ends with FAIL, a cancelled one with ABORT, a run cancelled while it waits with nothing more', async () => {
      const retried = (await studio.runs.enqueue({ pipeline: 'revenue', maxAttempts: 2 })).run
      const cancelled = (await studio.runs.enqueue({ pipeline: 'revenue' })).run
      await studio.queue.claim({ workerId: worker, limit: 10, leaseMs: 60_000 })
      await studio.queue.finishAttempt(ref(retried.id), {
        status: 'failed',
        error: { code: 'SPARK_JOB_FAILED', nodeId: 'paid', errorClass: 'DIVIDE_BY_ZERO', message: 'Division by zero' },
        retryable: true,
      })
      await studio.runs.cancel(cancelled.id)
      await studio.queue.finishAttempt(ref(cancelled.id), { status: 'cancelled' })
      // Cancelled while it waits for its second attempt: its first attempt already ended with FAIL.
      await studio.runs.cancel(retried.id)

      const failed = await until(() => {
        const got = receiver.delivered(openLineageAttemptRunId(`${retried.id}.1`))
        return got.some((e) => e.eventType === 'FAIL') ? got : undefined
      })
      const aborted = await until(() => {
        const got = receiver.delivered(openLineageAttemptRunId(`${cancelled.id}.1`))
        return got.some((e) => e.eventType === 'ABORT') ? got : undefined
      })
      await assertOpenLineageEvents([...failed, ...aborted])
      expect(aborted.map((e) => e.eventType)).toEqual(['START', 'ABORT'])
      expect(failed.at(-1)?.run.facets?.['errorMessage']?.['message']).toBe(
        'node "paid" failed: [DIVIDE_BY_ZERO] Division by zero',
      )
      // Later scans send nothing more for the retried run.
      await new Promise((ok) => setTimeout(ok, 600))
      expect(receiver.delivered(openLineageAttemptRunId(`${retried.id}.1`)).map((e) => e.eventType)).toEqual([
        'START',
        'FAIL',
      ])
    })
  },
)
