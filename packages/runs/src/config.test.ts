import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { storeConfigFromEnv } from './config.ts'

describe('storeConfigFromEnv', () => {
  it('selects PostgreSQL from DATABASE_URL, with an optional pool size', () => {
    expect(storeConfigFromEnv({ DATABASE_URL: 'postgres://u@h:5432/db' })).toEqual({ url: 'postgres://u@h:5432/db' })
    expect(storeConfigFromEnv({ DATABASE_URL: 'postgresql://h/db', DATABASE_POOL_SIZE: '4' })).toEqual({
      url: 'postgresql://h/db',
      poolSize: 4,
    })
  })

  it('falls back to the embedded database where a server with SPARKLE_DATA_DIR keeps it, or the default folder', () => {
    expect(storeConfigFromEnv({ SPARKLE_DATA_DIR: '/var/lib/sparkle' })).toEqual({ dataDir: '/var/lib/sparkle/db' })
    expect(storeConfigFromEnv({ SPARKLE_DATA_DIR: '/var/lib/sparkle' }, { defaultDataDir: '/tmp/x' })).toEqual({
      dataDir: '/var/lib/sparkle/db',
    })
    expect(storeConfigFromEnv({})).toEqual({ dataDir: resolve('.data/db') })
    expect(storeConfigFromEnv({ DATABASE_URL: '  ' }, { defaultDataDir: '/tmp/x' })).toEqual({ dataDir: '/tmp/x' })
  })

  it('rejects URLs that are not PostgreSQL and bad pool sizes, without echoing credentials', () => {
    expect(() => storeConfigFromEnv({ DATABASE_URL: 'mysql://u:secret@h/db' })).toThrow(/postgres:\/\//)
    expect(() => storeConfigFromEnv({ DATABASE_URL: 'mysql://u:secret@h/db' })).not.toThrow(/secret/)
    expect(() => storeConfigFromEnv({ DATABASE_URL: 'not a url' })).toThrow(/not a URL/)
    expect(() => storeConfigFromEnv({ DATABASE_URL: 'postgres://h/db', DATABASE_POOL_SIZE: '0' })).toThrow(
      /DATABASE_POOL_SIZE/,
    )
  })
})
