// Webhooks end to end, on PGlite and on PostgreSQL: a receiver on 127.0.0.1 gets signed deliveries of pipeline saves,
// runs that end (marked final through the run queue as a worker would, and cancelled), and a completed backfill; it
// checks every signature by hand as the Standard Webhooks specification says (HMAC-SHA256 of "{id}.{timestamp}.{body}"
// keyed with the base64 after "whsec_") and that the timestamp is recent. A receiver that answers 500 twice gets a
// third attempt; 410 disables the subscription; a deleted one gets nothing more; a restart neither misses nor repeats
// a run event; the secret is in the creation's answer only, never in a log line.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { openDatabase, RunQueue, RunStore } from '@sparkle-studio/runs'
import { createTestDatabase, makeTempDir, type TempDir, type TestDatabase } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createLogger,
  createStudio,
  type Principal,
  type Studio,
  type StudioOptions,
  studioNodeHandler,
} from '../src/index.ts'

const admin: Principal = { id: 'admin-1', name: 'admin', role: 'admin', via: 'host' }
const editor: Principal = { id: 'editor-1', name: 'editor', role: 'editor', via: 'host' }

interface Delivery {
  readonly headers: IncomingHttpHeaders
  readonly body: string
  readonly json: { type: string; timestamp: string; data: Record<string, unknown> }
  /** The signature checked by hand against the subscription's secret, with a timestamp within 5 minutes. */
  readonly verified: boolean
}

/** The receiver's own check, written from the specification (not the server's code). */
function verifyBySpec(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  const id = headers['webhook-id']
  const timestamp = headers['webhook-timestamp']
  const signatures = headers['webhook-signature']
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false
  if (!secret.startsWith('whsec_')) return false
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest()
  return signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',')
    if (version !== 'v1' || !value) return false
    const got = Buffer.from(value, 'base64')
    return got.length === expected.length && timingSafeEqual(got, expected)
  })
}

/** A receiver on 127.0.0.1: one inbox per path, each answering the statuses it is told, then 200. */
class Receiver {
  readonly inboxes = new Map<string, { secret: string; answers: number[]; got: Delivery[] }>()
  #server: Server | undefined
  base = ''

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        const inbox = this.inboxes.get(req.url ?? '')
        if (!inbox || req.method !== 'POST') {
          res.writeHead(404).end()
          return
        }
        inbox.got.push({
          headers: req.headers,
          body,
          json: JSON.parse(body) as Delivery['json'],
          verified: verifyBySpec(inbox.secret, req.headers, body),
        })
        const status = inbox.answers.shift() ?? 200
        res.writeHead(status, { 'content-type': 'text/plain' })
        res.end(status === 500 ? `failure ${'x'.repeat(5000)}` : `answered ${status}`)
      })
    })
    await new Promise<void>((ok) => this.#server?.listen(0, '127.0.0.1', ok))
    this.base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  inbox(path: string, answers: number[] = []) {
    const inbox = { secret: '', answers, got: [] as Delivery[] }
    this.inboxes.set(path, inbox)
    return inbox
  }

  async stop(): Promise<void> {
    await new Promise((ok) => this.#server?.close(ok))
  }
}

async function until<T>(what: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const value = await what()
    if (value !== undefined && value !== false) return value
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((ok) => setTimeout(ok, 25))
  }
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms))

