import { join, resolve } from 'node:path'
import { ValidationError } from '@sparkle-studio/core'
import type { DatabaseConfig } from './database.ts'

/** Options of {@link storeConfigFromEnv}. */
export interface StoreEnvOptions {
  /**
   * Folder of the embedded database when neither `DATABASE_URL` nor `SPARKLE_DATA_DIR` is set.
   * @default '.data/db' (relative to the working directory: the database of a server with the default data folder)
   */
  readonly defaultDataDir?: string | undefined
}

/**
 * Reads the run store's database settings from environment variables: `DATABASE_URL` (a `postgres://` or
 * `postgresql://` URL) selects PostgreSQL, with `DATABASE_POOL_SIZE` connections; otherwise the embedded database
 * lives in `<SPARKLE_DATA_DIR>/db`, where a server with that data folder keeps it (`@sparkle-studio/server`'s
 * `loadServerConfig` reads the same variables), or in `defaultDataDir`.
 *
 * @throws {@link @sparkle-studio/core!index.ValidationError | ValidationError} when `DATABASE_URL` is not a PostgreSQL URL or the pool size is not a positive integer.
 * @example
 * ```ts
 * import { migrateToLatest, openDatabase, storeConfigFromEnv } from '@sparkle-studio/runs'
 *
 * const store = await openDatabase(storeConfigFromEnv(process.env))
 * await migrateToLatest(store.db)
 * ```
 */
export function storeConfigFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  options: StoreEnvOptions = {},
): DatabaseConfig {
  const url = env['DATABASE_URL']?.trim()
  if (url) {
    let protocol: string
    try {
      protocol = new URL(url).protocol
    } catch {
      throw new ValidationError('DATABASE_URL is not a URL. Fix: set it to postgres://user@host:5432/database', [
        { path: '/DATABASE_URL', code: 'invalid_url', message: 'not a URL' },
      ])
    }
    if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
      throw new ValidationError(
        `DATABASE_URL must be a postgres:// or postgresql:// URL, not ${protocol}//. Fix: point it at PostgreSQL, or unset it to use the embedded database`,
        [{ path: '/DATABASE_URL', code: 'invalid_protocol', message: `unsupported protocol ${protocol}` }],
      )
    }
    const poolText = env['DATABASE_POOL_SIZE']?.trim()
    if (poolText) {
      const poolSize = Number(poolText)
      if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000) {
        throw new ValidationError(`DATABASE_POOL_SIZE must be an integer from 1 to 1000, not "${poolText}"`, [
          { path: '/DATABASE_POOL_SIZE', code: 'out_of_range', message: 'an integer from 1 to 1000' },
        ])
      }
      return { url, poolSize }
    }
    return { url }
  }
  const dataDir = env['SPARKLE_DATA_DIR']?.trim()
  return { dataDir: resolve(dataDir ? join(dataDir, 'db') : options.defaultDataDir || join('.data', 'db')) }
}
