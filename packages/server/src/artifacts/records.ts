// Artifact metadata in the run store's database: one row per upload, its facts, and what Spark made of it.
import { type ArtifactFormat, StudioError } from '@sparkle-studio/core'
import type { Kysely, Selectable } from 'kysely'
import type { ApiSchema, ArtifactsTable } from '../auth/tables.ts'

export type { ArtifactFormat }

/** A column as Spark reads it. */
export interface ArtifactColumn {
  readonly name: string
  readonly type: string
  readonly nullable: boolean
}

/** One artifact's metadata row. */
export interface ArtifactRecord {
  readonly id: string
  readonly name: string
  readonly description?: string
  readonly format: ArtifactFormat
  readonly contentType: string
  readonly size: number
  readonly sha256: string
  /** Where the storage keeps the bytes (never shown to callers). */
  readonly storageKey: string
  readonly rowCount: number
  /** CSV: whether the first row is a header. */
  readonly csvHeader: boolean
  readonly inspection: {
    readonly status: 'pending' | 'ready' | 'failed'
    readonly message?: string
    readonly inspectedAt?: string
    readonly sampled?: boolean
  }
  /** Columns, once inspected. */
  readonly columns?: readonly ArtifactColumn[]
  /** The first rows, once inspected. */
  readonly sample?: readonly Record<string, unknown>[]
  readonly createdBy: string
  readonly createdAt: string
}

/** What a new artifact's row holds. */
export interface NewArtifact {
  readonly id: string
  readonly name: string
  readonly description?: string | undefined
  readonly format: ArtifactFormat
  readonly contentType: string
  readonly size: number
  readonly sha256: string
  readonly storageKey: string
  readonly rowCount: number
  readonly csvHeader: boolean
  readonly createdBy: string
}

/** Filters and page of {@link ArtifactRecords.list}. */
export interface ArtifactQuery {
  /** Only names containing this text (case-insensitive). */
  readonly q?: string | undefined
  readonly format?: ArtifactFormat | undefined
  readonly createdBy?: string | undefined
  /** @default 100 */
  readonly limit?: number | undefined
  /** The `nextCursor` of the page before. */
  readonly cursor?: string | undefined
}

/** What Spark made of an artifact. */
export type ArtifactInspectionResult =
  | {
      readonly status: 'ready'
      readonly columns: readonly ArtifactColumn[]
      readonly sample: readonly Record<string, unknown>[]
      readonly sampled: boolean
    }
  | { readonly status: 'failed'; readonly message: string }

const iso = (d: Date | null | undefined): string | undefined => (d ? new Date(d).toISOString() : undefined)

/** Column JSON as stored: PostgreSQL's jsonb comes back parsed, a string only from drivers that do not parse it. */
const fromJson = (value: unknown): unknown => (typeof value === 'string' ? (JSON.parse(value) as unknown) : value)

function toRecord(row: Selectable<ArtifactsTable>): ArtifactRecord {
  const columns = fromJson(row.columns) as ArtifactColumn[] | null
  const sample = fromJson(row.sample) as Record<string, unknown>[] | null
  const inspectedAt = iso(row.inspected_at)
  return {
    id: row.id,
    name: row.name,
    ...(row.description !== null ? { description: row.description } : {}),
    format: row.format as ArtifactFormat,
    contentType: row.content_type,
    size: Number(row.size),
    sha256: row.sha256,
    storageKey: row.storage_key,
    rowCount: Number(row.row_count),
    csvHeader: row.csv_header,
    inspection: {
      status: row.inspection_status as ArtifactRecord['inspection']['status'],
      ...(row.inspection_message !== null ? { message: row.inspection_message } : {}),
      ...(inspectedAt ? { inspectedAt } : {}),
      ...(row.sampled !== null ? { sampled: row.sampled } : {}),
    },
    ...(columns ? { columns } : {}),
    ...(sample ? { sample } : {}),
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
  }
}