describe.each(['pglite', 'postgres'] as const)('webhooks on %s', (dialect) => {
  let dir: TempDir
  let database: TestDatabase | undefined
  let studio: Studio
  let options: StudioOptions
  const receiver = new Receiver()
  const logs: string[] = []
  const secrets: string[] = []
  /** Every API answer after the creations, searched for secrets at the end. */
  const answers: unknown[] = []
  const all = receiver.inbox('/all')

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-webhooks-')
    if (dialect === 'postgres') database = await createTestDatabase('sparkle_webhooks')
    await receiver.start()
    options = {
      dataDir: join(dir.path, 'data'),
      ...(database ? { databaseUrl: database.url } : {}),
      authentication: { bootstrap: false },
      logger: createLogger({ level: 'debug', write: (line) => logs.push(line) }),
      webhooks: { retryDelaysMs: [150, 150, 150], timeoutMs: 2_000, pollMs: 50, settleMs: 200 },
    }
    studio = await createStudio(options)
  })

  afterAll(async () => {
    await studio?.close()
    await receiver.stop()
    await database?.drop()
    await dir?.remove()
  })

  async function subscribe(path: string, events: string[], answers: number[] = []) {
    const inbox = receiver.inboxes.get(path) ?? receiver.inbox(path, answers)
    const created = await studio.api.createWebhook(
      { body: { url: `${receiver.base}${path}`, events: events as never, description: `inbox ${path}` } },
      { principal: admin },
    )
    inbox.secret = created.secret
    secrets.push(created.secret)
    return { inbox, webhook: created.webhook, secret: created.secret }
  }

  const deliveriesOf = async (id: string) => {
    const page = await studio.api.listWebhookDeliveries({ params: { id } }, { principal: admin })
    answers.push(page)
    return page.items
  }

  it('creates subscriptions over HTTP: 201 with a whsec_ secret once; refuses other schemes, credentials and no events', async () => {
    const { secret: key } = await studio.keys.create({ name: 'hooks', role: 'admin', createdBy: 'test' })
    const server = createServer(studioNodeHandler(studio))
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`
    const post = (body: unknown) =>
      fetch(`${base}/webhooks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    try {
      const created = await post({ url: `${receiver.base}/all`, events: ['run.succeeded', 'run.failed'] })
      expect(created.status).toBe(201)
      const json = (await created.json()) as { data: { webhook: { id: string; events: string[] }; secret: string } }
      expect(json.data.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
      expect(Buffer.from(json.data.secret.slice(6), 'base64').length).toBeGreaterThanOrEqual(24)
      expect(json.data.webhook).not.toHaveProperty('secret')
      secrets.push(json.data.secret)
      for (const bad of [
        { url: 'ftp://127.0.0.1/x', events: ['run.failed'] },
        { url: 'file:///etc/passwd', events: ['run.failed'] },
        { url: 'http://user:pw@127.0.0.1/x', events: ['run.failed'] },
        { url: 'not a url', events: ['run.failed'] },
        { url: `${receiver.base}/all`, events: [] },
        { url: `${receiver.base}/all`, events: ['run.exploded'] },
      ]) {
        const refused = await post(bad)
        expect(refused.status, JSON.stringify(bad)).toBe(400)
      }
      // Viewers and editors may not see or change subscriptions.
      await expect(studio.api.listWebhooks({}, { principal: editor })).rejects.toMatchObject({ code: 'FORBIDDEN' })
      // That subscription is not used further.
      const deleted = await fetch(`${base}/webhooks/${json.data.webhook.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${key}` },
      })
      expect(deleted.status).toBe(200)
      answers.push(await deleted.json())
    } finally {
      await new Promise((ok) => server.close(ok))
    }
  })

  it('delivers pipeline saves, runs that end and a completed backfill, each signed and verified by the receiver', async () => {
    const { webhook } = await subscribe('/all', [
      'pipeline.saved',
      'pipeline.deleted',
      'run.succeeded',
      'run.failed',
      'run.cancelled',
      'backfill.completed',
    ])
    const created = await studio.api.createPipeline(
      { body: { name: 'orders', template: 'daily-revenue' } },
      { principal: editor },
    )
    const got = await studio.api.getPipeline({ params: { name: 'orders' } }, { principal: editor })
    const saved = await studio.api.savePipeline(
      {
        params: { name: 'orders' },
        headers: { 'if-match': `"${got.blob}"` },
        body: { document: { ...got.document, description: 'changed' } },
      },
      { principal: editor },
    )

    // Runs end the way a worker ends them: claimed through the queue, then finished.
    const ok = (await studio.runs.enqueue({ pipeline: 'orders' })).run
    const bad = (await studio.runs.enqueue({ pipeline: 'orders' })).run
    const claims = await studio.queue.claim({ workerId: 'worker-1', limit: 10, leaseMs: 60_000 })
    expect(claims.map((c) => c.run.id).sort()).toEqual([ok.id, bad.id].sort())
    const ref = (id: string) => ({ runId: id, attempt: 1, workerId: 'worker-1' })
    await studio.queue.finishAttempt(ref(ok.id), { status: 'succeeded' })
    await studio.queue.finishAttempt(ref(bad.id), {
      status: 'failed',
      error: { code: 'SPARK_JOB_FAILED', message: 'division by zero' },
      retryable: false,
    })
    const cancelled = (await studio.runs.enqueue({ pipeline: 'orders' })).run
    await studio.api.cancelExecution({ params: { id: cancelled.id } }, { principal: editor })

    const backfill = await studio.runs.createBackfill({
      pipeline: 'orders',
      start: '2026-11-01',
      end: '2026-11-03',
      grain: 'day',
      concurrency: 5,
    })
    const partitions = await studio.queue.claim({ workerId: 'worker-1', limit: 10, leaseMs: 60_000 })
    expect(partitions).toHaveLength(2)
    for (const c of partitions) await studio.queue.finishAttempt(ref(c.run.id), { status: 'succeeded' })

    await until(() => all.got.some((d) => d.json.type === 'backfill.completed'))
    const byType = (type: string) => all.got.filter((d) => d.json.type === type)
    expect(all.got.every((d) => d.verified)).toBe(true)
    expect(all.got.every((d) => d.headers['content-type'] === 'application/json')).toBe(true)
    // Every event once: distinct webhook ids.
    expect(new Set(all.got.map((d) => d.headers['webhook-id'])).size).toBe(all.got.length)

    expect(byType('pipeline.saved').map((d) => d.json.data)).toEqual([
      { pipeline: 'orders', revision: created.revision, blob: created.blob, created: true, by: editor.id },
      { pipeline: 'orders', revision: saved.revision, blob: saved.blob, created: false, by: editor.id },
    ])
    await until(() => byType('run.succeeded').length === 3)
    expect(byType('run.succeeded').find((d) => d.json.data['runId'] === ok.id)?.json.data).toMatchObject({
      pipeline: 'orders',
      status: 'succeeded',
      attempt: 1,
    })
    expect(byType('run.failed').map((d) => d.json.data)).toEqual([
      {
        runId: bad.id,
        pipeline: 'orders',
        status: 'failed',
        attempt: 1,
        error: { code: 'SPARK_JOB_FAILED', message: 'division by zero' },
      },
    ])
    expect(byType('run.cancelled').map((d) => d.json.data['runId'])).toEqual([cancelled.id])
    expect(byType('backfill.completed').map((d) => d.json.data)).toEqual([
      {
        backfillId: backfill.backfill?.id,
        pipeline: 'orders',
        status: 'completed',
        total: 2,
        counts: { succeeded: 2, failed: 0, cancelled: 0 },
      },
    ])
    const partitionEvents = byType('run.succeeded').filter((d) => d.json.data['backfillId'] === backfill.backfill?.id)
    expect(partitionEvents).toHaveLength(2)
    for (const d of all.got) expect(Date.parse(d.json.timestamp)).toBeGreaterThan(Date.now() - 60_000)

    // A body changed in transit no longer verifies.
    const first = all.got[0]
    expect(first && verifyBySpec(all.secret, first.headers, first.body.replace('orders', 'ordens'))).toBe(false)

    // The receiver answers before the outcome is recorded: wait for the log to catch up.
    const log = await until(async () => {
      const items = await deliveriesOf(webhook.id)
      return items.every((d) => d.status !== 'pending') ? items : undefined
    })
    expect(log).toHaveLength(all.got.length)
    expect(log.every((d) => d.status === 'succeeded' && d.attempts === 1 && d.lastStatusCode === 200)).toBe(true)
  })

  it('retries after 500 twice and then delivers: the log shows 3 attempts, the last status 200', async () => {
    const { inbox, webhook } = await subscribe('/flaky', ['pipeline.saved'], [500, 500])
    const got = await studio.api.getPipeline({ params: { name: 'orders' } }, { principal: editor })
    await studio.api.savePipeline(
      {
        params: { name: 'orders' },
        headers: { 'if-match': `"${got.blob}"` },
        body: { document: { ...got.document, description: 'flaky' } },
      },
      { principal: editor },
    )
    // While it is retried, the log says so.
    await until(() => inbox.got.length === 1)
    const pending = await until(async () => {
      const [d] = await deliveriesOf(webhook.id)
      return d?.lastStatusCode === 500 ? d : undefined
    })
    expect(pending).toMatchObject({ status: 'pending', attempts: 1, type: 'pipeline.saved' })
    expect(pending.nextAttemptAt).toBeDefined()
    expect(pending.lastResponse?.startsWith('failure xxx')).toBe(true)
    expect(Buffer.byteLength(pending.lastResponse ?? '')).toBe(2048)

    const done = await until(async () => {
      const [d] = await deliveriesOf(webhook.id)
      return d?.status === 'succeeded' ? d : undefined
    })
    expect(done).toMatchObject({ attempts: 3, lastStatusCode: 200, lastResponse: 'answered 200' })
    expect(done.deliveredAt).toBeDefined()
    expect(done.nextAttemptAt).toBeUndefined()
    expect(inbox.got).toHaveLength(3)
    // The same message each time (same id and body), signed anew, and verified each time.
    expect(new Set(inbox.got.map((d) => d.headers['webhook-id']))).toEqual(new Set([done.eventId]))
    expect(new Set(inbox.got.map((d) => d.body)).size).toBe(1)
    expect(inbox.got.every((d) => d.verified)).toBe(true)
    expect(done.payload).toEqual(inbox.got[0]?.json)
  })

  it('gives up after the last retry', async () => {
    const { inbox, webhook } = await subscribe('/down', ['pipeline.deleted'], [503, 503, 503, 503, 503])
    await studio.api.createPipeline({ body: { name: 'scratch', template: 'daily-revenue' } }, { principal: editor })
    await studio.api.deletePipeline({ params: { name: 'scratch' }, query: { force: true } }, { principal: editor })
    const failed = await until(async () => {
      const [d] = await deliveriesOf(webhook.id)
      return d?.status === 'failed' ? d : undefined
    })
    expect(failed).toMatchObject({ attempts: 4, lastStatusCode: 503, type: 'pipeline.deleted' })
    expect(inbox.got).toHaveLength(4)
    expect(inbox.got[0]?.json.data).toMatchObject({ pipeline: 'scratch', by: editor.id })
  })

  it('disables a subscription whose receiver answers 410 Gone', async () => {
    const { inbox, webhook } = await subscribe('/gone', ['run.cancelled'], [410])
    const first = (await studio.runs.enqueue({ pipeline: 'orders' })).run
    await studio.runs.cancel(first.id)
    const disabled = await until(async () => {
      const list = await studio.api.listWebhooks({}, { principal: admin })
      answers.push(list)
      return list.find((w) => w.id === webhook.id && w.disabledAt)
    })
    expect(disabled.disabledAt).toBeDefined()
    const second = (await studio.runs.enqueue({ pipeline: 'orders' })).run
    await studio.runs.cancel(second.id)
    await until(() => all.got.some((d) => d.json.data['runId'] === second.id))
    await sleep(300)
    expect(inbox.got).toHaveLength(1)
    const log = await deliveriesOf(webhook.id)
    expect(log).toHaveLength(1)
    expect(log[0]).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 410 })
  })

  it('sends nothing more to a deleted subscription, pending retries included', async () => {
    const { inbox, webhook } = await subscribe('/deleted', ['run.cancelled'], [500, 500, 500, 500])
    const run = (await studio.runs.enqueue({ pipeline: 'orders' })).run
    await studio.runs.cancel(run.id)
    await until(() => inbox.got.length === 1)
    const deleted = await studio.api.deleteWebhook({ params: { id: webhook.id } }, { principal: admin })
    answers.push(deleted)
    expect(deleted.id).toBe(webhook.id)
    await sleep(600)
    expect(inbox.got).toHaveLength(1)
    await expect(
      studio.api.listWebhookDeliveries({ params: { id: webhook.id } }, { principal: admin }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' })
    expect((await studio.api.listWebhooks({}, { principal: admin })).map((w) => w.id)).not.toContain(webhook.id)
  })

  it('after a restart, delivers a run that ended while the studio was down once, and repeats nothing', async () => {
    const before = all.got.length
    await studio.close()
    const database = await openDatabase(
      options.databaseUrl ? { url: options.databaseUrl } : { dataDir: join(options.dataDir, 'db') },
    )
    let runId: string
    try {
      const runs = new RunStore({ db: database.db })
      const queue = new RunQueue({ db: database.db })
      runId = (await runs.enqueue({ pipeline: 'orders' })).run.id
      const [claim] = await queue.claim({ workerId: 'worker-2', limit: 1, leaseMs: 60_000 })
      expect(claim?.run.id).toBe(runId)
      await queue.finishAttempt({ runId, attempt: 1, workerId: 'worker-2' }, { status: 'succeeded' })
    } finally {
      await database.destroy()
    }
    studio = await createStudio(options)
    await until(() => all.got.some((d) => d.json.data['runId'] === runId))
    await sleep(500)
    expect(all.got.length).toBe(before + 1)
    expect(new Set(all.got.map((d) => d.headers['webhook-id'])).size).toBe(all.got.length)
  })

  it('shows the secret only in the answer that created the subscription, and never logs it', async () => {
    answers.push(await studio.api.listWebhooks({}, { principal: admin }))
    const text = JSON.stringify(answers)
    const logged = logs.join('\n')
    expect(secrets.length).toBeGreaterThan(4)
    expect(logs.some((l) => l.includes('webhook'))).toBe(true)
    for (const secret of secrets) {
      const raw = secret.slice('whsec_'.length)
      expect(text).not.toContain(raw)
      expect(logged).not.toContain(raw)
    }
  })
})
