import { type Kysely, sql } from 'kysely'
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration'
import type { StoreSchema } from './schema.ts'

const migrations: Record<string, Migration> = {
  '0001_runs': {
    async up(db) {
      await db.schema
        .createTable('runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('pipeline', 'text', (c) => c.notNull())
        .addColumn('revision', 'text')
        .addColumn('params', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('idempotency_key', 'text', (c) => c.unique())
        .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('app_id', 'text')
        .addColumn('error', 'jsonb')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('started_at', 'timestamptz')
        .addColumn('finished_at', 'timestamptz')
        .execute()
      await db.schema.createIndex('runs_pipeline_created').on('runs').columns(['pipeline', 'created_at']).execute()
      await db.schema
        .createTable('run_events')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('payload', 'jsonb', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute()
      await db.schema.createIndex('run_events_run').on('run_events').columns(['run_id', 'id']).execute()
    },
  },
}

const provider: MigrationProvider = { getMigrations: async () => migrations }

/**
 * Brings the run store's schema to the newest version. Safe to call on every start and from several processes:
 * Kysely's migrator takes a lock so that one process migrates and the others wait.
 *
 * @returns the names of the migrations applied by this call.
 */
export async function migrateToLatest(db: Kysely<StoreSchema>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'sparkle_migrations',
    migrationLockTableName: 'sparkle_migrations_lock',
  })
  const { error, results } = await migrator.migrateToLatest()
  if (error) throw error
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
