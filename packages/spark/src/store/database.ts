import { PGlite } from '@electric-sql/pglite'
import { StudioError } from '@sparkle-studio/core'
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { StoreSchema } from './schema.ts'

/** How to reach the run store's database: PostgreSQL by URL, or embedded PGlite in a data folder. */
export type DatabaseConfig =
  | {
      /** A PostgreSQL connection string, e.g. `postgres://user@127.0.0.1:5432/sparkle`. */
      readonly url: string
      /**
       * Connections in the pool.
       * @default 10
       */
      readonly poolSize?: number | undefined
    }
  | {
      /** Folder of the embedded PGlite database; absent for an in-memory database (tests, previews). */
      readonly dataDir?: string | undefined
    }

/** A run store database handle and what it runs on. */
export interface StoreDatabase {
  /** The Kysely instance over the store's tables. */
  readonly db: Kysely<StoreSchema>
  /** `postgres` (node-postgres pool) or `pglite` (embedded). */
  readonly dialect: 'postgres' | 'pglite'
  /** Closes the pool or the embedded database. */
  destroy(): Promise<void>
}

/**
 * Opens the run store's database: a node-postgres pool when `url` is given, otherwise embedded PGlite
 * (a data folder, or memory). Checks the connection before returning.
 *
 * @throws {@link @sparkle-studio/core!StudioError | StudioError} `DATABASE_UNAVAILABLE` with the cause and the fix when the database cannot be reached.
 * @example
 * ```ts
 * import { migrateToLatest, openDatabase } from '@sparkle-studio/spark/store'
 *
 * const store = await openDatabase(process.env.DATABASE_URL ? { url: process.env.DATABASE_URL } : { dataDir: '.data/db' })
 * await migrateToLatest(store.db)
 * ```
 */
export async function openDatabase(config: DatabaseConfig): Promise<StoreDatabase> {
  if ('url' in config) {
    const pool = new pg.Pool({ connectionString: config.url, max: config.poolSize ?? 10 })
    // An idle client that loses its connection (server restart) must not crash the process.
    pool.on('error', () => {})
    const db = new Kysely<StoreSchema>({ dialect: new PostgresDialect({ pool }) })
    try {
      const client = await pool.connect()
      client.release()
    } catch (cause) {
      await db.destroy().catch(() => {})
      throw new StudioError(
        'DATABASE_UNAVAILABLE',
        `PostgreSQL unreachable at ${redactUrl(config.url)} (${(cause as Error).message}). Fix: start the server, or check DATABASE_URL`,
        { url: redactUrl(config.url) },
        { cause },
      )
    }
    return { db, dialect: 'postgres', destroy: () => db.destroy() }
  }
  let pglite: PGlite
  try {
    pglite = config.dataDir ? new PGlite(config.dataDir) : new PGlite()
    await pglite.waitReady
  } catch (cause) {
    throw new StudioError(
      'DATABASE_UNAVAILABLE',
      `the embedded database at ${config.dataDir ?? 'memory'} could not be opened (${(cause as Error).message}). Fix: check the folder is writable and not used by another process`,
      undefined,
      { cause },
    )
  }
  const db = new Kysely<StoreSchema>({ dialect: new PGliteDialect({ pglite }) })
  return { db, dialect: 'pglite', destroy: () => db.destroy() }
}

/** Replaces the password (and user) of a connection string, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}
