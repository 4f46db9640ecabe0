import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

/**
 * The PostgreSQL server tests create throwaway databases on. `./sparkle test` makes sure it is up and sets
 * TEST_DATABASE_URL; a test that needs PostgreSQL fails (never skips) when it cannot be reached.
 */
export function testServerUrl(): string {
  return process.env['TEST_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres'
}

/** A throwaway PostgreSQL database, dropped by `drop()`. */
export interface TestDatabase {
  readonly url: string
  readonly name: string
  drop(): Promise<void>
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url)
  u.pathname = `/${name}`
  return u.toString()
}

/** Creates a fresh database on the test server. Throws, with the fix, when the server is unreachable. */
export async function createTestDatabase(prefix = 'sparkle_test'): Promise<TestDatabase> {
  const server = testServerUrl()
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  const admin = new pg.Client({ connectionString: server })
  try {
    await admin.connect()
  } catch (cause) {
    throw new Error(
      `PostgreSQL is required for this test and is unreachable at ${server.replace(/\/\/[^@/]*@/, '//***@')}: ` +
        `${(cause as Error).message}. Fix: run the tests with ./sparkle test (it starts the local cluster), or set TEST_DATABASE_URL`,
      { cause },
    )
  }
  try {
    await admin.query(`CREATE DATABASE "${name}"`)
  } finally {
    await admin.end()
  }
  return {
    url: withDatabase(server, name),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: server })
      await c.connect()
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      } finally {
        await c.end()
      }
    },
  }
}

/** A temporary folder, removed by `remove()`. */
export interface TempDir {
  readonly path: string
  remove(): Promise<void>
}

/** Creates a temporary folder under the OS temp dir. */
export async function makeTempDir(prefix = 'sparkle-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}

export { type S3StandIn, startS3StandIn } from './moto.ts'
export {
  assertOpenLineageEvents,
  checkOpenLineageEvents,
  OPENLINEAGE_CLIENT_VERSION,
  type OpenLineageCheck,
} from './openlineage.ts'