/** The `artifacts` table: insert, read, list with keyset pagination, record inspections, delete. */
export class ArtifactRecords {
  readonly #db: Kysely<ApiSchema>

  /** @param db the run store's database, with the API's tables migrated (`migrateApiTables`). */
  constructor(db: Kysely<ApiSchema>) {
    this.#db = db
  }

  /** Adds an artifact's row. */
  async insert(artifact: NewArtifact): Promise<ArtifactRecord> {
    const row = await this.#db
      .insertInto('artifacts')
      .values({
        id: artifact.id,
        name: artifact.name,
        description: artifact.description ?? null,
        format: artifact.format,
        content_type: artifact.contentType,
        size: artifact.size,
        sha256: artifact.sha256,
        storage_key: artifact.storageKey,
        row_count: artifact.rowCount,
        csv_header: artifact.csvHeader,
        created_by: artifact.createdBy,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    return toRecord(row)
  }

  /** An artifact by id, or `undefined`. */
  async get(id: string): Promise<ArtifactRecord | undefined> {
    const row = await this.#db.selectFrom('artifacts').selectAll().where('id', '=', id).executeTakeFirst()
    return row ? toRecord(row) : undefined
  }

  /** Several artifacts by id (those that exist). */
  async getMany(ids: readonly string[]): Promise<ArtifactRecord[]> {
    if (ids.length === 0) return []
    const rows = await this.#db
      .selectFrom('artifacts')
      .selectAll()
      .where('id', 'in', [...ids])
      .execute()
    return rows.map(toRecord)
  }

  /**
   * Artifacts, newest first.
   * @throws `BAD_REQUEST` for a cursor that is not one of this list's.
   */
  async list(query: ArtifactQuery = {}): Promise<{ items: ArtifactRecord[]; nextCursor?: string }> {
    const limit = query.limit ?? 100
    let q = this.#db
      .selectFrom('artifacts')
      .selectAll()
      .orderBy('seq', 'desc')
      .limit(limit + 1)
    if (query.q !== undefined) {
      const pattern = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
      q = q.where('name', 'ilike', pattern)
    }
    if (query.format !== undefined) q = q.where('format', '=', query.format)
    if (query.createdBy !== undefined) q = q.where('created_by', '=', query.createdBy)
    if (query.cursor !== undefined) {
      if (!/^\d{1,19}$/.test(query.cursor)) {
        throw new StudioError('BAD_REQUEST', 'cursor is not valid: pass the nextCursor of the page before')
      }
      q = q.where('seq', '<', query.cursor)
    }
    const rows = await q.execute()
    const page = rows.slice(0, limit)
    const last = page.at(-1)
    const items = page.map(toRecord)
    return rows.length > limit && last ? { items, nextCursor: String(last.seq) } : { items }
  }

  /** Records what Spark made of an artifact. */
  async saveInspection(id: string, result: ArtifactInspectionResult): Promise<ArtifactRecord | undefined> {
    const row = await this.#db
      .updateTable('artifacts')
      .set(
        result.status === 'ready'
          ? {
              inspection_status: 'ready',
              inspection_message: null,
              inspected_at: new Date(),
              sampled: result.sampled,
              columns: JSON.stringify(result.columns),
              sample: JSON.stringify(result.sample),
            }
          : { inspection_status: 'failed', inspection_message: result.message, inspected_at: new Date() },
      )
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst()
    return row ? toRecord(row) : undefined
  }

  /** Removes an artifact's row; answers it, or `undefined` when there was none. */
  async delete(id: string): Promise<ArtifactRecord | undefined> {
    const row = await this.#db.deleteFrom('artifacts').where('id', '=', id).returningAll().executeTakeFirst()
    return row ? toRecord(row) : undefined
  }

  /** How many artifacts keep their bytes under a storage key (identical uploads share one object). */
  async countByStorageKey(key: string): Promise<number> {
    const row = await this.#db
      .selectFrom('artifacts')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('storage_key', '=', key)
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }
}
