import { sql } from 'kysely'
import { plusMs, type StoreContext } from './context.ts'

/**
 * Takes or renews the named lease for `owner` when it is free, expired or already `owner`'s. Works the same on
 * PostgreSQL and PGlite (a row, not an advisory lock, so it needs no dedicated connection).
 *
 * @returns true when `owner` holds the lease now.
 */
export async function acquireLease(ctx: StoreContext, name: string, owner: string, ttlMs: number): Promise<boolean> {
  const now = ctx.now()
  const { rows } = await sql<{ owner: string }>`
    INSERT INTO store_leases (name, owner, expires_at) VALUES (${name}, ${owner}, ${plusMs(now, ttlMs)})
    ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
    WHERE store_leases.owner = EXCLUDED.owner OR store_leases.expires_at <= ${now}
    RETURNING owner
  `.execute(ctx.db)
  return rows[0]?.owner === owner
}

/** Gives the named lease up if `owner` holds it. */
export async function releaseLease(ctx: StoreContext, name: string, owner: string): Promise<void> {
  await ctx.db.deleteFrom('store_leases').where('name', '=', name).where('owner', '=', owner).execute()
}
