// A persisted cursor over `run_events`, shared by the readers that follow runs from any process (the webhooks
// dispatcher, the OpenLineage emitter): a row of `webhook_cursor` per reader. Event ids are taken when their
// transaction inserts them, so a lower id may commit after a higher one was read: the cursor moves only past events
// older than a settle time, and a reader reads the younger ones again on its next pass.
import { type Kysely, sql } from 'kysely'

// biome-ignore lint/suspicious/noExplicitAny: raw SQL over the run store's and the API's tables
type AnyDb = Kysely<any>

/** The id of the last run event reader `name` read for good (`'0'` when it has no row yet). */
export async function readRunEventCursor(db: AnyDb, name: string): Promise<string> {
  const { rows } = await sql<{ last_event_id: string | number }>`
    SELECT last_event_id FROM webhook_cursor WHERE name = ${name}
  `.execute(db)
  return rows[0] ? String(rows[0].last_event_id) : '0'
}

/** Creates reader `name`'s cursor at the newest run event (what happened before it is not replayed), once. */
export async function createRunEventCursor(db: AnyDb, name: string): Promise<void> {
  await sql`
    INSERT INTO webhook_cursor (name, last_event_id)
    SELECT ${name}, COALESCE(max(id), 0) FROM run_events
    ON CONFLICT (name) DO NOTHING
  `.execute(db)
}

/**
 * Moves reader `name`'s cursor past the run events after `cursor` that are older than `settleMs` (and, after a full
 * batch, not past `batchEnd`, its last id). Answers the new position, or `undefined` when it did not move.
 */
export async function advanceRunEventCursor(
  db: AnyDb,
  name: string,
  cursor: string,
  settleMs: number,
  batchEnd?: string,
): Promise<string | undefined> {
  const upper = batchEnd === undefined ? sql`` : sql`AND id <= ${batchEnd}`
  const { rows } = await sql<{ id: string | null }>`
    SELECT max(id) AS id FROM run_events
    WHERE id > ${cursor} AND created_at < now() - ${settleMs} * interval '1 millisecond' ${upper}
  `.execute(db)
  const next = rows[0]?.id
  if (next === null || next === undefined) return undefined
  await sql`
    UPDATE webhook_cursor SET last_event_id = GREATEST(last_event_id, ${next}::bigint) WHERE name = ${name}
  `.execute(db)
  return String(next)
}
