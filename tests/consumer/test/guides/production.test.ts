// docs/guides/production.md, as a reader runs it with the packed packages installed by npm: the run-store script on
// the embedded PGlite and on PostgreSQL (throwaway databases of TEST_DATABASE_URL), each twice (migrations applied
// once, the run queued once); then the API process and two worker processes of "Several workers" on one PostgreSQL
// database, a run queued through the API and executed by a worker on real Spark (pyspark of an active virtualenv).
// The guide's other code is configuration (the environment table, a secret reference in JSON) and the repository's
// reference worker (`node examples/worker/src/main.ts`), run by examples/worker's tests.
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { outsiderEnv, runNode, sparkEnv } from '../consumer-project.ts'
import { Guide } from '../guide.ts'
import { assertNoProcessLeft, freePort, type ServerProcess, startNodeServer, stopNodeServer } from '../processes.ts'
import { guideDir, itAccountsForEveryBlock, itInstallsWhatItImports, writeBlock } from './lib.ts'

const guide = new Guide('production.md')

/** The part of node-postgres the throwaway database needs. */
interface PgClient {
  connect(): Promise<void>
  query(sql: string): Promise<unknown>
  end(): Promise<void>
}

/** Runs one statement on the server of TEST_DATABASE_URL, with the consumer project's own `pg`. */
async function admin(sql: string): Promise<void> {
  const url = process.env['TEST_DATABASE_URL']
  if (!url) throw new Error('TEST_DATABASE_URL is not set: these tests need PostgreSQL (./sparkle test starts it)')
  const pg = createRequire(join(inject('consumerApp'), 'package.json'))('pg') as {
    Client: new (options: { connectionString: string }) => PgClient
  }
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** The URL of a database of the TEST_DATABASE_URL server. */
function databaseUrl(name: string): string {
  const url = new URL(process.env['TEST_DATABASE_URL'] ?? '')
  url.pathname = `/${name}`
  return url.href
}

describe('guide: operating in production', () => {
  const database = `sparkle_consumer_${randomBytes(4).toString('hex')}`
  const workersDatabase = `${database}_workers`
  const created: string[] = []
  const createDatabase = async (name: string) => {
    await admin(`CREATE DATABASE ${name}`)
    created.push(name)
  }

  afterAll(async () => {
    for (const name of created) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  })

  itInstallsWhatItImports(guide)

  const runStore = async (env: NodeJS.ProcessEnv) => {
    const file = await writeBlock(guide, guide.run('## PostgreSQL'), 'run-store.ts')
    return (await runNode(file, { cwd: await guideDir(guide), env })).stdout
  }

  it('opens the embedded run store in <SPARKLE_DATA_DIR>/db, migrates it once and queues the run once', async () => {
    const data = join(inject('consumerRoot'), 'production', 'data')
    const env = outsiderEnv({ SPARKLE_DATA_DIR: data })
    delete env['DATABASE_URL']
    const first = await runStore(env)
    expect(first).toMatch(/^run store on pglite, [1-9]\d* migrations applied$/m)
    expect(first).toMatch(/^run \S+ queued, new$/m)
    const again = await runStore(env)
    expect(again).toMatch(/^run store on pglite, 0 migrations applied$/m)
    expect(again).toMatch(/^run \S+ queued, already queued$/m)
    expect(existsSync(join(data, 'db', 'PG_VERSION'))).toBe(true)
  })

  it('opens the run store on PostgreSQL from DATABASE_URL, migrates it once and queues the run once', async () => {
    await createDatabase(database)
    const env = outsiderEnv({ DATABASE_URL: databaseUrl(database) })
    const first = await runStore(env)
    expect(first).toMatch(/^run store on postgres, [1-9]\d* migrations applied$/m)
    expect(first).toMatch(/^run \S+ queued, new$/m)
    const again = await runStore(env)
    expect(again).toMatch(/^run store on postgres, 0 migrations applied$/m)
    expect(again).toMatch(/^run \S+ queued, already queued$/m)
  })

  it('runs the API and two workers on one PostgreSQL database; a run queued through the API executes on a worker', async () => {
    await createDatabase(workersDatabase)
    const dir = await guideDir(guide)
    const api = await writeBlock(guide, guide.run('## Several workers', 0), 'api.ts')
    const worker = await writeBlock(guide, guide.run('## Several workers', 1), 'worker.ts')
    const data = join(inject('consumerRoot'), 'production', 'data')
    const port = await freePort()
    const env = (extra: Record<string, string>) =>
      sparkEnv('virtualenv', { SPARKLE_DATA_DIR: data, DATABASE_URL: databaseUrl(workersDatabase), ...extra })
    const processes: ServerProcess[] = []
    try {
      processes.push(
        await startNodeServer(api, {
          cwd: dir,
          env: env({ PORT: String(port) }),
          ready: /listening on/,
          timeoutMs: 120_000,
        }),
      )
      for (const n of [1, 2]) {
        const healthFile = join(data, `worker-${n}.json`)
        processes.push(
          await startNodeServer(worker, {
            cwd: dir,
            env: env({ SPARKLE_HEALTH_FILE: healthFile }),
            ready: /^worker started$/m,
            timeoutMs: 120_000,
          }),
        )
      }
      const key = readFileSync(join(data, 'admin-key'), 'utf8').trim()
      const call = async (method: string, path: string, body?: unknown) => {
        const answer = await fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        })
        const json = (await answer.json()) as { data?: Record<string, unknown> }
        expect(answer.status, `${method} ${path}: ${JSON.stringify(json)}`).toBeLessThan(300)
        return json.data ?? {}
      }
      await call('POST', '/pipelines', { name: 'daily-revenue', template: 'daily-revenue' })
      const run = await call('POST', '/execute/run', { pipeline: 'daily-revenue', params: { ds: '2026-11-03' } })
      const deadline = Date.now() + 300_000
      let execution: Record<string, unknown> = {}
      while (Date.now() < deadline) {
        execution = await call('GET', `/executions/${String(run['id'])}`)
        if (['succeeded', 'failed', 'cancelled'].includes(String(execution['status']))) break
        await sleep(1000)
      }
      const logs = processes.map((p) => p.output()).join('\n')
      expect(execution['status'], `${JSON.stringify(execution)}\n${logs}`).toBe('succeeded')
      expect(existsSync(join(data, 'output', 'daily_revenue', 'ds=2026-11-03', '_SUCCESS'))).toBe(true)
      const workerIds = [1, 2].map((n) => {
        const health = JSON.parse(readFileSync(join(data, `worker-${n}.json`), 'utf8')) as { workerId?: string }
        expect(health.workerId, `worker ${n} health`).toBeTruthy()
        return health.workerId
      })
      // The API process runs no worker with DATABASE_URL set: one of the worker processes executed the run.
      const attempts = execution['attempts'] as { workerId?: string }[]
      expect(workerIds, JSON.stringify(execution)).toContain(attempts[0]?.workerId)
    } finally {
      for (const p of processes.reverse()) await stopNodeServer(p, 90_000)
      await assertNoProcessLeft(data, 30_000)
    }
  })

  itAccountsForEveryBlock(guide)
})
