// The API keys of a deployment, without the rest of the studio: for operators' scripts.
import { join, resolve } from 'node:path'
import { openDatabase } from '@sparkle-studio/runs'
import type { Kysely } from 'kysely'
import { ApiKeys } from './keys.ts'
import { type ApiSchema, migrateApiTables } from './tables.ts'

/** The API keys of a deployment, opened by {@link openApiKeys}. */
export interface OpenedApiKeys {
  readonly keys: ApiKeys
  /** Closes the database. */
  close(): Promise<void>
}

/**
 * Opens the API keys of a deployment: PostgreSQL at `databaseUrl`, or the embedded database in `<dataDir>/db` (which
 * only one process may open: stop the server first, or create keys through `POST /api/v1/keys`).
 *
 * @example
 * ```ts
 * import { openApiKeys } from '@sparkle-studio/server'
 *
 * const { keys, close } = await openApiKeys({ dataDir: '/srv/sparkle', databaseUrl: process.env['DATABASE_URL'] })
 * const { secret } = await keys.create({ name: 'ci', role: 'editor', createdBy: 'operator' })
 * await close()
 * ```
 */
export async function openApiKeys(options: {
  readonly dataDir: string
  readonly databaseUrl?: string | undefined
}): Promise<OpenedApiKeys> {
  const database = await openDatabase(
    options.databaseUrl ? { url: options.databaseUrl } : { dataDir: join(resolve(options.dataDir), 'db') },
  )
  const db = database.db as unknown as Kysely<ApiSchema>
  await migrateApiTables(db)
  return { keys: new ApiKeys(db), close: () => database.destroy() }
}
