// API keys: 256-bit random secrets shown once, stored only as their SHA-256, revocable, with an expiry.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { StudioError } from '@sparkle-studio/core'
import type { Role } from '@sparkle-studio/core/contract'
import type { Kysely, Selectable } from 'kysely'
import type { Principal } from '../principal.ts'
import type { ApiKeysTable, ApiSchema } from './tables.ts'

/** An API key as the API shows it: never its secret. */
export interface ApiKey {
  readonly id: string
  readonly name: string
  readonly role: Role
  /** The visible start of the secret (`sk_live_ab12cd34`). */
  readonly prefix: string
  /** The principal id of whoever created it. */
  readonly createdBy: string
  readonly createdAt: string
  readonly expiresAt?: string
  readonly lastUsedAt?: string
  readonly revokedAt?: string
}

/** What a new key is made of. */
export interface NewApiKey {
  readonly name: string
  readonly role: Role
  /** The principal id of whoever creates it. */
  readonly createdBy: string
  /** When it stops working. */
  readonly expiresAt?: Date | string | undefined
}

const SECRET_PREFIX = 'sk_live_'
const VISIBLE = SECRET_PREFIX.length + 8
/** How often a key's `lastUsedAt` is written, at most. */
const LAST_USED_EVERY_MS = 60_000

/** SHA-256 of a secret, hex: what the database keeps. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

/** True for a string shaped like an API key (`sk_…`), which the key authenticator handles. */
export function looksLikeApiKey(token: string): boolean {
  return token.startsWith('sk_')
}

const iso = (d: Date | string | null) => (d === null ? undefined : new Date(d).toISOString())

function toApiKey(row: Selectable<ApiKeysTable>): ApiKey {
  const key: Record<string, unknown> = {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    prefix: row.prefix,
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
    expiresAt: iso(row.expires_at),
    lastUsedAt: iso(row.last_used_at),
    revokedAt: iso(row.revoked_at),
  }
  for (const k of Object.keys(key)) if (key[k] === undefined) delete key[k]
  return key as unknown as ApiKey
}

/**
 * The API keys of a studio, in the run store's database. A key's secret is 32 random bytes (`sk_live_` and 43
 * base64url characters), returned once by {@link ApiKeys.create}; the database keeps its SHA-256 and a visible
 * prefix. Verification looks the hash up on every request, so a revoked key is refused on the next one.
 */
export class ApiKeys {
  readonly #db: Kysely<ApiSchema>
  readonly #now: () => Date
  readonly #lastUsedWritten = new Map<string, number>()

  constructor(db: Kysely<ApiSchema>, now: () => Date = () => new Date()) {
    this.#db = db
    this.#now = now
  }

  /** Creates a key: the only time its secret is seen. */
  async create(request: NewApiKey): Promise<{ key: ApiKey; secret: string }> {
    const secret = `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`
    return { key: await this.#insert(secret, request), secret }
  }

  /**
   * Stores a secret the operator chose (e.g. `SPARKLE_ADMIN_KEY`) as a key, unless it is stored already.
   * @throws `BAD_REQUEST` for a secret that does not start with `sk_` or is shorter than 32 characters.
   */
  async adopt(secret: string, request: NewApiKey): Promise<ApiKey> {
    if (!looksLikeApiKey(secret) || secret.length < 32) {
      throw new StudioError(
        'BAD_REQUEST',
        'an admin key must start with sk_ and be at least 32 characters long (create one with the keys script)',
      )
    }
    const existing = await this.#db
      .selectFrom('api_keys')
      .selectAll()
      .where('hash', '=', hashSecret(secret))
      .executeTakeFirst()
    return existing ? toApiKey(existing) : this.#insert(secret, request)
  }

  async #insert(secret: string, request: NewApiKey): Promise<ApiKey> {
    const expiresAt = request.expiresAt === undefined ? null : new Date(request.expiresAt)
    if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new StudioError('BAD_REQUEST', 'expiresAt is not a date')
    const row = await this.#db
      .insertInto('api_keys')
      .values({
        id: randomUUID(),
        name: request.name,
        role: request.role,
        prefix: secret.slice(0, VISIBLE),
        hash: hashSecret(secret),
        created_by: request.createdBy,
        created_at: this.#now(),
        expires_at: expiresAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    return toApiKey(row)
  }

  /** The keys, newest first; revoked ones only when asked. */
  async list(options: { readonly includeRevoked?: boolean | undefined } = {}): Promise<ApiKey[]> {
    let query = this.#db.selectFrom('api_keys').selectAll().orderBy('created_at', 'desc').orderBy('id')
    if (!options.includeRevoked) query = query.where('revoked_at', 'is', null)
    return (await query.execute()).map(toApiKey)
  }

  /**
   * Revokes a key at once (revoking it again changes nothing).
   * @throws `NOT_FOUND` when there is no such key.
   */
  async revoke(id: string): Promise<ApiKey> {
    const row = await this.#db
      .updateTable('api_keys')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(this.#now())) }))
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst()
    if (!row) throw new StudioError('NOT_FOUND', `API key ${id} does not exist`, { id })
    return toApiKey(row)
  }

  /** True when at least one key works (neither revoked nor expired). */
  async anyActive(): Promise<boolean> {
    const now = this.#now()
    const row = await this.#db
      .selectFrom('api_keys')
      .select('id')
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .executeTakeFirst()
    return row !== undefined
  }

  /** The principal of a secret, or `null` for an unknown, revoked or expired one. */
  async verify(secret: string): Promise<Principal | null> {
    if (!looksLikeApiKey(secret) || secret.length > 200) return null
    const row = await this.#db
      .selectFrom('api_keys')
      .selectAll()
      .where('hash', '=', hashSecret(secret))
      .executeTakeFirst()
    const now = this.#now()
    if (!row || row.revoked_at !== null || (row.expires_at !== null && new Date(row.expires_at) <= now)) return null
    const last = this.#lastUsedWritten.get(row.id) ?? 0
    if (now.getTime() - last >= LAST_USED_EVERY_MS) {
      this.#lastUsedWritten.set(row.id, now.getTime())
      // Best effort: a lost write only makes lastUsedAt a minute older.
      void this.#db
        .updateTable('api_keys')
        .set({ last_used_at: now })
        .where('id', '=', row.id)
        .execute()
        .catch(() => {})
    }
    return { id: `key:${row.id}`, name: row.name, role: row.role as Role, via: 'key' }
  }
}
