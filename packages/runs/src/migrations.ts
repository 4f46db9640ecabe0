import { type Kysely, sql } from 'kysely'
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration'
import type { StoreSchema } from './schema.ts'

// One statement per entry: PGlite runs each as a prepared statement, which holds a single command.
const runStoreTables = [
  `CREATE TABLE backfills (
    id text PRIMARY KEY,
    pipeline text NOT NULL,
    revision text,
    range_start timestamptz NOT NULL,
    range_end timestamptz NOT NULL,
    grain text NOT NULL,
    timezone text NOT NULL,
    reprocess text NOT NULL,
    concurrency integer NOT NULL CHECK (concurrency > 0),
    run_order text NOT NULL,
    params jsonb NOT NULL DEFAULT '{}'::jsonb,
    partition_count integer NOT NULL,
    cancelled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX backfills_pipeline ON backfills (pipeline, created_at)`,
  `CREATE TABLE runs (
    id text PRIMARY KEY,
    seq bigserial NOT NULL UNIQUE,
    pipeline text NOT NULL,
    revision text,
    params jsonb NOT NULL DEFAULT '{}'::jsonb,
    status text NOT NULL CHECK (status IN ('queued', 'retrying', 'submitting', 'running', 'succeeded', 'failed', 'cancelled')),
    idempotency_key text UNIQUE,
    priority integer NOT NULL DEFAULT 0,
    attempt integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 1 CHECK (max_attempts > 0),
    app_id text,
    error jsonb,
    backfill_id text REFERENCES backfills (id) ON DELETE SET NULL,
    partition_key text,
    schedule_slot timestamptz,
    retry_of text REFERENCES runs (id) ON DELETE SET NULL,
    available_at timestamptz NOT NULL DEFAULT now(),
    lease_owner text,
    lease_expires_at timestamptz,
    cancel_requested_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
  )`,
  // The claim scans only unfinished runs, in claim order.
  `CREATE INDEX runs_claimable ON runs (priority DESC, seq) WHERE status IN ('queued', 'retrying', 'submitting', 'running')`,
  `CREATE INDEX runs_pipeline ON runs (pipeline, seq)`,
  `CREATE INDEX runs_status ON runs (status, seq)`,
  `CREATE INDEX runs_backfill ON runs (backfill_id, status) WHERE backfill_id IS NOT NULL`,
  `CREATE INDEX runs_created ON runs (created_at)`,
  `CREATE INDEX runs_retry_of ON runs (retry_of) WHERE retry_of IS NOT NULL`,
  `CREATE TABLE run_attempts (
    id text PRIMARY KEY,
    run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'lost', 'released')),
    worker_id text NOT NULL,
    submission_id text,
    app_id text,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    error jsonb,
    UNIQUE (run_id, attempt)
  )`,
  `CREATE TABLE run_events (
    id bigserial PRIMARY KEY,
    run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    attempt integer,
    type text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX run_events_run ON run_events (run_id, id)`,
  `CREATE TABLE backfill_partitions (
    backfill_id text NOT NULL REFERENCES backfills (id) ON DELETE CASCADE,
    partition_key text NOT NULL,
    idempotency_key text NOT NULL,
    partition_start timestamptz NOT NULL,
    partition_end timestamptz NOT NULL,
    action text NOT NULL,
    run_id text NOT NULL,
    seq integer NOT NULL,
    PRIMARY KEY (backfill_id, partition_key)
  )`,
  `CREATE INDEX backfill_partitions_key ON backfill_partitions (idempotency_key)`,
  `CREATE TABLE schedule_state (
    pipeline text PRIMARY KEY,
    cron text NOT NULL,
    timezone text NOT NULL,
    evaluated_until timestamptz NOT NULL,
    last_slot timestamptz,
    last_run_id text,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE store_leases (
    name text PRIMARY KEY,
    owner text NOT NULL,
    expires_at timestamptz NOT NULL
  )`,
]

const migrations: Record<string, Migration> = {
  '0001_runs': {
    async up(db) {
      for (const statement of runStoreTables) await sql.raw(statement).execute(db)
    },
  },
  // Who queued and who cancelled each run (principal ids from the host).
  '0002_run_attribution': {
    async up(db) {
      await sql.raw('ALTER TABLE runs ADD COLUMN requested_by text').execute(db)
      await sql.raw('ALTER TABLE runs ADD COLUMN cancelled_by text').execute(db)
    },
  },
  // What each attempt used on the cluster (Spark's own counts), summed per pipeline and day for budgets.
  '0003_run_usage': {
    async up(db) {
      await sql
        .raw(`CREATE TABLE run_usage (
          run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          attempt integer NOT NULL,
          pipeline text NOT NULL,
          recorded_at timestamptz NOT NULL DEFAULT now(),
          core_seconds double precision NOT NULL CHECK (core_seconds >= 0),
          task_seconds double precision NOT NULL CHECK (task_seconds >= 0),
          cpu_seconds double precision,
          peak_memory_bytes double precision,
          input_bytes double precision,
          output_bytes double precision,
          shuffle_read_bytes double precision,
          shuffle_write_bytes double precision,
          executors integer,
          cores integer,
          PRIMARY KEY (run_id, attempt)
        )`)
        .execute(db)
      await sql.raw('CREATE INDEX run_usage_pipeline_day ON run_usage (pipeline, recorded_at)').execute(db)
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
