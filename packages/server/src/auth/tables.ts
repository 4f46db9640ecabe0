// The API's own tables (API keys, the audit log) in the run store's database, with their own migrations.
import { type ColumnType, type Generated, type Kysely, sql } from 'kysely'
import { type Migration, Migrator } from 'kysely/migration'

/** The `api_keys` table: one row per key, the secret kept only as its SHA-256. */
export interface ApiKeysTable {
  id: string
  name: string
  role: string
  /** The visible start of the secret (`sk_live_ab12cd34`), to tell keys apart. */
  prefix: string
  /** SHA-256 of the whole secret, hex. */
  hash: string
  created_by: string
  created_at: ColumnType<Date, Date | string | undefined, never>
  expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  last_used_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

/** The `audit_log` table: one row per mutating request. */
export interface AuditLogTable {
  id: Generated<string>
  at: ColumnType<Date, Date | string | undefined, never>
  principal_id: string
  principal_name: string
  via: string
  route: string
  method: string
  target: string | null
  status: number
  code: string | null
  request_id: string
}

/** The `artifacts` table: one row per uploaded data artifact (its bytes are in the artifact storage). */
export interface ArtifactsTable {
  id: string
  /** Insertion order, for keyset pagination. */
  seq: Generated<string>
  name: string
  description: string | null
  format: string
  content_type: string
  size: ColumnType<string, number | string, never>
  sha256: string
  storage_key: string
  row_count: ColumnType<string, number | string, never>
  csv_header: boolean
  inspection_status: ColumnType<string, string | undefined, string>
  inspection_message: string | null
  inspected_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  sampled: ColumnType<boolean | null, boolean | null | undefined, boolean | null>
  /** Columns as Spark read them (JSON). */
  columns: ColumnType<unknown, string | null | undefined, string | null>
  /** The first rows as Spark read them (JSON), cached for the sample route. */
  sample: ColumnType<unknown, string | null | undefined, string | null>
  created_by: string
  created_at: ColumnType<Date, Date | string | undefined, never>
}

/**
 * The `webhooks` table: one row per subscription. `secret` is the signing secret as is (`whsec_` + base64): it signs
 * every delivery, so it cannot be kept only hashed as API keys are; it is never answered after creation nor logged.
 */
export interface WebhooksTable {
  id: string
  url: string
  /** The event types subscribed to (JSON array). */
  events: ColumnType<string[], string, string>
  description: string | null
  secret: string
  created_by: string
  created_at: ColumnType<Date, Date | string | undefined, never>
  /** When the receiver answered 410 Gone. */
  disabled_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

/** The `webhook_deliveries` table: the outbox of events per subscription, and how each attempt went. */
export interface WebhookDeliveriesTable {
  id: string
  /** Insertion order, for keyset pagination. */
  seq: Generated<string>
  webhook_id: string
  /** The `webhook-id` header, unique per subscription. */
  event_id: string
  type: string
  /** The JSON body sent, as text: signed and sent byte for byte on every attempt. */
  payload: string
  status: ColumnType<string, string | undefined, string>
  attempts: ColumnType<number, number | undefined, number>
  next_attempt_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  last_status_code: ColumnType<number | null, number | null | undefined, number | null>
  last_response: ColumnType<string | null, string | null | undefined, string | null>
  last_error: ColumnType<string | null, string | null | undefined, string | null>
  created_at: ColumnType<Date, Date | string | undefined, never>
  delivered_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

/** The `webhook_cursor` table: how far the dispatcher has turned run events into deliveries. */
export interface WebhookCursorTable {
  name: string
  /** The id of the last `run_events` row read for good. */
  last_event_id: ColumnType<string, string | number, string | number>
}

/** The API's tables. */
export interface ApiSchema {
  api_keys: ApiKeysTable
  audit_log: AuditLogTable
  artifacts: ArtifactsTable
  webhooks: WebhooksTable
  webhook_deliveries: WebhookDeliveriesTable
  webhook_cursor: WebhookCursorTable
}

const migrations: Record<string, Migration> = {
  '0001_keys_and_audit': {
    async up(db) {
      for (const statement of [
        `CREATE TABLE api_keys (
          id text PRIMARY KEY,
          name text NOT NULL,
          role text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
          prefix text NOT NULL,
          hash text NOT NULL UNIQUE,
          created_by text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          expires_at timestamptz,
          last_used_at timestamptz,
          revoked_at timestamptz
        )`,
        `CREATE TABLE audit_log (
          id bigserial PRIMARY KEY,
          at timestamptz NOT NULL DEFAULT now(),
          principal_id text NOT NULL,
          principal_name text NOT NULL,
          via text NOT NULL,
          route text NOT NULL,
          method text NOT NULL,
          target text,
          status integer NOT NULL,
          code text,
          request_id text NOT NULL
        )`,
        `CREATE INDEX audit_log_principal ON audit_log (principal_id, id)`,
        `CREATE INDEX audit_log_route ON audit_log (route, id)`,
      ]) {
        await sql.raw(statement).execute(db)
      }
    },
  },
  '0002_artifacts': {
    async up(db) {
      for (const statement of [
        `CREATE TABLE artifacts (
          id text PRIMARY KEY,
          seq bigserial NOT NULL UNIQUE,
          name text NOT NULL,
          description text,
          format text NOT NULL CHECK (format IN ('csv', 'jsonl', 'parquet')),
          content_type text NOT NULL,
          size bigint NOT NULL,
          sha256 text NOT NULL,
          storage_key text NOT NULL,
          row_count bigint NOT NULL,
          csv_header boolean NOT NULL DEFAULT true,
          inspection_status text NOT NULL DEFAULT 'pending' CHECK (inspection_status IN ('pending', 'ready', 'failed')),
          inspection_message text,
          inspected_at timestamptz,
          sampled boolean,
          columns jsonb,
          sample jsonb,
          created_by text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        )`,
        `CREATE INDEX artifacts_storage_key ON artifacts (storage_key)`,
        `CREATE INDEX artifacts_created_by ON artifacts (created_by, seq)`,
      ]) {
        await sql.raw(statement).execute(db)
      }
    },
  },
  '0003_webhooks': {
    async up(db) {
      for (const statement of [
        `CREATE TABLE webhooks (
          id text PRIMARY KEY,
          url text NOT NULL,
          events jsonb NOT NULL,
          description text,
          secret text NOT NULL,
          created_by text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          disabled_at timestamptz
        )`,
        `CREATE TABLE webhook_deliveries (
          id text PRIMARY KEY,
          seq bigserial NOT NULL UNIQUE,
          webhook_id text NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
          event_id text NOT NULL,
          type text NOT NULL,
          payload text NOT NULL,
          status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
          attempts integer NOT NULL DEFAULT 0,
          next_attempt_at timestamptz,
          last_status_code integer,
          last_response text,
          last_error text,
          created_at timestamptz NOT NULL DEFAULT now(),
          delivered_at timestamptz,
          UNIQUE (webhook_id, event_id)
        )`,
        `CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`,
        `CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, seq)`,
        `CREATE TABLE webhook_cursor (
          name text PRIMARY KEY,
          last_event_id bigint NOT NULL
        )`,
      ]) {
        await sql.raw(statement).execute(db)
      }
      // Subscriptions hear of runs that end from now on: the run events already there are not replayed. (The run
      // store's tables may not exist yet, e.g. under `openApiKeys` on a new database: then there is none.)
      const { rows } = await sql<{ present: boolean }>`SELECT to_regclass('run_events') IS NOT NULL AS present`.execute(
        db,
      )
      await sql
        .raw(
          rows[0]?.present
            ? `INSERT INTO webhook_cursor (name, last_event_id) SELECT 'run_events', COALESCE(max(id), 0) FROM run_events`
            : `INSERT INTO webhook_cursor (name, last_event_id) VALUES ('run_events', 0)`,
        )
        .execute(db)
    },
  },
}

/** Brings the API's tables to the newest version (under Kysely's migration lock, like the run store's). */
export async function migrateApiTables(db: Kysely<ApiSchema>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'sparkle_api_migrations',
    migrationLockTableName: 'sparkle_api_migrations_lock',
  })
  const { error } = await migrator.migrateToLatest()
  if (error) throw error
}
