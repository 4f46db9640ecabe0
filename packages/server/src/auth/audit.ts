// The audit log: who did what through the API (every mutating request), kept in the database.
import { StudioError } from '@sparkle-studio/core'
import type { Kysely, Selectable } from 'kysely'
import type { Principal } from '../principal.ts'
import type { ApiSchema, AuditLogTable } from './tables.ts'

/** One mutating request, as the audit log keeps it. */
export interface AuditEntry {
  readonly id: string
  readonly at: string
  readonly principal: { readonly id: string; readonly name: string; readonly via: Principal['via'] }
  /** The route's name in the contract, e.g. `savePipeline`. */
  readonly route: string
  readonly method: string
  /** What it acted on: a pipeline, a run, a branch, a key. */
  readonly target?: string
  /** The HTTP status it was answered with. */
  readonly status: number
  /** The error code, when it failed. */
  readonly code?: string
  readonly requestId: string
}

/** What the HTTP handler records for a request. */
export interface AuditRecord {
  readonly route: string
  readonly method: string
  readonly principal: Principal
  readonly params: Readonly<Record<string, string>>
  readonly body?: unknown
  readonly status: number
  readonly requestId: string
  /** The answer's data (a new run's id, a created key's id). */
  readonly data?: unknown
  /** The error code, when it failed. */
  readonly code?: string | undefined
}

/** Filters of {@link AuditLog.list}. */
export interface AuditQuery {
  readonly principal?: string | undefined
  readonly route?: string | undefined
  readonly since?: string | undefined
  readonly until?: string | undefined
  /** @default 100 */
  readonly limit?: number | undefined
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string | undefined
}

function targetOf(record: AuditRecord): string | undefined {
  const p = record.params
  const body = (typeof record.body === 'object' && record.body !== null ? record.body : {}) as Record<string, unknown>
  const data = (typeof record.data === 'object' && record.data !== null ? record.data : {}) as Record<string, unknown>
  for (const value of [p['name'], p['id'], body['name'], body['pipeline'], body['head'], body['branch'], data['id']]) {
    if (typeof value === 'string' && value) return value.slice(0, 200)
  }
  return undefined
}

function toEntry(row: Selectable<AuditLogTable>): AuditEntry {
  return {
    id: String(row.id),
    at: new Date(row.at).toISOString(),
    principal: { id: row.principal_id, name: row.principal_name, via: row.via as Principal['via'] },
    route: row.route,
    method: row.method,
    ...(row.target ? { target: row.target } : {}),
    status: row.status,
    ...(row.code ? { code: row.code } : {}),
    requestId: row.request_id,
  }
}

/** The audit log of a studio. */
export class AuditLog {
  readonly #db: Kysely<ApiSchema>

  constructor(db: Kysely<ApiSchema>) {
    this.#db = db
  }

  /** Writes one entry. */
  async record(record: AuditRecord): Promise<void> {
    await this.#db
      .insertInto('audit_log')
      .values({
        principal_id: record.principal.id,
        principal_name: record.principal.name,
        via: record.principal.via,
        route: record.route,
        method: record.method,
        target: targetOf(record) ?? null,
        status: record.status,
        code: record.code ?? null,
        request_id: record.requestId,
      })
      .execute()
  }

  /**
   * Entries, newest first, with keyset pagination.
   * @throws `BAD_REQUEST` for a cursor that is not one of this list's.
   */
  async list(query: AuditQuery = {}): Promise<{ items: AuditEntry[]; nextCursor?: string }> {
    const limit = query.limit ?? 100
    let q = this.#db
      .selectFrom('audit_log')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(limit + 1)
    if (query.principal) q = q.where('principal_id', '=', query.principal)
    if (query.route) q = q.where('route', '=', query.route)
    if (query.since) q = q.where('at', '>=', new Date(query.since))
    if (query.until) q = q.where('at', '<', new Date(query.until))
    if (query.cursor !== undefined) {
      if (!/^\d{1,19}$/.test(query.cursor)) throw new StudioError('BAD_REQUEST', 'cursor is not valid')
      q = q.where('id', '<', query.cursor)
    }
    const rows = await q.execute()
    const items = rows.slice(0, limit).map(toEntry)
    const last = items.at(-1)
    return rows.length > limit && last ? { items, nextCursor: last.id } : { items }
  }
}
