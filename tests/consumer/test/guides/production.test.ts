// docs/guides/production.md, as a reader runs it with the packed packages installed by npm: the run-store script on
// the embedded PGlite and on PostgreSQL (a throwaway database of TEST_DATABASE_URL), each twice (migrations applied
// once, the run queued once). The guide's other code is configuration (the environment table, a secret reference in
// JSON) and the repository's reference worker (`node examples/worker/src/main.ts`), run by examples/worker's tests.
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { outsiderEnv, runNode } from '../consumer-project.ts'
import { Guide } from '../guide.ts'
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

describe('guide: operating in production', () => {
  const database = `sparkle_consumer_${randomBytes(4).toString('hex')}`
  let created = false

  afterAll(async () => {
    if (created) await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  })

  itInstallsWhatItImports(guide)

  const runStore = async (env: NodeJS.ProcessEnv) => {
    const file = await writeBlock(guide, guide.run('## PostgreSQL'), 'run-store.ts')
    return (await runNode(file, { cwd: await guideDir(guide), env })).stdout
  }

  it('opens the embedded run store from SPARKLE_DATA_DIR, migrates it once and queues the run once', async () => {
    const env = outsiderEnv({ SPARKLE_DATA_DIR: join(inject('consumerRoot'), 'production', 'db') })
    delete env['DATABASE_URL']
    const first = await runStore(env)
    expect(first).toMatch(/^run store on pglite, [1-9]\d* migrations applied$/m)
    expect(first).toMatch(/^run \S+ queued, new$/m)
    const again = await runStore(env)
    expect(again).toMatch(/^run store on pglite, 0 migrations applied$/m)
    expect(again).toMatch(/^run \S+ queued, already queued$/m)
  })

  it('opens the run store on PostgreSQL from DATABASE_URL, migrates it once and queues the run once', async () => {
    await admin(`CREATE DATABASE ${database}`)
    created = true
    const url = new URL(process.env['TEST_DATABASE_URL'] ?? '')
    url.pathname = `/${database}`
    const env = outsiderEnv({ DATABASE_URL: url.href })
    const first = await runStore(env)
    expect(first).toMatch(/^run store on postgres, [1-9]\d* migrations applied$/m)
    expect(first).toMatch(/^run \S+ queued, new$/m)
    const again = await runStore(env)
    expect(again).toMatch(/^run store on postgres, 0 migrations applied$/m)
    expect(again).toMatch(/^run \S+ queued, already queued$/m)
  })

  itAccountsForEveryBlock(guide)
})
