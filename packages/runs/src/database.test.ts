import { createTestDatabase, makeTempDir, type TestDatabase } from '@sparkle-studio/test-utils'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, redactUrl, type StoreDatabase } from './database.ts'
import { migrateToLatest } from './migrations.ts'

const dialects = ['postgres', 'pglite'] as const

describe.each(dialects)('run store database on %s', (dialect) => {
  let testDb: TestDatabase | undefined
  let store: StoreDatabase
  beforeAll(async () => {
    if (dialect === 'postgres') {
      testDb = await createTestDatabase()
      store = await openDatabase({ url: testDb.url })
    } else {
      store = await openDatabase({})
    }
  })
  afterAll(async () => {
    await store.destroy()
    await testDb?.drop()
  })

  it('migrates once, idempotently, and stores a run with its events', async () => {
    expect(store.dialect).toBe(dialect)
    expect(await migrateToLatest(store.db)).toEqual(['0001_runs', '0002_run_attribution', '0003_run_usage'])
    expect(await migrateToLatest(store.db)).toEqual([])
    await store.db
      .insertInto('runs')
      .values({
        id: 'r1',
        pipeline: 'orders',
        revision: null,
        params: JSON.stringify({ day: '2026-11-01' }),
        status: 'queued',
        idempotency_key: 'k1',
        priority: 0,
        attempt: 0,
        max_attempts: 3,
        app_id: null,
        error: null,
      })
      .execute()
    await store.db
      .insertInto('run_events')
      .values({ run_id: 'r1', type: 'status', payload: JSON.stringify({ status: 'queued' }) })
      .execute()
    const run = await store.db.selectFrom('runs').selectAll().where('id', '=', 'r1').executeTakeFirstOrThrow()
    expect(run.params).toEqual({ day: '2026-11-01' })
    expect(run.created_at).toBeInstanceOf(Date)
    const events = await store.db
      .selectFrom('run_events')
      .select(['type', 'payload'])
      .where('run_id', '=', 'r1')
      .execute()
    expect(events).toEqual([{ type: 'status', payload: { status: 'queued' } }])
    await expect(
      store.db
        .insertInto('runs')
        .values({
          id: 'r2',
          pipeline: 'orders',
          revision: null,
          params: '{}',
          status: 'queued',
          idempotency_key: 'k1',
          priority: 0,
          attempt: 0,
          max_attempts: 1,
          app_id: null,
          error: null,
        })
        .execute(),
    ).rejects.toThrow(/unique|duplicate/i)
  })
})

describe.each(dialects)('notifications on %s', (dialect) => {
  it('delivers NOTIFY payloads to listeners until they unlisten', async () => {
    const testDb = dialect === 'postgres' ? await createTestDatabase() : undefined
    const store = await openDatabase(testDb ? { url: testDb.url } : {})
    try {
      const seen: string[] = []
      const unlisten = await store.listen('sparkle_test', { onNotify: (p) => seen.push(p) })
      await sql`SELECT pg_notify('sparkle_test', 'one')`.execute(store.db)
      await store.db.transaction().execute(async (trx) => {
        await sql`SELECT pg_notify('sparkle_test', 'two')`.execute(trx)
      })
      for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 20))
      expect(seen).toEqual(['one', 'two'])
      await unlisten()
      await sql`SELECT pg_notify('sparkle_test', 'three')`.execute(store.db)
      await new Promise((r) => setTimeout(r, 100))
      expect(seen).toEqual(['one', 'two'])
    } finally {
      await store.destroy()
      await testDb?.drop()
    }
  })
})

describe('openDatabase errors', () => {
  it('gives DATABASE_UNAVAILABLE with a redacted URL and the fix when PostgreSQL is unreachable', async () => {
    const error = await openDatabase({ url: 'postgres://admin:s3cret@127.0.0.1:1/nope' }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE' })
    expect((error as Error).message).toContain('Fix:')
    expect((error as Error).message).not.toContain('s3cret')
  })

  it('keeps an embedded database across reopen', async () => {
    const dir = await makeTempDir()
    try {
      const a = await openDatabase({ dataDir: dir.path })
      await migrateToLatest(a.db)
      await a.db
        .insertInto('runs')
        .values({
          id: 'kept',
          pipeline: 'p',
          revision: null,
          params: '{}',
          status: 'queued',
          idempotency_key: null,
          priority: 0,
          attempt: 0,
          max_attempts: 1,
          app_id: null,
          error: null,
        })
        .execute()
      await a.destroy()
      const b = await openDatabase({ dataDir: dir.path })
      const row = await b.db.selectFrom('runs').select('id').executeTakeFirst()
      await b.destroy()
      expect(row?.id).toBe('kept')
    } finally {
      await dir.remove()
    }
  })

  it('redacts credentials in connection strings', () => {
    expect(redactUrl('postgres://u:p@h:5432/db')).toBe('postgres://***@h:5432/db')
  })
})
