import { createHash } from 'node:crypto'

/** The namespace of this SDK's name-based (v5) OpenLineage run ids. */
const NAMESPACE = Buffer.from('6f1d3c1e8a2b4f5c9d7e0a1b2c3d4e5f', 'hex')

/** A UUID v5 (RFC 9562, SHA-1, name-based) of `name` in this SDK's namespace: the same name gives the same id. */
function uuidV5(name: string): string {
  const bytes = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest().subarray(0, 16)
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * The OpenLineage run id of a run attempt (`<runId>.<attempt>`, the job id its submitter gets): a UUID v5 derived
 * from it, so every event of the attempt, from any process and after any retry of a delivery, names the same run.
 */
export function openLineageAttemptRunId(attemptId: string): string {
  return uuidV5(`attempt:${attemptId}`)
}

/** The OpenLineage run id of a backfill (the parent of its partitions' runs): a UUID v5 derived from its id. */
export function openLineageBackfillRunId(backfillId: string): string {
  return uuidV5(`backfill:${backfillId}`)
}
