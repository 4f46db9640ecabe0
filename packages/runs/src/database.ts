import { PGlite } from '@electric-sql/pglite'
import { StudioError } from '@sparkle-studio/core'
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely'
import pg from 'pg'
import { type NotificationHandlers, PgNotificationListener, type Unlisten } from './notify.ts'
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
  /**
   * Subscribes to a PostgreSQL notification channel: on PostgreSQL through one dedicated connection that reconnects
   * by itself, on PGlite in-process (notifications sent through this handle).
   */
  listen(channel: string, handlers: NotificationHandlers): Promise<Unlisten>
  /** Closes the pool (and the listening connection) or the embedded database. */
  destroy(): Promise<void>
}

/**
 * Opens the run store's database: a node-postgres pool when `url` is given, otherwise embedded PGlite
 * (a data folder, or memory). Checks the connection before returning.
 *
 * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `DATABASE_UNAVAILABLE` with the cause and the fix when the database cannot be reached.
 * @example
 * ```ts
 * import { migrateToLatest, openDatabase } from '@sparkle-studio/runs'
 *
 * const url = process.env['DATABASE_URL']
 * const store = await openDatabase(url ? { url } : { dataDir: '.data/db' })
 * await migrateToLatest(store.db)
 * ```
 */
export async function openDatabase(config: DatabaseConfig): Promise<StoreDatabase> {
  if ('url' in config) {
    const pool = new pg.Pool({ connectionString: config.url, max: config.poolSize ?? 10 })
    // A client that loses its connection (server restart) must not crash the process: the pool reports idle ones,
    // and a checked-out client between two queries emits the error itself. The failed query still rejects.
    pool.on('error', () => {})
    pool.on('connect', (client) => {
      client.on('error', () => {})
    })
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
    let listener: PgNotificationListener | undefined
    return {
      db,
      dialect: 'postgres',
      listen(channel, handlers) {
        listener ??= new PgNotificationListener(config.url)
        return listener.listen(channel, handlers)
      },
      async destroy() {
        await listener?.close()
        await db.destroy()
      },
    }
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
  return {
    db,
    dialect: 'pglite',
    async listen(channel, handlers) {
      const unlisten = await pglite.listen(channel, handlers.onNotify)
      return async () => {
        if (!pglite.closed) await unlisten()
      }
    },
    destroy: () => db.destroy(),
  }
}

/** Replaces the password (and user) of a connection string, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}
